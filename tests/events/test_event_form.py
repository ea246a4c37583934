"""The organizer's create and edit pages (issue 17): fields grouped by what the frequency needs, speakers,
reading list, visibility, online link, registration window, recurrence in words, a venue conflict said once
with free slots to pick, past starts refused.  Through Django's test client with CSRF checks on; the library
clock stands at Wednesday 2026-12-02 10:00."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from events import services
from events.models import Event, Venue
from library.services import book_create, paper_create
from search_index import searcher
from search_index import services as search
from tests.clock import SH, clock  # noqa: F401  (autouse: time stands still)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, page: str, data: dict):
    """Submit the page's form as a browser does (the CSRF token from the page itself)."""
    html = client.get(page).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client.post(page, {"csrfmiddlewaretoken": token, **data})


def form(**changes) -> dict:
    """A complete create form for a one-off lecture on Wednesday 2026-12-09 15:00–16:00."""
    base = {"title": "讲座", "kind": "lecture", "description": "", "repeat": "none", "date": "2026-12-09",
            "start_time": "15:00", "end_time": "16:00", "venue": "", "online_url": "", "capacity": "",
            "registration_required": "on", "registration_opens": "", "registration_closes": "",
            "visibility": "public", "speakers-TOTAL_FORMS": "0", "speakers-INITIAL_FORMS": "0",
            "reading_list": "1", "save": "1"}
    return {**base, **changes}


def errors_of(html: str, field: str) -> str:
    block = re.search(rf'<div class="field" id="field-{field}">(.*?)(?=<div class="field"|</fieldset>)', html, re.S)
    found = re.findall(r'<span class="error">(.*?)</span>', block.group(1)) if block else []
    return " ".join(found)


@pytest.fixture
def room(db):
    return Venue.objects.create(name="法官书苑阅览室", capacity=20)


# --- the groups and what each frequency shows ------------------------------------------------------------


def test_without_script_every_field_shows_grouped_in_fieldsets_with_legends(organizer):
    html = logged_in(organizer).get("/organize").content.decode()

    legends = re.findall(r"<legend>(.*?)</legend>", html)
    parts = re.findall(r'<fieldset class="repeat-part" id="part-(\w+)" data-repeat="([\w ]+)">', html)

    assert legends == ["基本信息", "时间与重复", "每周重复时", "每月重复时", "重复多久", "场地", "报名", "可见范围",
                       "主讲/主持", "阅读书目"]
    assert parts == [("weekly", "weekly"), ("monthly", "monthly"), ("ends", "daily weekly monthly")]
    for field in ("id_weekdays_0", "id_ordinal", "id_weekday", "id_count", "id_until", "id_online_url",
                  "id_registration_opens", "id_registration_closes", "id_visibility_0", "id_reading_q"):
        assert f'id="{field}"' in html, field
    assert '<script src="/static/event_form.js" defer></script>' in html and "<script>" not in html
    assert 'style="' not in html  # the Content-Security-Policy allows no inline styles
    assert "{#" not in html and "{%" not in html and "comment" not in html  # no template comment shows


def test_each_frequency_asks_for_its_own_fields(organizer):
    client = logged_in(organizer)

    weekly = post(client, "/organize", form(repeat="weekly")).content.decode()
    monthly = post(client, "/organize", form(repeat="monthly", ordinal="1")).content.decode()
    both = post(client, "/organize", form(repeat="weekly", weekdays="WE", count="8", until="2027-03-01")).content.decode()

    assert errors_of(weekly, "weekdays") == "请选择星期几"
    assert errors_of(monthly, "weekday") == "请选择星期"
    assert errors_of(both, "until") == "“共几次”与“截止日期”只填一项"
    assert Event.objects.count() == 0


# --- a whole event in the page ---------------------------------------------------------------------------


