"""events.ical on its own: the bytes of a feed (CRLF, folding, escaping), times and the VTIMEZONE, all-day items,
series with EXDATEs and RECURRENCE-ID exceptions, cancellations and their 30 days, UIDs, determinism, personal
items, and the stamp of a stored VEVENT.

tests/events/test_feeds.py tests the feeds over HTTP (caching, tokens, agreement with the API); here the
module's functions are called directly, with ``now`` given, and their output is read both raw and parsed."""

import logging
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from accounts.models import Role
from events import ical, services
from events.models import Event, Override, Registration, Venue
from library.services import book_create, paper_create
from tests.conftest import make_user
from tests.events import common
from tests.events.common import NOW, SH

pytestmark = pytest.mark.django_db

clock = common.clock  # autouse: time stands at NOW in every test of this module



@pytest.fixture
def organizer(db):
    return make_user("org", Role.ORGANIZER)


@pytest.fixture
def room(db):
    return Venue.objects.create(name="法官书苑阅览室", location="院本部三楼", capacity=30)


def make_event(organizer, venue=None, **kw) -> Event:
    return fresh(common.make_event(organizer, venue, **kw))


def fresh(event: Event) -> Event:
    return Event.objects.get(pk=event.pk)


def weekly(organizer, venue=None, **kw) -> Event:
    """Six Wednesdays at 19:00 from 2026-12-02."""
    return make_event(organizer, venue, start=datetime(2026, 12, 2, 19, 0, tzinfo=SH), rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=6",
                      **kw)


def lines(body: bytes) -> list[str]:
    """The content lines, unfolded."""
    return body.decode("utf-8").replace("\r\n ", "").split("\r\n")


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def components(event: Event, *, now: datetime = NOW, personal=None) -> list[icalendar.Event]:
    """The VEVENTs of ``event`` as a client reads them: serialised, then parsed."""
    return list(parse(ical.build_calendar([event], name="t", now=now, personal=personal)).walk("VEVENT"))


def master_of(vevents) -> icalendar.Event:
    (master,) = [v for v in vevents if "RECURRENCE-ID" not in v]
    return master


def exdates(vevent) -> list:
    values = vevent.get("EXDATE", [])
    return [d.dt for e in (values if isinstance(values, list) else [values]) for d in e.dts]


def vevent_text(body: bytes) -> str:
    """The VEVENT part of a feed, unfolded (the VTIMEZONE may hold RDATEs of its own)."""
    text = "\r\n".join(lines(body))
    return text[text.index("BEGIN:VEVENT"):]


# --- bytes: CRLF, folding, escaping ----------------------------------------------------------------------


def test_a_feed_is_one_calendar_of_crlf_lines_header_then_vtimezone_then_events(organizer, room):
    event = make_event(organizer, room)
    body = ical.build_calendar([event], name="法官书苑活动", description="活动日历")
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert re.search(rb"(?<!\r)\n", body) is None and re.search(rb"\r(?!\n)", body) is None  # CRLF only
    assert body.count(b"BEGIN:VCALENDAR") == body.count(b"END:VCALENDAR") == 1
    text = body.decode()
    assert f"PRODID:{ical.PRODID}\r\n" in text
    assert text.index("X-WR-TIMEZONE:Asia/Shanghai") < text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
    assert [str(v["UID"]) for v in parse(body).walk("VEVENT")] == [f"{event.uid}@shuyuan"]
    # No events: a valid, empty calendar without a VTIMEZONE.
    empty = ical.build_calendar([], name="空")
    assert empty.endswith(b"\r\nEND:VCALENDAR\r\n") and b"VTIMEZONE" not in empty and b"VEVENT" not in empty
    assert parse(empty)["X-WR-CALNAME"] is not None


@pytest.mark.parametrize("ascii_prefix", range(4))
def test_lines_fold_at_75_octets_without_splitting_a_character(organizer, room, ascii_prefix):
    """3- and 4-byte UTF-8 characters after 0-3 ASCII ones: a fold at a fixed octet count would cut one."""
    title = "A" * ascii_prefix + "法律与文学𠀀🏛" * 14
    description = ("x" * ascii_prefix + "審判實務：民法、刑法𩸽。") * 30
    event = make_event(organizer, room, title=title, description=description, kind="salon")
    body = ical.build_calendar([event], name="沙龙" * 40, description="读书" * 60)
    physical = body.split(b"\r\n")
    assert all(len(line) <= 75 for line in physical), max(physical, key=len)
    for line in physical:
        line.decode("utf-8")  # strict: a fold inside a character fails here
    summary_at = next(i for i, line in enumerate(physical) if line.startswith(b"SUMMARY:"))
    assert physical[summary_at + 1].startswith(b" ")  # long enough to be folded
    assert f"SUMMARY:{title}" in lines(body)  # unfolding (CRLF + one space) restores the value exactly
    vevent = next(iter(parse(body).walk("VEVENT")))
    assert str(vevent["SUMMARY"]) == title
    assert str(vevent["DESCRIPTION"]).startswith(description + "\n")


