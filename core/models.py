"""Cross-cutting records of the project (not owned by one app)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def person_link(verbose_name: str | None = None) -> models.ForeignKey:
    """Who did something (created, checked out, …): kept as an empty link when the account is deleted,
    so the record outlives its author; no reverse accessor on the user."""
    return models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+", verbose_name=verbose_name)


class IdempotencyRecord(models.Model):
    """The first successful answer to a POST sent with an ``Idempotency-Key`` header (core/idempotency.py).

    Written in the same transaction as what the request created, so after a crash either both exist or
    neither does.  ``owner`` is a hash of the request's credential (bearer token or session), so one
    reader's key never replays another reader's answer."""

    owner = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_once_per_owner")]
        verbose_name = _("幂等请求记录")
        verbose_name_plural = verbose_name

    def __str__(self) -> str:
        return f"{self.key} → {self.status}"
