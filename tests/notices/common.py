"""Helpers of the notice tests: a notice recorded the way the apps record theirs, and a reader's choice of
channels."""

from datetime import date

from django.db import transaction

from notices import services
from notices.models import Notice, NoticeDelivery, NoticePreference


class HoldLike:
    """What the hold-ready templates read."""

    def __init__(self, title: str = "民法典评注", barcode: str = "C9") -> None:
        self.book = type("Book", (), {"title": title})()
        self.copy = type("Copy", (), {"barcode": barcode})()
        self.pickup_by = date(2026, 12, 6)


def record(patron, key: str = "hold_ready:hold:1", kind: str = Notice.Kind.HOLD_READY, title: str = "民法典评注"):
    """A hold-ready notice for ``patron`` (its delivery job queued), as ``library.notices.hold_ready`` writes one."""
    with transaction.atomic():
        return services.record(key=key, kind=kind, patron=patron, template="library/notices/hold_ready",
                               context={"hold": HoldLike(title)})


def choose(user, webhook_url: str = "", **channels: list[str]) -> NoticePreference:
    return NoticePreference.objects.update_or_create(user=user, defaults={"channels": channels,
                                                                          "webhook_url": webhook_url})[0]


def deliveries(notice) -> dict[str, tuple]:
    """channel → (status, attempts, last_error) of a notice's deliveries."""
    return {d.channel: (d.status, d.attempts, d.last_error)
            for d in NoticeDelivery.objects.filter(notice=notice).order_by("id")}