def test_text_values_escape_backslash_semicolon_comma_and_newline(organizer):
    venue = Venue.objects.create(name="阅览室,东区;二号", location="三楼\\南")
    event = make_event(organizer, venue, title="沙龙", kind="salon", description="甲\\乙;丙,丁\n戊",
                       speakers=[services.SpeakerData("张,明", "主持;人")])
    body = ical.build_calendar([event], name="t")
    raw = lines(body)
    description = next(line for line in raw if line.startswith("DESCRIPTION:"))
    assert description.startswith("DESCRIPTION:甲\\\\乙\\;丙\\,丁\\n戊\\n主讲/主持：张\\,明（主持\\;人）\\n")
    assert "LOCATION:阅览室\\,东区\\;二号（三楼\\\\南）" in raw
    vevent = next(iter(parse(body).walk("VEVENT")))
    assert str(vevent["DESCRIPTION"]).startswith("甲\\乙;丙,丁\n戊\n主讲/主持：张,明（主持;人）\n")
    assert str(vevent["LOCATION"]) == "阅览室,东区;二号（三楼\\南）"


def test_line_breaks_become_escaped_newlines_and_control_characters_go(organizer):
    event = fresh(make_event(organizer, title="沙龙", kind="salon"))
    # In memory, as an old row might hold them (PostgreSQL stores no NUL, so not through the database).
    event.description = "一\r\n二\r三\u2028四\u2029五\x85六\t七\x00\x01\x0b\x1b\x7f\x80\x9f八"
    event.title = "标题\t第二\u2028行\x1b末"
    body = ical.build_calendar([event], name="t")
    raw = lines(body)
    assert "SUMMARY:标题 第二 行末" in raw  # single-line text: breaks are spaces, invisible controls dropped
    description = next(line for line in raw if line.startswith("DESCRIPTION:"))
    assert description.startswith("DESCRIPTION:一\\n二\\n三\\n四\\n五\\n六\t七八\\n")  # tab kept
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]", body.decode().replace("\r\n", ""))
    assert str(next(iter(parse(body).walk("VEVENT")))["DESCRIPTION"]).startswith("一\n二\n三\n四\n五\n六\t七八\n")


def test_calendar_name_and_description_are_one_line_each():
    body = ical.build_calendar([], name="法官书苑 · 张\r\n法官", description="我报名的活动\n和借阅")
    raw = lines(body)
    assert "NAME:法官书苑 · 张 法官" in raw and "X-WR-CALNAME:法官书苑 · 张 法官" in raw
    assert "DESCRIPTION:我报名的活动 和借阅" in raw and "X-WR-CALDESC:我报名的活动 和借阅" in raw
    assert not any(line.startswith(("X-WR-CALDESC", "DESCRIPTION")) for line in lines(ical.build_calendar([], name="x")))


# --- times and the time zone -----------------------------------------------------------------------------


def test_timed_events_are_local_time_with_tzid_and_stamps_are_utc(organizer, room, clock):
    clock.move_to(NOW + timedelta(microseconds=654321))
    event = make_event(organizer, room, start=datetime(2026, 12, 4, 7, 0, 30, tzinfo=UTC),
                       end=datetime(2026, 12, 4, 8, 30, 30, tzinfo=UTC))
    body = ical.build_calendar([event], name="t")
    raw = lines(body)
    assert "DTSTART;TZID=Asia/Shanghai:20261204T150030" in raw
    assert "DTEND;TZID=Asia/Shanghai:20261204T163030" in raw
    assert "DTSTAMP:20261125T010000Z" in raw and "LAST-MODIFIED:20261125T010000Z" in raw  # to the second
    vevent = next(iter(parse(body).walk("VEVENT")))
    assert vevent["DTSTART"].dt == datetime(2026, 12, 4, 15, 0, 30, tzinfo=SH)
    (vtimezone,) = parse(body).walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Asia/Shanghai"
    own = vtimezone.to_tz(lookup_tzid=False)  # the VTIMEZONE's own definition, not the system's zone
    assert own.utcoffset(datetime(2026, 12, 4, 15, 0, 30)) == timedelta(hours=8)
    tzids = set(re.findall(r";TZID=([^:;]+)", vevent_text(body)))
    assert tzids == {"Asia/Shanghai"}  # every TZID used is the one defined


