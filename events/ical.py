"""iCalendar feeds (RFC 5545 and RFC 7986) built with the icalendar package.

* Each event is one VEVENT with its series (RRULE, EXDATE) plus one VEVENT with RECURRENCE-ID per
  overridden or cancelled occurrence; the UID is the event's and the same in every feed.
* Everything in the output derives from the data (DTSTAMP is the last change of the item), so an
  unchanged feed is byte-identical and its ETag stable.
* Cancelled events and occurrences stay as STATUS:CANCELLED with a raised SEQUENCE for
  ``CANCELLED_VISIBLE_DAYS``; after that a cancelled occurrence becomes an EXDATE and a cancelled event
  leaves the feed.
* A personal feed holds what its reader has: each occurrence they registered for as a VEVENT of its
  own (``occurrence_component``: UID from the event's and the occurrence's original start, the
  exception's time, place, title and status applied), never the series of an occurrence registration
  (a client would show every occurrence as theirs); the whole series (master, EXDATEs, exceptions) for a
  whole-series registration and for the events they organise; the reader's registration status and
  waitlist mark; VALARMs as their reminder preference says (``PersonalItems.reminders``); due dates of
  their loans and pickup deadlines of their ready holds as all-day events.
"""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr

import icalendar
from django.conf import settings
from django.utils import timezone

from core.text import one_line
from events.models import Event, Registration
from events.recurrence import (
    excluded_starts,
    local_tz,
    original_occurrences,
    rule_is_acceptable,
    with_utc_until,
)

logger = logging.getLogger(__name__)

PRODID = "-//法官书苑 Faguan Shuyuan//Court Library Events//ZH"
CANCELLED_VISIBLE_DAYS = 30
UID_DOMAIN = "shuyuan"
#: Part of every stamp: raise it when stored public VEVENTs must be rebuilt although no event changed
#: (2: internal papers no longer named in a public event's reading list; 3: single-line text on one
#: line, RRULE UNTIL in UTC).
FRAGMENT_FORMAT = 3


#: The reminders of a personal feed when its reader chose none other (notices' default: the day before).
DEFAULT_REMINDERS = (timedelta(days=1),)


@dataclass
class PersonalItems:
    registrations: dict[int, list[Registration]] = field(default_factory=dict)  # by event id
    loans: list = field(default_factory=list)
    holds: list = field(default_factory=list)
    display_name: str = ""
    #: Events shown as their whole series whatever was registered: those the reader organises, and with the
    #: feed's scope "all" every event the reader may see.
    series: set[int] = field(default_factory=set)
    #: How long before an event's occurrences its VALARMs go off (the reader's reminder preference); () for none.
    reminders: tuple[timedelta, ...] = DEFAULT_REMINDERS

    def as_series(self, event: Event) -> bool:
        """Whether ``event`` is shown as its series (RRULE, EXDATEs, exceptions) rather than as the single
        occurrences registered for: a single event, a whole-series registration, or in ``series``."""
        if not event.rrule or event.pk in self.series:
            return True
        return any(r.occurrence is None for r in self.registrations.get(event.pk, []))


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(microsecond=0)


def _local(dt: datetime) -> datetime:
    return dt.astimezone(local_tz()).replace(microsecond=0)


def _when(event: Event, dt: datetime) -> date | datetime:
    """A DTSTART/DTEND/EXDATE/RECURRENCE-ID value: a local date for all-day events, else local time with TZID."""
    if event.all_day:
        return _local(dt).date()
    return _local(dt)


def _clean(text: str) -> str:
    """Multi-line text (DESCRIPTION) without control characters: every line break (CRLF, CR, U+2028,
    U+2029) becomes LF, which icalendar escapes as \\n, and tab is kept; other C0/C1 controls and DEL go."""
    text = re.sub(r"\r\n?|[\u2028\u2029\x85]", "\n", text or "")
    return "".join(ch for ch in text if ch in "\n\t" or not (ord(ch) < 32 or 127 <= ord(ch) < 160))


def _line(text: str) -> str:
    """Single-line text (SUMMARY, LOCATION, names): whatever is stored, a line break or control
    character becomes a space.  Input refuses them, but rows written before that rule, by the admin
    or by imports may hold them, and some properties (NAME, X-WR-CALNAME) are not escaped at all."""
    return one_line(text)