def test_an_organizer_sets_speakers_reading_visibility_link_and_registration_window_in_the_page(organizer, room):
    colleague = make_user("lihua", display_name="李华")
    book = book_create(title="担保物权研究", year=2017)
    paper = paper_create(title="关于审判辅助的调研", visibility="internal")
    client = logged_in(organizer)

    response = post(client, "/organize", form(
        title="法官茶座", kind="tea_talk", repeat="weekly", weekdays=["WE"], count="8", start_time="19:00",
        end_time="20:30", venue=str(room.pk), online_url="https://meeting.court.test/room/7", capacity="15",
        registration_opens="2026-12-03T09:00", registration_closes="2026-12-08T18:00", visibility="internal",
        books=[str(book.pk)], papers=[str(paper.pk)],
        **{"speakers-TOTAL_FORMS": "3", "speakers-0-name": "张明", "speakers-0-role": "主讲人",
           "speakers-1-name": "王芳", "speakers-1-role": "主持人", "speakers-1-user": "lihua",
           "speakers-2-name": "", "speakers-2-role": ""}))

    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/events/{event.pk}"
    assert (event.title, event.rrule, event.start, event.end, event.venue_id, event.online_url, event.capacity,
            event.visibility, event.registration_opens, event.registration_closes) == (
        "法官茶座", "FREQ=WEEKLY;BYDAY=WE;COUNT=8", datetime(2026, 12, 9, 19, tzinfo=SH),
        datetime(2026, 12, 9, 20, 30, tzinfo=SH), room.pk, "https://meeting.court.test/room/7", 15, "internal",
        datetime(2026, 12, 3, 9, tzinfo=SH), datetime(2026, 12, 8, 18, tzinfo=SH))
    assert [(s.name, s.role, s.user, s.position) for s in event.speakers.all()] == [
        ("张明", "主讲人", None, 0), ("王芳", "主持人", colleague, 1)]
    assert list(event.books.all()) == [book] and list(event.papers.all()) == [paper]
    shown = client.get(f"/events/{event.pk}").content.decode()
    assert "已安排「法官茶座」：每周三 19:00—20:30，共 8 次，首场 2026-12-09（星期三）19:00。" in shown
    assert '<p class="repeat-words">每周三 19:00，共 8 次</p>' in shown


def test_weekly_on_several_days_until_a_date(organizer):
    response = post(logged_in(organizer), "/organize", form(
        repeat="weekly", weekdays=["WE", "MO"], until="2027-01-31", date="2026-12-07"))

    event = Event.objects.get()
    assert response.status_code == 302
    assert (event.rrule, event.start) == ("FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270131T155959Z",
                                          datetime(2026, 12, 7, 15, tzinfo=SH))


def test_a_speakers_account_that_does_not_exist_is_said_on_its_row(organizer):
    html = post(logged_in(organizer), "/organize", form(**{
        "speakers-TOTAL_FORMS": "1", "speakers-0-name": "张明", "speakers-0-user": "nobody"})).content.decode()

    assert "用户不存在：nobody" in html and Event.objects.count() == 0


def test_unknown_reading_ids_are_refused_on_the_reading_list(organizer):
    html = post(logged_in(organizer), "/organize", form(books=["999999"])).content.decode()

    assert "找不到编号为 999999 的条目" in html and Event.objects.count() == 0


# --- the reading list without script ---------------------------------------------------------------------


def test_without_script_the_reading_list_is_searched_added_and_removed_by_buttons(organizer):
    book = book_create(title="担保物权研究", year=2017)
    search.index_rebuild()
    searcher.reset()
    client = logged_in(organizer)
    step = {"title": "", "reading_list": "1", "reading_q": "担保物权"}  # the rest not filled in yet

    found = post(client, "/organize", {**step, "find_reading": "1"}).content.decode()
    added = post(client, "/organize", {**step, "add_book": str(book.pk)}).content.decode()
    dropped = post(client, "/organize", {**step, "books": str(book.pk), "drop_book": str(book.pk)}).content.decode()

    assert re.findall(r'<button type="submit" name="(add_\w+)" value="(\d+)"', found) == [("add_book", str(book.pk))]
    assert "请更正下面标出的项目" not in found  # a step of the reading list judges nothing yet
    assert re.findall(r'<input type="hidden" name="(books|papers)" value="(\d+)">', added) == [("books", str(book.pk))]
    assert "《担保物权研究》" in added
    assert re.findall(r'<input type="hidden" name="(books|papers)" value="(\d+)">', dropped) == []
    assert Event.objects.count() == 0


