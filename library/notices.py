"""Circulation notices: due soon, overdue, hold ready, hold expired — recorded and sent through
``notices.services`` (each once), worded by the templates under ``templates/library/notices/``."""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from library.models import Hold, Loan
from library.policy import library_today
from notices.models import Notice
from notices.services import deliver_notices, record, send_pending  # noqa: F401 - jobs queued before the

# move name library.notices.deliver_notices; the import keeps that path working.

KINDS = (Notice.Kind.DUE_SOON, Notice.Kind.OVERDUE, Notice.Kind.HOLD_READY, Notice.Kind.HOLD_EXPIRED)
#: "Due soon" is sent this many days before the due date.
DUE_SOON_DAYS = 3
#: Overdue reminders: on the first day overdue, then every this many days.
OVERDUE_EVERY_DAYS = 7


def hold_ready(hold: Hold) -> Notice | None:
    return record(key=f"hold_ready:hold:{hold.pk}", kind=Notice.Kind.HOLD_READY, patron=hold.patron,
                  about=f"hold:{hold.pk}", template="library/notices/hold_ready", context={"hold": hold})


def hold_expired(hold: Hold) -> Notice | None:
    return record(key=f"hold_expired:hold:{hold.pk}", kind=Notice.Kind.HOLD_EXPIRED, patron=hold.patron,
                  about=f"hold:{hold.pk}", template="library/notices/hold_expired", context={"hold": hold})


def _due_soon(loan: Loan) -> Notice | None:
    return record(key=f"due_soon:loan:{loan.pk}:{loan.due_date:%Y-%m-%d}", kind=Notice.Kind.DUE_SOON,
                  patron=loan.patron, about=f"loan:{loan.pk}", template="library/notices/due_soon",
                  context={"loan": loan})


def _overdue(loan: Loan, today: date) -> Notice | None:
    days = (today - loan.due_date).days
    week = (days - 1) // OVERDUE_EVERY_DAYS
    return record(key=f"overdue:loan:{loan.pk}:{loan.due_date:%Y-%m-%d}:week:{week}", kind=Notice.Kind.OVERDUE,
                  patron=loan.patron, about=f"loan:{loan.pk}", template="library/notices/overdue",
                  context={"loan": loan, "days": days})


def send_notices(*, now: datetime | None = None) -> dict[str, int]:
    """Record and send the day's circulation notices; then retry any recorded notice not yet sent.

    Returns how many were recorded by kind, plus ``sent`` (sent in this run, retries included).
    """
    now = now or timezone.now()
    today = library_today(now)
    recorded = {kind: 0 for kind in KINDS}
    active = Loan.objects.filter(status=Loan.Status.ACTIVE).select_related("patron__profile", "book", "copy")
    with transaction.atomic():
        for loan in active.filter(due_date__gte=today, due_date__lte=today + timedelta(days=DUE_SOON_DAYS)):
            if _due_soon(loan):
                recorded[Notice.Kind.DUE_SOON] += 1
        for loan in active.filter(due_date__lt=today):
            if _overdue(loan, today):
                recorded[Notice.Kind.OVERDUE] += 1
        for hold in Hold.objects.filter(status=Hold.Status.READY).select_related("patron__profile", "book", "copy"):
            if hold_ready(hold):  # normally recorded when the copy came in; this catches any missed
                recorded[Notice.Kind.HOLD_READY] += 1
    return {**recorded, "sent": send_pending()}
