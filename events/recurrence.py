"""Expanding a series into occurrences with python-dateutil's ``rrule``, lazily, for a range, within a budget.

Rules are expanded on the wall clock of the library's time zone (Asia/Shanghai): "every first
Friday at 15:00" stays at 15:00 local time whatever offset the input used.  An occurrence is named
by its original start (its RECURRENCE-ID); EXDATEs remove occurrences; overrides move, retitle,
re-venue or cancel single occurrences.

Cost.  Every iteration of a rule goes through ``_expand``: a rule without COUNT starts from the
period holding the range's start (DTSTART moved forward by whole periods, so a series that began
in 2000 costs the same in 2090 as in its first year), and every expansion has a ``Budget`` of
periods looked at and instances produced (``events.bounded_rrule``).  Past its budget a series is
treated as having no further occurrences and a warning is logged; a read never hangs and never
fails.  Input is refused (422 naming the field) when its shape could make expansion expensive:
see ``normalize_rrule``.
"""

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as dateutil_rrule
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_lazy

from core.errors import InvalidInput
from events.bounded_rrule import BoundedRule, Budget, BudgetExceeded

logger = logging.getLogger(__name__)

#: RRULE parts we accept (RFC 5545 §3.3.10); finer than daily (HOURLY …) and BYHOUR/BYMINUTE/BYSECOND
#: make no sense for library events and are refused.
SUPPORTED_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYWEEKNO",
                   "BYYEARDAY", "WKST"}
FREQS = {"DAILY": dateutil_rrule.DAILY, "WEEKLY": dateutil_rrule.WEEKLY, "MONTHLY": dateutil_rrule.MONTHLY,
         "YEARLY": dateutil_rrule.YEARLY}
SUPPORTED_FREQS = set(FREQS)
WEEKDAYS = {"MO": dateutil_rrule.MO, "TU": dateutil_rrule.TU, "WE": dateutil_rrule.WE, "TH": dateutil_rrule.TH,
            "FR": dateutil_rrule.FR, "SA": dateutil_rrule.SA, "SU": dateutil_rrule.SU}
#: Every instant given as input (starts, ends, EXDATEs, UNTIL, occurrences, ranges) lies in these years,
#: as the organizer's web form has always required.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_INTERVAL = 365
#: As the web form: a series with a COUNT has at most this many occurrences.
MAX_COUNT = 500
#: The most values a BYxxx list may hold, and the largest absolute value of each (0 is never valid).
LIST_LIMITS = {"BYSETPOS": 7, "BYDAY": 14, "BYMONTHDAY": 31, "BYMONTH": 12, "BYYEARDAY": 31, "BYWEEKNO": 53}
VALUE_LIMITS = {"BYSETPOS": 366, "BYMONTHDAY": 31, "BYMONTH": 12, "BYYEARDAY": 366, "BYWEEKNO": 53}
#: How far ahead a series without an end is checked for venue conflicts.
CONFLICT_HORIZON = timedelta(days=366)
#: The budget of one expansion: about this many months of periods looked at (some 3 ms each for a
#: daily rule that matches nothing; a range of 400 days needs about 15) ...
MAX_SCAN_STEPS = 600
#: ... and at most this many instances produced (a guard against FREQ=DAILY over decades).
MAX_OCCURRENCES = 5000
#: The longest occurrence of a series: a salon, seminar or tea talk lasts hours, a reading week or a
#: training course a few days.  A read looks back this far for occurrences still running when its
#: range begins, so the length bounds what every read costs.
MAX_OCCURRENCE_LENGTH = timedelta(days=7)
#: The longest single (non-recurring) event: a reading festival of a month.
MAX_EVENT_LENGTH = timedelta(days=31)


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _bad(detail: str) -> InvalidInput:
    return InvalidInput("rrule", detail, code="bad_rrule")