def _rrule(event: Event) -> icalendar.vRecur | None:
    """The stored RRULE as strict parsers need it: UNTIL in UTC beside a DTSTART with TZID, a DATE for
    all-day events (RFC 5545 §3.3.10).  Rules stored before input was normalised may have floating
    UNTILs; a rule that does not parse at all (written by hand in the admin) is left out rather than
    breaking the whole feed, and so is one our input checks would refuse (INTERVAL=0, FREQ=SECONDLY,
    long BYSETPOS lists …): calendar apps would spend as long expanding it as the server would."""
    if not rule_is_acceptable(event.rrule):
        logger.warning("event %s: RRULE %r left out of the feed: input would refuse it", event.pk, event.rrule)
        return None
    try:
        rule = with_utc_until(event.rrule)
        if event.all_day:
            rule = re.sub(r"UNTIL=(\d{8}T\d{6}Z)", lambda m: "UNTIL=" + _local(
                datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)).strftime("%Y%m%d"), rule)
        return icalendar.vRecur.from_ical(rule)
    except (ValueError, TypeError, OverflowError):
        logger.warning("event %s: RRULE %r left out of the feed: it does not parse", event.pk, event.rrule)
        return None


def event_url(event: Event) -> str:
    return f"{settings.SITE_URL}/events/{event.pk}"


def _organizer() -> icalendar.vCalAddress:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    organizer = icalendar.vCalAddress(f"mailto:{address or 'library@localhost'}")
    organizer.params["CN"] = icalendar.vText(_line(name) or "法官书苑")
    return organizer


def _location(event: Event, venue) -> str:
    if venue is not None:
        return _line(f"{venue.name}（{venue.location}）" if venue.location else venue.name)
    return _line(event.online_url or "线上")


def _description(event: Event, extra: str = "") -> str:
    lines = []
    if extra:
        lines.append(extra)
    if event.description:
        lines.append(event.description)
    speakers = list(event.speakers.all())
    if speakers:
        lines.append("主讲/主持：" + "、".join(_line(f"{s.name}（{s.role}）" if s.role else s.name) for s in speakers))
    books = list(event.books.all())
    papers = list(event.papers.all())
    if books or papers:
        lines.append("阅读书目：" + "、".join(f"《{_line(x.title)}》" for x in [*books, *papers]))
    if event.online_url:
        lines.append(f"线上会议：{event.online_url}")
    lines.append(f"活动页面：{event_url(event)}")
    return _clean("\n".join(lines))


def _alarms(component: icalendar.Event, title: str, triggers: Iterable[timedelta]) -> None:
    for before in triggers:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", _line(title))
        alarm.add("trigger", -before)
        component.add_component(alarm)


def _cancelled_long_ago(changed: datetime, now: datetime) -> bool:
    return changed < now - timedelta(days=CANCELLED_VISIBLE_DAYS)


