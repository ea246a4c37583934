"""The manage page after the routine walk of issue 17: a refused move says in plain words what it clashes with
(the series' own sessions as such) and which box to tick, and the page keeps what was ticked and typed; cancelling
asks first and is not the main button; each session shows who is registered for it."""

import re
from datetime import datetime, timedelta
from html import unescape

import pytest

from events import services
from events.models import Override
from tests.conftest import make_user
from tests.events import common
from tests.events.common import SH, make_event
from tests.web.test_pages import csrf_post, logged_in

pytestmark = pytest.mark.django_db
clock = common.clock  # autouse: 2026-11-25 09:00

FIRST = datetime(2026, 12, 2, 15, 0, tzinfo=SH)  # Wednesdays: 12-02, 12-09, 12-16, 12-23, 12-30, 2027-01-06


def at(day: int, hour: int = 15) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=SH)


@pytest.fixture
def room(db):
    return services.venue_create(name="第一会议室")


@pytest.fixture
def salon(organizer, room):
    return make_event(organizer, room, title="读书沙龙", start=FIRST, end=FIRST + timedelta(minutes=90),
                      rrule="FREQ=WEEKLY;COUNT=6")


def _alert(html: str) -> str:
    found = re.search(r'<div class="messages" role="alert" id="bulk-error"><p class="error">(.*?)</p>', html, re.S)
    return unescape(found.group(1)) if found else ""


def test_a_refused_move_names_the_clashes_plainly_and_keeps_the_choices(organizer, room, salon):
    make_event(organizer, room, title="调解培训", start=at(30, 16), end=at(30, 17))
    org, page = logged_in(organizer), f"/organize/{salon.pk}"

    response = csrf_post(org, page, page, {"action": "bulk-move", "shift_days": "7", "new_time": "",
                                           "reason": "备用", "occurrences": [at(16).isoformat(), at(23).isoformat()]})

    html = response.content.decode()
    assert response.status_code == 409
    assert _alert(html) == ("未改期：新的时间场地已被占用——与本系列 12-30 15:00 的一场冲突；与「调解培训」（12-30 16:00）冲突。"
                            "如确需安排，勾选“场地有冲突也仍然安排”后再提交。")
    assert "force=true" not in html and "仍然安排”" not in html.replace("也仍然安排”", "")
    ticked = re.findall(r'name="occurrences" value="([^"]+)" form="bulk-form" data-occurrence checked', html)
    assert ticked == ["2026-12-16T15:00:00+08:00", "2026-12-23T15:00:00+08:00"]
    assert 'name="shift_days" min="-366" max="366" step="1" value="7"' in html
    assert 'id="bulk-reason" type="text" name="reason" maxlength="200" class="wide" value="备用"' in html
    assert '<input type="checkbox" name="force"> 场地有冲突也仍然安排' in html
    assert f'action="/organize/{salon.pk}#bulk-form"' in html
    assert not Override.objects.exists()


def test_ticking_the_box_named_in_the_refusal_moves_them(organizer, room, salon):
    make_event(organizer, room, title="调解培训", start=at(30, 16), end=at(30, 17))
    org, page = logged_in(organizer), f"/organize/{salon.pk}"

    response = csrf_post(org, page, page, {"action": "bulk-move", "shift_days": "7", "force": "on",
                                           "occurrences": [at(16).isoformat(), at(23).isoformat()]})

    assert response.status_code == 302
    assert sorted(Override.objects.values_list("start", flat=True)) == [at(23), at(30)]


def test_a_move_without_a_selection_is_refused_beside_the_form_with_the_inputs_kept(salon, organizer):
    org, page = logged_in(organizer), f"/organize/{salon.pk}"

    response = csrf_post(org, page, page, {"action": "bulk-move", "new_time": "19:30"})

    html = response.content.decode()
    assert (response.status_code, _alert(html)) == (422, "请至少选择一场。")
    assert 'name="new_time" value="19:30"' in html


def test_cancelling_sessions_asks_first_and_is_not_the_main_button(salon, organizer):
    html = logged_in(organizer).get(f"/organize/{salon.pk}").content.decode()

    button = re.search(r'<button type="submit" name="action" value="bulk-cancel"[^>]*>', html).group(0)
    assert 'class="secondary"' in button
    assert 'data-confirm="取消所选场次？报名这些场次的读者会收到通知，取消后不能恢复。"' in button


def test_each_session_shows_who_is_registered_for_it(salon, organizer):
    salon.capacity = 1
    salon.save(update_fields=["capacity"])
    services.event_seats_sync(event=salon)
    readers = [make_user(f"reader{i}", "judge") for i in range(3)]
    services.registration_create(event=salon, user=readers[0])  # the whole series
    services.registration_create(event=salon, user=readers[1], occurrence=at(9))  # waitlisted: the seat is taken
    services.registration_create(event=salon, user=readers[2], occurrence=at(16))  # waitlisted as well

    html = logged_in(organizer).get(f"/organize/{salon.pk}").content.decode()

    cells = [unescape(c) for c in re.findall(r"<td>(已报名 \d+ 人.*?)</td>", html)]
    assert cells == ["已报名 1 人", "已报名 1 人、候补 1 人", "已报名 1 人、候补 1 人", "已报名 1 人", "已报名 1 人",
                     "已报名 1 人"]