def test_the_library_zone_decides_tzid_and_vtimezone_with_its_summer_time(organizer, settings):
    """The feed is in settings.TIME_ZONE; its VTIMEZONE carries that zone's DST rules over the feed's range,
    which for a series reaches two years past its start."""
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    event = make_event(organizer, start=datetime(2026, 12, 4, 15, 0, tzinfo=berlin), rrule="FREQ=MONTHLY;BYDAY=1FR")
    body = ical.build_calendar([event], name="t")
    raw = lines(body)
    assert "X-WR-TIMEZONE:Europe/Berlin" in raw and "DTSTART;TZID=Europe/Berlin:20261204T150000" in raw
    (vtimezone,) = parse(body).walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/Berlin"
    own = vtimezone.to_tz(lookup_tzid=False)
    for day, hours in ((datetime(2026, 12, 4, 15), 1), (datetime(2027, 7, 2, 15), 2), (datetime(2027, 11, 5, 15), 1),
                       (datetime(2028, 7, 7, 15), 2)):
        assert own.utcoffset(day) == timedelta(hours=hours), day
    # Clients keep the wall time across the change: 15:00 in Berlin is 14:00 UTC in winter, 13:00 UTC in summer.
    summer = recurring_ical_events.of(parse(body)).between(datetime(2027, 7, 1, tzinfo=berlin),
                                                           datetime(2027, 7, 31, tzinfo=berlin))
    assert [v["DTSTART"].dt.astimezone(UTC) for v in summer] == [datetime(2027, 7, 2, 13, 0, tzinfo=UTC)]


# --- all-day items ----------------------------------------------------------------------------------------


def test_an_all_day_series_uses_local_dates_for_every_value(organizer, clock):
    event = fresh(services.event_create(data=services.EventData(
        title="读书月", kind="reading", start="2026-12-01", end="2026-12-01", all_day=True,
        rrule="FREQ=MONTHLY;COUNT=4", exdates=[datetime(2027, 2, 1, tzinfo=SH).isoformat()]), actor=organizer))
    assert event.start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # stored as the instant: the UTC date is the 30th
    services.event_cancel(event=event, actor=organizer, occurrence=datetime(2027, 1, 1, tzinfo=SH), reason="元旦")
    event = fresh(event)

    body = ical.build_calendar([event], name="t", now=NOW)
    text = vevent_text(body)
    for line in ("DTSTART;VALUE=DATE:20261201", "DTEND;VALUE=DATE:20261202", "EXDATE;VALUE=DATE:20270201",
                 "RECURRENCE-ID;VALUE=DATE:20270101", "DTSTART;VALUE=DATE:20270101", "RRULE:FREQ=MONTHLY;COUNT=4"):
        assert line + "\r\n" in text, line
    assert "TZID=" not in text
    # A month later the cancellation is an EXDATE beside the other, in one sorted list of dates.
    later = ical.build_calendar([event], name="t", now=NOW + timedelta(days=31))
    assert "EXDATE;VALUE=DATE:20270101,20270201\r\n" in vevent_text(later) and "RECURRENCE-ID" not in vevent_text(later)
    days = [v["DTSTART"].dt for v in recurring_ical_events.of(parse(later)).between(date(2026, 11, 1), date(2027, 6, 1))]
    assert days == [date(2026, 12, 1), date(2027, 3, 1)]


# --- series, exceptions, cancellations --------------------------------------------------------------------


