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


class LawName(models.Model):
    """A law, administrative regulation or judicial interpretation in force, with the short forms judges
    use for it (search_index.laws; docs/search.md, "Law names").  Filled from ``data/laws.csv``, edited by
    librarians in the admin; every running process picks an edit up within ``LAW_DICTIONARY_CHECK_SECONDS``."""

    class Kind(models.TextChoices):
        LAW = "law", _("法律")
        REGULATION = "regulation", _("行政法规")
        INTERPRETATION = "interpretation", _("司法解释")

    #: Stored in the index with each cited article (``cites``: f0186a394): never changed once a record cites it.
    code = models.CharField(_("编号"), max_length=16, unique=True,
                            help_text=_("检索索引中记录引用条文时使用，创建后不再修改"))
    title = models.CharField(_("标准名称"), max_length=200, unique=True,
                             help_text=_("官方全称，例如 中华人民共和国民事诉讼法"))
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    short_forms = models.TextField(_("简称"), blank=True,
                                   help_text=_("一行一个，例如 民诉法；不含“中华人民共和国”的名称也写在这里"))
    parts = models.TextField(_("分编"), blank=True, help_text=_("一行一个，例如 物权编（引用条文时可写在名称与条文之间）"))
    source = models.CharField(_("来源"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("法律名称")
        verbose_name_plural = _("法律名称")
        ordering = ["code"]
        # laws.version(): MAX(updated_at), asked every LAW_DICTIONARY_CHECK_SECONDS by each process.
        indexes = [models.Index(fields=["updated_at"], name="lawname_updated")]

    def __str__(self) -> str:
        return self.title
