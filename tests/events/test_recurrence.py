"""Recurrence: RRULE expansion in the library's time zone, EXDATEs, overrides, and rule validation."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import InvalidInput
from events.models import Event, Override
from events.recurrence import MAX_SCAN_STEPS, is_original_occurrence, normalize_exdates, normalize_rrule, occurrences

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


# --- the shape of a rule and the cost of expanding it --------------------------------------------------------


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;INTERVAL=366", "FREQ=WEEKLY;INTERVAL=-1", "FREQ=WEEKLY;INTERVAL=1.5",
    "FREQ=SECONDLY", "FREQ=MINUTELY", "FREQ=WEEKLY;COUNT=501",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=1",  # BYSETPOS with DAILY
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,2,3,4,5,6,7,8",
    "FREQ=MONTHLY;BYSETPOS=1",  # BYSETPOS alone
    "FREQ=WEEKLY;BYMONTHDAY=1", "FREQ=MONTHLY;BYWEEKNO=1", "FREQ=DAILY;BYYEARDAY=1", "FREQ=WEEKLY;BYDAY=1MO",
    "FREQ=MONTHLY;BYDAY=6FR", "FREQ=MONTHLY;BYMONTHDAY=0", "FREQ=YEARLY;BYWEEKNO=54",
    "FREQ=YEARLY;BYYEARDAY=" + ",".join(str(d) for d in range(1, 33)), "FREQ=WEEKLY;WKST=XX",
    "FREQ=WEEKLY;UNTIL=21010101",
])
def test_rules_of_a_shape_that_could_be_expensive_are_refused_naming_rrule(rule):
    with pytest.raises(InvalidInput) as info:
        normalize_rrule(rule, start=datetime(2026, 12, 1, 10, 0, tzinfo=SH))
    assert (info.value.field, info.value.code) == ("rrule", "bad_rrule")


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=1,2,3,4,5,6,7",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=5",
])
def test_a_rule_that_never_matches_is_refused_within_one_budget(rule, monkeypatch):
    budgets = _record_budgets(monkeypatch)
    with pytest.raises(InvalidInput) as info:
        normalize_rrule(rule, start=datetime(2026, 12, 1, 10, 0, tzinfo=SH))
    assert info.value.field == "rrule"
    assert len(budgets) == 1 and budgets[0].spent_steps <= MAX_SCAN_STEPS + 12


def test_a_count_series_must_end_within_one_budget():
    with pytest.raises(InvalidInput) as info:  # every Feb 29 on a Monday: 500 of them take millennia
        normalize_rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=500",
                        start=datetime(2044, 2, 29, 10, 0, tzinfo=SH))
    assert info.value.field == "rrule"
    assert normalize_rrule("FREQ=MONTHLY;BYDAY=1FR;COUNT=500", start=datetime(2026, 12, 4, 15, tzinfo=SH))


def _record_budgets(monkeypatch) -> list:
    """Every Budget the recurrence module creates, to count what its expansions spent."""
    from events import recurrence
    from events.bounded_rrule import Budget

    made = []

    def recording(**kwargs):
        made.append(Budget(**kwargs))
        return made[-1]

    monkeypatch.setattr(recurrence, "Budget", recording)
    return made


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=1,2,3,4,5,6,7",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=5",
])
def test_a_stored_rule_that_never_matches_costs_one_budget_and_yields_nothing(rule, monkeypatch, caplog):
    """Written past the checks (start 2000, no occurrence after it): a read of a year far later scans at
    most its budget, and the series simply has no occurrences there."""
    budgets = _record_budgets(monkeypatch)
    event = Event(pk=7, title="x", kind="salon", start=datetime(2000, 1, 1, 10, tzinfo=SH),
                  end=datetime(2000, 1, 1, 11, tzinfo=SH), rrule=rule)

    found = starts(event, datetime(2099, 1, 1, tzinfo=SH), datetime(2100, 1, 1, tzinfo=SH))

    assert found == []
    assert len(budgets) == 1 and budgets[0].spent_steps <= budgets[0].steps + 12 <= MAX_SCAN_STEPS + 12
    assert is_original_occurrence(event, datetime(2099, 2, 28, 10, tzinfo=SH)) is False


@pytest.mark.parametrize("rule", ["FREQ=DAILY;INTERVAL=0", "FREQ=SECONDLY", "FREQ=DAILY;BYSETPOS=" + ",".join(
    str(n) for n in range(1, 131))])
def test_a_stored_rule_of_a_refused_shape_is_its_first_occurrence_only(rule, caplog):
    event = Event(pk=7, title="x", kind="salon", start=datetime(2026, 12, 1, 10, tzinfo=SH),
                  end=datetime(2026, 12, 1, 11, tzinfo=SH), rrule=rule)

    assert starts(event, datetime(2026, 11, 1, tzinfo=SH), datetime(2027, 12, 1, tzinfo=SH)) == [event.start]
    assert "does not parse" in caplog.text


def test_a_series_from_2000_read_in_2099_starts_from_that_period(monkeypatch):
    """DTSTART is moved forward by whole periods: the read costs a few months of periods, not a century."""
    budgets = _record_budgets(monkeypatch)
    event = series("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,-1", datetime(2000, 1, 3, 9, tzinfo=SH))
    budgets.clear()

    found = starts(event, datetime(2099, 3, 1, tzinfo=SH), datetime(2099, 5, 1, tzinfo=SH))

    assert [d.date().isoformat() for d in found] == ["2099-03-02", "2099-03-31", "2099-04-01", "2099-04-30"]
    assert budgets[0].spent_steps <= 4


FF_RULES = ["FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY;INTERVAL=2", "FREQ=WEEKLY;BYDAY=MO,WE,FR;INTERVAL=3;WKST=SU",
            "FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=5", "FREQ=MONTHLY;BYDAY=-1FR",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=3;BYMONTH=3",
            "FREQ=YEARLY;BYWEEKNO=1,20,53;BYDAY=MO", "FREQ=YEARLY;BYYEARDAY=1,-1,100", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29",
            "FREQ=WEEKLY;UNTIL=20800101", "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;INTERVAL=7;BYDAY=2SA",
            "FREQ=YEARLY;BYDAY=20MO", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"]


@pytest.mark.parametrize("rule", FF_RULES)
def test_moving_dtstart_forward_keeps_the_series(rule):
    """The same instants as dateutil expanding from the real DTSTART, for starts and ranges across the years."""
    import random

    from dateutil.rrule import rrulestr

    rng = random.Random(rule)
    for _ in range(15):
        guess = datetime(2000, 1, 1, 9, 30, tzinfo=SH) + timedelta(days=rng.randrange(30000), minutes=rng.randrange(600))
        first = rrulestr(rule.replace("UNTIL=20800101", "UNTIL=20800101T000000Z"), dtstart=guess).after(guess, inc=True)
        if first is None:
            continue
        event = series(rule, first)
        begin = first + timedelta(days=rng.randrange(-100, 20000))
        end = begin + timedelta(days=rng.randrange(1, 800))
        expected = [d for d in rrulestr(event.rrule, dtstart=first).between(begin, end, inc=True) if d < end]
        assert starts(event, begin, end) == expected, (first, begin, end)


def test_exdates_are_checked_each_from_its_own_period(monkeypatch):
    """500 EXDATEs of a daily series across 80 years: each check costs a period or two, not a scan from DTSTART."""
    budgets = _record_budgets(monkeypatch)
    start = datetime(2000, 1, 1, 10, tzinfo=SH)
    event = series("FREQ=DAILY", start)
    budgets.clear()
    wanted = [(start + timedelta(days=58 * i)).isoformat() for i in range(1, 501)]

    stored = normalize_exdates(wanted, event)

    assert len(stored) == 500
    assert len(budgets) == 500 and max(b.spent_steps for b in budgets) <= 2
    with pytest.raises(InvalidInput) as info:
        normalize_exdates([*wanted[:3], "2090-01-01T11:00:00+08:00"], event)
    assert info.value.field == "exdates"


@pytest.mark.parametrize("field, value", [("start", "1999-12-31T10:00:00"), ("start", "2101-01-01T10:00:00")])
def test_instants_outside_2000_to_2100_are_refused(field, value):
    from events.recurrence import parse_instant

    with pytest.raises(InvalidInput) as info:
        parse_instant(value, field)
    assert info.value.field == field


@pytest.mark.parametrize("rule, words", [
    ("", "不重复"),
    ("FREQ=WEEKLY;BYDAY=WE", "每周三"),
    ("FREQ=WEEKLY;BYDAY=WE;COUNT=8", "每周三，共 8 次"),
    ("FREQ=MONTHLY;BYDAY=1FR", "每月第一个周五"),
    ("FREQ=MONTHLY;BYDAY=-1MO;UNTIL=20270630T155959Z", "每月最后一个周一，至 2027-06-30"),
    ("FREQ=DAILY;COUNT=5", "每天，共 5 次"),
    ("FREQ=WEEKLY;BYDAY=MO,WE", "每周一、周三"),
    ("FREQ=WEEKLY;BYDAY=WE,MO", "每周一、周三"),
    ("FREQ=MONTHLY;INTERVAL=2;BYDAY=1FR", "每 2 个月的第一个周五"),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;UNTIL=20270401T000000Z", "每 2 周的周三，至 2027-04-01"),
    ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "每个工作日"),
    ("FREQ=MONTHLY;BYMONTHDAY=15", "每月 15 日"),
    ("FREQ=YEARLY;BYWEEKNO=3", "按自定义规则重复"),  # no plain words: a readable phrase, never the RRULE
    ("FREQ=MONTHLY;BYDAY=1FR;BYSETPOS=1", "按自定义规则重复"),
    ("FREQ=NONSENSE", "按自定义规则重复"),
])
def test_a_rule_in_the_words_of_the_organizers_form(rule, words):
    """Routine walk: organizers found raw FREQ=WEEKLY;BYDAY=WE;COUNT=8 in their list of events."""
    from events.recurrence import rule_in_words

    assert rule_in_words(rule) == words


@pytest.mark.parametrize("rule, words", [
    ("FREQ=WEEKLY;BYDAY=WE;COUNT=8", "每周三 19:00，共 8 次"),
    ("FREQ=WEEKLY;COUNT=8", "每周三 19:00，共 8 次"),  # the day from the start
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20270131", "每周一、周三、周五 19:00，至 2027-01-31"),
    ("FREQ=MONTHLY;BYDAY=-1WE", "每月最后一个周三 19:00"),
    ("FREQ=MONTHLY", "每月 2 日 19:00"),
    ("FREQ=YEARLY", "每年 12 月 2 日 19:00"),
    ("FREQ=DAILY;UNTIL=20261210", "每天 19:00，至 2026-12-10"),
    ("FREQ=YEARLY;BYWEEKNO=3", "按自定义规则重复 19:00"),
])
def test_a_rule_in_words_says_the_time_of_day_of_the_series(rule, words):
    """Issue 17: organizers read 每周三 19:00，共 8 次, with the time, wherever a series is shown."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from events.recurrence import rule_in_words

    assert rule_in_words(rule, datetime(2026, 12, 2, 11, 0, tzinfo=ZoneInfo("UTC"))) == words
