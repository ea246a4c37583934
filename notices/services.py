"""Writing and sending notices: one path for loans, holds and events.

A notice is first recorded under a unique key (``due_soon:loan:12:2026-12-03``, ``hold_ready:hold:7``,
``registered:5``…) in the same transaction as the change that causes it; that transaction also queues
the job that sends it (``deliver_notices``, one queued job for however many notices, key
``notices.send``), so no request ever waits for a mail server.  The unique key makes a day's round safe
to run any number of times: a notice already recorded is not recorded again, and one recorded but not
sent (mail server down, process killed) is retried by the next run.  A sender claims a notice
(``sending_since``) before sending it, so two workers, or a worker and ``manage.py send_notices``, never
work on the same notice at once.

A notice goes to the reader's notice list (it is there once recorded) and through the channels they chose
for its kind (``NoticePreference``; e-mail by default), each a backend of ``settings.NOTICE_CHANNELS``
(notices.channels).  The first sender to claim a notice plans one ``NoticeDelivery`` per chosen channel
(unique per notice and channel); each try is counted on its row before it is made, so a channel delivers
a notice once even if a claim is taken over.  A channel without an address for the reader is skipped; one
that fails is tried again after ``NOTICE_RETRY_SECONDS``, doubling, up to ``NOTICE_DELIVERY_ATTEMPTS`` tries
(a job is queued for the time of the next try, key ``notices.retry``), then recorded as failed.
``Notice.sent_at`` is set when every channel is done (sent, skipped or failed).

Subject and body are Django templates, ``<template>.subject.txt`` and ``<template>.body.txt`` (the apps
keep theirs under ``templates/<app>/notices/``; both extend ``notices/base.*.txt``), rendered when the
notice is recorded, so a notice says what was true when it was written.
"""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Min, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from jobs.services import job_enqueue
from jobs.tasks import job_task
from notices.channels import Undeliverable, channels
from notices.models import Notice, NoticeDelivery, NoticePreference, chosen_channels

logger = logging.getLogger(__name__)

#: A notice claimed this long ago and still not sent belonged to a sender that died: it is tried again.
#: Longer than any send can take through every channel (EMAIL_TIMEOUT bounds each SMTP step,
#: NOTICE_WEBHOOK_TIMEOUT each step of a robot's request).
CLAIM_SECONDS = 600
#: The delivery job's coalescing key: one queued job sends everything recorded before it runs.
DELIVERY_KEY = "notices.send"
#: The key of the delivery jobs queued for the next try of a failed channel, followed by the minute it runs
#: (apart from DELIVERY_KEY, whose queued job must run at once for new notices).
RETRY_KEY = "notices.retry"


def display_name(person: AbstractBaseUser) -> str:
    profile = getattr(person, "profile", None)
    return getattr(profile, "display_name", "") or person.get_username()


def render(template: str, context: dict, *, patron: AbstractBaseUser) -> tuple[str, str]:
    """The subject (one line, at most 200 characters) and body of ``template`` for ``patron``."""
    context = {"name": display_name(patron), "site_url": settings.SITE_URL, **context}
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"{template}.subject.txt", context)
        body = render_to_string(f"{template}.body.txt", context)
    return re.sub(r"\s+", " ", subject).strip()[:200], body.strip() + "\n"


def record(*, key: str, kind: str, patron: AbstractBaseUser, template: str, context: dict,
           about: str = "") -> Notice | None:
    """Record a notice unless one with this key exists, and queue its delivery (in the caller's transaction:
    the job exists exactly when the notice does).  None when the key was recorded before."""
    subject, body = render(template, context, patron=patron)
    try:
        with transaction.atomic():
            notice = Notice.objects.create(key=key, kind=kind, patron=patron, about=about, subject=subject,
                                           body=body)
    except IntegrityError:
        return None
    job_enqueue(deliver_notices, key=DELIVERY_KEY)
    return notice


