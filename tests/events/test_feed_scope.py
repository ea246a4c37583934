"""A registration changes one feed, the registrant's (finding F8): public feeds and other readers' feeds keep
their cached bodies, while the registrant's feed — and a promoted reader's — is never stale."""

from datetime import datetime, timedelta

import pytest
from django.test import Client

from accounts.models import Role
from events import feeds, services
from events.models import Event, FeedState, Registration, Venue
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.common import SH

pytestmark = pytest.mark.django_db

clock = common.clock  # autouse: time stands at NOW in every test of this module
committed = common.committed



@pytest.fixture
def event(organizer, committed):
    room = Venue.objects.create(name="法官书苑阅览室", capacity=1)
    start = datetime(2026, 12, 4, 15, 0, tzinfo=SH)
    with committed():
        return services.event_create(data=services.EventData(
            title="读者沙龙", kind="salon", start=start, end=start + timedelta(hours=2), venue=room.pk),
            actor=organizer, force=True)


def feed_path(user) -> str:
    return api_for(user).post("/api/v1/me/calendar-token").json()["url"].split("8000", 1)[1]


def get(path: str, **headers):
    return Client().get(path, headers=headers)


@pytest.fixture
def builds(monkeypatch):
    """The personal feeds built (not served from the cache), by calendar name."""
    built = []
    real = feeds.build_calendar

    def counting(events, *, name, **kwargs):
        built.append(name)
        return real(events, name=name, **kwargs)

    monkeypatch.setattr(feeds, "build_calendar", counting)
    return built


def text(response) -> str:
    return response.content.decode().replace("\r\n ", "")


def test_a_registration_rebuilds_only_the_registrants_feed(event, committed, clock, builds):
    judge = make_user("judge1", Role.JUDGE, display_name="张法官")
    other = make_user("judge2", Role.JUDGE, display_name="李法官")
    mine, theirs = feed_path(judge), feed_path(other)
    public = get("/calendar/events.ics")
    before = {"mine": get(mine), "theirs": get(theirs)}
    version = FeedState.objects.get().version
    assert "报名状态" not in text(before["mine"])
    builds.clear()

    clock.shift(600)
    with committed():
        services.registration_create(event=event, user=judge)

    assert FeedState.objects.get().version == version
    again = get("/calendar/events.ics", **{"If-None-Match": public["ETag"]})
    assert again.status_code == 304 and again["Last-Modified"] == public["Last-Modified"]
    assert get(theirs, **{"If-None-Match": before["theirs"]["ETag"]}).status_code == 304
    # The registrant's feed is new: another ETag, a later Last-Modified, the registration in it.
    now_mine = get(mine, **{"If-Modified-Since": before["mine"]["Last-Modified"]})
    assert now_mine.status_code == 200 and now_mine["ETag"] != before["mine"]["ETag"]
    assert now_mine["Last-Modified"] != before["mine"]["Last-Modified"]
    assert "报名状态：全部场次：已报名" in text(now_mine)
    assert builds == ["法官书苑 · 张法官"]  # one feed built: the registrant's


def test_cancelling_and_promotion_refresh_both_readers_feeds(event, committed, clock):
    first = make_user("judge1", Role.JUDGE, display_name="张法官")
    second = make_user("judge2", Role.JUDGE, display_name="李法官")
    with committed():
        seat = services.registration_create(event=event, user=first)
    clock.shift(60)
    with committed():
        services.registration_create(event=event, user=second)
    paths = {first: feed_path(first), second: feed_path(second)}
    assert "报名状态：全部场次：已报名" in text(get(paths[first]))
    assert "【候补】读者沙龙" in text(get(paths[second]))

    clock.shift(60)
    with committed():
        services.registration_cancel(registration=seat)

    assert Registration.objects.get(user=second).status == "confirmed"
    assert "读者沙龙" not in text(get(paths[first]))  # a public event: no longer in a personal feed
    promoted = text(get(paths[second]))
    assert "报名状态：全部场次：已报名" in promoted and "【候补】" not in promoted


def test_a_change_to_the_event_still_reaches_every_feed(event, organizer, committed, clock):
    judge = make_user("judge1", Role.JUDGE, display_name="张法官")
    with committed():
        services.registration_create(event=event, user=judge)
    path = feed_path(judge)
    assert "读者沙龙" in text(get(path))

    clock.shift(60)
    with committed():
        services.event_update(event=Event.objects.get(pk=event.pk), changes={"title": "读者沙龙（改）"}, actor=organizer)

    assert "读者沙龙（改）" in text(get(path)) and "读者沙龙（改）" in text(get("/calendar/events.ics"))
