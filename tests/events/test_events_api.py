"""Events through the API: venues, series, conflicts, overrides, occurrences, registrations and waitlists."""

import csv
import io
from datetime import datetime

import pytest
from django.core import mail

from accounts.models import Role
from events.models import Event, Override, Registration, SeatCounter
from library.services import book_create
from notices.models import Notice
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.common import SH
from tests.jobs.worker import run_queued_jobs

pytestmark = pytest.mark.django_db

clock = common.clock  # autouse: time stands at NOW in every test of this module
org = common.org





@pytest.fixture
def room(org):
    return org.post("/api/v1/venues", {"name": "法官书苑阅览室", "location": "院本部三楼", "capacity": 3}).json()


@pytest.fixture
def court_room(org):
    return org.post("/api/v1/venues", {"name": "第三审判庭", "capacity": 80}).json()


def tea_talk(org, room, **extra):
    payload = {
        "title": "法官茶座", "kind": "tea_talk", "start": "2026-12-04T15:00:00+08:00", "end": "2026-12-04T16:30:00+08:00",
        "venue": room["id"], "rrule": "FREQ=MONTHLY;BYDAY=1FR;COUNT=12", **extra,
    }
    return org.post("/api/v1/events", payload)


@pytest.fixture
def talk(org, room):
    response = tea_talk(org, room)
    assert response.status_code == 201, response.content
    return response.json()


def error_fields(body) -> list[str]:
    if isinstance(body["detail"], list):
        return [e["field"] for e in body["detail"]]
    return [body.get("field")]


# --- venues and events -------------------------------------------------------------------------------------


def test_organizer_creates_a_monthly_tea_talk(talk, room):
    assert (talk["kind"], talk["kind_label"], talk["status"], talk["sequence"]) == ("tea_talk", "法官茶座", "scheduled", 0)
    assert talk["start"] == "2026-12-04T15:00:00+08:00" and talk["capacity"] == 3
    assert talk["ics_url"] == f"http://127.0.0.1:8000/calendar/events/{talk['id']}.ics"
    assert talk["webcal_url"] == f"webcal://127.0.0.1:8000/calendar/events/{talk['id']}.ics"
    assert talk["google_url"].startswith("https://calendar.google.com/calendar/r?cid=webcal://")
    assert talk["organizers"] == ["organizer1"] and talk["venue_name"] == "法官书苑阅览室"


def test_input_in_utc_is_stored_and_shown_in_shanghai(org, court_room):
    body = org.post("/api/v1/events", {"title": "讲座", "kind": "lecture", "start": "2026-12-10T06:00:00Z",
                                       "end": "2026-12-10T08:00:00Z", "venue": court_room["id"]}).json()
    assert (body["start"], body["end"]) == ("2026-12-10T14:00:00+08:00", "2026-12-10T16:00:00+08:00")
    naive = org.post("/api/v1/events", {"title": "讲座二", "kind": "lecture", "start": "2026-12-11T14:00:00",
                                        "end": "2026-12-11T16:00:00"}).json()
    assert naive["start"] == "2026-12-11T14:00:00+08:00"


def test_all_day_event_end_is_the_last_day(org):
    body = org.post("/api/v1/events", {"title": "读书月", "kind": "reading", "start": "2026-12-01", "end": "2026-12-03",
                                       "all_day": True}).json()
    assert (body["start"], body["end"], body["all_day"]) == ("2026-12-01T00:00:00+08:00", "2026-12-04T00:00:00+08:00", True)


def test_reading_list_speakers_and_internal_visibility(org, room, judge, anon_api):
    book = book_create(title="民法典评注")
    response = org.post("/api/v1/events", {
        "title": "读者沙龙：民法典", "kind": "salon", "start": "2026-12-12T14:00:00+08:00",
        "end": "2026-12-12T16:00:00+08:00", "books": [book.pk], "visibility": "internal",
        "speakers": ["王老师", {"name": "张明", "role": "主持人", "user": "judge1"}],
    })
    body = response.json()
    assert body["books"] == [{"id": book.pk, "title": "民法典评注"}]
    assert body["speakers"] == [{"name": "王老师", "role": "", "user": None},
                                {"name": "张明", "role": "主持人", "user": "judge1"}]
    assert anon_api.get(f"/api/v1/events/{body['id']}").status_code == 404
    assert api_for(judge).get(f"/api/v1/events/{body['id']}").status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "2026-12-04T14:00:00+08:00"}, "end"),
        ({"rrule": "FREQ=HOURLY"}, "rrule"),
        ({"rrule": "FREQ=MONTHLY;BYDAY=1FR", "exdates": ["2026-12-05T15:00:00+08:00"]}, "exdates"),
        ({"venue": 99999}, "venue"),
        ({"books": [99999]}, "books"),
        ({"papers": [99999]}, "papers"),
        ({"capacity": 0}, "capacity"),
        ({"kind": "party"}, "kind"),
        ({"start": "not a date"}, "start"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"organizers": ["nobody"]}, "organizers"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_event_input_names_the_field(org, room, change, field):
    response = tea_talk(org, room, **change)
    assert response.status_code == 422, response.content
    assert field in error_fields(response.json())
    assert Event.objects.count() == 0


def test_only_organizers_create_and_only_its_organizers_edit(org, talk, judge, room):
    assert tea_talk(api_for(judge), room).status_code == 403
    other = api_for(make_user("org2", Role.ORGANIZER))
    assert other.patch(f"/api/v1/events/{talk['id']}", {"title": "改"}).status_code == 403
    assert other.delete(f"/api/v1/events/{talk['id']}").status_code == 403
    assert org.patch(f"/api/v1/events/{talk['id']}", {"title": "法官茶座（新）"}).json()["title"] == "法官茶座（新）"