def _rule_parts(text: str) -> dict[str, str]:
    """The parts of an RRULE (without the ``RRULE:`` prefix), upper-cased; InvalidInput naming ``rrule``
    for a malformed, repeated or unsupported part, a missing or unsupported FREQ, COUNT with UNTIL."""
    parts = {}
    for piece in text.upper().split(";"):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        if not sep or not value:
            raise _bad(gettext("重复规则格式错误：%(part)r") % {"part": piece})
        if name in parts:
            raise _bad(gettext("重复规则中 %(name)s 出现两次") % {"name": name})
        if name not in SUPPORTED_PARTS:
            raise _bad(gettext("不支持的重复规则部分：%(name)s") % {"name": name})
        parts[name] = value
    if parts.get("FREQ") not in SUPPORTED_FREQS:
        raise _bad(gettext("FREQ 须为 DAILY、WEEKLY、MONTHLY 或 YEARLY"))
    if "COUNT" in parts and "UNTIL" in parts:
        raise _bad(gettext("COUNT 与 UNTIL 不能同时使用"))
    return parts


def _integer(name: str, value: str, low: int, high: int, *, signed: bool = False) -> int:
    if not re.fullmatch(r"[+-]?\d{1,4}" if signed else r"\d{1,4}", value):
        raise _bad(gettext("%(name)s 须为整数：%(value)r") % {"name": name, "value": value})
    number = int(value)
    if not low <= abs(number) <= high or number == 0:
        raise _bad(gettext("%(name)s 超出范围（%(low)s–%(high)s）：%(value)s") % {"name": name, "low": low, "high": high,
                                                                          "value": value})
    return number


