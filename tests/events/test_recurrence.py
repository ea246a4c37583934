"""Recurrence: RRULE expansion in the library's time zone, EXDATEs, overrides, and rule validation."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from events.models import Event, Override
from events.recurrence import is_original_occurrence, normalize_rrule, occurrences
from shuyuan.errors import InvalidInput

SH = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


def series(rrule: str, start: datetime, minutes: int = 90, exdates=()) -> Event:
    event = Event(title="法官茶座", kind="tea_talk", start=start, end=start + timedelta(minutes=minutes),
                  rrule=normalize_rrule(rrule, start=start), exdates=list(exdates))
    return event


def starts(event, begin, end, overrides=()):
    return [o.start for o in occurrences(event, begin, end, overrides=list(overrides))]


YEAR = (datetime(2026, 12, 1, tzinfo=SH), datetime(2028, 1, 1, tzinfo=SH))


def test_first_friday_monthly():
    event = series("FREQ=MONTHLY;BYDAY=1FR;COUNT=4", datetime(2026, 12, 4, 15, 0, tzinfo=SH))
    assert starts(event, *YEAR) == [
        datetime(2026, 12, 4, 15, tzinfo=SH), datetime(2027, 1, 1, 15, tzinfo=SH),
        datetime(2027, 2, 5, 15, tzinfo=SH), datetime(2027, 3, 5, 15, tzinfo=SH),
    ]


def test_last_friday_and_months_with_five_fridays():
    last = series("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", datetime(2027, 1, 29, 15, 0, tzinfo=SH))
    assert [d.day for d in starts(last, *YEAR)] == [29, 26, 26]  # Jan 29, Feb 26, Mar 26 2027
    fifth = series("FREQ=MONTHLY;BYDAY=5FR", datetime(2027, 1, 29, 15, 0, tzinfo=SH))
    # Only months with five Fridays have a fifth Friday: 2027-01-29, 2027-04-30, 2027-07-30, 2027-10-29, 2027-12-31.
    assert [(d.month, d.day) for d in starts(fifth, *YEAR)] == [(1, 29), (4, 30), (7, 30), (10, 29), (12, 31)]


def test_weekly_with_exdate_and_until_in_another_offset():
    start = datetime(2026, 12, 2, 19, 0, tzinfo=SH)
    # UNTIL 2026-12-23 11:00 UTC is 19:00 in Shanghai: the 23rd is included.
    event = series("FREQ=WEEKLY;BYDAY=WE;UNTIL=20261223T110000Z", start,
                   exdates=[datetime(2026, 12, 9, 11, 0, tzinfo=UTC).isoformat()])
    assert [d.day for d in starts(event, *YEAR)] == [2, 16, 23]


def test_floating_and_date_until_mean_library_time():
    start = datetime(2026, 12, 2, 19, 0, tzinfo=SH)
    assert [d.day for d in starts(series("FREQ=WEEKLY;UNTIL=20261216", start), *YEAR)] == [2, 9, 16]
    assert [d.day for d in starts(series("FREQ=WEEKLY;UNTIL=20261216T185959", start), *YEAR)] == [2, 9]


def test_input_in_utc_and_in_plus_eight_gives_the_same_occurrences():
    in_utc = series("FREQ=MONTHLY;BYDAY=1FR;COUNT=3", datetime(2026, 12, 4, 7, 0, tzinfo=UTC))
    in_sh = series("FREQ=MONTHLY;BYDAY=1FR;COUNT=3", datetime(2026, 12, 4, 15, 0, tzinfo=SH))
    assert starts(in_utc, *YEAR) == starts(in_sh, *YEAR)
    # Late evening in UTC is the next morning in Shanghai: the weekday is Shanghai's.
    late = series("FREQ=WEEKLY;BYDAY=SA;COUNT=2", datetime(2026, 12, 4, 17, 0, tzinfo=UTC))  # Sat 01:00 in Shanghai
    assert [d.astimezone(SH).strftime("%a %H:%M") for d in starts(late, *YEAR)] == ["Sat 01:00", "Sat 01:00"]


def test_override_moves_an_occurrence_to_another_day_and_cancels_another():
    event = series("FREQ=WEEKLY;BYDAY=WE;COUNT=4", datetime(2026, 12, 2, 19, 0, tzinfo=SH))
    moved = Override(event=event, recurrence_id=datetime(2026, 12, 9, 19, tzinfo=SH),
                     start=datetime(2026, 12, 11, 14, tzinfo=SH), end=datetime(2026, 12, 11, 15, 30, tzinfo=SH),
                     title="改期：周五下午")
    cancelled = Override(event=event, recurrence_id=datetime(2026, 12, 16, 19, tzinfo=SH),
                         start=datetime(2026, 12, 16, 19, tzinfo=SH), end=datetime(2026, 12, 16, 20, 30, tzinfo=SH),
                         status="cancelled")
    occ = occurrences(event, *YEAR, overrides=[moved, cancelled])
    assert [(o.start.day, o.status, o.title) for o in occ] == [
        (2, "scheduled", "法官茶座"), (11, "scheduled", "改期：周五下午"), (16, "cancelled", "法官茶座"),
        (23, "scheduled", "法官茶座"),
    ]
    assert occ[1].recurrence_id == datetime(2026, 12, 9, 19, tzinfo=SH)
    # A range holding only the new day finds the moved occurrence; one holding only the old day does not.
    only_friday = (datetime(2026, 12, 11, tzinfo=SH), datetime(2026, 12, 12, tzinfo=SH))
    only_wednesday = (datetime(2026, 12, 9, tzinfo=SH), datetime(2026, 12, 10, tzinfo=SH))
    assert starts(event, *only_friday, overrides=[moved]) == [datetime(2026, 12, 11, 14, tzinfo=SH)]
    assert starts(event, *only_wednesday, overrides=[moved]) == []


def test_open_ended_series_is_expanded_lazily_for_the_range():
    event = series("FREQ=DAILY", datetime(2020, 1, 1, 9, 0, tzinfo=SH))
    found = starts(event, datetime(2030, 6, 1, tzinfo=SH), datetime(2030, 6, 4, tzinfo=SH))
    assert [d.day for d in found] == [1, 2, 3]


def test_an_occurrence_already_running_at_the_range_start_is_included():
    event = series("FREQ=DAILY;COUNT=3", datetime(2026, 12, 2, 23, 0, tzinfo=SH), minutes=120)
    assert starts(event, datetime(2026, 12, 3, 0, 30, tzinfo=SH), datetime(2026, 12, 3, 1, tzinfo=SH)) == [
        datetime(2026, 12, 2, 23, tzinfo=SH)
    ]


def test_is_original_occurrence():
    event = series("FREQ=MONTHLY;BYDAY=1FR", datetime(2026, 12, 4, 15, 0, tzinfo=SH))
    assert is_original_occurrence(event, datetime(2027, 1, 1, 7, 0, tzinfo=UTC))
    assert not is_original_occurrence(event, datetime(2027, 1, 8, 15, 0, tzinfo=SH))
    assert not is_original_occurrence(event, datetime(2027, 1, 1, 16, 0, tzinfo=SH))


@pytest.mark.parametrize(
    "rule",
    ["FREQ=HOURLY", "FREQ=DAILY;BYHOUR=9", "FREQ=WEEKLY;COUNT=2;UNTIL=20270101T000000Z", "FREQ=MONTHLY;BYDAY=XX",
     "BYDAY=MO", "FREQ=WEEKLY;COUNT=0", "FREQ=WEEKLY;;INTERVAL", "FREQ=WEEKLY;FREQ=DAILY", "garbage",
     "FREQ=YEARLY;BYMONTH=13", "FREQ=WEEKLY;UNTIL=20200101T000000Z"],
)
def test_bad_rules_are_refused_naming_rrule(rule):
    with pytest.raises(InvalidInput) as info:
        normalize_rrule(rule, start=datetime(2026, 12, 4, 15, 0, tzinfo=SH))
    assert info.value.field == "rrule"


def test_rules_are_canonicalised():
    start = datetime(2026, 12, 4, 15, 0, tzinfo=SH)
    assert normalize_rrule("rrule:freq=monthly;byday=1fr;count=12", start=start) == "FREQ=MONTHLY;BYDAY=1FR;COUNT=12"
    assert normalize_rrule("", start=start) == ""


def test_start_must_be_the_first_instance_of_its_rule():
    with pytest.raises(InvalidInput) as info:
        normalize_rrule("FREQ=WEEKLY;BYDAY=WE", start=datetime(2026, 12, 1, 19, 0, tzinfo=SH))  # a Tuesday
    assert info.value.field == "start" and "2026-12-02 19:00" in info.value.detail
