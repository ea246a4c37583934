"""Writing and sending notices: one path for loans, holds and events.

A notice is first recorded under a unique key (``due_soon:loan:12:2026-12-03``, ``hold_ready:hold:7``,
``registered:5``…) in the same transaction as the change that causes it; that transaction also queues
the job that mails it (``deliver_notices``, one queued job for however many notices, key
``notices.send``), so no request ever waits for a mail server.  The unique key makes a day's round safe
to run any number of times: a notice already recorded is not recorded again, and one recorded but not
sent (mail server down, process killed) is retried by the next run.  A sender claims a notice
(``sending_since``) before mailing it, so two workers, or a worker and ``manage.py send_notices``, never
send the same notice twice.

Subject and body are Django templates, ``<template>.subject.txt`` and ``<template>.body.txt`` (the apps
keep theirs under ``templates/<app>/notices/``; both extend ``notices/base.*.txt``), rendered when the
notice is recorded, so a notice says what was true when it was written.
"""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from jobs.services import job_enqueue
from jobs.tasks import job_task
from notices.models import Notice

logger = logging.getLogger(__name__)

#: A notice claimed this long ago and still not sent belonged to a sender that died: it is tried again.
#: Longer than any send can take (settings.EMAIL_TIMEOUT bounds each SMTP step).
CLAIM_SECONDS = 600
#: The delivery job's coalescing key: one queued job sends everything recorded before it runs.
DELIVERY_KEY = "notices.send"


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
    # Without an e-mail address the notice is still "sent": it is kept with the reader's notices.
    return mine.update(sent_at=timezone.now(), sending_since=None) == 1


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


def mark_read(*, patron: AbstractBaseUser, ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Mark the reader's own notices read (those of ``ids``, or all); returns how many were unread.  Another
    reader's ids are ignored, not an error: a reader cannot learn which ids exist."""
    unread = Notice.objects.filter(patron=patron, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())