def _unclaimed(now: datetime):
    """Notices not sent yet that no live sender holds and whose next try (after a failed channel) is due."""
    return Notice.objects.filter(sent_at__isnull=True).filter(
        Q(sending_since__isnull=True) | Q(sending_since__lt=now - timedelta(seconds=CLAIM_SECONDS))).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now))


def _planned(notice: Notice) -> list[NoticeDelivery]:
    """The notice's deliveries: those planned at its first try, or, at its first try, one per channel the
    reader chose for its kind then (none chosen: none; the notice list holds it anyway)."""
    deliveries = list(notice.deliveries.order_by("id"))
    if deliveries:
        return deliveries
    preference = getattr(notice.patron, "notice_preference", None)
    names = chosen_channels(preference, notice.kind)
    # Only the claim's holder plans, and the unique (notice, channel) constraint makes a second plan a no-op.
    NoticeDelivery.objects.bulk_create([NoticeDelivery(notice=notice, channel=name) for name in names],
                                       ignore_conflicts=True)
    return list(notice.deliveries.order_by("id")) if names else []


def _deliver(notice: Notice, delivery: NoticeDelivery) -> None:
    """Try one pending delivery and record how it went: sent, skipped (the reader has no address for the
    channel, or the channel was switched off), failed for good, or pending again until its next try."""
    mine = NoticeDelivery.objects.filter(pk=delivery.pk, status=NoticeDelivery.Status.PENDING)
    channel = channels().get(delivery.channel)
    if channel is None:
        mine.update(status=NoticeDelivery.Status.SKIPPED, last_error=str(_("渠道已停用")))
        return
    preference = getattr(notice.patron, "notice_preference", None)
    to = channel.address(notice.patron, preference)
    if not to:
        mine.update(status=NoticeDelivery.Status.SKIPPED, last_error=str(channel.missing))
        return
    # The try is counted before it is made, by a conditional UPDATE on the count read: if another sender
    # took the notice over meanwhile (its claim looked stale) and counted this try first, this one is not made.
    attempts = delivery.attempts + 1
    if not mine.filter(attempts=delivery.attempts).update(attempts=attempts, last_attempt_at=timezone.now()):
        return
    mine = mine.filter(attempts=attempts)
    try:
        channel.send(notice, to=to)
    except Undeliverable as exc:
        mine.update(status=NoticeDelivery.Status.FAILED, last_error=str(exc)[:300])
        logger.warning("notice %s cannot go by %s: %s", notice.key, delivery.channel, exc)
    except Exception as exc:  # noqa: BLE001 - any failure of a channel: tried again, up to the cap
        final = attempts >= settings.NOTICE_DELIVERY_ATTEMPTS
        mine.update(status=NoticeDelivery.Status.FAILED if final else NoticeDelivery.Status.PENDING,
                    last_error=f"{exc.__class__.__name__}: {exc}"[:300])
        logger.warning("sending notice %s by %s failed (try %s of %s)%s: %s", notice.key, delivery.channel,
                       attempts, settings.NOTICE_DELIVERY_ATTEMPTS, "; given up" if final else "", exc)
    else:
        mine.update(status=NoticeDelivery.Status.SENT, sent_at=timezone.now(), last_error="")


