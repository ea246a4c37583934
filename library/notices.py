"""Notices to patrons: due soon, overdue, hold ready, hold expired — each sent once.

A notice is first recorded under a unique key (``due_soon:loan:12:2026-12-03``,
``overdue:loan:12:week:2``, ``hold_ready:hold:7``…) in the same transaction as the change that
causes it; that transaction also queues the job that mails it (``deliver_notices``, one queued job
for however many notices, key ``notices.send``), so no request ever waits for a mail server.  The
unique key makes ``send_notices`` safe to run any number of times: a notice already recorded is not
recorded again, and one recorded but not sent (mail server down, process killed) is retried by the
next run.  A sender claims a notice (``sending_since``) before mailing it, so two workers, or a worker
and the ``send_notices`` command, never send the same notice twice.

The delivery job is defined here rather than in ``library/tasks.py``: the module that records notices
enqueues it, and ``library.circulation`` (which records hold notices) sits below the services that a
tasks module imports.
"""

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jobs.services import job_enqueue
from jobs.tasks import job_task
from library.models import Hold, Loan, Notice
from library.policy import library_today

logger = logging.getLogger(__name__)

LIBRARY_KINDS = (Notice.Kind.DUE_SOON, Notice.Kind.OVERDUE, Notice.Kind.HOLD_READY, Notice.Kind.HOLD_EXPIRED)
#: "Due soon" is sent this many days before the due date.
DUE_SOON_DAYS = 3
#: Overdue reminders: on the first day overdue, then every this many days.
OVERDUE_EVERY_DAYS = 7
#: A notice claimed this long ago and still not sent belonged to a sender that died: it is tried again.
#: Longer than any send can take (settings.EMAIL_TIMEOUT bounds each SMTP step).
CLAIM_SECONDS = 600
#: The delivery job's coalescing key: one queued job sends everything recorded before it runs.
DELIVERY_KEY = "notices.send"


def _name(patron: AbstractBaseUser) -> str:
    profile = getattr(patron, "profile", None)
    return (getattr(profile, "display_name", "") or patron.get_username()) if patron else ""


def record(*, key: str, kind: str, patron, subject: str, body: str, loan=None, hold=None) -> Notice | None:
    """Record a notice unless one with this key exists, and queue its delivery (in the caller's transaction:
    the job exists exactly when the notice does)."""
    try:
        with transaction.atomic():
            notice = Notice.objects.create(
                key=key, kind=kind, patron=patron, subject=subject, body=body, loan=loan, hold=hold
            )
    except IntegrityError:
        return None
    job_enqueue(deliver_notices, key=DELIVERY_KEY)
    return notice


def _unclaimed(now: datetime):
    return Notice.objects.filter(sent_at__isnull=True).filter(
        Q(sending_since__isnull=True) | Q(sending_since__lt=now - timedelta(seconds=CLAIM_SECONDS)))


def _send(notice_id: int) -> bool:
    """Mail one recorded notice unless it was sent or another sender is mailing it; True if it went."""
    claimed_at = timezone.now()
    # The claim is one conditional UPDATE committed before the mail goes out, so a second sender (another
    # worker, the command) skips the notice; no transaction stays open while the mail server is slow.
    if not _unclaimed(claimed_at).filter(pk=notice_id).update(sending_since=claimed_at):
        return False
    notice = Notice.objects.select_related("patron").get(pk=notice_id)
    mine = Notice.objects.filter(pk=notice_id, sent_at__isnull=True, sending_since=claimed_at)
    recipient = notice.patron.email
    if recipient:
        try:
            send_mail(notice.subject, notice.body, settings.DEFAULT_FROM_EMAIL, [recipient], fail_silently=False)
        except Exception:  # noqa: BLE001 - any mail failure: keep it unsent for the next run
            logger.exception("sending notice %s failed; it stays queued", notice.key)
            mine.update(sending_since=None)
            return False
    # Without an e-mail address the notice is still "sent": it shows in the patron's notices.
    return mine.update(sent_at=timezone.now(), sending_since=None) == 1


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


def send_pending(*, progress=None) -> int:
    """Send every recorded notice not sent yet (a retry after a mail failure); returns how many went."""
    pending = list(_unclaimed(timezone.now()).order_by("id").values_list("pk", flat=True))
    sent = 0
    for done, notice_id in enumerate(pending, start=1):
        if _send(notice_id):
            sent += 1
        if progress is not None:
            progress(done, len(pending))
    return sent


@job_task(label=_("发送通知"))
def deliver_notices(job, progress) -> dict:
    """Mail the notices recorded and not sent yet (queued whenever a notice is recorded)."""
    return {"sent": send_pending(progress=progress)}
