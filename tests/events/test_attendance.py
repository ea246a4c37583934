"""Attendance (issue 17): check-in per session by the reader's personal code or the session's code, only while
the session is on (never for one still to come), walk-ins, undo, the history on /me and the API, and the
organizer's CSV/XLSX export."""

import csv
import io
import re
from datetime import datetime, timedelta
from html import unescape

import openpyxl
import pytest
from django.core import signing
from django.test import Client

from core.errors import DomainError
from events import attendance, services
from events.models import Attendance, Registration
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.common import SH, make_event
from tests.web.test_pages import csrf_post, logged_in

pytestmark = pytest.mark.django_db
clock = common.clock  # autouse: time stands at 2026-11-25 09:00 unless a test moves it

FIRST = datetime(2026, 12, 2, 15, 0, tzinfo=SH)  # Wednesdays: 12-02, 12-09, 12-16


def at(day: int, hour: int = 15, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def salon(organizer):
    return make_event(organizer, title="读书沙龙", start=FIRST, end=FIRST + timedelta(minutes=90),
                      rrule="FREQ=WEEKLY;COUNT=3", capacity=3)


@pytest.fixture
def talk(organizer):
    """A single lecture on Friday 2026-12-04, 15:00–16:30, two seats."""
    return make_event(organizer, title="民法典讲座", kind="lecture", capacity=2)


# --- codes ---------------------------------------------------------------------------------------------------


def test_a_personal_code_names_its_reader_until_it_is_replaced(judge):
    code = attendance.personal_code(judge)

    assert attendance.personal_code_user(code) == judge
    fresh = attendance.personal_code_rotate(user=judge)
    assert fresh != code and attendance.personal_code_user(fresh) == judge
    with pytest.raises(DomainError) as replaced:
        attendance.personal_code_user(code)
    assert replaced.value.code == "bad_code"


@pytest.mark.parametrize("forge", [
    lambda code, user: code[:-2] + ("AA" if not code.endswith("AA") else "BB"),  # the signature altered
    lambda code, user: code.replace(f".{user.pk}.", f".{user.pk + 1}."),  # another reader's number
    lambda code, user: signing.Signer(salt=attendance.OCCURRENCE_SALT).sign(f"SYIN.{user.pk}.0"),  # another salt
    lambda code, user: "B1",  # a book's barcode scanned by mistake
    lambda code, user: "x" * 500,
])
def test_a_forged_personal_code_names_nobody(judge, forge):
    other = make_user("judge9", "judge")
    code = attendance.personal_code(judge)

    with pytest.raises(DomainError) as refused:
        attendance.personal_code_user(forge(code, judge))

    assert refused.value.code == "bad_code" and other.pk == judge.pk + 1


def test_a_sessions_code_is_good_on_its_day_only(salon, talk, clock):
    clock.move_to(at(9, 14))
    code = attendance.occurrence_code(salon, at(9), at(9).date())

    assert attendance.occurrence_code_read(code, event_id=salon.pk) == at(9)
    with pytest.raises(DomainError) as other_event:
        attendance.occurrence_code_read(code, event_id=talk.pk)
    with pytest.raises(DomainError) as tampered:
        attendance.occurrence_code_read(code.replace(f"{salon.pk}.", f"{talk.pk}.", 1), event_id=talk.pk)
    clock.move_to(at(10, 0, 1))
    with pytest.raises(DomainError) as expired:
        attendance.occurrence_code_read(code, event_id=salon.pk)

    assert (other_event.value.code, tampered.value.code, expired.value.code) == ("bad_code", "bad_code", "code_expired")


# --- check-in --------------------------------------------------------------------------------------------------


def test_check_in_opens_an_hour_before_and_closes_at_the_end_of_the_day(talk, judge, organizer, clock):
    services.registration_create(event=talk, user=judge)
    refusals = []
    for moment in (datetime(2026, 11, 25, 9, 0, tzinfo=SH), at(4, 13, 59), datetime(2026, 12, 5, 0, 0, tzinfo=SH)):
        clock.move_to(moment)
        with pytest.raises(DomainError) as refused:
            services.check_in(event=talk, user=judge, occurrence=None, actor=organizer)
        refusals.append((refused.value.code, refused.value.detail))

    clock.move_to(at(4, 14, 0))
    done = services.check_in(event=talk, user=judge, occurrence=None, actor=organizer)

    assert refusals == [("not_started", "这一场尚未开始（2026-12-04 15:00 开始，开始前 1 小时起可签到）")] * 2 + [
        ("check_in_closed", "这一场已结束，不能再签到")]
    assert (done.already, done.walk_in, done.attendance.checked_in_at) == (False, False, at(4, 14, 0))
    assert Registration.objects.get(user=judge).checked_in_at == at(4, 14, 0)


def test_the_organizers_button_refuses_a_session_still_to_come(talk, judge, organizer):
    registration = services.registration_create(event=talk, user=judge)
    org = logged_in(organizer)
    page = f"/organize/{talk.pk}/attendees"
    assert "签到开放时间：2026-12-04 14:00 起至当天结束。" in org.get(page).content.decode()

    response = api_for(organizer).post(f"/api/v1/registrations/{registration.pk}/check-in")

    assert response.status_code == 409 and response.json()["code"] == "not_started"
    assert not Attendance.objects.exists()


def test_the_attendees_page_counts_the_waitlist_apart_from_those_expected(talk, judge, organizer):
    """"已签到 0 / 3" counted a waitlisted reader among those expected (routine walk)."""
    services.registration_create(event=talk, user=judge)
    services.registration_create(event=talk, user=make_user("judge2", "judge"))
    services.registration_create(event=talk, user=make_user("judge3", "judge"))  # capacity 2: waitlisted

    page = logged_in(organizer).get(f"/organize/{talk.pk}/attendees").content.decode()

    assert "已签到 0 / 2 · 候补 1 人" in page


def test_a_whole_series_registration_is_checked_in_once_per_session(salon, judge, organizer, clock):
    registration = services.registration_create(event=salon, user=judge)
    clock.move_to(at(2, 15, 10))
    services.registration_check_in(registration=registration, actor=organizer)
    again = services.check_in(event=salon, user=judge, occurrence=at(2), actor=organizer)
    clock.move_to(at(9, 14, 30))
    services.registration_check_in(registration=registration, actor=organizer)

    assert again.already
    assert list(Attendance.objects.values_list("occurrence", "checked_in_at")) == [
        (at(2), at(2, 15, 10)), (at(9), at(9, 14, 30))]
    registration.refresh_from_db()
    assert registration.checked_in_at is None  # per session, in Attendance


def test_not_registered_waitlisted_and_walk_ins(talk, organizer, clock):
    first, second, late, walker = (make_user(f"r{i}", "judge", display_name=n)
                                   for i, n in enumerate(["甲", "乙", "丙", "丁"]))
    services.registration_create(event=talk, user=first)
    services.registration_create(event=talk, user=second)
    services.registration_create(event=talk, user=late)  # waitlisted: two seats
    clock.move_to(at(4, 14, 30))
    refusals = []
    for user, walk_in in ((walker, False), (late, False), (walker, True)):
        with pytest.raises(DomainError) as refused:
            services.check_in(event=talk, user=user, occurrence=None, actor=organizer, walk_in=walk_in)
        refusals.append((refused.value.code, refused.value.detail))

    services.registration_cancel(registration=Registration.objects.get(user=second))  # 丙 is promoted
    services.registration_cancel(registration=Registration.objects.get(user=late))  # a seat comes free
    joined = services.check_in(event=talk, user=walker, occurrence=None, actor=organizer, walk_in=True)

    assert refusals == [("not_registered", "丁 没有报名这一场"),
                        ("waitlisted", "丙 在候补名单上（第 1 位），报名尚未确认，不能签到"),
                        ("full", "名额已满，丁 不能现场加入")]
    assert joined.walk_in and joined.attendance.walk_in
    assert Registration.objects.get(user=walker, status="confirmed").checked_in_at == at(4, 14, 30)


def test_undo_takes_back_a_check_in_and_a_walk_ins_seat(talk, judge, organizer, clock):
    registration = services.registration_create(event=talk, user=judge)
    walker = make_user("walker", "judge")
    clock.move_to(at(4, 15))
    mine = services.check_in(event=talk, user=judge, occurrence=None, actor=organizer).attendance
    walked = services.check_in(event=talk, user=walker, occurrence=None, actor=organizer, walk_in=True).attendance

    assert services.check_in_undo(attendance=mine) is False
    assert services.check_in_undo(attendance=walked) is True

    registration.refresh_from_db()
    assert (registration.status, registration.checked_in_at) == ("confirmed", None)
    assert Registration.objects.get(user=walker).status == "cancelled"
    assert not Attendance.objects.exists()
    assert talk.seat_counters.get().taken == 1


def test_a_single_events_check_ins_follow_its_start_when_it_is_moved(talk, judge, organizer, clock):
    """A single event's session is keyed by its start: moved after people checked in (a date corrected), its
    check-ins move with it (``services.event_start_moved``), there and back.  A row already at the new start for
    the same person (left by a move before check-ins followed) is kept and the other stays where it was: the
    unique (event, occurrence, user) holds."""
    other = make_user("judge9", "judge")
    for reader in (judge, other):
        services.registration_create(event=talk, user=reader)
    clock.move_to(at(4, 15))
    for reader in (judge, other):
        services.check_in(event=talk, user=reader, occurrence=None, actor=organizer)
    Attendance.objects.create(event=talk, occurrence=at(5), user=other, checked_in_at=at(4, 15))

    services.event_update(event=talk, changes={"start": at(5), "end": at(5, 16, 30)}, actor=organizer, force=True)
    there = sorted(Attendance.objects.values_list("user__username", "occurrence"))
    mine = api_for(judge).get("/api/v1/me/attendance").json()["items"]
    services.event_update(event=talk, changes={"start": at(4), "end": at(4, 16, 30)}, actor=organizer, force=True)
    back = sorted(Attendance.objects.values_list("user__username", "occurrence"))

    assert there == [("judge1", at(5)), ("judge9", at(4)), ("judge9", at(5))]
    assert [(m["title"], m["start"]) for m in mine] == [("民法典讲座", "2026-12-05T15:00:00+08:00")]
    assert back == [("judge1", at(4)), ("judge9", at(4)), ("judge9", at(5))]


# --- pages ------------------------------------------------------------------------------------------------------


def _messages(client, page) -> str:
    html = client.get(page).content.decode()
    return unescape(" ".join(re.findall(r'<li class="(?:success|error|info)"[^>]*>(.*?)</li>', html, re.S)))


def test_the_organizer_scans_a_readers_code_and_offers_a_walk_in(salon, judge, organizer, clock):
    services.registration_create(event=salon, user=judge)
    walker = make_user("walker", "judge", display_name="赵法官")
    clock.move_to(at(9, 14, 50))
    org = logged_in(organizer)
    page = f"/organize/{salon.pk}/attendees?occurrence={at(9).isoformat()}"
    html = org.get(page).content.decode()
    assert 'id="scan-form"' in html and "<svg" in html  # the scanner and the session's own code

    form = {"action": "scan", "occurrence": at(9).isoformat()}
    csrf_post(org, page, f"/organize/{salon.pk}/attendees", {**form, "code": attendance.personal_code(judge)})
    scanned = _messages(org, page)
    csrf_post(org, page, f"/organize/{salon.pk}/attendees", {**form, "code": attendance.personal_code(judge)})
    twice = _messages(org, page)
    csrf_post(org, page, f"/organize/{salon.pk}/attendees", {**form, "code": attendance.personal_code(walker)})
    offer = org.get(page).content.decode()
    csrf_post(org, page, f"/organize/{salon.pk}/attendees",
              {**form, "code": attendance.personal_code(walker), "walk_in": "on"})
    joined = _messages(org, page)
    csrf_post(org, page, f"/organize/{salon.pk}/attendees", {**form, "code": "SYIN.1.0:forged"})

    assert scanned == "张法官 已签到。" and twice == "张法官 已于 14:50 签到。"
    assert "赵法官 没有报名这一场" in unescape(offer) and 'id="walk-in-form"' in offer
    assert joined == "赵法官 现场加入并已签到。"
    assert _messages(org, page) == "签到码无效（不是本馆的签到码，或已更换）"
    assert sorted(Attendance.objects.values_list("user__username", "occurrence", "method", "walk_in")) == [
        ("judge1", at(9), "scan", False), ("walker", at(9), "scan", True)]


def test_the_organizer_undoes_a_check_in_from_the_list(talk, judge, organizer, clock):
    services.registration_create(event=talk, user=judge)
    clock.move_to(at(4, 15))
    org, page = logged_in(organizer), f"/organize/{talk.pk}/attendees"
    registration = Registration.objects.get(user=judge)
    csrf_post(org, page, page, {"action": "check-in", "registration": registration.pk})
    attended = Attendance.objects.get()
    assert "撤销签到" in org.get(page).content.decode()

    csrf_post(org, page, page, {"action": "undo", "attendance": attended.pk})

    assert _messages(org, page) == "已撤销 张法官 的签到。"
    assert not Attendance.objects.exists()


def test_a_reader_scans_the_sessions_code_confirms_and_sees_it_on_me(salon, judge, organizer, clock):
    services.registration_create(event=salon, user=judge, occurrence=at(16))
    clock.move_to(at(16, 14, 40))
    code = attendance.occurrence_code(salon, at(16), at(16).date())
    reader = logged_in(judge)
    page = f"/events/{salon.pk}/check-in?code={code}"

    shown = reader.get(page).content.decode()
    assert "确认签到" in shown and not Attendance.objects.exists()  # GET writes nothing
    response = csrf_post(reader, page, f"/events/{salon.pk}/check-in", {"code": code})

    assert response.status_code == 302 and response["Location"] == "/me#attendance"
    me = unescape(reader.get("/me").content.decode())
    assert "签到成功：读书沙龙 2026-12-16 15:00。" in me
    assert "2026 年已参加 1 场活动。" in me and 'id="my-check-in-qr"' in me
    history = re.search(r'<ul id="attendance-history">(.*?)</ul>', me, re.S).group(1)
    assert "读书沙龙" in history and "2026-12-16 15:00 · 签到 14:40" in history
    assert api_for(judge).get("/api/v1/me/attendance").json() == {"count": 1, "items": [
        {"event": salon.pk, "title": "读书沙龙", "kind": "tea_talk", "occurrence": "2026-12-16T15:00:00+08:00",
         "start": "2026-12-16T15:00:00+08:00", "checked_in_at": "2026-12-16T14:40:00+08:00", "walk_in": False}]}


def test_a_tampered_or_old_session_code_checks_nobody_in(salon, judge, clock):
    services.registration_create(event=salon, user=judge)
    clock.move_to(at(9, 15))
    yesterday = attendance.occurrence_code(salon, at(9), at(8).date())
    good = attendance.occurrence_code(salon, at(9), at(9).date())
    reader = logged_in(judge)

    old = unescape(reader.get(f"/events/{salon.pk}/check-in", {"code": yesterday}).content.decode())
    forged = unescape(reader.get(f"/events/{salon.pk}/check-in", {"code": good[:-3] + "abc"}).content.decode())
    posted = Client(enforce_csrf_checks=True)
    posted.force_login(judge)
    no_token = posted.post(f"/events/{salon.pk}/check-in", {"code": good})

    assert "这个签到码已过期（只在当天有效）" in old and "确认签到" not in old
    assert "签到码无效" in forged
    assert no_token.status_code == 403
    assert not Attendance.objects.exists()


def test_a_reader_may_rotate_their_code(judge):
    reader = logged_in(judge)
    before = attendance.personal_code(judge)

    response = csrf_post(reader, "/me", "/me/check-in-code")

    assert response.status_code == 302 and response["Location"] == "/me#check-in-code"
    assert attendance.personal_code(judge) != before


# --- export ------------------------------------------------------------------------------------------------------


@pytest.fixture
def attended(salon, judge, organizer, clock):
    """Two sessions held: the judge (whole series) came to the first; a reader with a formula for a name
    registered for the second and came; a walk-in came to the second."""
    services.registration_create(event=salon, user=judge)
    tricky = make_user("tricky", "judge", display_name="=HYPERLINK(\"http://x\")", division="@SUM(A1)")
    services.registration_create(event=salon, user=tricky, occurrence=at(9))
    clock.move_to(at(2, 14, 55))
    services.check_in(event=salon, user=judge, occurrence=at(2), actor=organizer)
    clock.move_to(at(9, 15, 5))
    services.check_in(event=salon, user=tricky, occurrence=at(9), actor=organizer)
    services.check_in(event=salon, user=make_user("walker", "judge", display_name="赵法官"), occurrence=at(9),
                      actor=organizer, walk_in=True)
    return salon


def test_the_attendance_csv_has_a_row_per_person_and_session_held(attended, organizer):
    response = logged_in(organizer).get(f"/events/{attended.pk}/attendance.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["场次", "姓名", "部门/庭室", "报名状态", "签到时间"],
        ["2026-12-02 15:00", "张法官", "民事审判庭", "已确认", "2026-12-02 14:55"],
        ["2026-12-09 15:00", "'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "已确认", "2026-12-09 15:05"],
        ["2026-12-09 15:00", "赵法官", "", "已确认（现场加入）", "2026-12-09 15:05"],
        ["2026-12-09 15:00", "张法官", "民事审判庭", "已确认", ""],
    ]


def test_the_attendance_xlsx_holds_the_same_rows_as_the_csv_with_real_dates(attended, librarian):
    response = logged_in(librarian).get(f"/events/{attended.pk}/attendance.xlsx")

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows == [
        ["场次", "姓名", "部门/庭室", "报名状态", "签到时间"],
        [datetime(2026, 12, 2, 15, 0), "张法官", "民事审判庭", "已确认", datetime(2026, 12, 2, 14, 55)],
        # Neutralised as in the CSV (core.xlsx): the same text whichever format a court keeps.
        [datetime(2026, 12, 9, 15, 0), "'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "已确认", datetime(2026, 12, 9, 15, 5)],
        [datetime(2026, 12, 9, 15, 0), "赵法官", None, "已确认（现场加入）", datetime(2026, 12, 9, 15, 5)],
        [datetime(2026, 12, 9, 15, 0), "张法官", "民事审判庭", "已确认", None],
    ]
    assert sheet["B3"].data_type == "s" and sheet["C3"].data_type == "s"  # text, never a formula
    assert (sheet.title, sheet.freeze_panes, sheet.column_dimensions["A"].width) == ("读书沙龙", "A2", 18)
    assert sheet["A2"].is_date and sheet["A2"].number_format == "yyyy-mm-dd hh:mm"


def test_only_the_organizers_and_librarians_export_attendance(attended, judge):
    stranger = make_user("organizer2", "organizer")

    answers = [logged_in(user).get(f"/events/{attended.pk}/attendance.{fmt}").status_code
               for user in (judge, stranger) for fmt in ("csv", "xlsx")]

    assert answers == [403, 403, 404, 404]
    assert Client().get(f"/events/{attended.pk}/attendance.csv").status_code == 302