def event_components(event: Event, *, now: datetime, personal: PersonalItems | None = None) -> list[icalendar.Event]:
    """The VEVENTs of one event: its master and one per overridden or cancelled occurrence."""
    if event.status == Event.Status.CANCELLED and _cancelled_long_ago(event.updated_at, now):
        return []
    registrations = (personal.registrations.get(event.pk, []) if personal else [])
    status_line = ""
    if registrations:
        labels = {Registration.Status.CONFIRMED: "已报名", Registration.Status.WAITLISTED: "候补"}
        parts = []
        for r in registrations:
            scope = f"{_local(r.occurrence):%Y-%m-%d %H:%M} 场" if r.occurrence else "全部场次"
            parts.append(f"{scope}：{labels.get(r.status, r.status)}")
        status_line = "报名状态：" + "；".join(parts)
    uid = f"{event.uid}@{UID_DOMAIN}"
    kind_label = str(event.get_kind_display())
    overrides = list(event.overrides.all())
    master = icalendar.Event()
    master.add("uid", uid)
    master.add("dtstamp", _utc(event.updated_at))
    master.add("dtstart", _when(event, event.start))
    master.add("dtend", _when(event, event.end))
    waitlisted = bool(registrations) and all(r.status == Registration.Status.WAITLISTED for r in registrations)
    mark = "【候补】" if waitlisted else ""
    summary = f"{mark}{event.title}"
    master.add("summary", _line(summary))
    master.add("description", _description(event, status_line))
    master.add("location", _location(event, event.venue))
    master.add("url", event_url(event))
    master.add("categories", [_line(kind_label)])
    master.add("organizer", _organizer())
    master.add("status", "CANCELLED" if event.status == Event.Status.CANCELLED else "CONFIRMED")
    master.add("sequence", event.sequence)
    master.add("last-modified", _utc(event.updated_at))
    if event.visibility == Event.Visibility.INTERNAL:
        master.add("class", "PRIVATE")
    exdates = list(excluded_starts(event))
    kept = []
    rule = _rrule(event) if event.rrule else None
    if rule is not None:
        master.add("rrule", rule)
        for override in overrides:
            if override.status == Event.Status.CANCELLED and _cancelled_long_ago(override.updated_at, now):
                exdates.append(override.recurrence_id)  # gone from the feed: no longer an exception
            else:
                kept.append(override)
        if exdates:
            master.add("exdate", sorted({_when(event, d) for d in exdates}))
    if personal is not None and event.status != Event.Status.CANCELLED:  # as for a cancelled occurrence below
        _alarms(master, event.title, personal.reminders)
    out = [master]
    for override in kept:
        instance = icalendar.Event()
        instance.add("uid", uid)
        instance.add("recurrence-id", _when(event, override.recurrence_id))
        instance.add("dtstamp", _utc(max(override.updated_at, event.updated_at)))
        instance.add("dtstart", _when(event, override.start))
        instance.add("dtend", _when(event, override.end))
        instance.add("summary", _line(f"{mark}{override.title}" if override.title else summary))
        extra = "\n".join(filter(None, [status_line, f"变更原因：{override.reason}" if override.reason else ""]))
        instance.add("description", _description(event, extra))
        instance.add("location", _location(event, override.venue if override.venue_changed else event.venue))
        instance.add("url", event_url(event))
        instance.add("categories", [_line(kind_label)])
        instance.add("organizer", _organizer())
        cancelled = event.status == Event.Status.CANCELLED or override.status == Event.Status.CANCELLED
        instance.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        # An exception is newer than its series: its SEQUENCE is the series' plus its own changes.
        instance.add("sequence", event.sequence + override.sequence)
        instance.add("last-modified", _utc(max(override.updated_at, event.updated_at)))
        if personal is not None and not cancelled:
            _alarms(instance, override.title or event.title, personal.reminders)
        out.append(instance)
    return out


def occurrence_uid(event: Event, recurrence_id: datetime | None) -> str:
    """The UID of one occurrence on its own: the event's with the original start in UTC (a single event's
    own UID), the same in every personal feed and in the occurrence's .ics, so a calendar that imported
    the occurrence and later subscribes to the feed holds one item, not two."""
    if recurrence_id is None or not event.rrule:
        return f"{event.uid}@{UID_DOMAIN}"
    return f"{event.uid}-{_utc(recurrence_id):%Y%m%dT%H%M%SZ}@{UID_DOMAIN}"


def occurrence_path(event_id: int, recurrence_id: datetime) -> str:
    """Where one occurrence's .ics is served (``feeds.occurrence_feed``): its original start in UTC."""
    return f"/calendar/events/{event_id}/{_utc(recurrence_id):%Y%m%dT%H%M%SZ}.ics"


def occurrence_exists(event: Event, recurrence_id: datetime) -> bool:
    """Whether ``recurrence_id`` names an occurrence of ``event`` a feed shows: an original start not
    removed by an EXDATE, or one with an exception (as ``events.recurrence.occurrences`` counts them)."""
    if not event.rrule:
        return recurrence_id == event.start
    if any(o.recurrence_id == recurrence_id for o in event.overrides.all()):
        return True
    return recurrence_id not in excluded_starts(event) and bool(original_occurrences(event, [recurrence_id]))


