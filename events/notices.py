"""Notices about events, each sent once (recorded and mailed through ``notices.services``, worded by the
templates under ``templates/events/notices/``): registration confirmed, promoted from the waitlist, an
event or occurrence changed or cancelled (to everyone registered), and reminders the day before and an hour
before, each to the readers whose preference (``NoticePreference.remind_before``) asks for it;
``send_daily`` is the day's round for the library and the events (the scheduled job
``events.tasks.send_daily_notices`` and ``manage.py send_notices``)."""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from events.models import Event, Override, Registration
from library.circulation import holds_expire
from library.notices import send_notices
from notices.models import DEFAULT_REMINDER, REMINDS_DAY_BEFORE, REMINDS_HOUR_BEFORE, Notice
from notices.services import record, send_pending


def _place(event: Event, override: Override | None = None) -> str:
    """Where ``event`` (or its occurrence changed by ``override``) takes place: its venue, else online.  An
    occurrence moved online (``venue_changed`` with no venue) is online, whatever the series' venue."""
    venue = override.venue if override is not None and override.venue_changed else event.venue
    return venue.name if venue else (event.online_url or "线上")


def _registration_notice(registration: Registration, kind: str):
    """Registered, or promoted from the waitlist: for one occurrence of a series, that occurrence as it now is
    (moved, retitled, in another venue) — the notice said the original time and the series' venue."""
    event = registration.event
    override = None
    if registration.occurrence is not None:
        override = Override.objects.filter(event=event, recurrence_id=registration.occurrence).select_related(
            "venue").first()
    start = override.start if override is not None else registration.occurrence or event.start
    return record(
        key=f"{kind}:{registration.pk}", kind=kind, patron=registration.user, about=f"registration:{registration.pk}",
        template=f"events/notices/{kind}",
        context={"event": event, "title": (override.title if override is not None else "") or event.title,
                 "start": start, "place": _place(event, override)},
    )


def registered(registration: Registration):
    return _registration_notice(registration, Notice.Kind.REGISTERED)


def promoted(registration: Registration):
    return _registration_notice(registration, Notice.Kind.PROMOTED)


def event_changed(event: Event, *, occurrence=None, cancelled: bool = False) -> int:
    """Tell everyone registered (for the whole event, or for the changed occurrence) what changed."""
    registrations = Registration.objects.filter(event=event, status__in=Registration.ACTIVE).select_related("user")
    context = {"event": event, "occurrence": occurrence}
    if occurrence is not None:
        registrations = registrations.filter(Q(occurrence=occurrence.recurrence_id) | Q(occurrence__isnull=True))
        stamp = f"{occurrence.recurrence_id:%Y%m%dT%H%M%S}:{occurrence.sequence}"
        is_cancel = occurrence.status == Event.Status.CANCELLED
        context["place"] = _place(event, occurrence)
        context["reason"] = getattr(occurrence, "reason", "")
    else:
        stamp = str(event.sequence)
        is_cancel = cancelled or event.status == Event.Status.CANCELLED
        context["place"] = _place(event)
        context["reason"] = event.cancel_reason
    kind = Notice.Kind.EVENT_CANCELLED if is_cancel else Notice.Kind.EVENT_CHANGED
    sent = 0
    for registration in registrations:
        if record(key=f"changed:{event.pk}:{stamp}:{registration.user_id}", kind=kind, patron=registration.user,
                  about=f"event:{event.pk}", template=f"events/notices/{kind}", context=context):
            sent += 1
    return sent


def occurrences_changed(event: Event, overrides: list) -> int:
    """One notice to each reader registered for any of ``overrides`` (changed occurrences of ``event``) or for
    the whole series, listing every change that concerns them: several occurrences moved or cancelled at once
    make one notice per person, not one per occurrence.  A cancellation notice when all of a reader's changes
    are cancellations, else a change notice.  The number of notices recorded."""
    import hashlib

    by_id = {o.recurrence_id: o for o in overrides}
    registrations = (Registration.objects.filter(event=event, status__in=Registration.ACTIVE)
                     .filter(Q(occurrence__in=list(by_id)) | Q(occurrence__isnull=True))
                     .select_related("user").order_by("user_id", "id"))
    concerns: dict[int, tuple] = {}
    for registration in registrations:
        user, changes = concerns.setdefault(registration.user_id, (registration.user, {}))
        for rid in ([registration.occurrence] if registration.occurrence else list(by_id)):
            changes[rid] = by_id[rid]
    sent = 0
    for user_id, (user, changes) in concerns.items():
        items = [changes[rid] for rid in sorted(changes)]
        cancelled = all(o.status == Event.Status.CANCELLED for o in items)
        kind = Notice.Kind.EVENT_CANCELLED if cancelled else Notice.Kind.EVENT_CHANGED
        stamp = hashlib.sha256("|".join(f"{o.recurrence_id:%Y%m%dT%H%M%S}:{o.sequence}" for o in items).encode())
        context = {"event": event, "items": items, "cancelled": cancelled}
        if record(key=f"changed:{event.pk}:bulk:{stamp.hexdigest()[:32]}:{user_id}", kind=kind, patron=user,
                  about=f"event:{event.pk}", template="events/notices/occurrences_changed", context=context):
            sent += 1
    return sent


