"""Reminders by the reader's choice (issue 17 §3): none, the day before (the default), an hour before, or both —
chosen on /me and through /api/v1/me/notice-preferences, and applied to the VALARMs of their calendar feed and to
the reminder notices (the daily round the day before; a job every 10 minutes an hour before)."""

import re
from datetime import datetime, timedelta

import icalendar
import pytest
from django.core import mail
from django.test import Client

from accounts.models import Role
from accounts.services import calendar_token_rotate
from events import services
from events.models import Venue
from events.notices import send_hour_reminders, send_reminders
from jobs.models import Job
from jobs.schedule import schedule_tick
from notices.models import Notice, NoticePreference
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.common import SH, make_event
from tests.jobs.worker import run_queued_jobs

pytestmark = pytest.mark.django_db

clock = common.clock  # autouse: 2026-11-25 09:00
committed = common.committed

FIRST = datetime(2026, 12, 2, 19, 0, tzinfo=SH)


@pytest.fixture
def series(organizer):
    room = Venue.objects.create(name="法官书苑阅览室", capacity=6)
    return make_event(organizer, room, title="读者沙龙", kind="salon", start=FIRST, end=FIRST + timedelta(hours=2),
                      rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=13")


def choose_reminder(user, choice: str) -> None:
    response = api_for(user).put("/api/v1/me/notice-preferences", {"channels": {}, "remind_before": choice})
    assert response.status_code == 200, response.content
    assert response.json()["remind_before"] == choice


# --- the preference -----------------------------------------------------------------------------------------


def test_the_choice_through_the_api(judge):
    api = api_for(judge)
    answer = api.get("/api/v1/me/notice-preferences").json()
    assert answer["remind_before"] == "day"  # never chosen: the day before
    assert answer["remind_before_choices"] == [{"name": "none", "label": "不提醒"}, {"name": "day", "label": "提前一天"},
                                   {"name": "hour", "label": "提前一小时"}, {"name": "both", "label": "提前一天和一小时"}]

    choose_reminder(judge, "hour")
    assert NoticePreference.objects.get(user=judge).remind_before == "hour"
    # Left out: kept as it was (clients written before the choice existed do not reset it).
    kept = api.put("/api/v1/me/notice-preferences", {"channels": {"overdue": ["sms"]}}).json()
    assert kept["remind_before"] == "hour"
    refused = api.put("/api/v1/me/notice-preferences", {"channels": {}, "remind_before": "weekly"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["detail"]] == ["remind_before"]
    assert NoticePreference.objects.get(user=judge).remind_before == "hour"  # nothing stored
    too_long = api.put("/api/v1/me/notice-preferences", {"channels": {}, "remind_before": "x" * 100})
    assert too_long.status_code == 422 and "remind_before" in str(too_long.json()["detail"])


def test_the_choice_on_the_me_page(judge):
    client = Client()
    client.force_login(judge)
    page = client.get("/me").content.decode()
    assert re.search(r'<input type="radio" name="remind_before" value="day"[^>]*checked', page)
    assert "提前一小时" in page and "不提醒" in page

    response = client.post("/me/notice-preferences", {"remind_before": "both", "registered": ["email"]})

    assert response.status_code == 302
    assert NoticePreference.objects.get(user=judge).remind_before == "both"
    assert re.search(r'<input type="radio" name="remind_before" value="both"[^>]*checked',
                     client.get("/me").content.decode())
    client.post("/me/notice-preferences", {"remind_before": "sometimes"})
    assert NoticePreference.objects.get(user=judge).remind_before == "both"


# --- VALARMs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("choice", "triggers"), [
    (None, [timedelta(days=-1)]),
    ("none", []),
    ("day", [timedelta(days=-1)]),
    ("hour", [timedelta(hours=-1)]),
    ("both", [timedelta(days=-1), timedelta(hours=-1)]),
])
def test_the_feeds_alarms_follow_the_choice(series, judge, choice, triggers):
    services.registration_create(event=series, user=judge, occurrence=FIRST)
    if choice is not None:
        choose_reminder(judge, choice)

    body = Client().get(f"/calendar/u/{calendar_token_rotate(user=judge)}.ics").content

    (vevent,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert [a["TRIGGER"].dt for a in vevent.walk("VALARM")] == triggers
    if not triggers:
        assert b"BEGIN:VALARM" not in body


def test_changing_the_choice_changes_the_cached_feed(series, judge, clock):
    services.registration_create(event=series, user=judge, occurrence=FIRST)
    path = f"/calendar/u/{calendar_token_rotate(user=judge)}.ics"
    first = Client().get(path)
    assert b"TRIGGER:-P1D" in first.content
    clock.shift(120)

    choose_reminder(judge, "none")  # no feed version moves: the choice is part of the cache key

    by_etag = Client().get(path, headers={"If-None-Match": first["ETag"]})
    assert by_etag.status_code == 200 and b"BEGIN:VALARM" not in by_etag.content
    by_date = Client().get(path, headers={"If-Modified-Since": first["Last-Modified"]})
    assert by_date.status_code == 200 and by_date["Last-Modified"] != first["Last-Modified"]


# --- notices ------------------------------------------------------------------------------------------------


def reminded(kind_key: str) -> list[str]:
    return sorted(n.patron.username for n in Notice.objects.filter(key__startswith=f"{kind_key}:"))


def test_the_hour_before_reminder_is_sent_once_to_those_who_chose_it(series, organizer, clock, django_capture_on_commit_callbacks):
    people = {name: make_user(name, Role.JUDGE, email=f"{name}@court.test")
              for name in ("hour", "both", "day", "never_chose", "none", "series", "other_week", "waiting")}
    for name in ("hour", "both", "day", "none", "series", "other_week", "waiting"):
        if name != "never_chose":
            NoticePreference.objects.create(user=people[name], remind_before={
                "series": "hour", "other_week": "hour", "waiting": "hour"}.get(name, name))
    second = FIRST + timedelta(weeks=1)
    for name in ("hour", "both", "day", "never_chose", "none"):
        services.registration_create(event=series, user=people[name], occurrence=second)
    services.registration_create(event=series, user=people["series"])  # the whole series (a seat each week)
    services.registration_create(event=series, user=people["other_week"], occurrence=second + timedelta(weeks=1))
    waiting = services.registration_create(event=series, user=people["waiting"], occurrence=second)
    assert waiting.status == "waitlisted"  # capacity 6: full

    clock.move_to(second - timedelta(hours=2))
    assert send_hour_reminders() == 0
    clock.move_to(second - timedelta(minutes=55))
    with django_capture_on_commit_callbacks(execute=True):
        assert send_hour_reminders() == 3
    clock.move_to(second - timedelta(minutes=45))
    assert send_hour_reminders() == 0  # the next run: already recorded
    clock.move_to(second + timedelta(minutes=5))
    assert send_hour_reminders() == 0  # begun: not announced any more

    # Confirmed registrants of that occurrence (or of the whole series) who chose "hour" or "both"; not the
    # waitlisted one, not the one of another week, not those who chose the day before or nothing.
    assert reminded("reminder-hour") == ["both", "hour", "series"]
    run_queued_jobs(key="notices.send")
    (sent,) = [m for m in mail.outbox if m.subject == "活动即将开始：读者沙龙" and m.to == ["hour@court.test"]]
    assert "将于 19:00（2026-12-09）在 法官书苑阅览室 开始" in sent.body
    assert sorted(m.to[0] for m in mail.outbox if m.subject.startswith("活动即将开始")) == [
        "both@court.test", "hour@court.test", "series@court.test"]


def test_the_day_before_reminder_goes_to_those_who_chose_it_or_never_chose(series, clock):
    people = {name: make_user(name, Role.JUDGE) for name in ("hour", "both", "day", "never_chose", "none")}
    for name in ("hour", "both", "day", "none"):
        NoticePreference.objects.create(user=people[name], remind_before=name)
    for user in people.values():
        services.registration_create(event=series, user=user)

    clock.move_to(FIRST - timedelta(hours=20))  # 2026-12-01 23:00: the day before
    assert send_reminders() == 3

    assert reminded("reminder") == ["both", "day", "never_chose"]


def test_no_reminder_of_a_cancelled_or_moved_away_occurrence(series, organizer, judge, clock):
    NoticePreference.objects.create(user=judge, remind_before="both")
    second, third = FIRST + timedelta(weeks=1), FIRST + timedelta(weeks=2)
    services.registration_create(event=series, user=judge, occurrence=second)
    services.registration_create(event=series, user=judge, occurrence=third)
    services.event_cancel(event=series, actor=organizer, occurrence=second, reason="场地检修")
    services.override_set(event=series, actor=organizer, recurrence_id=third, force=True,
                          changes={"start": third + timedelta(days=1)})

    clock.move_to(second - timedelta(minutes=30))
    assert send_hour_reminders() == 0
    clock.move_to(third - timedelta(minutes=30))
    assert send_hour_reminders() == 0  # moved to the next day
    clock.move_to(third + timedelta(days=1) - timedelta(minutes=30))
    assert send_hour_reminders() == 1  # at its new time


def test_the_hour_reminders_are_scheduled_every_ten_minutes(settings, series, judge, clock):
    NoticePreference.objects.create(user=judge, remind_before="hour")
    services.registration_create(event=series, user=judge, occurrence=FIRST)
    entry = {"task": "events.tasks.send_hour_reminders_job", "every": 600}
    assert entry in settings.JOBS_SCHEDULE
    settings.JOBS_SCHEDULE = [entry]
    clock.move_to(FIRST - timedelta(minutes=50))

    assert [job.task_path for job in schedule_tick()] == ["events.tasks.send_hour_reminders_job"]
    assert schedule_tick() == []  # within its 10 minutes
    run_queued_jobs(key="schedule:events.tasks.send_hour_reminders_job")

    job = Job.objects.get(task_path="events.tasks.send_hour_reminders_job")
    assert job.state == "done" and job.summary == {"event_reminder_hour": 1}
    assert reminded("reminder-hour") == ["judge1"]
    clock.shift(601)
    assert len(schedule_tick()) == 1  # the next period
