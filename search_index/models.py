"""The index outbox: a durable queue of catalog records whose index entry must be (re)written.

Rows are written in the same transaction as the catalog change, so a crash
between the commit and the index write loses nothing: the next drain — by any
process, or ``manage.py process_index_queue`` — replays them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class IndexTask(models.Model):
    class Kind(models.TextChoices):
        BOOK = "book", _("图书")
        PAPER = "paper", _("调研成果")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("索引队列")
        verbose_name_plural = _("索引队列")
        # The drain reads the oldest rows first: the primary key gives that order.
        ordering = ["id"]
        # A drain takes every row of the records it indexes, and groups the queue by record under a flood.
        indexes = [models.Index(fields=["kind", "object_id"], name="indextask_record")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id}"

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.object_id}"
