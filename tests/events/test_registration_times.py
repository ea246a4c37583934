"""Registrations shown at the time their session takes place now (routine walk of issue 17): /me lists a moved
session at its new time with the original, a cancelled one as cancelled, a one-off event at its own time and
"全部场次" only for a whole series; the organizer's CSV says the same and names people by their profile name."""

import csv
import io
import re
from datetime import datetime, timedelta
from html import unescape

import pytest

from events import services
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.common import SH, make_event
from tests.web.test_pages import logged_in

pytestmark = pytest.mark.django_db
clock = common.clock  # autouse: 2026-11-25 09:00

FIRST = datetime(2026, 12, 2, 15, 0, tzinfo=SH)  # Wednesdays: 12-02, 12-09, 12-16, 12-23, 12-30, 2027-01-06


def at(day: int, hour: int = 15, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SH)


@pytest.fixture
def salon(organizer):
    return make_event(organizer, title="读书沙龙", start=FIRST, end=FIRST + timedelta(minutes=90),
                      rrule="FREQ=WEEKLY;COUNT=6")


@pytest.fixture
def reader(db):
    return make_user("reader0", "judge", display_name="赵读者")


def _registrations_text(user) -> list[str]:
    html = logged_in(user).get("/me").content.decode()
    block = re.search(r'<ul id="registrations">(.*?)</ul>', html, re.S).group(1)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in re.findall(r"<li>(.*?)</li>", block, re.S)]


def test_me_lists_each_registration_at_the_time_its_session_takes_place_now(salon, organizer, reader):
    talk = make_event(organizer, title="法官茶座")  # one-off: Friday 2026-12-04 15:00
    series = make_event(organizer, title="庭审观摩", start=at(3, 9), end=at(3, 11), rrule="FREQ=WEEKLY;COUNT=3")
    for occurrence in (at(9), at(16), at(23)):
        services.registration_create(event=salon, user=reader, occurrence=occurrence)
    services.registration_create(event=talk, user=reader)
    services.registration_create(event=series, user=reader)
    services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(9)], action="move",
                                shift=timedelta(days=1), at_time=at(9, 18, 30).time())
    services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(16)], action="cancel", reason="停电")

    assert _registrations_text(reader) == [
        "法官茶座 2026-12-04（星期五）15:00 · 已确认",
        "读书沙龙 2026-12-10（星期四）18:30（已改期，原定 2026-12-09（星期三）15:00） · 已确认",
        "读书沙龙 2026-12-16（星期三）15:00（已取消） · 已确认",
        "读书沙龙 2026-12-23（星期三）15:00 · 已确认",
        "庭审观摩 全部场次 · 已确认",
    ]


def test_a_cancelled_one_off_event_shows_as_cancelled_on_me(organizer, reader):
    talk = make_event(organizer, title="法官茶座")
    services.registration_create(event=talk, user=reader)
    services.event_cancel(event=talk, actor=organizer, occurrence=None, reason="停办")

    assert _registrations_text(reader) == ["法官茶座 2026-12-04（星期五）15:00（已取消） · 已确认"]


def _csv(organizer, event) -> list[list[str]]:
    response = api_for(organizer).get(f"/api/v1/events/{event.pk}/registrations", {"format": "csv"})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_registrations_csv_gives_each_session_as_it_stands_and_the_profile_name(salon, organizer, reader):
    whole = make_user("reader1", "judge", display_name="钱读者")
    services.registration_create(event=salon, user=reader, occurrence=at(9))
    services.registration_create(event=salon, user=reader, occurrence=at(16))
    services.registration_create(event=salon, user=reader, occurrence=at(23))
    services.registration_create(event=salon, user=whole)
    services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(9)], action="move",
                                shift=timedelta(days=1), at_time=at(9, 18, 30).time())
    services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(16)], action="cancel")

    table = _csv(organizer, salon)

    assert table[0] == ["报名号", "用户名", "姓名", "场次", "状态", "候补位次", "报名时间", "签到时间", "场次状态"]
    assert [(r[1], r[2], r[3], r[4], r[8]) for r in table[1:]] == [
        ("reader1", "钱读者", "全部场次", "已确认", "已安排"),
        ("reader0", "赵读者", "2026-12-10 18:30", "已确认", "已改期（原定 2026-12-09 15:00）"),
        ("reader0", "赵读者", "2026-12-16 15:00", "已确认", "已取消"),
        ("reader0", "赵读者", "2026-12-23 15:00", "已确认", "已安排"),
    ]


def test_the_registrations_csv_gives_a_one_off_events_own_time(organizer, reader):
    talk = make_event(organizer, title="法官茶座")
    services.registration_create(event=talk, user=reader)

    table = _csv(organizer, talk)

    assert [(r[1], r[2], r[3], r[8]) for r in table[1:]] == [("reader0", "赵读者", "2026-12-04 15:00", "已安排")]


def test_me_leaves_out_sessions_that_are_over(salon, organizer, reader, clock):
    """Registrations for sessions that have ended, and for a whole series all of whose sessions have ended, leave
    /me's list (walk 20: the demo's past salon and seminar were listed as 已确认 weeks later); what is still to come
    stays."""
    talk = make_event(organizer, title="法官茶座")  # one-off: Friday 2026-12-04 15:00–16:00
    short = make_event(organizer, title="庭审观摩", start=at(3, 9), end=at(3, 11), rrule="FREQ=WEEKLY;COUNT=2")
    services.registration_create(event=talk, user=reader)
    services.registration_create(event=short, user=reader)  # 12-03 and 12-10
    services.registration_create(event=salon, user=reader, occurrence=at(9))

    clock.move_to(at(4, 15, 30))  # the talk is under way
    during = _registrations_text(reader)
    clock.move_to(at(9, 16, 0))  # the talk is over; the salon of the 9th runs to 16:30
    later = _registrations_text(reader)
    clock.move_to(at(10, 12, 0))  # the series' last session ended at 11:00, the salon the day before
    last = logged_in(reader).get("/me").content.decode()

    assert during == ["法官茶座 2026-12-04（星期五）15:00 · 已确认", "读书沙龙 2026-12-09（星期三）15:00 · 已确认",
                      "庭审观摩 全部场次 · 已确认"]
    assert later == ["读书沙龙 2026-12-09（星期三）15:00 · 已确认", "庭审观摩 全部场次 · 已确认"]
    assert 'id="registrations"' not in last and "没有报名的活动。" in last
