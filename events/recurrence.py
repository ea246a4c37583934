"""Expanding a series into occurrences with python-dateutil's ``rrule``, lazily, for a range.

Rules are expanded on the wall clock of the library's time zone (Asia/Shanghai): "every first
Friday at 15:00" stays at 15:00 local time whatever offset the input used.  An occurrence is named
by its original start (its RECURRENCE-ID); EXDATEs remove occurrences; overrides move, retitle,
re-venue or cancel single occurrences.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as dateutil_rrule
from dateutil.rrule import rrulestr
from django.conf import settings
from django.utils.dateparse import parse_datetime

from shuyuan.errors import InvalidInput

logger = logging.getLogger(__name__)

#: RRULE parts we accept (RFC 5545 §3.3.10); finer than daily (HOURLY …) and BYHOUR/BYMINUTE/BYSECOND
#: make no sense for library events and are refused.
SUPPORTED_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYWEEKNO",
                   "BYYEARDAY", "WKST"}
SUPPORTED_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
#: How far ahead a series without an end is checked for venue conflicts.
CONFLICT_HORIZON = timedelta(days=366)
#: At most this many occurrences are expanded for one request (a guard against FREQ=DAILY over decades).
MAX_OCCURRENCES = 5000


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def normalize_rrule(text: str, *, start: datetime) -> str:
    """Check an RRULE and return it in canonical form; raise InvalidInput naming ``rrule`` otherwise."""
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        return ""
    parts = {}
    for piece in text.upper().split(";"):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        if not sep or not value:
            raise InvalidInput("rrule", f"重复规则格式错误：{piece!r} (malformed RRULE part)", code="bad_rrule")
        if name in parts:
            raise InvalidInput("rrule", f"重复规则中 {name} 出现两次 (RRULE part given twice)", code="bad_rrule")
        if name not in SUPPORTED_PARTS:
            raise InvalidInput("rrule", f"不支持的重复规则部分：{name} (unsupported RRULE part)", code="bad_rrule")
        parts[name] = value
    if parts.get("FREQ") not in SUPPORTED_FREQS:
        raise InvalidInput("rrule", "FREQ 须为 DAILY、WEEKLY、MONTHLY 或 YEARLY (unsupported or missing FREQ)",
                           code="bad_rrule")
    if "COUNT" in parts and "UNTIL" in parts:
        raise InvalidInput("rrule", "COUNT 与 UNTIL 不能同时使用 (COUNT and UNTIL are exclusive)", code="bad_rrule")
    try:
        if "UNTIL" in parts:
            parts["UNTIL"] = until_utc(parts["UNTIL"])
        canonical = ";".join(f"{k}={v}" for k, v in parts.items())
        rule = _parse(canonical, start)
        first = rule.after(start.astimezone(local_tz()) - timedelta(microseconds=1), inc=True)
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise InvalidInput("rrule", f"重复规则无法解析 (RRULE does not parse): {exc}", code="bad_rrule") from None
    if first is None:
        raise InvalidInput("rrule", "重复规则没有任何一次活动 (the RRULE yields no occurrence)", code="bad_rrule")
    if first != start:
        # RFC 5545 counts DTSTART as the first instance even when the rule would skip it, so calendar
        # apps would show one occurrence more than we do: the start must be the rule's first instance.
        raise InvalidInput(
            "start",
            f"开始时间须是重复规则的第一次活动，例如 {first.astimezone(local_tz()):%Y-%m-%d %H:%M} "
            "(start must be the first occurrence of the rule)",
            code="start_not_in_rule",
        )
    return canonical


def normalize_exdates(values, event) -> list[str]:
    """EXDATEs checked against ``event``'s rule and returned sorted, in library time; raise InvalidInput
    naming ``exdates`` for one that is not a date-time or not an occurrence of the series."""
    values = values or []
    if not isinstance(values, list | tuple):
        raise InvalidInput("exdates", "排除日期须为日期时间列表 (exdates must be a list of date-times)",
                           code="bad_exdate")
    out = []
    for value in values:
        when = parse_instant(value, "exdates")
        if not is_original_occurrence(event, when, include_excluded=True):
            raise InvalidInput("exdates", f"{value} 不是该系列的一次活动 (EXDATE is not an occurrence)", code="bad_exdate")
        out.append(when.astimezone(local_tz()).isoformat())
    return sorted(set(out))


def _parse(rule: str, start: datetime) -> dateutil_rrule.rrule:
    dtstart = start.astimezone(local_tz())
    return rrulestr(with_utc_until(rule), dtstart=dtstart, cache=False)


def _series_rule(event) -> dateutil_rrule.rrule | None:
    """The event's rule, parsed; None for a stored rule that does not parse.

    Input checks every rule (``normalize_rrule``: the API, the organizer pages and ``Event.clean`` in
    the admin), but a row written past them (by hand in the database, or before the admin checked)
    must not turn every page that lists events into a 500: such a series shows its first occurrence
    only, as the feed shows it (``events.ical`` leaves the RRULE out), and a warning is logged."""
    try:
        return _parse(event.rrule, event.start)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
        logger.warning("event %s: RRULE %r does not parse (%s); shown as its first occurrence only",
                       event.pk, event.rrule, exc)
        return None


def until_utc(value: str) -> str:
    """An RRULE UNTIL as RFC 5545 §3.3.10 requires beside a DTSTART with a TZID: a UTC date-time.

    A date (``20270630``) means through the end of that day in library time, so an occurrence on
    that day is included; a date-time without ``Z`` is library time.  Raises ValueError when
    ``value`` is neither."""
    value = value.strip().upper()
    if value.endswith("Z"):
        aware = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    else:
        local = datetime.strptime(value, "%Y%m%dT%H%M%S" if "T" in value else "%Y%m%d")
        if "T" not in value:
            local = local.replace(hour=23, minute=59, second=59)  # a date UNTIL includes that whole day
        aware = local.replace(tzinfo=local_tz()).astimezone(UTC)
    return aware.strftime("%Y%m%dT%H%M%SZ")


def with_utc_until(rule: str) -> str:
    """``rule`` with its UNTIL (if any) in UTC; rules stored before UNTIL was normalised on input had
    floating ones.  Raises ValueError for an UNTIL that is neither a date nor a date-time."""
    parts = [piece.partition("=") for piece in rule.split(";") if piece]
    return ";".join(f"{name}={until_utc(value) if name.upper() == 'UNTIL' else value}" for name, _, value in parts)


def is_finite(rrule_text: str) -> bool:
    up = rrule_text.upper()
    return not up or "COUNT=" in up or "UNTIL=" in up


def parse_instant(value: str | datetime, field: str) -> datetime:
    """An aware datetime from an ISO string (any offset; a naive one is library time)."""
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = parse_datetime(str(value).strip()) if value else None
        except ValueError:  # well-formed but impossible: month 13, offset +99:00
            dt = None
        if dt is None:
            raise InvalidInput(field, f"不是有效的日期时间：{value!r} (not an ISO 8601 datetime)")
    if not 1900 <= dt.year <= 2100:
        raise InvalidInput(field, f"日期超出范围（1900–2100）：{value!r} (date out of range)")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=local_tz())
    return dt


def range_bound(value: date | datetime, field: str, *, end: bool = False) -> datetime:
    """One end of a requested range as an aware instant.  A plain date is that day in library time:
    as a start its first moment, as an ``end`` the whole day included (the next local midnight, the
    range being half-open); a datetime without an offset is library time."""
    if not isinstance(value, datetime):
        if not 1900 <= value.year <= 2100:
            raise InvalidInput(field, f"日期超出范围（1900–2100）：{value.isoformat()} (date out of range)")
        day = value + timedelta(days=1) if end else value
        return datetime(day.year, day.month, day.day, tzinfo=local_tz())
    return parse_instant(value, field)


@dataclass
class Occurrence:
    event: object
    recurrence_id: datetime | None  # the original start; None for a non-recurring event
    start: datetime
    end: datetime
    title: str
    venue_id: int | None
    status: str
    override: object | None = None

    @property
    def key(self) -> datetime | None:
        return self.recurrence_id


def original_starts(event, start: datetime, end: datetime) -> list[datetime]:
    """Original starts of a series' occurrences that begin in [start, end), EXDATEs removed."""
    rule = _series_rule(event) if event.rrule else None
    if rule is None:
        return [event.start] if start <= event.start < end else []
    excluded = excluded_starts(event)
    out = []
    for dt in rule.xafter(start - timedelta(microseconds=1), count=MAX_OCCURRENCES, inc=True):
        if dt >= end:
            break
        if dt not in excluded:
            out.append(dt)
    return out


