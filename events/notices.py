"""E-mail notices about events, each sent once (recorded under a unique key by library.notices, and mailed
by its delivery job): registration confirmed, promoted from the waitlist, an event or occurrence changed
or cancelled (to everyone registered), and a reminder the day before; ``send_daily`` is the day's round
for the library and the events (the scheduled job ``events.tasks.send_daily_notices`` and
``manage.py send_notices``)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from events.models import Event, Registration
from library.circulation import holds_expire
from library.models import Notice
from library.notices import record, send_notices, send_pending


def _when(start: datetime) -> str:
    return f"{timezone.localtime(start):%Y-%m-%d %H:%M}"


def _place(event: Event, venue=None) -> str:
    venue = venue if venue is not None else event.venue
    return venue.name if venue else (event.online_url or "线上")


def _link(event: Event) -> str:
    return f"{settings.SITE_URL}/events/{event.pk}"


def _occurrence_start(registration: Registration) -> datetime:
    return registration.occurrence or registration.event.start


def registered(registration: Registration):
    event = registration.event
    return record(
        key=f"registered:{registration.pk}",
        kind=Notice.Kind.REGISTERED,
        patron=registration.user,
        subject=f"报名成功：{event.title}",
        body=(
            f"您已报名「{event.title}」（{event.get_kind_display()}），时间 {_when(_occurrence_start(registration))}，"
            f"地点 {_place(event)}。\n{_link(event)}\n\nYou are registered."
        ),
    )


def promoted(registration: Registration):
    event = registration.event
    return record(
        key=f"promoted:{registration.pk}",
        kind=Notice.Kind.PROMOTED,
        patron=registration.user,
        subject=f"候补转正：{event.title}",
        body=(
            f"有名额空出，您在「{event.title}」的候补已转为正式报名，时间 {_when(_occurrence_start(registration))}，"
            f"地点 {_place(event)}。\n{_link(event)}\n\nA seat came free: you are now registered."
        ),
    )


def event_changed(event: Event, *, occurrence=None, cancelled: bool = False) -> int:
    """Tell everyone registered (for the whole event, or for the changed occurrence) what changed."""
    registrations = Registration.objects.filter(event=event, status__in=Registration.ACTIVE).select_related("user")
    if occurrence is not None:
        registrations = registrations.filter(Q(occurrence=occurrence.recurrence_id) | Q(occurrence__isnull=True))
        stamp = f"{occurrence.recurrence_id:%Y%m%dT%H%M%S}:{occurrence.sequence}"
        is_cancel = occurrence.status == Event.Status.CANCELLED
        what = (
            f"{_when(occurrence.recurrence_id)} 的「{occurrence.title or event.title}」"
            + ("已取消。" if is_cancel else f"改为 {_when(occurrence.start)}，地点 {_place(event, occurrence.venue if occurrence.venue_changed else None)}。")
        )
    else:
        stamp = str(event.sequence)
        is_cancel = cancelled or event.status == Event.Status.CANCELLED
        what = f"「{event.title}」" + (
            "已取消。" if is_cancel else f"时间或地点有变更：{_when(event.start)}，{_place(event)}。"
        )
    reason = getattr(occurrence, "reason", "") if occurrence is not None else event.cancel_reason
    sent = 0
    for registration in registrations:
        if record(
            key=f"changed:{event.pk}:{stamp}:{registration.user_id}",
            kind=Notice.Kind.EVENT_CANCELLED if is_cancel else Notice.Kind.EVENT_CHANGED,
            patron=registration.user,
            subject=("活动取消：" if is_cancel else "活动变更：") + event.title,
            body=f"{what}{'原因：' + reason if reason else ''}\n{_link(event)}",
        ):
            sent += 1
    return sent


def send_reminders(*, now: datetime | None = None) -> int:
    """A reminder to each confirmed registrant of an occurrence starting tomorrow (library time)."""
    from events.recurrence import occurrences

    now = now or timezone.now()
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    tz = timezone.get_current_timezone()
    begin = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=tz)
    end = begin + timedelta(days=1)
    count = 0
    events = Event.objects.filter(status=Event.Status.SCHEDULED, registrations__status=Registration.Status.CONFIRMED)
    for event in events.distinct().prefetch_related("overrides"):
        for occ in occurrences(event, begin, end):
            if occ.status != Event.Status.SCHEDULED or not (begin <= occ.start < end):
                continue
            scope = Q(occurrence__isnull=True)
            if occ.recurrence_id is not None:
                scope |= Q(occurrence=occ.recurrence_id)
            for registration in event.registrations.filter(scope, status=Registration.Status.CONFIRMED).select_related("user"):
                if record(
                    key=f"reminder:{event.pk}:{occ.start:%Y%m%dT%H%M}:{registration.user_id}",
                    kind=Notice.Kind.EVENT_REMINDER,
                    patron=registration.user,
                    subject=f"明日活动提醒：{occ.title}",
                    body=f"「{occ.title}」明天 {_when(occ.start)} 在 {_place(event)} 举行。\n{_link(event)}",
                ):
                    count += 1
    return count


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