def test_a_series_with_exdate_moved_and_cancelled_occurrences(organizer, room, clock):
    event = weekly(organizer, room, online_url="https://meet.example.cn/r/1",
                   exdates=[datetime(2026, 12, 9, 19, 0, tzinfo=SH).isoformat()])
    moved_rid = datetime(2026, 12, 16, 19, 0, tzinfo=SH)
    services.override_set(event=event, actor=organizer, recurrence_id=moved_rid, force=True,
                          changes={"start": datetime(2026, 12, 18, 14, 0, tzinfo=SH), "title": "法官茶座（改期）",
                                   "venue": None, "reason": "阅览室维修"})
    services.override_set(event=event, actor=organizer, recurrence_id=moved_rid, force=True,
                          changes={"start": datetime(2026, 12, 18, 15, 0, tzinfo=SH)})  # a second change
    services.event_cancel(event=event, actor=organizer, occurrence=datetime(2026, 12, 23, 19, 0, tzinfo=SH),
                          reason="年终总结")
    Event.objects.filter(pk=event.pk).update(sequence=3)
    event = fresh(event)
    assert {o.recurrence_id: o.sequence for o in event.overrides.all()} == {
        moved_rid: 2, datetime(2026, 12, 23, 11, 0, tzinfo=UTC): 1}

    body = ical.build_calendar([event], name="t", now=NOW)
    vevents = list(parse(body).walk("VEVENT"))
    master = master_of(vevents)
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=WE"
    assert exdates(master) == [datetime(2026, 12, 9, 19, 0, tzinfo=SH)]
    assert int(master["SEQUENCE"]) == 3 and str(master["STATUS"]) == "CONFIRMED"
    moved, cancelled = sorted((v for v in vevents if "RECURRENCE-ID" in v), key=lambda v: v["RECURRENCE-ID"].dt)
    assert {str(v["UID"]) for v in vevents} == {f"{event.uid}@shuyuan"}
    assert moved["RECURRENCE-ID"].dt == moved_rid and moved["RECURRENCE-ID"].params["TZID"] == "Asia/Shanghai"
    assert (moved["DTSTART"].dt, moved["DTEND"].dt) == (datetime(2026, 12, 18, 15, tzinfo=SH),
                                                        datetime(2026, 12, 18, 16, 30, tzinfo=SH))
    assert str(moved["SUMMARY"]) == "法官茶座（改期）" and str(moved["STATUS"]) == "CONFIRMED"
    assert str(moved["LOCATION"]) == "https://meet.example.cn/r/1"  # moved online: the venue is not shown
    assert str(moved["DESCRIPTION"]).startswith("变更原因：阅览室维修\n")
    # An exception is newer than its series: its SEQUENCE is the series' plus its own changes.
    assert int(moved["SEQUENCE"]) == 3 + 2 and int(cancelled["SEQUENCE"]) == 3 + 1
    assert str(cancelled["STATUS"]) == "CANCELLED" and str(cancelled["LOCATION"]) == "法官书苑阅览室（院本部三楼）"
    assert "RDATE" not in vevent_text(body)  # moved occurrences are exceptions, never extra dates
    seen = [(v["DTSTART"].dt, str(v["SUMMARY"]), str(v["STATUS"]))
            for v in recurring_ical_events.of(parse(body)).between(datetime(2026, 12, 1, tzinfo=SH),
                                                                    datetime(2027, 2, 1, tzinfo=SH))]
    assert seen == [
        (datetime(2026, 12, 2, 19, tzinfo=SH), "法官茶座", "CONFIRMED"),
        (datetime(2026, 12, 18, 15, tzinfo=SH), "法官茶座（改期）", "CONFIRMED"),
        (datetime(2026, 12, 23, 19, tzinfo=SH), "法官茶座", "CANCELLED"),
        (datetime(2026, 12, 30, 19, tzinfo=SH), "法官茶座", "CONFIRMED"),
        (datetime(2027, 1, 6, 19, tzinfo=SH), "法官茶座", "CONFIRMED"),
    ]


def test_an_exceptions_stamp_is_the_later_of_its_own_change_and_the_series(organizer, room):
    event = weekly(organizer, room)
    rid = datetime(2026, 12, 9, 19, 0, tzinfo=SH)
    services.override_set(event=event, actor=organizer, recurrence_id=rid, force=True,
                          changes={"start": rid + timedelta(hours=1)})
    series_at, override_at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC), datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    for series_changed, exception_changed, expected in ((series_at, override_at, override_at),
                                                        (override_at, series_at, override_at)):
        Event.objects.filter(pk=event.pk).update(updated_at=series_changed)
        Override.objects.filter(event=event).update(updated_at=exception_changed)
        vevents = components(fresh(event))
        master = master_of(vevents)
        (instance,) = [v for v in vevents if "RECURRENCE-ID" in v]
        assert master["DTSTAMP"].dt == master["LAST-MODIFIED"].dt == series_changed
        assert instance["DTSTAMP"].dt == instance["LAST-MODIFIED"].dt == expected


@pytest.mark.parametrize("rule", ["FREQ=DAILY;INTERVAL=0", "FREQ=SECONDLY", "FREQ=WEEKLY;BYDAY=XX", "不是规则",
                                  "FREQ=DAILY;BYSETPOS=" + ",".join(str(i) for i in range(1, 200))])