def is_original_occurrence(event, when: datetime, *, include_excluded: bool = False) -> bool:
    rule = _series_rule(event) if event.rrule else None
    if rule is None:
        return when == event.start
    hit = rule.after(when - timedelta(microseconds=1), inc=True)
    if hit is None or hit != when:
        return False
    return include_excluded or when not in excluded_starts(event)


def excluded_starts(event) -> set[datetime]:
    """The event's EXDATEs as instants; one that does not parse (written past the checks) is ignored, logged."""
    out = set()
    for value in event.exdates if isinstance(event.exdates, list) else []:
        try:
            out.add(parse_instant(value, "exdates"))
        except (InvalidInput, TypeError):
            logger.warning("event %s: EXDATE %r does not parse; ignored", event.pk, value)
    return out


def occurrences(event, start: datetime, end: datetime, overrides: Iterable | None = None) -> list[Occurrence]:
    """Every occurrence of ``event`` overlapping [start, end), overrides applied, sorted by start.

    Cancelled events and occurrences are included with status ``cancelled``.
    """
    if overrides is None:
        overrides = list(event.overrides.all())
    by_id = {o.recurrence_id: o for o in overrides}
    duration = event.end - event.start
    # Originals that might overlap the range, plus moved ones that now do.
    originals = set(original_starts(event, start - duration, end))
    if event.rrule:
        originals |= {o.recurrence_id for o in overrides if o.start < end and o.end > start}
    out = []
    for rid in originals:
        override = by_id.get(rid)
        if override is not None:
            occ = Occurrence(
                event=event,
                recurrence_id=rid,
                start=override.start,
                end=override.end,
                title=override.title or event.title,
                venue_id=override.venue_id if override.venue_changed else event.venue_id,
                status=_occurrence_status(event, override.status),
                override=override,
            )
        else:
            occ = Occurrence(
                event=event,
                recurrence_id=rid if event.rrule else None,
                start=rid,
                end=rid + duration,
                title=event.title,
                venue_id=event.venue_id,
                status=event.status,
            )
        if occ.start < end and occ.end > start:
            out.append(occ)
    out.sort(key=lambda o: (o.start, o.event.pk or 0))
    return out


def _occurrence_status(event, occurrence_status: str) -> str:
    """A cancelled series cancels every occurrence; otherwise the occurrence's own status."""
    return "cancelled" if event.status == "cancelled" else occurrence_status


def conflict_window(event) -> tuple[datetime, datetime]:
    """The span over which an event's occurrences are compared with others for venue conflicts."""
    start = event.start
    rule = _series_rule(event) if event.rrule else None
    if rule is None:
        return start, event.end
    if is_finite(event.rrule):
        last = None
        for dt in rule.xafter(start - timedelta(microseconds=1), count=MAX_OCCURRENCES, inc=True):
            last = dt
        return start, (last or start) + (event.end - event.start)
    return start, start + CONFLICT_HORIZON