# --- past starts --------------------------------------------------------------------------------------------


def test_a_start_already_past_is_refused_on_the_date_when_creating(organizer):
    client = logged_in(organizer)

    past = post(client, "/organize", form(date="2026-12-02", start_time="09:00", end_time="09:30")).content.decode()
    weekly = post(client, "/organize", form(date="2026-12-02", start_time="09:00", end_time="09:30",
                                            repeat="weekly", weekdays=["FR"], count="4"))

    assert errors_of(past, "date") == "开始时间已过"
    event = Event.objects.get()  # the weekly one: its first Friday is still to come
    assert weekly.status_code == 302 and event.start == datetime(2026, 12, 4, 9, tzinfo=SH)


def test_editing_an_event_whose_first_occurrence_is_past_keeps_working(organizer):
    event = services.event_create(data=services.EventData(
        title="周三读书会", kind="reading", start=datetime(2026, 11, 25, 19, tzinfo=SH),
        end=datetime(2026, 11, 25, 20, tzinfo=SH), rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=8"), actor=organizer)
    client = logged_in(organizer)
    page = f"/organize/{event.pk}/edit"
    html = client.get(page).content.decode()

    response = post(client, page, form(title="周三读书会（续）", kind="reading", date="2026-11-25", start_time="19:00",
                                       end_time="20:00", repeat="weekly", weekdays=["WE"], count="8"))

    assert 'name="weekdays" value="WE" id="id_weekdays_2" checked' in html and 'name="count" value="8"' in html
    event.refresh_from_db()
    assert response.status_code == 302
    assert (event.title, event.start, event.rrule) == ("周三读书会（续）", datetime(2026, 11, 25, 19, tzinfo=SH),
                                                       "FREQ=WEEKLY;BYDAY=WE;COUNT=8")


# --- editing ---------------------------------------------------------------------------------------------


def test_the_edit_page_shows_speakers_and_reading_and_saves_them_in_the_order_given(organizer):
    book = book_create(title="担保物权研究", year=2017)
    event = services.event_create(data=services.EventData(
        title="读书会", kind="reading", start=datetime(2026, 12, 9, 15, tzinfo=SH), end=datetime(2026, 12, 9, 16, tzinfo=SH),
        speakers=[services.SpeakerData(name="张明", role="主讲人"), services.SpeakerData(name="王芳", role="主持人")],
        books=[book.pk]), actor=organizer)
    revision = Event.objects.get(pk=event.pk).revision
    client = logged_in(organizer)
    page = f"/organize/{event.pk}/edit"
    html = client.get(page).content.decode()

    response = post(client, page, form(title="读书会", kind="reading", books=[], **{
        "speakers-TOTAL_FORMS": "3", "speakers-INITIAL_FORMS": "2",
        "speakers-0-name": "张明", "speakers-0-role": "主讲人", "speakers-0-DELETE": "on",
        "speakers-1-name": "王芳", "speakers-1-role": "主持人",
        "speakers-2-name": "赵一", "speakers-2-role": "嘉宾"}))

    assert re.findall(r'name="speakers-\d-name" value="([^"]+)"', html) == ["张明", "王芳"]
    assert re.findall(r'<input type="hidden" name="books" value="(\d+)">', html) == [str(book.pk)]
    assert response.status_code == 302
    event.refresh_from_db()
    assert [(s.name, s.role, s.position) for s in event.speakers.all()] == [("王芳", "主持人", 0), ("赵一", "嘉宾", 1)]
    assert list(event.books.all()) == [] and event.revision > revision  # feeds see the change


# --- venue conflict --------------------------------------------------------------------------------------


def test_a_venue_conflict_is_said_once_beside_time_and_venue_with_free_slots(organizer, room):
    services.event_create(data=services.EventData(
        title="读书会", kind="reading", start=datetime(2026, 12, 9, 14, tzinfo=SH), end=datetime(2026, 12, 9, 16, tzinfo=SH),
        venue=room.pk), actor=organizer)
    client = logged_in(organizer)

    html = post(client, "/organize", form(venue=str(room.pk))).content.decode()

    assert html.count("场地冲突") == 1 and html.count('role="alert"') == 1
    assert '<ul class="messages">' not in html  # no flash message besides
    venue_group = re.search(r'<fieldset class="group" id="group-venue">(.*?)</fieldset>', html, re.S).group(1)
    assert "法官书苑阅览室在这段时间已有「读书会」（2026-12-09 14:00—16:00）。" in venue_group
    assert re.findall(r'<button type="submit" name="slot" value="([^"]+)" class="secondary">([^<]+)</button>',
                      venue_group) == [("2026-12-09T13:00", "2026-12-09（星期三）13:00—14:00"),
                                       ("2026-12-09T16:00", "2026-12-09（星期三）16:00—17:00"),
                                       ("2026-12-09T16:30", "2026-12-09（星期三）16:30—17:30")]
    assert '<input type="checkbox" name="force" id="id_force">' in venue_group
    assert Event.objects.count() == 1


def test_picking_a_free_slot_schedules_the_event_then(organizer, room):
    services.event_create(data=services.EventData(
        title="读书会", kind="reading", start=datetime(2026, 12, 9, 14, tzinfo=SH), end=datetime(2026, 12, 9, 16, tzinfo=SH),
        venue=room.pk), actor=organizer)

    response = post(logged_in(organizer), "/organize", form(venue=str(room.pk), slot="2026-12-09T16:30"))

    event = Event.objects.get(title="讲座")
    assert response.status_code == 302
    assert (event.start, event.end) == (datetime(2026, 12, 9, 16, 30, tzinfo=SH), datetime(2026, 12, 9, 17, 30, tzinfo=SH))


def test_schedule_anyway_keeps_the_clashing_time(organizer, room):
    services.event_create(data=services.EventData(
        title="读书会", kind="reading", start=datetime(2026, 12, 9, 14, tzinfo=SH), end=datetime(2026, 12, 9, 16, tzinfo=SH),
        venue=room.pk), actor=organizer)

    response = post(logged_in(organizer), "/organize", form(venue=str(room.pk), force="on"))

    assert response.status_code == 302
    assert Event.objects.get(title="讲座").start == datetime(2026, 12, 9, 15, tzinfo=SH)


def test_a_series_in_conflict_is_offered_its_own_days_at_other_times_in_words(organizer, room):
    services.event_create(data=services.EventData(
        title="周三读书会", kind="reading", start=datetime(2026, 12, 9, 19, tzinfo=SH),
        end=datetime(2026, 12, 9, 20, 30, tzinfo=SH), venue=room.pk, rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=8"),
        actor=organizer)

    html = post(logged_in(organizer), "/organize", form(
        venue=str(room.pk), repeat="weekly", weekdays=["WE"], count="4", start_time="19:00",
        end_time="20:00")).content.decode()

    assert "已有「周三读书会」（2026-12-09 19:00—20:30），另有 3 场冲突。" in html
    assert re.findall(r'name="slot" value="([^"]+)" class="secondary">([^<]+)<', html) == [
        ("2026-12-09T17:00", "每周三 17:00—18:00，共 4 次"), ("2026-12-09T17:30", "每周三 17:30—18:30，共 4 次"),
        ("2026-12-09T18:00", "每周三 18:00—19:00，共 4 次")]  # 18:30–20:30 clash; 20:00–21:00 too, 20:30 ends after 21:00


def test_the_edit_page_says_a_conflict_the_same_way(organizer, room):
    services.event_create(data=services.EventData(
        title="读书会", kind="reading", start=datetime(2026, 12, 9, 14, tzinfo=SH), end=datetime(2026, 12, 9, 16, tzinfo=SH),
        venue=room.pk), actor=organizer)
    mine = services.event_create(data=services.EventData(
        title="讲座", kind="lecture", start=datetime(2026, 12, 9, 10, tzinfo=SH), end=datetime(2026, 12, 9, 11, tzinfo=SH),
        venue=room.pk), actor=organizer)
    page = f"/organize/{mine.pk}/edit"

    html = post(logged_in(organizer), page, form(venue=str(room.pk))).content.decode()

    assert html.count("场地冲突") == 1 and "已有「读书会」（2026-12-09 14:00—16:00）" in html
    # Its own booking at 10:00 does not block 13:00 (it is the event being moved).
    assert re.findall(r'name="slot" value="([^"]+)"', html) == ["2026-12-09T13:00", "2026-12-09T16:00",
                                                               "2026-12-09T16:30"]
    mine.refresh_from_db()
    assert mine.start == datetime(2026, 12, 9, 10, tzinfo=SH)


# --- recurrence in words everywhere ----------------------------------------------------------------------


def test_every_page_says_the_rule_in_words_never_the_rrule(organizer, admin_user):
    event = services.event_create(data=services.EventData(
        title="周三读书会", kind="reading", start=datetime(2026, 12, 9, 19, tzinfo=SH),
        end=datetime(2026, 12, 9, 20, tzinfo=SH), rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=8"), actor=organizer)
    client = logged_in(organizer)
    admin = Client()
    admin.force_login(admin_user)

    pages = {
        "/organize": client.get("/organize").content.decode(),
        "event": client.get(f"/events/{event.pk}").content.decode(),
        "manage": client.get(f"/organize/{event.pk}").content.decode(),
        "/events": client.get("/events").content.decode(),
        "admin": admin.get("/admin/events/event/").content.decode(),
    }

    for name, html in pages.items():
        assert "每周三 19:00，共 8 次" in html and "FREQ=" not in html, name


def test_a_rule_the_form_cannot_make_reads_as_words_on_the_edit_page(organizer):
    event = services.event_create(data=services.EventData(
        title="读书会", kind="reading", start=datetime(2026, 12, 2, 19, tzinfo=SH), end=datetime(2026, 12, 2, 20, tzinfo=SH),
        rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;UNTIL=20270401T000000Z"), actor=organizer)

    html = logged_in(organizer).get(f"/organize/{event.pk}/edit").content.decode()

    assert "页面上不修改它：每 2 周的周三 19:00，至 2027-04-01" in html and "FREQ=" not in html


def test_admin_lists_a_rule_without_words_as_a_phrase(organizer, admin_user):
    start = datetime(2027, 1, 6, 19, tzinfo=SH)
    services.event_create(data=services.EventData(title="年会", kind="salon", start=start, end=start + timedelta(hours=1),
                                                   rrule="FREQ=MONTHLY;BYDAY=1WE;BYSETPOS=1"), actor=organizer)
    admin = Client()
    admin.force_login(admin_user)

    html = admin.get("/admin/events/event/").content.decode()

    assert "按自定义规则重复 19:00" in html and "BYSETPOS" not in html


def test_saving_an_edit_says_truthfully_whom_it_told(organizer, judge):
    event = services.event_create(data=services.EventData(
        title="讲座", kind="lecture", start=datetime(2026, 12, 9, 15, tzinfo=SH), end=datetime(2026, 12, 9, 16, tzinfo=SH)),
        actor=organizer)
    client = logged_in(organizer)
    page = f"/organize/{event.pk}/edit"

    def said(response) -> list[str]:
        assert response.status_code == 302
        return [str(m) for m in get_messages(response.wsgi_request)]

    saved = "已保存「{}」：2026-12-09（星期三）{}。"
    # Nobody registered, nothing moved: no word of notices.
    assert said(post(client, page, form(title="讲座（新题）"))) == [saved.format("讲座（新题）", "15:00—16:00")]
    services.registration_create(event=event, user=judge, occurrence=None)
    # The time did not change: nobody was told anything.
    assert said(post(client, page, form(title="讲座（又一题）"))) == [saved.format("讲座（又一题）", "15:00—16:00")]
    assert said(post(client, page, form(title="讲座（又一题）", start_time="16:00", end_time="17:00"))) == [
        saved.format("讲座（又一题）", "16:00—17:00") + "已把时间或地点的变更通知 1 位报名读者。"]
