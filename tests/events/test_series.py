"""Series management (issue 17): several occurrences cancelled or moved at once, all or nothing, each one's
SEQUENCE raised, and one summary notice per registered reader; the manage page's truthful messages, the API,
and the month grid's neighbouring days."""

import re
from datetime import datetime, time, timedelta
from html import unescape

import icalendar
import pytest
from django.test import Client

from core.errors import DomainError, InvalidInput
from events import services
from events.models import Override, Registration
from notices.models import Notice
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.common import SH, make_event
from tests.web.test_pages import csrf_post, logged_in

pytestmark = pytest.mark.django_db
clock = common.clock  # autouse: time stands at 2026-11-25 09:00 unless a test moves it

WEEKLY = "FREQ=WEEKLY;COUNT=6"
FIRST = datetime(2026, 12, 2, 15, 0, tzinfo=SH)  # a Wednesday; then 12-09, 12-16, 12-23, 12-30, 2027-01-06


def at(day: int, month: int = 12, year: int = 2026, hour: int = 15) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=SH)


@pytest.fixture
def salon(organizer):
    return make_event(organizer, title="读书沙龙", start=FIRST, end=FIRST + timedelta(minutes=90), rrule=WEEKLY)


@pytest.fixture
def readers(db):
    return [make_user(f"reader{i}", "judge", display_name=f"读者{i}") for i in range(4)]


def _changes(user) -> list[Notice]:
    return list(Notice.objects.filter(patron=user, kind__in=[Notice.Kind.EVENT_CHANGED, Notice.Kind.EVENT_CANCELLED])
                .order_by("id"))


def _feed_sequences(event) -> dict[str, int]:
    """RECURRENCE-ID (local, to the minute) → SEQUENCE of the event's own feed."""
    body = Client().get(f"/calendar/events/{event.pk}.ics").content
    out = {}
    for component in icalendar.Calendar.from_ical(body).walk("VEVENT"):
        rid = component.get("recurrence-id")
        key = rid.dt.astimezone(SH).strftime("%m-%d %H:%M") if rid else "series"
        out[key] = int(component.get("sequence"))
    return out


def test_cancelling_two_occurrences_sends_one_notice_to_each_reader_concerned(salon, organizer, readers):
    whole, first_only, untouched, both = readers
    services.registration_create(event=salon, user=whole)
    services.registration_create(event=salon, user=first_only, occurrence=at(9))
    services.registration_create(event=salon, user=untouched, occurrence=at(23))
    services.registration_create(event=salon, user=both, occurrence=at(9))
    services.registration_create(event=salon, user=both, occurrence=at(16))

    done = services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(16), at(9)], action="cancel",
                                       reason="会议室检修")

    assert done.notified == 3
    assert sorted((o.recurrence_id, o.status, o.sequence, o.reason) for o in done.overrides) == [
        (at(9), "cancelled", 1, "会议室检修"), (at(16), "cancelled", 1, "会议室检修")]
    assert [len(_changes(r)) for r in readers] == [1, 1, 0, 1]
    summary = _changes(whole)[0]
    assert summary.kind == Notice.Kind.EVENT_CANCELLED and summary.subject == "活动取消：读书沙龙（2 场）"
    assert "· 2026-12-09 15:00 已取消（会议室检修）\n· 2026-12-16 15:00 已取消（会议室检修）" in summary.body
    assert "2026-12-16" not in _changes(first_only)[0].body
    assert _feed_sequences(salon) == {"series": 0, "12-09 15:00": 1, "12-16 15:00": 1}


def test_moving_occurrences_raises_their_sequence_each_time(salon, organizer, readers):
    services.registration_create(event=salon, user=readers[0])

    first = services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(9), at(16)], action="move",
                                        at_time=time(19, 0))
    again = services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(16)], action="move",
                                        shift=timedelta(days=1))

    assert (first.notified, again.notified) == (1, 1)
    moved = {o.recurrence_id: (o.start, o.end, o.sequence) for o in Override.objects.all()}
    assert moved == {at(9): (at(9, hour=19), at(9, hour=19) + timedelta(minutes=90), 1),
                     at(16): (at(17, hour=19), at(17, hour=19) + timedelta(minutes=90), 2)}
    notices = _changes(readers[0])
    assert [n.subject for n in notices] == ["活动变更：读书沙龙（2 场）", "活动变更：读书沙龙（1 场）"]
    assert "· 2026-12-16 15:00 改为 2026-12-17 19:00" in notices[1].body
    assert _feed_sequences(salon) == {"series": 0, "12-09 15:00": 1, "12-16 15:00": 2}