def _rule_kwargs(parts: dict[str, str]) -> dict:
    """dateutil ``rrule`` keyword arguments for checked ``parts`` (no DTSTART); InvalidInput naming
    ``rrule`` for a value or a combination RFC 5545 or our limits refuse.  Costs no expansion."""
    freq = parts["FREQ"]
    kwargs: dict = {"freq": FREQS[freq], "wkst": 0}
    if "INTERVAL" in parts:
        kwargs["interval"] = _integer("INTERVAL", parts["INTERVAL"], 1, MAX_INTERVAL)
    if "COUNT" in parts:
        kwargs["count"] = _integer("COUNT", parts["COUNT"], 1, MAX_COUNT)
    if "UNTIL" in parts:
        try:
            until = datetime.strptime(until_utc(parts["UNTIL"]), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except (ValueError, OverflowError) as exc:
            raise _bad(gettext("UNTIL 无法解析：%(error)s") % {"error": exc}) from None
        if not FIRST_YEAR <= until.astimezone(local_tz()).year <= LAST_YEAR:
            raise _bad(gettext("UNTIL 须在 %(first)s–%(last)s 年之间") % {"first": FIRST_YEAR, "last": LAST_YEAR})
        kwargs["until"] = until
    if "WKST" in parts:
        if parts["WKST"] not in WEEKDAYS:
            raise _bad(gettext("WKST 须为 MO…SU：%(value)r") % {"value": parts["WKST"]})
        kwargs["wkst"] = WEEKDAYS[parts["WKST"]].weekday
    for name, limit in LIST_LIMITS.items():
        if name in parts and len(parts[name].split(",")) > limit:
            raise _bad(gettext("%(name)s 最多 %(limit)s 个值") % {"name": name, "limit": limit})
    if "BYMONTH" in parts:
        kwargs["bymonth"] = [_integer("BYMONTH", v, 1, 12) for v in parts["BYMONTH"].split(",")]
    for name, key in (("BYMONTHDAY", "bymonthday"), ("BYYEARDAY", "byyearday"), ("BYWEEKNO", "byweekno"),
                      ("BYSETPOS", "bysetpos")):
        if name in parts:
            kwargs[key] = [_integer(name, v, 1, VALUE_LIMITS[name], signed=True) for v in parts[name].split(",")]
    # RFC 5545 §3.3.10: which parts go with which FREQ.
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise _bad(gettext("BYMONTHDAY 不能用于 WEEKLY"))
    for name in ("BYYEARDAY", "BYWEEKNO"):
        if name in parts and freq != "YEARLY":
            raise _bad(gettext("%(name)s 只能用于 YEARLY") % {"name": name})
    if "BYSETPOS" in parts:
        if freq not in ("MONTHLY", "YEARLY"):
            raise _bad(gettext("BYSETPOS 只能用于 MONTHLY 或 YEARLY"))
        if not {"BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH"} & set(parts):
            raise _bad(gettext("BYSETPOS 须与其他 BYxxx 部分同用"))
    if "BYDAY" in parts:
        days = []
        for item in parts["BYDAY"].split(","):
            match = re.fullmatch(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", item)
            if match is None:
                raise _bad(gettext("BYDAY 格式错误：%(value)r") % {"value": item})
            if match[1] is None:
                days.append(WEEKDAYS[match[2]])
                continue
            if freq not in ("MONTHLY", "YEARLY") or "BYWEEKNO" in parts:
                raise _bad(gettext("BYDAY 的序号只能用于 MONTHLY 或 YEARLY：%(value)s") % {"value": item})
            limit = 5 if freq == "MONTHLY" else 53
            days.append(WEEKDAYS[match[2]](_integer("BYDAY", match[1], 1, limit, signed=True)))
        kwargs["byweekday"] = days
    return kwargs


def check_window(value: date | datetime, field: str) -> None:
    """InvalidInput naming ``field`` unless ``value`` (an aware instant: its local date) lies in FIRST_YEAR–LAST_YEAR."""
    day = value.astimezone(local_tz()).date() if isinstance(value, datetime) else value
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(field, gettext("日期须在 %(first)s–%(last)s 年之间：%(value)s") % {
            "first": FIRST_YEAR, "last": LAST_YEAR, "value": value.isoformat()})


def check_length(start: datetime, end: datetime, *, recurring: bool, field: str = "end") -> None:
    """InvalidInput naming ``field`` (code ``too_long``) when [start, end) is longer than an occurrence of a
    series (``recurring``: an occurrence of a series, or an override of one) or a single event may last."""
    limit = MAX_OCCURRENCE_LENGTH if recurring else MAX_EVENT_LENGTH
    if end - start > limit:
        message = gettext("重复活动的每一场最长 %(days)s 天") if recurring else gettext("单次活动最长 %(days)s 天")
        raise InvalidInput(field, message % {"days": limit.days}, code="too_long")


def normalize_rrule(text: str, *, start: datetime) -> str:
    """Check an RRULE and return it in canonical form; raise InvalidInput naming ``rrule`` otherwise.

    Refused: parts other than ``SUPPORTED_PARTS``, FREQ finer than DAILY, INTERVAL outside 1–365,
    COUNT outside 1–500, UNTIL outside FIRST_YEAR–LAST_YEAR, BYxxx lists longer than ``LIST_LIMITS``,
    combinations RFC 5545 forbids (BYSETPOS only with MONTHLY or YEARLY, BYWEEKNO and BYYEARDAY only
    with YEARLY …), a rule that yields no occurrence within one expansion's budget, a COUNT series
    that does not end within it; and (naming ``start``) a ``start`` that is not the rule's first instance."""
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        return ""
    parts = _rule_parts(text)
    if "UNTIL" in parts:
        try:
            parts["UNTIL"] = until_utc(parts["UNTIL"])
        except (ValueError, OverflowError) as exc:
            raise _bad(gettext("重复规则无法解析：%(error)s") % {"error": exc}) from None
    kwargs = _rule_kwargs(parts)
    canonical = ";".join(f"{k}={v}" for k, v in parts.items())
    dtstart = start.astimezone(local_tz())
    budget = Budget(steps=MAX_SCAN_STEPS, results=MAX_OCCURRENCES)
    try:
        instances = _expand(kwargs, dtstart, dtstart, budget=budget)
        first = next(instances, None)
        if "count" in kwargs:
            for _ in instances:  # the whole series must fit one expansion, or it could never be read whole
                pass
    except BudgetExceeded:
        raise _bad(gettext("重复规则过于稀疏或过长，无法展开")) from None
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise _bad(gettext("重复规则无法解析：%(error)s") % {"error": exc}) from None
    if first is None:
        raise _bad(gettext("重复规则没有任何一次活动"))
    if first != start:
        # RFC 5545 counts DTSTART as the first instance even when the rule would skip it, so calendar
        # apps would show one occurrence more than we do: the start must be the rule's first instance.
        raise InvalidInput(
            "start",
            gettext("开始时间须是重复规则的第一次活动，例如 %(first)s") % {
                "first": f"{first.astimezone(local_tz()):%Y-%m-%d %H:%M}"},
            code="start_not_in_rule",
        )
    return canonical


def first_instance(text: str, *, start: datetime) -> datetime | None:
    """The first instance of RRULE ``text`` at or after ``start`` (its DTSTART), within one budget;
    None when there is none or the rule is refused."""
    try:
        kwargs = _rule_kwargs(_rule_parts(text))
        dtstart = start.astimezone(local_tz())
        return next(_expand(kwargs, dtstart, dtstart, budget=Budget(steps=MAX_SCAN_STEPS, results=MAX_OCCURRENCES)),
                    None)
    except (InvalidInput, BudgetExceeded, ValueError, TypeError, IndexError, OverflowError):
        return None


def normalize_exdates(values, event) -> list[str]:
    """EXDATEs checked against ``event``'s rule and returned sorted, in library time; raise InvalidInput
    naming ``exdates`` for one that is not a date-time or not an occurrence of the series.

    All of them are checked within one budget (each from its own period, see ``_expand``), so 500
    EXDATEs cost about as much as 500 reads of one day."""
    values = values or []
    if not isinstance(values, list | tuple):
        raise InvalidInput("exdates", gettext("排除日期须为日期时间列表"),
                           code="bad_exdate")
    parsed = [(value, parse_instant(value, "exdates")) for value in values]
    found = original_occurrences(event, [when for _, when in parsed])
    out = []
    for value, when in parsed:
        if when not in found:
            raise InvalidInput("exdates", gettext("%(when)s 不是该系列的一次活动") % {"when": value}, code="bad_exdate")
        out.append(when.astimezone(local_tz()).isoformat())
    return sorted(set(out))


@dataclass
class _Series:
    kwargs: dict
    dtstart: datetime


def _series_rule(event) -> _Series | None:
    """The event's rule, checked and parsed; None for a stored rule that the input checks would refuse.

    Input checks every rule (``normalize_rrule``: the API, the organizer pages and ``Event.clean`` in
    the admin), but a row written past them (by hand in the database, or before the checks existed)
    must not turn every page that lists events into a 500 or hold a worker: such a series shows its
    first occurrence only, as the feed shows it (``events.ical`` leaves the RRULE out), and a warning
    is logged.  The shape check costs no expansion."""
    try:
        return _Series(kwargs=_rule_kwargs(_rule_parts(with_utc_until(event.rrule))),
                       dtstart=event.start.astimezone(local_tz()))
    except (InvalidInput, ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
        reason = exc.detail if isinstance(exc, InvalidInput) else exc
        logger.warning("event %s: RRULE %r does not parse (%s); shown as its first occurrence only",
                       event.pk, event.rrule, reason)
        return None


def rule_is_acceptable(rrule_text: str) -> bool:
    """Whether a stored RRULE passes the input checks of its shape (no expansion): the feed writes only those."""
    try:
        _rule_kwargs(_rule_parts(with_utc_until(rrule_text)))
    except (InvalidInput, ValueError, TypeError, IndexError, KeyError, OverflowError):
        return False
    return True


def _fast_forward(kwargs: dict, dtstart: datetime, target: datetime) -> tuple[dict, datetime]:
    """``kwargs`` and a DTSTART for the same series, moved forward by whole periods to the period that
    holds ``target``; unchanged when that is DTSTART's own period, or for a COUNT (counted from DTSTART).

    dateutil derives missing BYxxx parts from DTSTART (its weekday, day of month, month): they are
    made explicit first, so the moved DTSTART means the same series."""
    if "count" in kwargs:
        return kwargs, dtstart
    freq, step = kwargs["freq"], kwargs.get("interval", 1)
    day = target.astimezone(local_tz()).date()
    first = dtstart.date()
    if freq == dateutil_rrule.DAILY:
        periods = (day - first).days // step
        moved = first + timedelta(days=periods * step)
    elif freq == dateutil_rrule.WEEKLY:
        week = first - timedelta(days=(first.weekday() - kwargs["wkst"]) % 7)
        periods = (day - week).days // 7 // step
        moved = week + timedelta(weeks=periods * step)
    elif freq == dateutil_rrule.MONTHLY:
        months = (day.year * 12 + day.month - 1) - (first.year * 12 + first.month - 1)
        periods = months // step
        index = first.year * 12 + first.month - 1 + periods * step
        moved = date(index // 12, index % 12 + 1, 1)
    else:
        periods = (day.year - first.year) // step
        moved = date(first.year + periods * step, 1, 1)
    if periods <= 0:
        return kwargs, dtstart
    explicit = dict(kwargs)
    if not any(kwargs.get(key) for key in ("byweekno", "byyearday", "bymonthday", "byweekday")):
        if freq == dateutil_rrule.YEARLY:
            explicit.setdefault("bymonth", [first.month])
            explicit["bymonthday"] = [first.day]
        elif freq == dateutil_rrule.MONTHLY:
            explicit["bymonthday"] = [first.day]
        elif freq == dateutil_rrule.WEEKLY:
            explicit["byweekday"] = [first.weekday()]
    return explicit, datetime.combine(moved, dtstart.time(), tzinfo=dtstart.tzinfo)


def _expand(kwargs: dict, dtstart: datetime, begin: datetime, *, budget: Budget) -> Iterator[datetime]:
    """Instances at or after ``begin`` of the rule ``kwargs`` with ``dtstart``, in order: the one place
    a rule is iterated.  Every instance dateutil produces and every month of periods it looks at
    (matching or not) is charged to ``budget``; raises BudgetExceeded past it."""
    kwargs, moved = _fast_forward(kwargs, dtstart, begin)
    options = dict(kwargs)
    rule = BoundedRule(options.pop("freq"), dtstart=moved, budget=budget, **options)
    for dt in rule:
        budget.charge_result()
        if dt >= begin:
            yield dt


def _budget_for(series: _Series, begin: datetime, end: datetime) -> tuple[Budget, bool]:
    """The budget of one read of [begin, end), and whether running out of its steps only means the scan
    went past ``end`` (nothing lost).  A series without COUNT starts from ``begin``'s period, so the
    months of the range plus three years (a YEARLY period costs 12) are enough to reach ``end``; a
    COUNT series is read from DTSTART and gets the whole budget its input check required it to fit."""
    if "count" in series.kwargs:
        return Budget(steps=MAX_SCAN_STEPS, results=MAX_OCCURRENCES), False
    needed = (end.year - begin.year) * 12 + end.month - begin.month + 1 + 36
    return Budget(steps=min(needed, MAX_SCAN_STEPS), results=MAX_OCCURRENCES), needed <= MAX_SCAN_STEPS


def series_starts(event, begin: datetime, end: datetime, *, limit: int | None = None) -> list[datetime]:
    """Original starts of ``event``'s occurrences in [begin, end), EXDATEs not removed; a one-off
    event's start; the first ``limit`` of them when given.  The one entry point for reading a stored
    series: whatever is stored, the cost is bounded by ``_budget_for``, and past the budget the series
    is treated as ending there (logged)."""
    return series_starts_within(event, begin, end, limit=limit)[0]


def series_starts_within(event, begin: datetime, end: datetime, *, limit: int | None = None,
                         max_steps: float | None = None) -> tuple[list[datetime], datetime | None]:
    """``series_starts(…)``, scanning at most ``max_steps`` months of periods when given (a listing shares
    its scanning out among its events).  When the scan stopped at that allowance before ``end``, also the
    instant up to which every start was looked at (later ones were not); else None."""
    series = _series_rule(event) if event.rrule else None
    if series is None:
        return ([event.start] if begin <= event.start < end else []), None
    budget, enough = _budget_for(series, begin, end)
    cut_short = False
    if max_steps is not None and max_steps < budget.steps:
        budget.steps, enough, cut_short = max_steps, False, True
    out: list[datetime] = []
    try:
        for dt in _expand(series.kwargs, series.dtstart, begin, budget=budget):
            if dt >= end or limit is not None and len(out) >= limit:
                break
            out.append(dt)
    except BudgetExceeded as exc:
        if cut_short and budget.spent_steps > budget.steps:
            # A series without COUNT is scanned from the period holding ``begin``, a month of periods per
            # step: the months before the last one scanned were looked at whole.  A COUNT series is read
            # from its DTSTART: only what it found is known.
            seen = out[-1] if out else begin
            if "count" not in series.kwargs:
                month = begin.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
                seen = max(seen, month + relativedelta(months=max(0, int(budget.steps) - 2)))
            return out, seen
        if not (enough and budget.spent_results <= budget.results):
            logger.warning("event %s: RRULE %r read from %s past its budget (%s); no further occurrences",
                           event.pk, event.rrule, begin.isoformat(), exc)
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        logger.warning("event %s: RRULE %r does not expand (%s); no further occurrences", event.pk, event.rrule, exc)
    return out, None


def original_occurrences(event, instants: Iterable[datetime]) -> set[datetime]:
    """Those of ``instants`` that are original starts of ``event`` (EXDATEs not removed): a COUNT series
    along one expansion, another each from its own period, which costs a period or two when it is one."""
    wanted = sorted(set(instants))
    if event.rrule and "COUNT=" not in event.rrule.upper():
        return {when for when in wanted if when in series_starts(event, when, when + timedelta(microseconds=1))}
    if not wanted:
        return set()
    starts = set(series_starts(event, wanted[0], wanted[-1] + timedelta(microseconds=1)))
    return {when for when in wanted if when in starts}


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


_DAY_NAMES = {"MO": gettext_lazy("周一"), "TU": gettext_lazy("周二"), "WE": gettext_lazy("周三"), "TH": gettext_lazy("周四"),
              "FR": gettext_lazy("周五"), "SA": gettext_lazy("周六"), "SU": gettext_lazy("周日")}
_DAY_ORDER = list(_DAY_NAMES)
_ORDINAL_NAMES = {"1": gettext_lazy("第一个"), "2": gettext_lazy("第二个"), "3": gettext_lazy("第三个"), "4": gettext_lazy("第四个"),
                  "5": gettext_lazy("第五个"), "-1": gettext_lazy("最后一个")}
_WORKDAYS = ["MO", "TU", "WE", "TH", "FR"]


def _days_in_words(days: list[str]) -> str:
    """Plain weekdays (no ordinal) in week order: 周一、周三."""
    ordered = sorted(set(days), key=_DAY_ORDER.index)
    return gettext("、").join(str(_DAY_NAMES[d]) for d in ordered)


def _pattern_in_words(parts: dict[str, str], start: datetime | None) -> str | None:
    """The rule's pattern (每周三, 每两周的周一、周三, 每月第一个周五, 每月 15 日 …) or None for a shape
    that has no plain words."""
    freq = parts["FREQ"]
    raw = parts.get("INTERVAL", "1")
    interval = int(raw) if raw.isascii() and raw.isdigit() else 0
    if interval < 1 or set(parts) - {"FREQ", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL", "INTERVAL", "WKST"}:
        return None
    local = start.astimezone(local_tz()) if start is not None else None
    items = [d for d in parts.get("BYDAY", "").split(",") if d]
    matches = [re.fullmatch(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", d) for d in items]
    if any(m is None for m in matches):
        return None
    plain = [m[2] for m in matches if not m[1]]
    numbered = [(m[1].lstrip("+"), m[2]) for m in matches if m[1]]
    monthdays = [d for d in parts.get("BYMONTHDAY", "").split(",") if d]
    if "BYMONTH" in parts and freq != "YEARLY":
        return None
    if freq == "DAILY":
        if monthdays or numbered:
            return None
        if plain:
            if interval != 1:
                return None
            return gettext("每个工作日") if sorted(plain, key=_DAY_ORDER.index) == _WORKDAYS else \
                gettext("每%(weekday)s") % {"weekday": _days_in_words(plain)}
        return gettext("每天") if interval == 1 else gettext("每 %(n)s 天") % {"n": interval}
    if freq == "WEEKLY":
        if monthdays or numbered:
            return None
        if not plain:
            if local is None:
                return gettext("每周") if interval == 1 else gettext("每 %(n)s 周") % {"n": interval}
            plain = [_DAY_ORDER[local.weekday()]]
        days = _days_in_words(plain)
        if interval == 1:
            return gettext("每%(weekday)s") % {"weekday": days}
        return gettext("每 %(n)s 周的%(weekday)s") % {"n": interval, "weekday": days}
    if freq == "MONTHLY":
        if monthdays and not items:
            if monthdays == ["-1"]:
                which = gettext("最后一天")
            elif all(d.isascii() and d.isdigit() for d in monthdays):
                days = gettext("、").join(str(int(d)) for d in sorted(monthdays, key=int))
                if interval == 1:
                    return gettext("每月 %(days)s 日") % {"days": days}
                return gettext("每 %(n)s 个月的 %(days)s 日") % {"n": interval, "days": days}
            else:
                return None
        elif len(numbered) == 1 and not plain and not monthdays and numbered[0][0] in _ORDINAL_NAMES:
            ordinal, day = numbered[0]
            if interval == 1:
                return gettext("每月%(ordinal)s%(weekday)s") % {"ordinal": _ORDINAL_NAMES[ordinal], "weekday": _DAY_NAMES[day]}
            which = gettext("%(ordinal)s%(weekday)s") % {"ordinal": _ORDINAL_NAMES[ordinal], "weekday": _DAY_NAMES[day]}
        elif not items and not monthdays and local is not None:
            return _pattern_in_words({**parts, "BYMONTHDAY": str(local.day)}, start)
        else:
            return None
        if interval == 1:
            return gettext("每月%(which)s") % {"which": which}
        return gettext("每 %(n)s 个月的%(which)s") % {"n": interval, "which": which}
    if freq == "YEARLY" and not items and local is not None and interval == 1:
        if monthdays or parts.get("BYMONTH", str(local.month)) != str(local.month):
            return None
        return gettext("每年 %(month)s 月 %(day)s 日") % {"month": local.month, "day": local.day}
    return None


def rule_in_words(rrule_text: str, start: datetime | None = None) -> str:
    """A rule in words, with the time of day when ``start`` (the series' first start) is given:
    每周三 19:00，共 8 次; 每月第一个周五 15:00，至 2027-06-30; 每个工作日.  Every rule the organizer's
    form makes has its own words; any other reads 按自定义规则重复 (with its time, count or end), never
    the RRULE itself."""
    if not rrule_text:
        return gettext("不重复")
    try:
        parts = _rule_parts(rrule_text)
    except InvalidInput:
        return gettext("按自定义规则重复")
    text = _pattern_in_words(parts, start) or gettext("按自定义规则重复")
    if start is not None:
        text += " " + f"{start.astimezone(local_tz()):%H:%M}"
    if "COUNT" in parts and parts["COUNT"].isdigit():
        text += gettext("，共 %(count)s 次") % {"count": int(parts["COUNT"])}
    elif "UNTIL" in parts:
        try:
            until = datetime.strptime(until_utc(parts["UNTIL"]), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            return text
        text += gettext("，至 %(date)s") % {"date": until.astimezone(local_tz()).date().isoformat()}
    return text


def is_finite(rrule_text: str) -> bool:
    up = rrule_text.upper()
    return not up or "COUNT=" in up or "UNTIL=" in up


def parse_instant(value: str | datetime, field: str) -> datetime:
    """An aware datetime from an ISO string (any offset; a naive one is library time).  A number is not
    a date-time (it is not read as a Unix time); messages quote the input as text, never a Python repr."""
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = parse_datetime(value.strip()) if isinstance(value, str) and value else None
        except ValueError:  # well-formed but impossible: month 13, offset +99:00
            dt = None
        if dt is None:
            shown = f"“{value[:40]}”" if isinstance(value, str) else type(value).__name__
            raise InvalidInput(field, gettext("不是有效的日期时间：%(value)s") % {"value": shown})
    if not FIRST_YEAR <= dt.year <= LAST_YEAR:
        raise InvalidInput(field, gettext("日期超出范围（%(first)s–%(last)s）：%(value)s") % {
            "first": FIRST_YEAR, "last": LAST_YEAR, "value": dt.isoformat()})
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=local_tz())
    return dt


def range_bound(value: date | datetime, field: str, *, end: bool = False) -> datetime:
    """One end of a requested range as an aware instant.  A plain date is that day in library time:
    as a start its first moment, as an ``end`` the whole day included (the next local midnight, the
    range being half-open); a datetime without an offset is library time."""
    if not isinstance(value, datetime):
        check_window(value, field)
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
    #: The venue itself, when the reader already has it (stored occurrences); else read through ``event``.
    venue: object | None = None

    @property
    def key(self) -> datetime | None:
        return self.recurrence_id


def original_starts(event, start: datetime, end: datetime, *, limit: int | None = None) -> list[datetime]:
    """Original starts of a series' occurrences that begin in [start, end), EXDATEs removed; with
    ``limit``, among the first ``limit`` instances of the rule in the range (EXDATEs counted)."""
    excluded = excluded_starts(event) if event.rrule else set()
    return [dt for dt in series_starts(event, start, end, limit=limit) if dt not in excluded]


def original_starts_within(event, start: datetime, end: datetime, *, limit: int | None = None,
                           max_steps: float | None = None) -> tuple[list[datetime], datetime | None]:
    """``original_starts(…)`` with a scanning allowance (``series_starts_within``) and how far it saw."""
    excluded = excluded_starts(event) if event.rrule else set()
    starts, seen = series_starts_within(event, start, end, limit=limit, max_steps=max_steps)
    return [dt for dt in starts if dt not in excluded], seen


def is_original_occurrence(event, when: datetime, *, include_excluded: bool = False) -> bool:
    if when not in series_starts(event, when, when + timedelta(microseconds=1)):
        return False
    return include_excluded or not event.rrule or when not in excluded_starts(event)


def excluded_starts(event) -> set[datetime]:
    """The event's EXDATEs as instants; one that does not parse (written past the checks) is ignored, logged."""
    out = set()
    for value in event.exdates if isinstance(event.exdates, list) else []:
        try:
            out.add(parse_instant(value, "exdates"))
        except (InvalidInput, TypeError):
            logger.warning("event %s: EXDATE %r does not parse; ignored", event.pk, value)
    return out


def lookback(event) -> timedelta:
    """How far before a range a read looks for occurrences of ``event`` still running in it: the
    event's length, for a series at most ``MAX_OCCURRENCE_LENGTH``.  Input never stores a longer
    occurrence; a row written past the checks (a series of 100-year occurrences) would otherwise make
    every instance since its start overlap every range.  Such a row shows the occurrences that begin
    at most that long before the range."""
    duration = event.end - event.start
    return min(duration, MAX_OCCURRENCE_LENGTH) if event.rrule else duration


def occurrences(event, start: datetime, end: datetime, overrides: Iterable | None = None, *,
                limit: int | None = None) -> list[Occurrence]:
    """Every occurrence of ``event`` overlapping [start, end), overrides applied, sorted by start;
    with ``limit``, those among the rule's first ``limit`` instances from the range's start.

    Cancelled events and occurrences are included with status ``cancelled``.
    """
    return occurrences_within(event, start, end, overrides, limit=limit)[0]


def occurrences_within(event, start: datetime, end: datetime, overrides: Iterable | None = None, *,
                       limit: int | None = None, max_steps: float | None = None
                       ) -> tuple[list[Occurrence], datetime | None]:
    """``occurrences(…)``, and the horizon: when the rule had more than ``limit`` instances from the range's
    start, or its scan stopped at ``max_steps`` months, the original start of the last one looked at
    (nothing after it was; the range's start when none was found); else None."""
    if overrides is None:
        overrides = list(event.overrides.all())
    by_id = {o.recurrence_id: o for o in overrides}
    duration = event.end - event.start
    # Originals that might overlap the range, plus moved ones that now do.
    begin = start - lookback(event)
    starts, seen = original_starts_within(event, begin, end, limit=limit, max_steps=max_steps)
    if seen is not None:
        horizon = seen
    else:
        horizon = max(starts) if limit is not None and len(starts) >= limit else None
    originals = set(starts)
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
    return out, horizon


def _occurrence_status(event, occurrence_status: str) -> str:
    """A cancelled series cancels every occurrence; otherwise the occurrence's own status."""
    return "cancelled" if event.status == "cancelled" else occurrence_status


def conflict_window(event) -> tuple[datetime, datetime]:
    """The span over which an event's occurrences are compared with others for venue conflicts: a series
    with an end up to its last occurrence (as far as one expansion's budget reaches), one without for
    ``CONFLICT_HORIZON``."""
    start = event.start
    if not event.rrule or _series_rule(event) is None:
        return start, event.end
    if is_finite(event.rrule):
        starts = series_starts(event, start, datetime(LAST_YEAR + 1, 12, 31, tzinfo=local_tz()))
        return start, (starts[-1] if starts else start) + (event.end - event.start)
    return start, start + CONFLICT_HORIZON