def test_a_rule_input_would_refuse_is_left_out_with_its_exceptions(organizer, room, rule, caplog):
    event = weekly(organizer, room, exdates=[datetime(2026, 12, 9, 19, 0, tzinfo=SH).isoformat()])
    services.event_cancel(event=event, actor=organizer, occurrence=datetime(2026, 12, 16, 19, 0, tzinfo=SH))
    event = fresh(event)
    event.rrule = rule  # as an old row might hold it (in memory: a 500-character column holds no longer rule)
    with caplog.at_level(logging.WARNING, logger="events.ical"):
        body = ical.build_calendar([event], name="t", now=NOW)
    (vevent,) = parse(body).walk("VEVENT")  # the first occurrence alone, no orphaned RECURRENCE-IDs
    assert "RRULE" not in vevent and "EXDATE" not in vevent
    assert vevent["DTSTART"].dt == datetime(2026, 12, 2, 19, 0, tzinfo=SH)
    assert any("left out of the feed" in r.getMessage() and str(event.pk) in r.getMessage() for r in caplog.records)


def test_an_exdate_that_does_not_parse_is_ignored(organizer, room, caplog):
    event = weekly(organizer, room)
    Event.objects.filter(pk=event.pk).update(
        exdates=["星期三", datetime(2026, 12, 16, 11, 0, tzinfo=UTC).isoformat(), 42,
                 datetime(2026, 12, 9, 19, 0, tzinfo=SH).isoformat()])
    with caplog.at_level(logging.WARNING):
        master = master_of(components(fresh(event)))
    assert exdates(master) == [datetime(2026, 12, 9, 19, 0, tzinfo=SH), datetime(2026, 12, 16, 19, 0, tzinfo=SH)]
    assert "RRULE" in master
    assert any("does not parse" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("after", "visible"), [(timedelta(days=30), True), (timedelta(days=30, seconds=1), False)])
def test_a_cancelled_occurrence_stays_thirty_days_then_becomes_an_exdate(organizer, room, after, visible):
    event = weekly(organizer, room, exdates=[datetime(2026, 12, 30, 19, 0, tzinfo=SH).isoformat()])
    rid = datetime(2026, 12, 16, 19, 0, tzinfo=SH)
    services.event_cancel(event=event, actor=organizer, occurrence=rid, reason="停电")
    vevents = components(fresh(event), now=NOW + after)
    master = master_of(vevents)
    instances = [v for v in vevents if "RECURRENCE-ID" in v]
    if visible:
        assert [(v["RECURRENCE-ID"].dt, str(v["STATUS"])) for v in instances] == [(rid, "CANCELLED")]
        assert exdates(master) == [datetime(2026, 12, 30, 19, 0, tzinfo=SH)]
    else:
        assert instances == []
        assert exdates(master) == [rid, datetime(2026, 12, 30, 19, 0, tzinfo=SH)]  # sorted, each once
    assert int(master["SEQUENCE"]) == 0 and str(master["STATUS"]) == "CONFIRMED"


@pytest.mark.parametrize(("after", "visible"), [(timedelta(days=30), True), (timedelta(days=30, seconds=1), False)])
def test_a_cancelled_series_is_cancelled_everywhere_then_leaves(organizer, room, after, visible):
    event = weekly(organizer, room)
    rid = datetime(2026, 12, 9, 19, 0, tzinfo=SH)
    services.override_set(event=event, actor=organizer, recurrence_id=rid, force=True,
                          changes={"start": rid + timedelta(hours=1)})
    services.event_cancel(event=event, actor=organizer, occurrence=None, reason="停办")
    event = fresh(event)
    if not visible:
        assert ical.event_components(event, now=NOW + after) == []
        assert b"BEGIN:VEVENT" not in ical.build_calendar([event], name="t", now=NOW + after)
        return
    vevents = components(event, now=NOW + after)
    master = master_of(vevents)
    (instance,) = [v for v in vevents if "RECURRENCE-ID" in v]
    assert (str(master["STATUS"]), int(master["SEQUENCE"])) == ("CANCELLED", 1)
    # The moved occurrence was scheduled; with the whole series cancelled it is cancelled too.
    assert (str(instance["STATUS"]), int(instance["SEQUENCE"])) == ("CANCELLED", 1 + 1)


# --- identity and determinism ------------------------------------------------------------------------------