def test_a_move_with_a_clash_writes_nothing_and_names_every_clash(organizer, readers):
    room = services.venue_create(name="第一会议室")
    salon = make_event(organizer, room, title="读书沙龙", start=FIRST, end=FIRST + timedelta(minutes=90), rrule=WEEKLY)
    make_event(organizer, room, title="调解培训", start=at(30, hour=16), end=at(30, hour=17))
    services.registration_create(event=salon, user=readers[0])
    before = Notice.objects.count()

    # 12-16 → 12-23 is free (12-23 moves too); 12-23 → 12-30 meets the training and the series' own 12-30.
    with pytest.raises(DomainError) as refused:
        services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(16), at(23)], action="move",
                                    shift=timedelta(days=7))

    assert refused.value.code == "venue_conflict"
    assert [(c["title"], c["start"]) for c in refused.value.extra["conflicts"]] == [
        ("读书沙龙", "2026-12-30T15:00:00+08:00"), ("调解培训", "2026-12-30T16:00:00+08:00")]
    assert (Override.objects.count(), Notice.objects.count()) == (0, before)

    forced = services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(16), at(23)], action="move",
                                         shift=timedelta(days=7), force=True)
    assert sorted(o.start for o in forced.overrides) == [at(23), at(30)] and forced.notified == 1


@pytest.mark.parametrize(("kwargs", "field", "code"), [
    ({"recurrence_ids": [], "action": "cancel"}, "occurrences", "nothing_selected"),
    ({"recurrence_ids": [at(10)], "action": "cancel"}, "occurrences", "not_an_occurrence"),
    ({"recurrence_ids": [at(9), at(16)], "action": "move", "on_date": datetime(2026, 12, 11).date()}, "date",
     "date_for_one"),
    ({"recurrence_ids": [at(9)], "action": "move"}, "shift", "no_change"),
    ({"recurrence_ids": [at(9)], "action": "move", "shift": timedelta(days=-20)}, "shift", "in_the_past"),
])
def test_bulk_changes_refuse_bad_choices_and_change_nothing(salon, organizer, kwargs, field, code):
    with pytest.raises(InvalidInput) as refused:
        services.occurrences_change(event=salon, actor=organizer, **kwargs)

    assert (refused.value.field, refused.value.code) == (field, code)
    assert not Override.objects.exists()


def test_a_selection_with_a_cancelled_occurrence_is_refused_whole(salon, organizer):
    services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(16)], action="cancel")

    with pytest.raises(DomainError) as refused:
        services.occurrences_change(event=salon, actor=organizer, recurrence_ids=[at(9), at(16)], action="move",
                                    shift=timedelta(days=1))

    assert refused.value.code == "occurrence_cancelled"
    assert list(Override.objects.values_list("recurrence_id", "status", "sequence")) == [(at(16), "cancelled", 1)]


def _message(client, page) -> str:
    html = client.get(page).content.decode()
    return unescape(" ".join(re.findall(r'<li class="(?:success|error|info)">(.*?)</li>', html, re.S)))


def test_the_manage_page_cancels_ticked_occurrences_and_says_who_was_told(salon, organizer, readers):
    services.registration_create(event=salon, user=readers[0])
    services.registration_create(event=salon, user=readers[1], occurrence=at(9))
    org, page = logged_in(organizer), f"/organize/{salon.pk}"
    html = org.get(page).content.decode()
    assert html.count('name="occurrences"') == 6 and 'id="select-all"' in html

    response = csrf_post(org, page, page, {"action": "bulk-cancel", "reason": "停电",
                                           "occurrences": [at(9).isoformat(), at(16).isoformat()]})

    assert response.status_code == 302
    assert _message(org, page) == "已取消 2 场。已通知 2 位报名读者。"
    csrf_post(org, page, page, {"action": "bulk-cancel", "occurrences": [at(23).isoformat()]})
    assert _message(org, page) == "已取消 1 场。已通知 1 位报名读者。"