def test_list_filters_and_venue_in_use(org, talk, room, court_room, anon_api):
    org.post("/api/v1/events", {"title": "研讨会", "kind": "seminar", "start": "2026-12-20T09:00:00+08:00",
                                "end": "2026-12-20T12:00:00+08:00", "venue": court_room["id"]})
    assert anon_api.get("/api/v1/events").json()["count"] == 2
    assert [e["title"] for e in anon_api.get("/api/v1/events", {"kind": "seminar"}).json()["items"]] == ["研讨会"]
    assert [e["title"] for e in anon_api.get("/api/v1/events", {"venue": room["id"]}).json()["items"]] == ["法官茶座"]
    response = org.delete(f"/api/v1/venues/{room['id']}")
    assert (response.status_code, response.json()["code"]) == (409, "venue_in_use")


def test_schedule_changes_bump_the_sequence_but_a_retitle_does_not(org, talk):
    url = f"/api/v1/events/{talk['id']}"
    assert org.patch(url, {"title": "茶座"}).json()["sequence"] == 0
    assert org.patch(url, {"start": "2026-12-04T14:00:00+08:00", "end": "2026-12-04T15:30:00+08:00"}).json()["sequence"] == 1
    assert org.patch(url, {"venue": None, "online_url": "https://meeting.court.example/1"}).json()["sequence"] == 2


# --- conflicts ----------------------------------------------------------------------------------------------


def test_a_weekly_seminar_against_a_monthly_tea_talk_in_the_same_room(org, talk, room):
    response = org.post("/api/v1/events", {
        "title": "法学研讨会", "kind": "seminar", "start": "2026-12-02T15:30:00+08:00", "end": "2026-12-02T17:00:00+08:00",
        "venue": room["id"], "rrule": "FREQ=WEEKLY;BYDAY=WE,FR;COUNT=12",
    })
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "venue_conflict"
    assert {(c["event"], c["start"]) for c in body["conflicts"]} == {
        (talk["id"], "2026-12-04T15:00:00+08:00"), (talk["id"], "2027-01-01T15:00:00+08:00"),
    }
    forced = org.post("/api/v1/events?force=true", {
        "title": "法学研讨会", "kind": "seminar", "start": "2026-12-02T15:30:00+08:00", "end": "2026-12-02T17:00:00+08:00",
        "venue": room["id"], "rrule": "FREQ=WEEKLY;BYDAY=WE,FR;COUNT=12",
    })
    assert forced.status_code == 201


def test_no_conflict_in_another_room_or_when_touching(org, talk, room, court_room):
    assert org.post("/api/v1/events", {"title": "讲座", "kind": "lecture", "start": "2026-12-04T15:00:00+08:00",
                                       "end": "2026-12-04T16:00:00+08:00", "venue": court_room["id"]}).status_code == 201
    assert org.post("/api/v1/events", {"title": "接着的讲座", "kind": "lecture", "start": "2026-12-04T16:30:00+08:00",
                                       "end": "2026-12-04T17:00:00+08:00", "venue": room["id"]}).status_code == 201


def test_moving_an_occurrence_onto_another_booking_conflicts(org, talk, room):
    seminar = org.post("/api/v1/events", {"title": "研讨会", "kind": "seminar", "start": "2027-01-08T15:00:00+08:00",
                                          "end": "2027-01-08T17:00:00+08:00", "venue": room["id"]}).json()
    response = org.post(f"/api/v1/events/{talk['id']}/overrides", {
        "recurrence_id": "2027-01-01T15:00:00+08:00", "start": "2027-01-08T16:00:00+08:00",
    })
    assert (response.status_code, response.json()["code"]) == (409, "venue_conflict")
    assert response.json()["conflicts"][0]["event"] == seminar["id"]


# --- overrides, cancellations and occurrences -----------------------------------------------------------------


def test_move_one_cancel_another_and_list_occurrences(org, talk, court_room, anon_api):
    url = f"/api/v1/events/{talk['id']}"
    moved = org.post(f"{url}/overrides", {"recurrence_id": "2027-01-01T15:00:00+08:00",
                                          "start": "2027-01-08T15:00:00+08:00", "venue": court_room["id"],
                                          "title": "法官茶座（元旦改期）"})
    assert moved.status_code == 200, moved.content
    assert org.post(f"{url}/cancel", {"occurrence": "2027-02-05T15:00:00+08:00", "reason": "春节"}).status_code == 200
    items = anon_api.get("/api/v1/occurrences", {"from": "2026-12-01T00:00:00+08:00",
                                                 "to": "2027-03-31T00:00:00+08:00"}).json()["items"]
    assert [(i["start"][:10], i["status"], i["title"], i["venue"]) for i in items] == [
        ("2026-12-04", "scheduled", "法官茶座", talk["venue"]),
        ("2027-01-08", "scheduled", "法官茶座（元旦改期）", court_room["id"]),
        ("2027-02-05", "cancelled", "法官茶座", talk["venue"]),
        ("2027-03-05", "scheduled", "法官茶座", talk["venue"]),
    ]
    assert items[1]["recurrence_id"] == "2027-01-01T15:00:00+08:00"
    assert items[0]["seats_left"] == 3
    overrides = anon_api.get(url).json()["overrides"]
    assert [(o["recurrence_id"][:10], o["status"]) for o in overrides] == [("2027-01-01", "scheduled"),
                                                                          ("2027-02-05", "cancelled")]


