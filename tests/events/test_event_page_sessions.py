"""The event page after the routine walk of issue 17: a moved session says when it was planned, a cancelled one
why; the registration window is shown; the event's organizers find their links on it; and 报名 says which
session the reader now holds."""

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from django.test import Client

from events import services
from tests.conftest import make_user
from tests.events import common
from tests.events.common import SH, make_event
from tests.web.test_pages import csrf_post, logged_in

pytestmark = pytest.mark.django_db
clock = common.clock  # autouse: 2026-11-25 09:00

FIRST = datetime(2026, 12, 2, 15, 0, tzinfo=SH)  # Wednesdays: 12-02, 12-09, 12-16, 12-23, 12-30, 2027-01-06


def at(day: int, hour: int = 15, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SH)


@pytest.fixture
def salon(organizer):
    return make_event(organizer, title="读书沙龙", start=FIRST, end=FIRST + timedelta(minutes=90),
                      rrule="FREQ=WEEKLY;COUNT=6")


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _rows(html: str) -> list[str]:
    body = re.search(r"<h2>场次</h2>.*?<tbody>(.*?)</tbody>", html, re.S).group(1)
    return [_text(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_a_moved_session_says_when_it_was_planned_and_a_cancelled_one_why(salon, organizer):
    services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(9)], action="move",
                                shift=timedelta(days=1), at_time=at(9, 18, 30).time())
    services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(16)], action="cancel",
                                reason="会议室检修")

    rows = _rows(Client().get(f"/events/{salon.pk}").content.decode())

    assert rows[:3] == [
        "2026-12-02（星期三）15:00 加入日历 不限 登录后报名",
        "2026-12-10（星期四）18:30 原定 2026-12-09（星期三）15:00 加入日历 不限 登录后报名",
        "2026-12-16（星期三）15:00 已取消（会议室检修）",
    ]


@pytest.mark.parametrize(("opens", "closes", "said"), [
    (at(1, 9), at(8, 18), "报名时间：2026-12-01（星期二）09:00 至 2026-12-08（星期二）18:00"),
    (at(1, 9), None, "报名时间：2026-12-01（星期二）09:00 起"),
    (None, at(8, 18), "报名截止：2026-12-08（星期二）18:00"),
])
def test_the_registration_window_is_shown_to_readers(organizer, opens, closes, said):
    talk = make_event(organizer, title="法官茶座", registration_opens=opens, registration_closes=closes)

    html = Client().get(f"/events/{talk.pk}").content.decode()

    assert [_text(p) for p in re.findall(r'<p class="registration-window">(.*?)</p>', html, re.S)] == [said]


def test_no_registration_window_no_line(organizer):
    talk = make_event(organizer, title="法官茶座")

    assert "registration-window" not in Client().get(f"/events/{talk.pk}").content.decode()


def test_the_events_organizers_find_their_links_on_its_page(salon, organizer, judge):
    other = make_user("organizer2", "organizer")

    mine = logged_in(organizer).get(f"/events/{salon.pk}").content.decode()
    theirs = logged_in(other).get(f"/events/{salon.pk}").content.decode()
    reader = logged_in(judge).get(f"/events/{salon.pk}").content.decode()

    assert re.findall(r'<p class="organizer-links">(.*?)</p>', mine) == [
        f'<a href="/organize/{salon.pk}">管理</a> · <a href="/organize/{salon.pk}/edit">修改</a> · '
        f'<a href="/organize/{salon.pk}/attendees">报名与签到</a>']
    assert "organizer-links" not in theirs and "organizer-links" not in reader


def _success(client, page) -> list[str]:
    return [unescape(m) for m in re.findall(r'<li class="success">(.*?)</li>', client.get(page).content.decode())]


def test_registering_names_the_session(salon, organizer, judge):
    services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(9)], action="move",
                                shift=timedelta(days=1), at_time=at(9, 18, 30).time())
    client, page = logged_in(judge), f"/events/{salon.pk}"

    csrf_post(client, page, f"/events/{salon.pk}/register", {"occurrence": at(9).isoformat()})

    assert _success(client, page) == ["已报名 2026-12-10（星期四）18:30 这一场。"]


def test_registering_for_a_one_off_event_names_its_time_and_a_full_one_the_place_in_the_queue(organizer, judge):
    talk = make_event(organizer, title="法官茶座", capacity=1)
    services.registration_create(event=talk, user=make_user("reader0", "judge"))
    client, page = logged_in(judge), f"/events/{talk.pk}"

    csrf_post(client, page, f"/events/{talk.pk}/register", {"occurrence": ""})

    assert _success(client, page) == ["2026-12-04（星期五）15:00 名额已满，已加入候补（第 1 位）。"]


def test_registering_for_the_whole_series_says_so(organizer, judge):
    series = make_event(organizer, title="庭审观摩", start=at(3, 9), end=at(3, 11), rrule="FREQ=WEEKLY;COUNT=3")
    client, page = logged_in(judge), f"/events/{series.pk}"

    csrf_post(client, page, f"/events/{series.pk}/register", {"occurrence": ""})

    assert _success(client, page) == ["已报名本活动的全部场次。"]
