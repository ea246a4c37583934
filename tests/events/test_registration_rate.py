"""Register/cancel churn (finding F8): a judge made 485 register/cancel cycles in 30 seconds, each writing a
registration and a notice that queued a mail.  A reader makes at most ``EVENTS_REGISTRATIONS_PER_HOUR``
registrations in a rolling hour; cancelling frees none of them."""

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from accounts.services import token_issue
from events import services
from events.models import Registration
from notices.models import Notice
from tests.clock import stopped_at
from tests.conftest import api_for, make_user
from tests.events.common import NOW, SH
from tests.live import all_at_once, assert_clean_log, post, start_server


def _salon(organizer, start, **extra):
    return services.event_create(data=services.EventData(
        title="读者沙龙", kind="salon", start=start, end=start + timedelta(hours=2), capacity=30, **extra),
        actor=organizer, force=True)


clock = stopped_at(NOW, autouse=False)


@pytest.mark.django_db
def test_register_cancel_churn_stops_at_the_hourly_limit(organizer, judge, settings, clock):
    settings.EVENTS_REGISTRATIONS_PER_HOUR = 3
    event = _salon(organizer, datetime(2026, 12, 4, 15, tzinfo=SH))
    api, url = api_for(judge), f"/api/v1/events/{event.pk}/registrations"
    for _ in range(3):
        created = api.post(url, {"occurrence": None})
        assert created.status_code == 201
        assert api.delete(f"/api/v1/registrations/{created.json()['id']}").status_code == 204
        clock.shift(60)

    refused = api.post(url, {"occurrence": None})
    in_english = api.post(url, {"occurrence": None}, headers={"Accept-Language": "en"})

    assert (refused.status_code, refused.json()["code"]) == (429, "too_many_registrations")
    assert refused.json()["detail"] == "一小时内最多报名 3 次，请 57 分钟后再试。"
    assert in_english.json()["detail"] == "At most 3 registrations an hour; try again in 57 minutes."
    assert 0 < int(refused["Retry-After"]) <= 3600 and refused.json()["retry_after"] == int(refused["Retry-After"])
    assert Registration.objects.filter(user=judge).count() == 3
    assert Notice.objects.filter(patron=judge, kind="registered").count() == 3
    # Someone else is not held back; and an hour after the first, the judge may register again.
    other = make_user("judge2", Role.JUDGE)
    assert api_for(other).post(url, {"occurrence": None}).status_code == 201
    clock.shift(3600 - 120)
    assert api.post(url, {"occurrence": None}).status_code == 201


@pytest.mark.django_db
def test_refused_registrations_cost_nothing(organizer, judge, settings, clock):
    settings.EVENTS_REGISTRATIONS_PER_HOUR = 2
    event = _salon(organizer, datetime(2026, 12, 4, 15, tzinfo=SH))
    later = _salon(organizer, datetime(2026, 12, 11, 15, tzinfo=SH))
    api = api_for(judge)
    assert api.post(f"/api/v1/events/{event.pk}/registrations", {"occurrence": None}).status_code == 201
    for _ in range(5):
        again = api.post(f"/api/v1/events/{event.pk}/registrations", {"occurrence": None})
        assert again.json()["code"] == "already_registered"

    assert api.post(f"/api/v1/events/{later.pk}/registrations", {"occurrence": None}).status_code == 201


@pytest.mark.django_db
def test_the_event_page_says_why(organizer, judge, settings, clock):
    settings.EVENTS_REGISTRATIONS_PER_HOUR = 1
    event = _salon(organizer, datetime(2026, 12, 4, 15, tzinfo=SH))
    client = Client()
    client.force_login(judge)
    first = client.post(f"/events/{event.pk}/register", follow=True)
    registration = Registration.objects.get(user=judge)
    client.post(f"/registrations/{registration.pk}/cancel")

    page = client.post(f"/events/{event.pk}/register", follow=True)

    assert "已报名 2026-12-04（星期五）15:00 这一场。" in first.content.decode()
    assert page.status_code == 200 and "一小时内最多报名 1 次" in page.content.decode()
    assert Registration.objects.filter(user=judge).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_registrations_of_one_judge_never_pass_the_limit(tmp_path):
    """Twelve registrations of one judge at once, each for another occurrence, against a live multi-process
    server: every worker counts in the one store, so exactly the limit pass."""
    organizer = make_user("org-rate", Role.ORGANIZER)
    start = (timezone.now() + timedelta(days=7)).replace(second=0, microsecond=0)
    series = _salon(organizer, start, rrule="FREQ=WEEKLY;COUNT=12")
    token = token_issue(user=make_user("busy-judge", Role.JUDGE), name="p").raw
    with start_server(tmp_path, env={"EVENTS_REGISTRATIONS_PER_HOUR": "5"}) as (base, log):
        results = all_at_once([
            lambda k=k: post(f"{base}/api/v1/events/{series.pk}/registrations", token,
                             {"occurrence": (start + timedelta(weeks=k)).isoformat()})
            for k in range(12)
        ])
        assert sorted(status for status, _ in results) == [201] * 5 + [429] * 7
        assert {body["code"] for status, body in results if status == 429} == {"too_many_registrations"}
        assert Registration.objects.filter(event=series).count() == 5
        assert_clean_log(log)