def test_the_manage_page_says_when_nobody_was_registered(salon, organizer):
    org, page = logged_in(organizer), f"/organize/{salon.pk}"

    csrf_post(org, page, page, {"action": "bulk-move", "shift_days": "1", "occurrences": [at(9).isoformat()]})
    moved = _message(org, page)
    csrf_post(org, page, page, {"action": "cancel-event", "reason": "停办"})

    assert moved == "已改期 1 场（2026-12-10 15:00）。没有报名的读者。"
    assert _message(org, page) == "整个活动已取消。没有报名的读者。"


def test_the_manage_page_gives_one_session_its_own_venue_and_title_and_tells_its_readers(salon, organizer, readers):
    """The page could only move or cancel a session; another room or title for one of them needed the API
    (routine walk)."""
    hall = services.venue_create(name="一楼报告厅")
    services.registration_create(event=salon, user=readers[1], occurrence=at(9))
    org, page = logged_in(organizer), f"/organize/{salon.pk}"
    assert 'id="change-one"' in org.get(page).content.decode()

    csrf_post(org, page, page, {"action": "bulk-change", "new_venue": str(hall.pk), "new_title": "读书沙龙（专场）",
                                "occurrences": [at(9).isoformat()]})
    changed = _message(org, page)
    csrf_post(org, page, page, {"action": "bulk-change", "new_venue": "online", "occurrences": [at(16).isoformat()]})
    online = _message(org, page)
    two = csrf_post(org, page, page, {"action": "bulk-change", "new_title": "x",
                                      "occurrences": [at(23).isoformat(), at(30).isoformat()]})
    nothing = csrf_post(org, page, page, {"action": "bulk-change", "occurrences": [at(23).isoformat()]})

    assert changed == "2026-12-09 15:00 这一场已修改。已通知 1 位报名读者。"
    assert online == "2026-12-16 15:00 这一场已修改。没有报名的读者。"
    assert [(o.recurrence_id, o.title, o.venue_id, o.venue_changed) for o in Override.objects.order_by("recurrence_id")] == [
        (at(9), "读书沙龙（专场）", hall.pk, True), (at(16), "", None, True)]
    assert (two.status_code, "只能选择一场" in two.content.decode()) == (422, True)
    assert (nothing.status_code, "请选择新的场地或填写新的标题" in nothing.content.decode()) == (422, True)
    assert "一楼报告厅" in Notice.objects.get(patron=readers[1], kind="event_changed").body


def test_a_session_in_the_list_and_the_month_leads_to_its_own_row_of_the_event(organizer):
    """Clicking one session of a series opened the top of the event's page (routine walk): the list and the month
    link to its row (#occ-…), which the event's table carries."""
    from django.utils import timezone

    day = (timezone.localtime() + timedelta(days=30)).replace(hour=15, minute=0, second=0, microsecond=0)
    series = make_event(organizer, title="周五茶座", start=day, end=day + timedelta(hours=1),
                        rrule="FREQ=WEEKLY;COUNT=3")
    second = day + timedelta(days=7)
    anchor = f"/events/{series.pk}#occ-{second:%Y%m%d%H%M}"

    listed = Client().get("/events").content.decode()
    month = Client().get("/events", {"view": "month", "month": f"{second:%Y-%m}"}).content.decode()
    detail = Client().get(f"/events/{series.pk}").content.decode()

    assert f'href="{anchor}"' in listed and f'href="{anchor}"' in month
    assert f'id="occ-{second:%Y%m%d%H%M}"' in detail