def test_the_uid_is_the_events_own_in_every_feed_and_after_changes(organizer, room, clock):
    event = weekly(organizer, room)
    other = make_event(organizer, room, title="读者沙龙", kind="salon", start=datetime(2026, 12, 5, 14, tzinfo=SH))
    services.event_cancel(event=event, actor=organizer, occurrence=datetime(2026, 12, 9, 19, 0, tzinfo=SH))
    uid = f"{event.uid}@shuyuan"
    public = parse(ical.build_calendar([fresh(event), other], name="t"))
    # In a personal feed the series (an event organised) keeps the UID; an occurrence on its own has the
    # event's UID with its original start in UTC.
    personal = parse(ical.build_calendar([fresh(event)], name="t", personal=ical.PersonalItems(series={event.pk})))
    assert sorted(str(v["UID"]) for v in public.walk("VEVENT")) == sorted([uid, uid, f"{other.uid}@shuyuan"])
    assert {str(v["UID"]) for v in personal.walk("VEVENT")} == {uid}
    one = ical.PersonalItems(registrations={event.pk: [
        registration(event, Registration.Status.CONFIRMED, datetime(2026, 12, 16, 19, 0, tzinfo=SH))]})
    (single,) = parse(ical.build_calendar([fresh(event)], name="t", personal=one)).walk("VEVENT")
    assert str(single["UID"]) == f"{event.uid}-20261216T110000Z@shuyuan"
    clock.shift(timedelta(hours=2))
    services.event_update(event=fresh(event), changes={"title": "法官茶座·新", "start": datetime(2026, 12, 2, 20, tzinfo=SH),
                                                       "end": datetime(2026, 12, 2, 21, tzinfo=SH)}, actor=organizer)
    changed = components(fresh(event))
    assert {str(v["UID"]) for v in changed} == {uid}
    assert str(master_of(changed)["SUMMARY"]) == "法官茶座·新"


def test_output_depends_on_the_data_only_never_on_the_clock(organizer, room, clock):
    event = weekly(organizer, room, speakers=[services.SpeakerData("张明", "主持人")])
    services.event_cancel(event=event, actor=organizer, occurrence=datetime(2026, 12, 9, 19, 0, tzinfo=SH))
    event = fresh(event)
    first = ical.build_calendar([event], name="t", now=NOW)
    clock.shift(timedelta(days=3, hours=5))
    assert ical.build_calendar([fresh(event)], name="t") == first  # now from the clock
    assert ical.build_calendar([fresh(event)], name="t", now=NOW + timedelta(days=29)) == first
    assert ical.serialize_event(event, now=NOW) == ical.serialize_event(fresh(event), now=NOW + timedelta(days=20))
    assert "DTSTAMP:20261125T010000Z" in lines(first)  # the last change, not the time of the request
    services.event_update(event=event, changes={"title": "法官茶座·新"}, actor=organizer)
    assert "DTSTAMP:20261128T060000Z" in lines(ical.build_calendar([fresh(event)], name="t"))


# --- what a VEVENT says --------------------------------------------------------------------------------------


def test_description_location_url_categories_and_organizer(organizer, settings):
    book = book_create(title="民法典评注")
    paper = paper_create(title="执行难调研", visibility="public")
    event = make_event(organizer, title="读者沙龙", kind="salon", description="简介第一行\n第二行",
                       online_url="https://meet.example.cn/r/9", books=[book.pk], papers=[paper.pk],
                       speakers=[services.SpeakerData("张明", "主持人"), services.SpeakerData("李四")])
    vevent = master_of(components(event))
    assert str(vevent["DESCRIPTION"]) == "\n".join([
        "简介第一行\n第二行", "主讲/主持：张明（主持人）、李四", "阅读书目：《民法典评注》、《执行难调研》",
        "线上会议：https://meet.example.cn/r/9", f"活动页面：{settings.SITE_URL}/events/{event.pk}"])
    assert str(vevent["LOCATION"]) == "https://meet.example.cn/r/9"
    assert str(vevent["URL"]) == f"{settings.SITE_URL}/events/{event.pk}"
    assert [str(c) for c in vevent["CATEGORIES"].cats] == ["读者沙龙"]
    assert "CLASS" not in vevent
    assert "ORGANIZER;CN=法官书苑:mailto:library@localhost" in lines(ical.build_calendar([event], name="t"))

    settings.DEFAULT_FROM_EMAIL = "书苑馆员 <lib@court.example>"
    assert "ORGANIZER;CN=书苑馆员:mailto:lib@court.example" in lines(ical.build_calendar([event], name="t"))
    settings.DEFAULT_FROM_EMAIL = "lib@court.example"
    assert "ORGANIZER;CN=法官书苑:mailto:lib@court.example" in lines(ical.build_calendar([event], name="t"))


