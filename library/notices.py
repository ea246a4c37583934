"""Notices to patrons: due soon, overdue, hold ready, hold expired — each sent once.

A notice is first recorded under a unique key (``due_soon:loan:12:2026-12-03``,
``overdue:loan:12:week:2``, ``hold_ready:hold:7``…) in the same transaction as the change that
causes it, then sent with Django's email framework after the commit.  The unique key makes
``send_notices`` safe to run any number of times: a notice already recorded is not recorded again,
and one recorded but not sent (mail server down, process killed) is retried by the next run.
"""

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from library.models import Hold, Loan, Notice
from library.policy import library_today

logger = logging.getLogger(__name__)

LIBRARY_KINDS = (Notice.Kind.DUE_SOON, Notice.Kind.OVERDUE, Notice.Kind.HOLD_READY, Notice.Kind.HOLD_EXPIRED)
#: "Due soon" is sent this many days before the due date.
DUE_SOON_DAYS = 3
#: Overdue reminders: on the first day overdue, then every this many days.
OVERDUE_EVERY_DAYS = 7


def _name(patron: AbstractBaseUser) -> str:
    profile = getattr(patron, "profile", None)
    return (getattr(profile, "display_name", "") or patron.get_username()) if patron else ""


def record(*, key: str, kind: str, patron, subject: str, body: str, loan=None, hold=None) -> Notice | None:
    """Record a notice unless one with this key exists; send it after the transaction commits."""
    try:
        with transaction.atomic():
            notice = Notice.objects.create(
                key=key, kind=kind, patron=patron, subject=subject, body=body, loan=loan, hold=hold
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: _send(notice.pk))
    return notice


def _send(notice_id: int) -> bool:
    notice = Notice.objects.select_related("patron").filter(pk=notice_id, sent_at__isnull=True).first()
    if notice is None:
        return False
    recipient = notice.patron.email
    if recipient:
        try:
            send_mail(notice.subject, notice.body, settings.DEFAULT_FROM_EMAIL, [recipient], fail_silently=False)
        except Exception:  # noqa: BLE001 - any mail failure: keep it unsent for the next run
            logger.exception("sending notice %s failed; it stays queued", notice.key)
            return False
    # Without an e-mail address the notice is still "sent": it shows in the patron's notices.
    return Notice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=timezone.now()) == 1


def hold_ready(hold: Hold) -> Notice | None:
    book = hold.book
    return record(
        key=f"hold_ready:hold:{hold.pk}",
        kind=Notice.Kind.HOLD_READY,
        patron=hold.patron,
        hold=hold,
        subject=f"预约到书：《{book.title}》",
        body=(
            f"{_name(hold.patron)}，您好：\n\n您预约的《{book.title}》已到书，请于 {hold.pickup_by:%Y-%m-%d} 前到"
            f"法官书苑借阅（条码 {hold.copy.barcode}）。逾期未取，将顺延给下一位读者。\n\n"
            f"The book you reserved is ready; please pick it up by {hold.pickup_by:%Y-%m-%d}."
        ),
    )


def hold_expired(hold: Hold) -> Notice | None:
    book = hold.book
    return record(
        key=f"hold_expired:hold:{hold.pk}",
        kind=Notice.Kind.HOLD_EXPIRED,
        patron=hold.patron,
        hold=hold,
        subject=f"预约已过期：《{book.title}》",
        body=(
            f"{_name(hold.patron)}，您好：\n\n您预约的《{book.title}》未在 {hold.pickup_by:%Y-%m-%d} 前取走，预约已过期，"
            f"图书已顺延给下一位读者。如仍需要，可以重新预约。\n\n"
            f"Your hold expired because it was not picked up by {hold.pickup_by:%Y-%m-%d}."
        ),
    )


def _due_soon(loan: Loan) -> Notice | None:
    return record(
        key=f"due_soon:loan:{loan.pk}:{loan.due_date:%Y-%m-%d}",
        kind=Notice.Kind.DUE_SOON,
        patron=loan.patron,
        loan=loan,
        subject=f"即将到期：《{loan.book.title}》应于 {loan.due_date:%Y-%m-%d} 归还",
        body=(
            f"{_name(loan.patron)}，您好：\n\n您借阅的《{loan.book.title}》（条码 {loan.copy.barcode}）应于 "
            f"{loan.due_date:%Y-%m-%d} 归还。如需继续阅读，可以续借。\n\n"
            f"Due on {loan.due_date:%Y-%m-%d}; you can renew it if nobody is waiting for it."
        ),
    )


def _overdue(loan: Loan, today: date) -> Notice | None:
    days = (today - loan.due_date).days
    week = (days - 1) // OVERDUE_EVERY_DAYS
    return record(
        key=f"overdue:loan:{loan.pk}:{loan.due_date:%Y-%m-%d}:week:{week}",
        kind=Notice.Kind.OVERDUE,
        patron=loan.patron,
        loan=loan,
        subject=f"逾期提醒：《{loan.book.title}》已逾期 {days} 天",
        body=(
            f"{_name(loan.patron)}，您好：\n\n您借阅的《{loan.book.title}》（条码 {loan.copy.barcode}）应于 "
            f"{loan.due_date:%Y-%m-%d} 归还，已逾期 {days} 天，请尽快归还。逾期期间不能借阅其他图书。\n\n"
            f"Overdue by {days} days (due {loan.due_date:%Y-%m-%d}); please return it."
        ),
    )


def send_notices(*, now: datetime | None = None) -> dict[str, int]:
    """Record and send the day's notices; then retry any recorded notice not yet sent.

    Returns how many were recorded by kind, plus ``sent`` (sent in this run, retries included).
    """
    now = now or timezone.now()
    today = library_today(now)
    recorded = {kind: 0 for kind in LIBRARY_KINDS}
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


def send_pending() -> int:
    """Send every recorded notice not sent yet (a retry after a mail failure); returns how many went."""
    sent = 0
    for notice_id in Notice.objects.filter(sent_at__isnull=True).order_by("id").values_list("pk", flat=True):
        if _send(notice_id):
            sent += 1
    return sent