def test_a_cancelled_occurrence_is_not_moved_until_it_is_restored(org, talk):
    """Attack round 15: moving a cancelled occurrence answered "moved, readers told" and moved nothing visible."""
    url = f"/api/v1/events/{talk['id']}"
    when = "2027-02-05T15:00:00+08:00"
    assert org.post(f"{url}/cancel", {"occurrence": when, "reason": "春节"}).status_code == 200
    sequence = Override.objects.get(event_id=talk["id"]).sequence

    moved = org.post(f"{url}/overrides", {"recurrence_id": when, "start": "2027-02-06T10:00:00+08:00"})

    assert moved.status_code == 409 and moved.json()["code"] == "occurrence_cancelled"
    assert Override.objects.get(event_id=talk["id"]).sequence == sequence  # nothing changed, nobody told
    restored = org.post(f"{url}/overrides", {"recurrence_id": when, "status": "scheduled",
                                             "start": "2027-02-06T10:00:00+08:00"})
    override = Override.objects.get(event_id=talk["id"])
    assert restored.status_code == 200 and (override.status, override.start.isoformat()) == (
        "scheduled", "2027-02-06T02:00:00+00:00")


def test_occurrence_filters_and_bad_ranges(org, talk, anon_api):
    org.post("/api/v1/events", {"title": "讲座", "kind": "lecture", "start": "2026-12-10T14:00:00+08:00",
                                "end": "2026-12-10T16:00:00+08:00"})
    window = {"from": "2026-12-01T00:00:00+08:00", "to": "2026-12-31T00:00:00+08:00"}
    assert [i["kind"] for i in anon_api.get("/api/v1/occurrences", {**window, "kind": "lecture"}).json()["items"]] == [
        "lecture"]
    assert anon_api.get("/api/v1/occurrences", {**window, "kind": "tea_talk,lecture"}).json()["count"] == 2
    assert anon_api.get("/api/v1/occurrences", {**window, "kind": "party"}).status_code == 422
    bad = anon_api.get("/api/v1/occurrences", {"from": "2027-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
    assert bad.status_code == 422 and "to" in error_fields(bad.json())
    assert anon_api.get("/api/v1/occurrences", {"from": "2026-01-01T00:00:00Z", "to": "2028-01-01T00:00:00Z"}).status_code == 422


def test_override_of_a_non_occurrence_is_refused(org, talk):
    response = org.post(f"/api/v1/events/{talk['id']}/overrides", {"recurrence_id": "2026-12-05T15:00:00+08:00",
                                                                    "start": "2026-12-06T15:00:00+08:00"})
    assert response.status_code == 422 and "recurrence_id" in error_fields(response.json())
    cancel = org.post(f"/api/v1/events/{talk['id']}/cancel", {"occurrence": "2026-12-05T15:00:00+08:00"})
    assert cancel.status_code == 422


def test_cancelling_the_series_keeps_it_visible_as_cancelled(org, talk, anon_api):
    body = org.post(f"/api/v1/events/{talk['id']}/cancel", {"occurrence": None, "reason": "场地维修"}).json()
    assert (body["status"], body["cancel_reason"], body["sequence"]) == ("cancelled", "场地维修", 1)
    items = anon_api.get("/api/v1/occurrences", {"from": "2026-12-01T00:00:00+08:00", "to": "2027-01-31T00:00:00+08:00"}).json()["items"]
    assert [i["status"] for i in items] == ["cancelled", "cancelled"]
    assert org.post(f"/api/v1/events/{talk['id']}/cancel", {}).json()["code"] == "already_cancelled"


# --- registrations --------------------------------------------------------------------------------------------


@pytest.fixture
def readers(db):
    return [make_user(f"reader{i}", Role.JUDGE, email=f"reader{i}@court.test") for i in range(5)]


def register(user, event, occurrence="2026-12-04T15:00:00+08:00"):
    return api_for(user).post(f"/api/v1/events/{event['id']}/registrations", {"occurrence": occurrence})


def test_register_until_full_then_waitlist_then_promotion(org, talk, readers, clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        results = []
        for reader in readers:
            clock.shift(60)
            results.append(register(reader, talk).json())
    assert [(r["status"], r["position"]) for r in results] == [
        ("confirmed", None), ("confirmed", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2),
    ]
    assert results[0]["occurrence"] == "2026-12-04T15:00:00+08:00" and results[0]["user"] == "reader0"
    counter = SeatCounter.objects.get(event_id=talk["id"])
    assert (counter.taken, counter.capacity) == (3, 3)
    items = org.get("/api/v1/occurrences", {"from": "2026-12-04T00:00:00+08:00", "to": "2026-12-05T00:00:00+08:00"}).json()["items"]
    assert items[0]["seats_left"] == 0
    # reader1 cancels: the first on the waitlist (reader3) is promoted and told so.
    with django_capture_on_commit_callbacks(execute=True):
        assert api_for(readers[1]).delete(f"/api/v1/registrations/{results[1]['id']}").status_code == 204
    assert Registration.objects.get(pk=results[3]["id"]).status == "confirmed"
    assert Registration.objects.get(pk=results[4]["id"]).status == "waitlisted"
    mine = api_for(readers[4]).get("/api/v1/me/registrations").json()
    assert [(r["status"], r["position"]) for r in mine] == [("waitlisted", 1)]
    assert Notice.objects.filter(kind="promoted", patron=readers[3]).count() == 1
    assert [m for m in mail.outbox if "候补转正" in m.subject] == []  # the request only queued it
    run_queued_jobs(key="notices.send")
    assert [m.to for m in mail.outbox if "候补转正" in m.subject] == [["reader3@court.test"]]
    assert SeatCounter.objects.get(event_id=talk["id"]).taken == 3


def test_registration_refusals(org, talk, readers, clock):
    assert register(readers[0], talk).status_code == 201
    twice = register(readers[0], talk)
    assert (twice.status_code, twice.json()["code"]) == (409, "already_registered")
    not_occ = register(readers[1], talk, "2026-12-05T15:00:00+08:00")
    assert not_occ.status_code == 422 and "occurrence" in error_fields(not_occ.json())
    org.post(f"/api/v1/events/{talk['id']}/cancel", {"occurrence": "2027-01-01T15:00:00+08:00"})
    cancelled = register(readers[1], talk, "2027-01-01T15:00:00+08:00")
    assert (cancelled.status_code, cancelled.json()["code"]) == (409, "event_cancelled")
    clock.move_to(datetime(2026, 12, 4, 15, 30, tzinfo=SH))
    started = register(readers[2], talk)
    assert (started.status_code, started.json()["code"]) == (409, "registration_closed")


def test_registration_window(org, court_room, readers, clock):
    event = org.post("/api/v1/events", {
        "title": "研讨会", "kind": "seminar", "start": "2026-12-20T09:00:00+08:00", "end": "2026-12-20T12:00:00+08:00",
        "venue": court_room["id"], "registration_opens": "2026-12-01T09:00:00+08:00",
        "registration_closes": "2026-12-18T18:00:00+08:00",
    }).json()
    early = register(readers[0], event, None)
    assert (early.status_code, early.json()["code"]) == (409, "registration_not_open")
    clock.move_to(datetime(2026, 12, 2, 9, 0, tzinfo=SH))
    ok = register(readers[0], event, None)
    assert ok.status_code == 201 and ok.json()["occurrence"] is None
    clock.move_to(datetime(2026, 12, 19, 9, 0, tzinfo=SH))
    assert register(readers[1], event, None).json()["code"] == "registration_closed"


def test_series_registration_takes_a_seat_in_every_occurrence(org, room, readers):
    event = tea_talk(org, room, rrule="FREQ=MONTHLY;BYDAY=1FR;COUNT=3").json()
    assert register(readers[0], event, None).json()["status"] == "confirmed"
    assert sorted(SeatCounter.objects.filter(event_id=event["id"]).values_list("taken", flat=True)) == [1, 1, 1]
    again = register(readers[0], event)
    assert again.json()["code"] == "already_registered"
    open_ended = tea_talk(org, room, rrule="FREQ=MONTHLY;BYDAY=2FR", start="2026-12-11T15:00:00+08:00",
                          end="2026-12-11T16:00:00+08:00").json()
    refused = register(readers[1], open_ended, None)
    assert refused.status_code == 422 and "occurrence" in error_fields(refused.json())


def test_organizer_list_csv_and_check_in(org, talk, readers, judge, clock):
    reg = register(readers[0], talk).json()
    register(readers[1], talk)
    rows = org.get(f"/api/v1/events/{talk['id']}/registrations").json()
    assert [r["user"] for r in rows] == ["reader0", "reader1"]
    response = org.get(f"/api/v1/events/{talk['id']}/registrations", {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:5] == ["报名号", "用户名", "姓名", "场次", "状态"] and [r[1] for r in table[1:]] == ["reader0", "reader1"]
    assert [r[4] for r in table[1:]] == ["已确认", "已确认"] and rows[0]["status_label"] == "已确认"
    english = org.get(f"/api/v1/events/{talk['id']}/registrations", headers={"Accept-Language": "en"}).json()
    assert english[0]["status"] == "confirmed" and english[0]["status_label"] == "Confirmed"
    early = org.post(f"/api/v1/registrations/{reg['id']}/check-in")
    assert (early.status_code, early.json()["code"]) == (409, "not_started")  # a session still to come
    clock.move_to(datetime(2026, 12, 4, 14, 45, tzinfo=SH))
    checked = org.post(f"/api/v1/registrations/{reg['id']}/check-in").json()
    assert checked["checked_in_at"].startswith("2026-12-04T14:45:00")
    assert api_for(judge).get(f"/api/v1/events/{talk['id']}/registrations").status_code == 403
    assert api_for(readers[1]).post(f"/api/v1/registrations/{reg['id']}/check-in").status_code == 404
    assert api_for(readers[1]).delete(f"/api/v1/registrations/{reg['id']}").status_code == 404


def test_changes_and_cancellations_notify_everyone_registered(org, talk, readers, django_capture_on_commit_callbacks):
    register(readers[0], talk)
    register(readers[1], talk, "2027-01-01T15:00:00+08:00")
    run_queued_jobs(key="notices.send")  # the registration confirmations
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        org.post(f"/api/v1/events/{talk['id']}/overrides", {"recurrence_id": "2026-12-04T15:00:00+08:00",
                                                             "start": "2026-12-04T16:00:00+08:00"})
    assert mail.outbox == []  # the request only recorded the notices; a worker mails them
    run_queued_jobs(key="notices.send")
    assert [m.to for m in mail.outbox] == [["reader0@court.test"]]
    with django_capture_on_commit_callbacks(execute=True):
        org.post(f"/api/v1/events/{talk['id']}/cancel", {"reason": "场地维修"})
    run_queued_jobs(key="notices.send")
    assert sorted(m.to[0] for m in mail.outbox[1:]) == ["reader0@court.test", "reader1@court.test"]
    assert all("场地维修" in m.body for m in mail.outbox[1:])


def test_reminder_the_day_before_is_sent_once(talk, readers, clock, django_capture_on_commit_callbacks):
    from events.notices import send_reminders

    register(readers[0], talk)
    run_queued_jobs(key="notices.send")  # the registration confirmation
    mail.outbox.clear()
    clock.move_to(datetime(2026, 12, 2, 8, 0, tzinfo=SH))
    assert send_reminders() == 0
    clock.move_to(datetime(2026, 12, 3, 8, 0, tzinfo=SH))
    with django_capture_on_commit_callbacks(execute=True):
        assert send_reminders() == 1
        assert send_reminders() == 0
    run_queued_jobs(key="notices.send")
    assert [m.subject for m in mail.outbox] == ["明日活动提醒：法官茶座"]


# --- venues, deletion, capacity and materials ---------------------------------------------------------------


def test_venue_crud_and_duplicates(org, judge):
    created = org.post("/api/v1/venues", {"name": "会议室", "capacity": 10})
    assert created.status_code == 201
    vid = created.json()["id"]
    assert org.post("/api/v1/venues", {"name": "会议室"}).json()["code"] == "duplicate_venue"
    assert org.patch(f"/api/v1/venues/{vid}", {"capacity": 12}).json()["capacity"] == 12
    assert org.post("/api/v1/venues", {"name": "小屋", "capacity": 0}).status_code == 422
    assert api_for(judge).post("/api/v1/venues", {"name": "法官的"}).status_code == 403
    assert org.delete(f"/api/v1/venues/{vid}").status_code == 204
    assert org.delete(f"/api/v1/venues/{vid}").status_code == 404


def test_delete_event_and_anonymous_cannot_register(org, talk, anon_api):
    assert anon_api.post(f"/api/v1/events/{talk['id']}/registrations", {"occurrence": None}).status_code == 401
    assert org.delete(f"/api/v1/events/{talk['id']}").status_code == 204
    assert anon_api.get(f"/api/v1/events/{talk['id']}").status_code == 404


def test_capacity_cannot_drop_below_confirmed_seats(org, talk, readers):
    for reader in readers[:3]:
        register(reader, talk)
    response = org.patch(f"/api/v1/events/{talk['id']}", {"capacity": 2})
    assert (response.status_code, response.json()["code"]) == (409, "capacity_below_confirmed")
    assert org.patch(f"/api/v1/events/{talk['id']}", {"capacity": 5}).json()["capacity"] == 5
    assert SeatCounter.objects.get(event_id=talk["id"]).capacity == 5


def test_materials_upload_download_delete(org, talk, anon_api, judge):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/api/v1/events/{talk['id']}/attachments"
    bad = org.upload(url, {"file": SimpleUploadedFile("x.html", b"<script>alert(1)</script>")})
    assert bad.status_code == 422 and bad.json()["code"] == "bad_file_type"
    up = org.upload(url, {"file": SimpleUploadedFile("../../议程.pdf", b"%PDF-1.4 agenda")})
    assert up.status_code == 201, up.content
    body = up.json()
    assert body["name"] == "议程.pdf" and body["size"] == 15
    assert api_for(judge).upload(url, {"file": SimpleUploadedFile("a.pdf", b"%PDF")}).status_code == 403
    download = anon_api.get(body["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 agenda"
    assert download["Content-Type"] == "application/pdf" and "attachment" in download["Content-Disposition"]
    assert [a["name"] for a in anon_api.get(f"/api/v1/events/{talk['id']}").json()["attachments"]] == ["议程.pdf"]
    assert org.delete(body["url"]).status_code == 204
    assert anon_api.get(body["url"]).status_code == 404


def test_attendee_csv_neutralises_formula_usernames(org, talk):
    """Usernames may start with - or @, which a spreadsheet reads as the start of a formula."""
    for name in ["-1-1", "@cmd", "-x"]:
        register(make_user(name, Role.JUDGE), talk)
    response = org.get(f"/api/v1/events/{talk['id']}/registrations", {"format": "csv"})
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[1] for r in table[1:]] == ["'-1-1", "'@cmd", "'-x"]


# --- single-line text, library time, UNTIL ---------------------------------------------------------------


@pytest.mark.parametrize("path, payload, field", [
    ("/api/v1/events", {"title": "法官茶座\r\n第二行"}, "title"),
    ("/api/v1/events", {"speakers": ["张明\n李娜"]}, "speakers.0"),
    ("/api/v1/events", {"speakers": [{"name": "张明", "role": "主持\u2028人"}]}, "speakers.0"),
    ("/api/v1/venues", {"name": "阅览室\r二号"}, "name"),
    ("/api/v1/venues", {"name": "阅览室", "location": "三楼\x85东"}, "location"),
])
def test_single_line_fields_refuse_line_breaks_naming_the_field(org, room, path, payload, field):
    base = {"title": "法官茶座", "kind": "tea_talk", "start": "2026-12-04T15:00:00+08:00",
            "end": "2026-12-04T16:30:00+08:00"} if path.endswith("events") else {}
    response = org.post(path, {**base, **payload})
    assert response.status_code == 422
    # A speaker is a name or an object: pydantic reports the union's members, each under the field.
    assert {".".join(e["field"].split(".")[:len(field.split("."))]) for e in response.json()["detail"]} == {field}
    assert any("单行" in e["msg"] for e in response.json()["detail"])


@pytest.mark.parametrize("speaker, fields", [
    ("张明\n李娜", ["speakers.0", "speakers.0"]),
    ({"name": "张明", "role": "主持\u2028人"}, ["speakers.0.role", "speakers.0"]),
    ({"name": "张明", "bogus": 1}, ["speakers.0.bogus", "speakers.0"]),
])
def test_422_fields_of_a_name_or_object_speaker_carry_no_union_tags(org, speaker, fields):
    """The field names the speaker (and its key) once per union member tried, without pydantic's tags."""
    response = org.post("/api/v1/events", {"title": "法官茶座", "kind": "tea_talk", "start": "2026-12-04T15:00:00+08:00",
                                           "end": "2026-12-04T16:30:00+08:00", "speakers": [speaker]})

    assert (response.status_code, error_fields(response.json())) == (422, fields)


def test_an_occurrence_title_and_reason_refuse_line_breaks(org, talk):
    response = org.post(f"/api/v1/events/{talk['id']}/overrides", {
        "recurrence_id": "2027-01-01T15:00:00+08:00", "title": "改期\n了"})
    assert (response.status_code, error_fields(response.json())) == (422, ["title"])
    assert Event.objects.get(pk=talk["id"]).overrides.count() == 0


def test_the_service_refuses_a_line_break_from_any_caller(org, talk):
    from core.errors import InvalidInput
    from events import services

    event = Event.objects.get(pk=talk["id"])
    with pytest.raises(InvalidInput) as refused:
        services.event_update(event=event, changes={"title": "a\nb"}, actor=event.organizers.get())
    assert refused.value.field == "title"
    assert Event.objects.get(pk=talk["id"]).title == "法官茶座"


@pytest.mark.parametrize("params", [
    {"from": "2026-12-06", "to": "2027-03-05"},                      # plain dates: to includes that day
    {"from": "2026-12-06T00:00:00", "to": "2027-03-05T23:59:59"},     # no offset: library time
    {"from": "2026-12-05T16:00:00Z", "to": "2027-03-05T16:00:00Z"},   # the same range with an offset
])
def test_occurrences_take_plain_dates_and_times_without_offset_as_library_time(talk, anon_api, params):
    response = anon_api.get("/api/v1/occurrences", params)
    assert response.status_code == 200, response.content
    assert [i["start"] for i in response.json()["items"]] == [
        "2027-01-01T15:00:00+08:00", "2027-02-05T15:00:00+08:00", "2027-03-05T15:00:00+08:00"]


def test_occurrences_to_as_a_datetime_is_exclusive_and_bad_dates_name_the_field(talk, anon_api):
    items = anon_api.get("/api/v1/occurrences", {"from": "2026-12-06", "to": "2027-03-05T15:00:00"}).json()["items"]
    assert [i["start"][:10] for i in items] == ["2027-01-01", "2027-02-05"]
    for params, field in (({"from": "0001-01-01", "to": "0001-02-01"}, "from"),
                          ({"from": "2026-12-06", "to": "9999-12-31"}, "to"),
                          ({"from": "2026-13-01"}, "from")):
        response = anon_api.get("/api/v1/occurrences", params)
        assert (response.status_code, error_fields(response.json())) == (422, [field])


def test_registration_window_mixes_offsets_and_library_time(org, court_room):
    response = org.post("/api/v1/events", {
        "title": "讲座", "kind": "lecture", "start": "2026-12-20T14:00:00+08:00", "end": "2026-12-20T16:00:00+08:00",
        "registration_opens": "2026-12-01T09:00:00", "registration_closes": "2026-12-19T12:00:00+08:00"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["registration_opens"], body["registration_closes"]) == (
        "2026-12-01T09:00:00+08:00", "2026-12-19T12:00:00+08:00")
    patched = org.patch(f"/api/v1/events/{body['id']}", {"registration_closes": "2026-12-18T12:00:00"})
    assert (patched.status_code, patched.json()["registration_closes"]) == (200, "2026-12-18T12:00:00+08:00")


@pytest.mark.parametrize("until, stored", [
    ("20270630", "UNTIL=20270630T155959Z"),          # a date: through the end of that day, library time
    ("20270630T150000", "UNTIL=20270630T070000Z"),   # no Z: library time
    ("20270630T070000Z", "UNTIL=20270630T070000Z"),
])
def test_until_is_stored_in_utc_and_includes_its_last_occurrence(org, anon_api, until, stored):
    response = org.post("/api/v1/events", {
        "title": "读书会", "kind": "reading", "start": "2026-12-02T15:00:00+08:00", "end": "2026-12-02T16:00:00+08:00",
        "rrule": f"FREQ=WEEKLY;BYDAY=WE;UNTIL={until}"})
    assert response.status_code == 201, response.content
    assert response.json()["rrule"] == f"FREQ=WEEKLY;BYDAY=WE;{stored}"
    items = anon_api.get("/api/v1/occurrences", {"from": "2027-06-01", "to": "2027-07-31"}).json()["items"]
    assert [i["start"][:10] for i in items] == ["2027-06-02", "2027-06-09", "2027-06-16", "2027-06-23", "2027-06-30"]


def test_a_malformed_until_names_the_rrule(org):
    response = org.post("/api/v1/events", {
        "title": "读书会", "kind": "reading", "start": "2026-12-02T15:00:00+08:00", "end": "2026-12-02T16:00:00+08:00",
        "rrule": "FREQ=WEEKLY;UNTIL=2027-06-30"})
    assert (response.status_code, error_fields(response.json())) == (422, ["rrule"])


# --- a stored rule that does not parse ---------------------------------------------------------------------


@pytest.mark.parametrize("rrule, exdates", [
    ("FREQ=NONSENSE", []),
    ("FREQ=WEEKLY;COUNT=abc", []),
    ("FREQ=MONTHLY;BYDAY=1FR;COUNT=12", ["not a date"]),
])
def test_a_stored_rule_that_does_not_parse_shows_the_first_occurrence_only(talk, organizer, anon_api, caplog, rrule,
                                                                          exdates):
    """Written past every check (by hand in the database): no page is a 500; the series is its first occurrence
    (a bad EXDATE alone is ignored), and the log says why."""
    from django.test import Client

    Event.objects.filter(pk=talk["id"]).update(rrule=rrule, exdates=exdates)
    web = Client(raise_request_exception=False)
    web.force_login(organizer)

    items = anon_api.get("/api/v1/occurrences", {"from": "2026-12-01", "to": "2027-03-31"}).json()["items"]
    pages = {path: web.get(path).status_code for path in (
        "/events", "/events?view=month&month=2026-12", f"/events/{talk['id']}", f"/organize/{talk['id']}",
        f"/organize/{talk['id']}/edit", f"/calendar/events/{talk['id']}.ics")}

    starts = ["2026-12-04", "2027-01-01", "2027-02-05", "2027-03-05"] if exdates else ["2026-12-04"]
    assert [i["start"][:10] for i in items] == starts
    assert pages == dict.fromkeys(pages, 200)
    assert "does not parse" in caplog.text


# --- rules that cost too much to expand (the live attack of 2026-12) ----------------------------------------


@pytest.mark.parametrize("extra, field", [
    ({"rrule": "FREQ=DAILY;INTERVAL=0"}, "rrule"),
    ({"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=1"}, "rrule"),
    ({"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=" + ",".join(str(n) for n in range(1, 31))}, "rrule"),
    ({"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}, "rrule"),
    ({"rrule": "FREQ=HOURLY"}, "rrule"),
    ({"start": "1900-01-01T10:00:00", "end": "1900-01-01T11:00:00",
      "rrule": "FREQ=DAILY;BYSETPOS=" + ",".join(str(n) for n in range(1, 131))}, "start"),
    ({"start": "1900-01-01T10:00:00", "end": "1900-01-01T11:00:00", "rrule": "FREQ=DAILY"}, "start"),
    ({"rrule": "FREQ=DAILY", "exdates": ["2100-12-01T10:00:00", "2101-01-01T10:00:00"]}, "exdates"),
])
def test_attack_payloads_are_refused_naming_the_field(org, extra, field):
    payload = {"title": "法官茶座", "kind": "tea_talk", "start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00",
               **extra}

    response = org.post("/api/v1/events?force=true", payload)

    assert (response.status_code, error_fields(response.json())) == (422, [field])
    assert Event.objects.count() == 0


@pytest.mark.parametrize("rrule", [
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;BYSETPOS=" + ",".join(str(n) for n in range(1, 131)),
])
def test_a_stored_pathological_rule_costs_one_budget_on_every_page(talk, organizer, readers, anon_api, rrule,
                                                                  monkeypatch):
    """Written past every check with .update() (start 2000): every page answers 200, registering for a later
    date is refused, and no expansion spends more than its budget."""
    from django.test import Client

    from events import recurrence
    from events.bounded_rrule import Budget

    made = []
    monkeypatch.setattr(recurrence, "Budget", lambda **kw: made.append(Budget(**kw)) or made[-1])
    Event.objects.filter(pk=talk["id"]).update(rrule=rrule, start=datetime(2000, 1, 1, 10, tzinfo=SH),
                                               end=datetime(2000, 1, 1, 11, tzinfo=SH))
    web = Client(raise_request_exception=False)
    web.force_login(organizer)

    items = anon_api.get("/api/v1/occurrences", {"from": "2100-01-01", "to": "2100-12-31"})
    pages = {path: web.get(path).status_code for path in (
        "/events", "/events?view=month&month=2099-02", f"/events/{talk['id']}", f"/organize/{talk['id']}",
        f"/calendar/events/{talk['id']}.ics", f"/api/v1/events/{talk['id']}", "/api/v1/events")}
    registered = register(readers[0], talk, occurrence="2099-02-28T10:00:00+08:00")

    assert (items.status_code, items.json()["items"]) == (200, [])
    assert pages == dict.fromkeys(pages, 200)
    assert registered.status_code in (409, 422)
    # A rule of a refused shape is never expanded at all (made stays empty); any other spends its budget at most.
    assert all(b.spent_steps <= b.steps + 12 <= recurrence.MAX_SCAN_STEPS + 12 for b in made)


def test_co_organizers_must_hold_the_organizer_role(org, room, judge):
    make_user("organizer2", Role.ORGANIZER)

    refused = tea_talk(org, room, organizers=["judge1"])
    created = tea_talk(org, room, organizers=["organizer2"], start="2027-03-05T15:00:00+08:00",
                       end="2027-03-05T16:00:00+08:00")
    patched = org.patch(f"/api/v1/events/{created.json()['id']}", {"organizers": ["organizer2", "judge1"]})

    assert (refused.status_code, error_fields(refused.json())) == (422, ["organizers"])
    assert created.status_code == 201 and created.json()["organizers"] == ["organizer1", "organizer2"]
    assert (patched.status_code, error_fields(patched.json())) == (422, ["organizers"])


@pytest.mark.parametrize("name, data", [
    ("x.pdf", b"<html><script>alert(1)</script></html>"),
    ("x.docx", b"PK\x03\x04 not a zip"),
    ("x.png", b"%PDF-1.4"),
    ("x.jpg", b"<svg onload=alert(1)>"),
    ("x.txt", b"\x00\x01binary"),
])
def test_materials_whose_content_does_not_match_the_extension_are_refused(org, talk, name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = org.upload(f"/api/v1/events/{talk['id']}/attachments", {"file": SimpleUploadedFile(name, data)})

    assert (response.status_code, error_fields(response.json())) == (422, ["file"])
    assert "file_type_mismatch" in response.content.decode()


def test_an_office_document_is_accepted_by_its_parts(org, talk):
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("ppt/presentation.xml", "<p/>")
    url = f"/api/v1/events/{talk['id']}/attachments"

    accepted = org.upload(url, {"file": SimpleUploadedFile("议程.pptx", buffer.getvalue())})
    refused = org.upload(url, {"file": SimpleUploadedFile("议程.docx", buffer.getvalue())})

    assert (accepted.status_code, accepted.json()["name"]) == (201, "议程.pptx")
    assert (refused.status_code, error_fields(refused.json())) == (422, ["file"])


def test_exceptions_of_occurrences_a_changed_rule_no_longer_has_are_dropped(org, talk):
    """Attack round 7: an occurrence moved before the series' start changed stayed listed beside the new
    occurrences, yet registering for it was refused (422 not_an_occurrence)."""
    moved = org.post(f"/api/v1/events/{talk['id']}/overrides", {
        "recurrence_id": "2027-01-01T15:00:00+08:00", "start": "2027-01-02T15:00:00+08:00",
        "end": "2027-01-02T17:00:00+08:00"})
    assert moved.status_code == 200, moved.content
    kept = org.post(f"/api/v1/events/{talk['id']}/overrides", {
        "recurrence_id": "2027-02-05T15:00:00+08:00", "title": "春节后第一期"})
    assert kept.status_code == 200, kept.content

    # Every first Friday becomes every first Friday but January's: 1 January is no longer an occurrence.
    changed = org.patch(f"/api/v1/events/{talk['id']}", {"rrule": "FREQ=MONTHLY;BYDAY=1FR;BYMONTH=2,3,4,5,6,7,8,9,10,11,12"})

    assert changed.status_code == 200, changed.content
    assert list(Override.objects.filter(event_id=talk["id"]).values_list("title", flat=True)) == ["春节后第一期"]
    titles = [(i["start"][:10], i["title"]) for i in org.get("/api/v1/occurrences", {
        "from": "2026-12-01", "to": "2027-02-28"}).json()["items"]]
    assert ("2027-01-02", talk["title"]) not in titles and ("2027-02-05", "春节后第一期") in titles


def test_materials_are_limited_per_event_in_size_and_per_organizer_an_hour(org, talk, settings):
    """Attack round 8: 25 × 20 MB of materials in four seconds, and no bound on any event's total."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.EVENTS_ATTACHMENTS_MAX, settings.EVENTS_ATTACHMENTS_MAX_BYTES = 2, 40
    url = f"/api/v1/events/{talk['id']}/attachments"

    def upload(name, size):
        return org.upload(url, {"file": SimpleUploadedFile(name, b"%PDF-" + b"0" * (size - 5))})

    first, too_big = upload("a.pdf", 30), upload("b.pdf", 11)
    second, third = upload("c.pdf", 10), upload("d.pdf", 1)

    assert (first.status_code, second.status_code) == (201, 201)
    assert (too_big.status_code, too_big.json()["code"]) == (409, "attachments_too_large")
    assert (third.status_code, third.json()["code"]) == (409, "too_many_attachments")
    # Two uploads were carried out this hour; the two refused ones cost nothing (the twelfth attack found
    # refusals spending the hour's allowance).
    settings.EVENTS_ATTACHMENTS_PER_HOUR = 3
    assert upload("e.pdf", 1).json()["code"] == "too_many_attachments"
    settings.EVENTS_ATTACHMENTS_PER_HOUR = 2
    refused = upload("f.pdf", 1)
    assert (refused.status_code, refused.json()["code"]) == (429, "throttled") and int(refused["Retry-After"]) > 0


# --- language --------------------------------------------------------------------------------------------------

EN = {"Accept-Language": "en"}


def test_refusals_are_chinese_by_default_and_english_with_accept_language_en(talk, readers, anon_api):
    """gettext, as for the pages: the request's Accept-Language picks the message; the code never changes."""
    reader = api_for(readers[0])
    occurrence = {"occurrence": "2026-12-04T15:00:00+08:00"}
    assert reader.post(f"/api/v1/events/{talk['id']}/registrations", occurrence).status_code == 201

    zh = reader.post(f"/api/v1/events/{talk['id']}/registrations", occurrence)
    en = reader.post(f"/api/v1/events/{talk['id']}/registrations", occurrence, headers=EN)

    assert (zh.status_code, zh.json()) == (409, {"detail": "您已报名", "code": "already_registered"})
    assert (en.status_code, en.json()) == (409, {"detail": "You are already registered", "code": "already_registered"})
    backwards = {"from": "2027-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    assert anon_api.get("/api/v1/occurrences", backwards, headers=EN).json() == {
        "detail": [{"loc": ["query", "to"], "field": "to", "msg": "to must be after from", "type": "invalid"}],
        "code": "invalid"}
    assert anon_api.get("/api/v1/occurrences", backwards).json()["detail"][0]["msg"] == "to 必须晚于 from"
    assert anon_api.get("/api/v1/events/4242", headers=EN).json() == {"detail": "Event 4242 not found",
                                                                     "code": "not_found"}