@pytest.mark.parametrize(("name", "location", "online_url", "expected"), [
    ("第三审判庭", "", "", "第三审判庭"),
    ("法官书苑阅览室", "院本部三楼", "https://meet.example.cn/r/1", "法官书苑阅览室（院本部三楼）"),
    (None, None, "https://meet.example.cn/r/1", "https://meet.example.cn/r/1"),
    (None, None, "", "线上"),
])
def test_location_is_the_venue_else_the_meeting_link_else_online(organizer, name, location, online_url, expected):
    venue = Venue.objects.create(name=name, location=location) if name else None
    event = make_event(organizer, venue, online_url=online_url)
    assert str(master_of(components(event))["LOCATION"]) == expected


def test_internal_events_are_private(organizer):
    event = make_event(organizer, visibility="internal")
    assert "CLASS:PRIVATE" in lines(ical.build_calendar([event], name="t"))


# --- personal feeds -------------------------------------------------------------------------------------------


def registration(event, status, occurrence=None) -> Registration:
    return Registration(event=event, status=status, occurrence=occurrence, created_at=NOW)


def alarms(vevent) -> list[tuple[str, timedelta, str]]:
    return [(str(a["ACTION"]), a["TRIGGER"].dt, str(a["DESCRIPTION"])) for a in vevent.walk("VALARM")]


def test_personal_feeds_add_status_and_alarms_to_a_readers_events(organizer, room):
    event = weekly(organizer, room)
    rid = datetime(2026, 12, 9, 19, 0, tzinfo=SH)
    services.override_set(event=event, actor=organizer, recurrence_id=rid, force=True,
                          changes={"start": rid + timedelta(hours=1)})
    services.event_cancel(event=event, actor=organizer, occurrence=datetime(2026, 12, 16, 19, 0, tzinfo=SH))
    event = fresh(event)
    waiting = registration(event, Registration.Status.WAITLISTED, rid)
    both = (timedelta(days=1), timedelta(hours=1))
    personal = ical.PersonalItems(registrations={event.pk: [waiting], event.pk + 1000: [
        registration(event, Registration.Status.CONFIRMED)]}, reminders=both)
    # Waitlisted for one (moved) occurrence: that occurrence alone, marked, at its new time, no series.
    (moved,) = components(event, personal=personal)
    assert "RRULE" not in moved and "RECURRENCE-ID" not in moved
    assert str(moved["SUMMARY"]) == "【候补】法官茶座"
    assert moved["DTSTART"].dt == rid + timedelta(hours=1)
    assert str(moved["DESCRIPTION"]).startswith("报名状态：候补\n")
    assert alarms(moved) == [("DISPLAY", -timedelta(days=1), "法官茶座"), ("DISPLAY", -timedelta(hours=1), "法官茶座")]
    # Confirmed for the series as well: the series, no waitlist mark, both lines of status; the cancelled
    # occurrence sets off no reminder.
    personal.registrations[event.pk] = [registration(event, Registration.Status.CONFIRMED), waiting]
    vevents = components(event, personal=personal)
    master = master_of(vevents)
    assert str(master["SUMMARY"]) == "法官茶座" and "RRULE" in master
    assert str(master["DESCRIPTION"]).startswith("报名状态：全部场次：已报名；2026-12-09 19:00 场：候补\n")
    assert len(alarms(master)) == 2
    _moved, cancelled = sorted((v for v in vevents if "RECURRENCE-ID" in v), key=lambda v: v["RECURRENCE-ID"].dt)
    assert alarms(cancelled) == []  # no reminder of an occurrence that will not take place
    # An event organised (the series) without a registration: alarms, no status.
    master = master_of(components(event, personal=ical.PersonalItems(series={event.pk})))
    assert alarms(master) == [("DISPLAY", -timedelta(days=1), "法官茶座")]  # the default: the day before
    assert not str(master["DESCRIPTION"]).startswith("报名状态")


def test_a_retitled_occurrence_keeps_the_waitlist_mark(organizer, room):
    event = weekly(organizer, room)
    rid = datetime(2026, 12, 9, 19, 0, tzinfo=SH)
    services.override_set(event=event, actor=organizer, recurrence_id=rid, force=True, changes={"title": "法官茶座（改期）"})
    event = fresh(event)
    personal = ical.PersonalItems(registrations={event.pk: [registration(event, Registration.Status.WAITLISTED)]})
    (instance,) = [v for v in components(event, personal=personal) if "RECURRENCE-ID" in v]
    assert str(instance["SUMMARY"]) == "【候补】法官茶座（改期）"


def test_a_cancelled_event_sets_off_no_reminders(organizer, room):
    event = make_event(organizer, room)
    services.event_cancel(event=event, actor=organizer, occurrence=None, reason="停办")
    personal = ical.PersonalItems(registrations={event.pk: [registration(event, Registration.Status.CONFIRMED)]})
    (vevent,) = components(fresh(event), personal=personal)
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert alarms(vevent) == []  # as for a cancelled occurrence of a series


