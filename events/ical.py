"""iCalendar feeds (RFC 5545 and RFC 7986) built with the icalendar package.

* Each event is one VEVENT with its series (RRULE, EXDATE) plus one VEVENT with RECURRENCE-ID per
  overridden or cancelled occurrence; the UID is the event's and the same in every feed.
* Everything in the output derives from the data (DTSTAMP is the last change of the item), so an
  unchanged feed is byte-identical and its ETag stable.
* Cancelled events and occurrences stay as STATUS:CANCELLED with a raised SEQUENCE for
  ``CANCELLED_VISIBLE_DAYS``; after that a cancelled occurrence becomes an EXDATE and a cancelled event
  leaves the feed.
* Personal feeds add VALARMs (1 day and 1 hour before), the reader's registration status, due dates
  of their loans and pickup deadlines of their ready holds as all-day events.
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
from events.recurrence import excluded_starts, local_tz, rule_is_acceptable, with_utc_until

logger = logging.getLogger(__name__)

PRODID = "-//法官书苑 Faguan Shuyuan//Court Library Events//ZH"
CANCELLED_VISIBLE_DAYS = 30
UID_DOMAIN = "shuyuan"
#: Part of every stamp: raise it when stored public VEVENTs must be rebuilt although no event changed
#: (2: internal papers no longer named in a public event's reading list; 3: single-line text on one
#: line, RRULE UNTIL in UTC).
FRAGMENT_FORMAT = 3


@dataclass
class PersonalItems:
    registrations: dict[int, list[Registration]] = field(default_factory=dict)  # by event id
    loans: list = field(default_factory=list)
    holds: list = field(default_factory=list)
    display_name: str = ""


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
        _alarms(master, event.title, (timedelta(days=1), timedelta(hours=1)))
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
            _alarms(instance, override.title or event.title, (timedelta(days=1), timedelta(hours=1)))
        out.append(instance)
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
    return b"".join(c.to_ical() for c in event_components(event, now=now, personal=personal))


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