def test_the_manage_page_names_the_clash_and_keeps_the_series(organizer):
    room = services.venue_create(name="第一会议室")
    salon = make_event(organizer, room, title="读书沙龙", start=FIRST, end=FIRST + timedelta(minutes=90), rrule=WEEKLY)
    org, page = logged_in(organizer), f"/organize/{salon.pk}"

    refused = csrf_post(org, page, page, {"action": "bulk-move", "shift_days": "7", "occurrences": [at(9).isoformat()]})

    # Shown on the page as posted (tests/events/test_manage_refusals.py), not after a redirect.
    assert refused.status_code == 409 and "与本系列 12-16 15:00 的一场冲突" in refused.content.decode()
    assert not Override.objects.exists()


def test_the_bulk_api_answers_with_sequences_and_the_readers_told(salon, organizer, readers):
    services.registration_create(event=salon, user=readers[0])
    api = api_for(organizer)

    response = api.post(f"/api/v1/events/{salon.pk}/occurrences/bulk", {
        "action": "move", "occurrences": [at(9).isoformat(), at(16).isoformat()], "shift_days": 1, "time": "18:30"})

    assert response.status_code == 200
    assert response.json() == {"notified": 1, "changed": [
        {"recurrence_id": "2026-12-09T15:00:00+08:00", "start": "2026-12-10T18:30:00+08:00",
         "end": "2026-12-10T20:00:00+08:00", "status": "scheduled", "sequence": 1},
        {"recurrence_id": "2026-12-16T15:00:00+08:00", "start": "2026-12-17T18:30:00+08:00",
         "end": "2026-12-17T20:00:00+08:00", "status": "scheduled", "sequence": 1}]}


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "cancel", "occurrences": ["2026-12-10T15:00:00+08:00"]}, "occurrences"),
    ({"action": "cancel", "occurrences": []}, "occurrences"),
    ({"action": "move", "occurrences": ["2026-12-09T15:00:00+08:00"], "time": "25:99"}, "time"),
    ({"action": "drop", "occurrences": ["2026-12-09T15:00:00+08:00"]}, "action"),
    ({"action": "cancel", "occurrences": ["2026-12-09T15:00:00+08:00"], "extra": 1}, "extra"),
])
def test_the_bulk_api_names_the_bad_field(salon, organizer, body, field):
    response = api_for(organizer).post(f"/api/v1/events/{salon.pk}/occurrences/bulk", body)

    assert response.status_code == 422
    assert field in str(response.json())
    assert not Override.objects.exists()


def test_only_the_events_organizers_change_its_occurrences(salon, judge):
    body = {"action": "cancel", "occurrences": [at(9).isoformat()]}

    stranger = api_for(make_user("organizer2", "organizer")).post(f"/api/v1/events/{salon.pk}/occurrences/bulk", body)
    reader = api_for(judge).post(f"/api/v1/events/{salon.pk}/occurrences/bulk", body)

    assert (stranger.status_code, reader.status_code) == (403, 403)
    assert not Override.objects.exists() and not Registration.objects.exists()


def test_the_month_grid_shows_events_on_the_neighbouring_months_days(organizer):
    # December 2026's grid runs from Monday 2026-11-30 to Sunday 2027-01-03.
    make_event(organizer, title="十一月末的茶座", start=at(30, month=11), end=at(30, month=11) + timedelta(hours=1))
    make_event(organizer, title="新年读书会", start=at(3, month=1, year=2027), end=at(3, month=1, year=2027, hour=16))
    make_event(organizer, title="网格之外", start=at(4, month=1, year=2027), end=at(4, month=1, year=2027, hour=16))

    html = Client().get("/events", {"view": "month", "month": "2026-12"}).content.decode()

    cells = re.findall(r'<td class="day other-month[^"]*">(.*?)</td>', html, re.S)
    assert len(cells) == 4  # 11-30 and 2027-01-01 … 01-03
    assert "十一月末的茶座" in cells[0] and "新年读书会" in cells[3]
    assert "网格之外" not in html


def test_the_manage_page_shows_times_in_library_time(salon, organizer):
    """Occurrences read from the database are in UTC: the page shows them in library time (it showed 07:00)."""
    html = logged_in(organizer).get(f"/organize/{salon.pk}").content.decode()

    assert "2026-12-09（星期三）15:00" in html and "07:00" not in html