def test_loan_and_hold_items_are_all_day_transparent_and_move_with_renewals(settings):
    book = SimpleNamespace(title="民法典评注\n上册")
    loan = SimpleNamespace(pk=7, book=book, copy=SimpleNamespace(barcode="C-001"), due_date=date(2026, 12, 25),
                           borrowed_at=datetime(2026, 11, 25, 9, 0, 0, 500, tzinfo=SH), renewals=2)
    ready = SimpleNamespace(pk=8, book=book, copy=SimpleNamespace(barcode="C-002"), pickup_by=date(2026, 11, 28),
                            ready_at=datetime(2026, 11, 24, 10, 0, tzinfo=SH), created_at=datetime(2026, 11, 1, tzinfo=SH))
    body = ical.build_calendar([], name="我的", personal=ical.PersonalItems(loans=[loan], holds=[ready]))
    assert b"VTIMEZONE" not in body and b"TZID" not in body  # dates only
    due, pickup = parse(body).walk("VEVENT")
    assert str(due["UID"]) == "loan-7@shuyuan" and str(pickup["UID"]) == "hold-8@shuyuan"
    assert (due["DTSTART"].dt, due["DTEND"].dt) == (date(2026, 12, 25), date(2026, 12, 26))
    assert due["DTSTART"].params["VALUE"] == "DATE"
    assert int(due["SEQUENCE"]) == 2 and str(due["TRANSP"]) == "TRANSPARENT" and str(due["STATUS"]) == "CONFIRMED"
    assert str(due["SUMMARY"]) == "归还《民法典评注 上册》"
    assert "条码 C-001" in str(due["DESCRIPTION"]) and str(due["URL"]) == f"{settings.SITE_URL}/me"
    assert [str(c) for c in due["CATEGORIES"].cats] == ["图书借阅"]
    assert alarms(due) == [("DISPLAY", -timedelta(days=1), "归还《民法典评注 上册》")]
    assert due["DTSTAMP"].to_ical() == b"20261125T010000Z"
    assert (pickup["DTSTART"].dt, pickup["DTEND"].dt) == (date(2026, 11, 28), date(2026, 11, 29))
    assert str(pickup["SUMMARY"]) == "取书《民法典评注 上册》（预约保留至今天）" and int(pickup["SEQUENCE"]) == 0
    assert pickup["DTSTAMP"].to_ical() == b"20261124T020000Z"  # when it became ready
    not_ready = SimpleNamespace(**{**vars(ready), "ready_at": None})
    assert ical.hold_component(not_ready)["DTSTAMP"].to_ical() == b"20261031T160000Z"  # else when it was placed
    # Renewed: the same item (UID) on another day with a higher SEQUENCE.
    renewed = ical.loan_component(SimpleNamespace(**{**vars(loan), "due_date": date(2027, 1, 24), "renewals": 3}))
    assert (str(renewed["UID"]), renewed["DTSTART"].dt, renewed["SEQUENCE"]) == ("loan-7@shuyuan", date(2027, 1, 24), 3)


# --- the stamp of a stored VEVENT ----------------------------------------------------------------------------


def test_the_fragment_stamp_changes_with_every_input_and_when_a_cancellation_expires():
    base = {"revision": 4, "updated_at": NOW, "sequence": 1, "status": "scheduled", "venue_name": "阅览室",
            "venue_location": "三楼", "expired_cancellations": 0, "now": NOW}
    stamp = ical.fragment_stamp(**base)
    assert stamp.startswith(f"{ical.FRAGMENT_FORMAT}|")
    for name, value in (("revision", 5), ("updated_at", NOW + timedelta(seconds=1)), ("sequence", 2),
                        ("venue_name", "报告厅"), ("venue_location", "四楼"),
                        ("venue_name", None), ("expired_cancellations", 1)):
        assert ical.fragment_stamp(**{**base, name: value}) != stamp, name
    # The status itself comes with a save (revision); a scheduled event's stamp does not age, a cancelled
    # one's changes once, when it leaves the feed.
    assert ical.fragment_stamp(**{**base, "now": NOW + timedelta(days=400)}) == stamp
    cancelled = {**base, "status": "cancelled"}
    at = [ical.fragment_stamp(**{**cancelled, "now": NOW + delta})
          for delta in (timedelta(0), timedelta(days=30), timedelta(days=30, seconds=1), timedelta(days=90))]
    assert at[0] == at[1] != at[2] == at[3]