def occurrence_component(event: Event, recurrence_id: datetime, *, now: datetime,
                         registrations: Iterable[Registration] = (),
                         personal: PersonalItems | None = None) -> icalendar.Event | None:
    """One occurrence of a series as a VEVENT of its own (no RRULE, no RECURRENCE-ID): its exception's
    time, place, title and status applied, SEQUENCE the series' plus the exception's.  None when it is
    not to be shown: its cancellation (or the event's) is older than ``CANCELLED_VISIBLE_DAYS``.
    ``registrations``: the reader's for this occurrence (status line, waitlist mark); ``personal``: a
    personal feed's (its reminders).  The caller checks that the occurrence exists (``occurrence_exists``)."""
    if event.status == Event.Status.CANCELLED and _cancelled_long_ago(event.updated_at, now):
        return None
    override = next((o for o in event.overrides.all() if o.recurrence_id == recurrence_id), None)
    if override is not None and override.status == Event.Status.CANCELLED and _cancelled_long_ago(
            override.updated_at, now):
        return None
    registrations = list(registrations)
    labels = {Registration.Status.CONFIRMED: "已报名", Registration.Status.WAITLISTED: "候补"}
    status_line = ""
    if registrations:
        status_line = "报名状态：" + "；".join(labels.get(r.status, r.status) for r in registrations)
    waitlisted = bool(registrations) and all(r.status == Registration.Status.WAITLISTED for r in registrations)
    mark = "【候补】" if waitlisted else ""
    title = (override.title if override is not None and override.title else "") or event.title
    if override is not None:
        start, end, venue = override.start, override.end, override.venue if override.venue_changed else event.venue
        changed, sequence = max(override.updated_at, event.updated_at), event.sequence + override.sequence
        cancelled = override.status == Event.Status.CANCELLED
        reason = f"变更原因：{override.reason}" if override.reason else ""
    else:
        start, end, venue = recurrence_id, recurrence_id + (event.end - event.start), event.venue
        changed, sequence, cancelled, reason = event.updated_at, event.sequence, False, ""
    cancelled = cancelled or event.status == Event.Status.CANCELLED
    item = icalendar.Event()
    item.add("uid", occurrence_uid(event, recurrence_id))
    item.add("dtstamp", _utc(changed))
    item.add("dtstart", _when(event, start))
    item.add("dtend", _when(event, end))
    item.add("summary", _line(f"{mark}{title}"))
    item.add("description", _description(event, "\n".join(filter(None, [status_line, reason]))))
    item.add("location", _location(event, venue))
    item.add("url", event_url(event))
    item.add("categories", [_line(str(event.get_kind_display()))])
    item.add("organizer", _organizer())
    item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    item.add("sequence", sequence)
    item.add("last-modified", _utc(changed))
    if event.visibility == Event.Visibility.INTERNAL:
        item.add("class", "PRIVATE")
    if personal is not None and not cancelled:
        _alarms(item, title, personal.reminders)
    return item


def personal_components(event: Event, *, now: datetime, personal: PersonalItems) -> list[icalendar.Event]:
    """An event as its reader's feed shows it: its series (``PersonalItems.as_series``), else one VEVENT per
    occurrence registered for that still exists, in order of original start."""
    if personal.as_series(event):
        return event_components(event, now=now, personal=personal)
    by_occurrence: dict[datetime, list[Registration]] = {}
    for r in personal.registrations.get(event.pk, []):
        by_occurrence.setdefault(r.occurrence, []).append(r)
    out = []
    for rid in sorted(by_occurrence):
        if not occurrence_exists(event, rid):
            continue  # the series changed under the registration: no occurrence to show
        item = occurrence_component(event, rid, now=now, registrations=by_occurrence[rid], personal=personal)
        if item is not None:
            out.append(item)
    return out


def _all_day(uid: str, day: date, summary: str, description: str, stamp: datetime, sequence: int,
             url: str) -> icalendar.Event:
    item = icalendar.Event()
    item.add("uid", uid)
    item.add("dtstamp", _utc(stamp))
    item.add("dtstart", day)
    item.add("dtend", day + timedelta(days=1))
    item.add("summary", _line(summary))
    item.add("description", _clean(description))
    item.add("url", url)
    item.add("categories", ["图书借阅"])
    item.add("status", "CONFIRMED")
    item.add("sequence", sequence)
    item.add("transp", "TRANSPARENT")
    _alarms(item, summary, (timedelta(days=1),))
    return item


def loan_component(loan) -> icalendar.Event:
    """An all-day item on a loan's due date; it moves when the loan is renewed (SEQUENCE = renewals)."""
    title = loan.book.title
    return _all_day(
        uid=f"loan-{loan.pk}@{UID_DOMAIN}", day=loan.due_date, summary=f"归还《{title}》",
        description=f"《{title}》（条码 {loan.copy.barcode}）应于今天归还；可在法官书苑续借。",
        stamp=loan.borrowed_at, sequence=loan.renewals, url=f"{settings.SITE_URL}/me",
    )