def _remind(*, begin: datetime, end: datetime, choices, key: str, template: str) -> int:
    """A notice to each confirmed registrant (of the occurrence, or of the whole series) of every scheduled
    occurrence starting in [begin, end) whose reminder preference is one of ``choices`` (a reader who never
    chose has ``DEFAULT_REMINDER``); once per reader and occurrence, under ``key``."""
    from events.recurrence import occurrences

    wants = Q(user__notice_preference__remind_before__in=choices)
    if DEFAULT_REMINDER in choices:
        wants |= Q(user__notice_preference__isnull=True)
    count = 0
    # A series began before the window; a single event within it.
    events = Event.objects.filter(status=Event.Status.SCHEDULED, start__lt=end).filter(
        pk__in=Registration.objects.filter(wants, status=Registration.Status.CONFIRMED).values("event_id"))
    for event in events.prefetch_related("overrides__venue").select_related("venue"):
        for occ in occurrences(event, begin, end):
            if occ.status != Event.Status.SCHEDULED or not (begin <= occ.start < end):
                continue
            scope = Q(occurrence__isnull=True)
            if occ.recurrence_id is not None:
                scope |= Q(occurrence=occ.recurrence_id)
            override = occ.override
            place = _place(event, override)
            registrations = event.registrations.filter(scope, wants, status=Registration.Status.CONFIRMED)
            for registration in registrations.select_related("user"):
                if record(
                    key=f"{key}:{event.pk}:{occ.start:%Y%m%dT%H%M}:{registration.user_id}",
                    kind=Notice.Kind.EVENT_REMINDER, patron=registration.user, about=f"registration:{registration.pk}",
                    template=template, context={"event": event, "occurrence": occ, "place": place},
                ):
                    count += 1
    return count


def send_reminders(*, now: datetime | None = None) -> int:
    """A reminder to each confirmed registrant who wants one the day before (``Reminder.DAY``/``BOTH``, the
    default) of an occurrence starting tomorrow (library time)."""
    now = now or timezone.now()
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    tz = timezone.get_current_timezone()
    begin = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=tz)
    return _remind(begin=begin, end=begin + timedelta(days=1), choices=REMINDS_DAY_BEFORE, key="reminder",
                   template="events/notices/event_reminder")


#: How far ahead the hour-before round looks: an occurrence starting within it is announced now.
HOUR_BEFORE = timedelta(hours=1)


def send_hour_reminders(*, now: datetime | None = None) -> int:
    """A reminder to each confirmed registrant who wants one an hour before (``Reminder.HOUR``/``BOTH``) of an
    occurrence starting within the next hour.  Run every few minutes (``events.tasks.send_hour_reminders``,
    settings.JOBS_SCHEDULE): the first run in the hour before an occurrence sends it, later runs find its key
    recorded; an occurrence that already began is not announced."""
    now = now or timezone.now()
    return _remind(begin=now, end=now + HOUR_BEFORE, choices=REMINDS_HOUR_BEFORE, key="reminder-hour",
                   template="events/notices/event_reminder_hour")


def send_daily(*, now: datetime | None = None, expire: bool = True) -> dict[str, int]:
    """The day's notices, in order: expire unclaimed holds (their copies go to the next reader, whose
    hold-ready notice this records), record the library's notices, tomorrow's event reminders, then mail
    whatever is not sent yet.  Safe to run any number of times a day."""
    result: dict[str, int] = {}
    if expire:
        result["expired_holds"] = holds_expire(now=now)
    result.update(send_notices(now=now))
    result["event_reminder"] = send_reminders(now=now)
    result["sent"] += send_pending()
    return result