def _send(notice_id: int) -> bool:
    """Send one recorded notice through each of its channels not done yet, unless it was sent or another
    sender holds it; True if every channel is now done (sent, skipped or failed for good)."""
    claimed_at = timezone.now()
    # The claim is one conditional UPDATE committed before anything goes out, so a second sender (another
    # worker, the command) skips the notice; no transaction stays open while a mail server or a robot is
    # slow.  CLAIM_SECONDS outlasts every channel's timeouts together.
    if not _unclaimed(claimed_at).filter(pk=notice_id).update(sending_since=claimed_at):
        return False
    notice = Notice.objects.select_related("patron__profile", "patron__notice_preference").get(pk=notice_id)
    mine = Notice.objects.filter(pk=notice_id, sent_at__isnull=True, sending_since=claimed_at)
    with translation.override(settings.LANGUAGE_CODE):
        for delivery in _planned(notice):
            if delivery.status == NoticeDelivery.Status.PENDING:
                _deliver(notice, delivery)
    waiting = list(NoticeDelivery.objects.filter(notice_id=notice_id, status=NoticeDelivery.Status.PENDING)
                   .values_list("attempts", flat=True))
    if waiting:
        # Wait NOTICE_RETRY_SECONDS after a first failure, twice as long after a second, and so on.
        delay = settings.NOTICE_RETRY_SECONDS * 2 ** (max(waiting) - 1)
        mine.update(sending_since=None, retry_at=timezone.now() + timedelta(seconds=delay))
        return False
    # Every channel is done: the notice is "sent", also when it went by none (kept in the reader's list).
    return mine.update(sent_at=timezone.now(), sending_since=None, retry_at=None) == 1


def send_pending(*, progress=None) -> int:
    """Send every recorded notice not sent yet whose time has come (retries after a failed channel among them);
    returns how many were completed.  A notice still waiting to try a failed channel again gets a delivery
    job queued for that moment, so a retry does not wait for the next notice or the next day."""
    pending = list(_unclaimed(timezone.now()).order_by("id").values_list("pk", flat=True))
    sent = 0
    for done, notice_id in enumerate(pending, start=1):
        if _send(notice_id):
            sent += 1
        if progress is not None:
            progress(done, len(pending))
    _queue_retry()
    return sent


def _queue_retry() -> None:
    """Queue a delivery job for the earliest next try still to come (its run sends every notice due then, and
    queues the job for the next one).  The job is keyed by that minute: a job queued for a later minute does
    not hold back an earlier try, and tries falling due within one minute share one job."""
    now = timezone.now()
    earliest = Notice.objects.filter(sent_at__isnull=True, retry_at__gt=now).aggregate(at=Min("retry_at"))["at"]
    if earliest is None:
        return
    minute = earliest.replace(second=0, microsecond=0)
    if minute < earliest:
        minute += timedelta(minutes=1)
    job_enqueue(deliver_notices, key=f"{RETRY_KEY}:{minute:%Y-%m-%dT%H:%M}", run_after=minute)


@job_task(label=_("发送通知"))
def deliver_notices(job, progress) -> dict:
    """Send the notices recorded and not sent yet (queued whenever a notice is recorded, and for the time a
    failed channel is tried again)."""
    return {"sent": send_pending(progress=progress)}


def mark_read(*, patron: AbstractBaseUser, ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Mark the reader's own notices read (those of ``ids``, or all); returns how many were unread.  Another
    reader's ids are ignored, not an error: a reader cannot learn which ids exist."""
    unread = Notice.objects.filter(patron=patron, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())


@transaction.atomic
def preference_update(*, user: AbstractBaseUser, channels: dict[str, list[str]],
                      webhook_url: str | None = None, remind_before: str | None = None) -> NoticePreference:
    """Replace the reader's notice preference: the channels of each kind given (a kind left out takes the
    default, ``DEFAULT_CHANNELS``; a channel named twice counts once) and, unless None, their robot URL
    ("" for none) and when they are reminded of events (``Reminder``; their calendar feed's alarms follow,
    its cache being keyed by the choice).  Raises ValidationError naming the field (``channels.<kind>``,
    ``webhook_url``, ``remind_before``)."""
    preference, _created = NoticePreference.objects.select_for_update().get_or_create(user=user)
    preference.channels = {kind: list(dict.fromkeys(names)) if isinstance(names, list) else names
                           for kind, names in channels.items()}
    if webhook_url is not None:
        preference.webhook_url = webhook_url.strip()
    if remind_before is not None:
        preference.remind_before = remind_before
    preference.full_clean(exclude=["user"])
    preference.save()
    return preference