def hold_component(hold) -> icalendar.Event:
    title = hold.book.title
    return _all_day(
        uid=f"hold-{hold.pk}@{UID_DOMAIN}", day=hold.pickup_by, summary=f"取书《{title}》（预约保留至今天）",
        description=f"您预约的《{title}》已到书（条码 {hold.copy.barcode}），请今天之前到法官书苑借阅。",
        stamp=hold.ready_at or hold.created_at, sequence=0, url=f"{settings.SITE_URL}/me",
    )


def _header(name: str, description: str) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # NAME and X-WR-CALNAME/-CALDESC are written as given, not escaped: one line each, always.
    cal.add("name", _line(name))
    cal.add("x-wr-calname", _line(name))
    if description:
        cal.add("description", _line(description))
        cal.add("x-wr-caldesc", _line(description))
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    body = cal.to_ical()
    return body[: body.rindex(b"END:VCALENDAR")]


def _timezone(first: date | None, last: date | None) -> bytes:
    """The VTIMEZONE of the library's zone over the feed's date range (all TZIDs in our feeds are that zone)."""
    if first is None:
        return b""
    tz = icalendar.Timezone.from_tzinfo(local_tz(), tzid=settings.TIME_ZONE, first_date=first - timedelta(days=1),
                                        last_date=last + timedelta(days=1))
    return tz.to_ical()


def _span(events: Iterable) -> tuple[date | None, date | None]:
    first, last = None, None
    for start_dt, end_dt, recurring in events:
        start, end = _local(start_dt).date(), _local(end_dt).date()
        first = start if first is None or start < first else first
        horizon = max(end, start + timedelta(days=730)) if recurring else end
        last = horizon if last is None or horizon > last else last
    return first, last


def fragment_stamp(*, revision: int, updated_at: datetime, sequence: int, status: str, venue_name: str | None,
                   venue_location: str | None, expired_cancellations: int, now: datetime) -> str:
    """What a public VEVENT depends on: every change of the event (``revision``: saves, speakers,
    reading list and its titles, exceptions), its venue, and which of its cancellations have passed
    the 30 days they stay visible."""
    gone = status == Event.Status.CANCELLED and _cancelled_long_ago(updated_at, now)
    return (f"{FRAGMENT_FORMAT}|{revision}|{updated_at.isoformat()}|{sequence}|{venue_name or ''}|"
            f"{venue_location or ''}|{int(gone)}|{expired_cancellations}")


def serialize_event(event: Event, *, now: datetime, personal: PersonalItems | None = None) -> bytes:
    components = (event_components(event, now=now) if personal is None
                  else personal_components(event, now=now, personal=personal))
    return b"".join(c.to_ical() for c in components)


def assemble(*, name: str, description: str, spans: Iterable[tuple[datetime, datetime, bool]],
             bodies: Iterable[bytes]) -> bytes:
    """A whole feed from serialised VEVENTs: header, the VTIMEZONE over the feed's range, the events."""
    return b"".join([_header(name, description), _timezone(*_span(spans)), *bodies, b"END:VCALENDAR\r\n"])


def build_calendar(events: Iterable[Event], *, name: str, description: str = "",
                   personal: PersonalItems | None = None, now: datetime | None = None) -> bytes:
    """A feed serialised from scratch: CRLF lines folded at 75 octets, UTF-8, with a VTIMEZONE."""
    now = now or timezone.now()
    events = list(events)
    bodies = [serialize_event(e, now=now, personal=personal) for e in events]
    if personal is not None:
        bodies += [loan_component(loan).to_ical() for loan in personal.loans]
        bodies += [hold_component(hold).to_ical() for hold in personal.holds]
    return assemble(name=name, description=description, spans=[(e.start, e.end, bool(e.rrule)) for e in events],
                    bodies=bodies)


def occurrence_calendar(event: Event, recurrence_id: datetime, *, now: datetime | None = None) -> bytes | None:
    """A calendar of one occurrence (its VEVENT as in personal feeds, without status or alarms); None when
    it is not shown (a cancellation past ``CANCELLED_VISIBLE_DAYS``)."""
    now = now or timezone.now()
    if event.rrule:
        item = occurrence_component(event, recurrence_id, now=now)
        items = [item] if item is not None else []
    else:
        items = event_components(event, now=now)
    if not items:
        return None
    start, end = items[0]["DTSTART"].dt, items[0]["DTEND"].dt
    span = [(start, end, False)] if isinstance(start, datetime) else [(event.start, event.end, False)]
    return assemble(name=_line(str(items[0]["SUMMARY"])), description="", spans=span,
                    bodies=[c.to_ical() for c in items])
