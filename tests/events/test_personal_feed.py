"""What a personal feed holds (issue 17): exactly what its reader has.  An occurrence registered for is a
VEVENT of its own, never the series; a whole-series registration and an event organised are the series;
internal events the reader has nothing to do with are left out (unless the feed's scope is "all").

Each case expands the feed as calendar apps do — with recurring-ical-events (Python) and with ical.js
(Node) — and compares the (title, start) of every occurrence with what ``/api/v1/me/registrations`` says
the reader registered for (the occurrence's time and title from ``/api/v1/occurrences``)."""

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events
from django.test import Client

from accounts.models import Role
from accounts.services import calendar_link_create, calendar_token_rotate
from events import services
from events.models import Event, Venue
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.common import SH, make_event
from tests.events.icaljs import NODE, expand_with_node

pytestmark = pytest.mark.django_db

clock = common.clock  # autouse: time stands at NOW (2026-11-25 09:00) in every test of this module
committed = common.committed

#: Wide enough for the whole series (13 Wednesdays from 2026-12-02).
FROM, TO = datetime(2026, 11, 1, tzinfo=SH), datetime(2027, 12, 1, tzinfo=SH)
FIRST = datetime(2026, 12, 2, 19, 0, tzinfo=SH)


def week(n: int) -> datetime:
    """The original start of the series' ``n``-th occurrence (0-based)."""
    return FIRST + timedelta(weeks=n)


@pytest.fixture
def room(db):
    return Venue.objects.create(name="法官书苑阅览室", location="院本部三楼", capacity=30)


@pytest.fixture
def series(organizer, room):
    """A weekly salon: 13 Wednesdays at 19:00 from 2026-12-02."""
    return make_event(organizer, room, title="读者沙龙", kind="salon", start=FIRST, end=FIRST + timedelta(hours=2),
                      rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=13")


def feed_of(user, *, scope: str | None = None) -> bytes:
    if scope is None:
        token = calendar_token_rotate(user=user)
    else:  # a link made with that scope
        token = calendar_link_create(user=user, name=f"范围 {scope}", scope=scope).token()
    response = Client().get(f"/calendar/u/{token}.ics")
    assert response.status_code == 200
    return response.content


def with_python(body: bytes) -> list[tuple[str, datetime]]:
    cal = icalendar.Calendar.from_ical(body)
    return sorted((str(c["SUMMARY"]), c["DTSTART"].dt.astimezone(UTC))
                  for c in recurring_ical_events.of(cal).between(FROM, TO)
                  if "UID" in c and not str(c["UID"]).startswith(("loan-", "hold-")))


def with_icaljs(body: bytes, tmp_path) -> list[tuple[str, datetime]]:
    return sorted((summary, start) for summary, start, _status in expand_with_node(body, FROM, TO, tmp_path))


def registered_per_api(user) -> list[tuple[str, datetime]]:
    """(title, start) of every occurrence ``user`` registered for, as the API tells it."""
    api = api_for(user)
    registrations = api.get("/api/v1/me/registrations").json()
    items = api.get("/api/v1/occurrences", {"from": FROM.isoformat(), "to": TO.isoformat()}).json()["items"]
    out = []
    for r in registrations:
        if r["status"] not in ("confirmed", "waitlisted"):
            continue
        for item in items:
            whole = r["occurrence"] is None
            mine = whole or (item["recurrence_id"] and datetime.fromisoformat(item["recurrence_id"])
                             == datetime.fromisoformat(r["occurrence"]))
            if item["event"] == r["event"] and mine:
                mark = "【候补】" if r["status"] == "waitlisted" else ""
                out.append((mark + item["title"], datetime.fromisoformat(item["start"]).astimezone(UTC)))
    return sorted(out)


def check_everywhere(body: bytes, expected: list, tmp_path) -> None:
    assert with_python(body) == expected
    if NODE:
        assert with_icaljs(body, tmp_path) == expected


def vevents(body: bytes) -> list[icalendar.Event]:
    return [v for v in icalendar.Calendar.from_ical(body).walk("VEVENT")
            if not str(v["UID"]).startswith(("loan-", "hold-"))]


def test_one_occurrence_of_a_thirteen_week_series_is_one_item(series, judge, tmp_path):
    services.registration_create(event=series, user=judge, occurrence=week(3))

    body = feed_of(judge)

    expected = [("读者沙龙", week(3).astimezone(UTC))]
    assert registered_per_api(judge) == expected
    check_everywhere(body, expected, tmp_path)
    (item,) = vevents(body)
    assert "RRULE" not in item and "RECURRENCE-ID" not in item and "EXDATE" not in item
    assert str(item["UID"]) == f"{series.uid}-20261223T110000Z@shuyuan"
    assert str(item["DESCRIPTION"]).startswith("报名状态：已报名\n")
    assert (item["DTEND"].dt - item["DTSTART"].dt) == timedelta(hours=2)
    assert str(item["LOCATION"]) == "法官书苑阅览室（院本部三楼）" and int(item["SEQUENCE"]) == 0


def test_two_occurrences_one_moved_and_retitled(series, judge, organizer, room, tmp_path):
    hall = Venue.objects.create(name="报告厅", capacity=80)
    services.registration_create(event=series, user=judge, occurrence=week(1))
    services.registration_create(event=series, user=judge, occurrence=week(5))
    services.override_set(event=series, actor=organizer, recurrence_id=week(5), force=True,
                          changes={"start": week(5) + timedelta(days=1, hours=-4), "title": "读者沙龙（改期）",
                                   "venue": hall.pk})
    series.refresh_from_db()

    body = feed_of(judge)

    expected = sorted([("读者沙龙", week(1).astimezone(UTC)),
                       ("读者沙龙（改期）", (week(5) + timedelta(days=1, hours=-4)).astimezone(UTC))])
    assert registered_per_api(judge) == expected
    check_everywhere(body, expected, tmp_path)
    plain, moved = sorted(vevents(body), key=lambda v: v["DTSTART"].dt)
    # The moved one keeps its UID (from the original start), shows the new place and a raised SEQUENCE.
    assert str(moved["UID"]) == f"{series.uid}-20270106T110000Z@shuyuan"
    assert str(moved["LOCATION"]) == "报告厅" and int(moved["SEQUENCE"]) == series.sequence + 1 > 0
    assert str(plain["UID"]) == f"{series.uid}-20261209T110000Z@shuyuan" and int(plain["SEQUENCE"]) == series.sequence


def test_a_whole_series_registration_is_the_series(series, judge, organizer, tmp_path):
    services.registration_create(event=series, user=judge)
    services.event_cancel(event=series, actor=organizer, occurrence=week(2), reason="元旦")

    body = feed_of(judge)

    expected = registered_per_api(judge)
    assert len(expected) == 13 and expected[0] == ("读者沙龙", week(0).astimezone(UTC))
    check_everywhere(body, expected, tmp_path)
    master = next(v for v in vevents(body) if "RRULE" in v)
    assert str(master["UID"]) == f"{series.uid}@shuyuan"
    assert str(master["DESCRIPTION"]).startswith("报名状态：全部场次：已报名\n")
    (cancelled,) = [v for v in vevents(body) if "RECURRENCE-ID" in v]
    assert str(cancelled["STATUS"]) == "CANCELLED" and not cancelled.walk("VALARM")


def test_a_waitlisted_occurrence_is_marked(room, organizer, judge, tmp_path):
    small = make_event(organizer, room, title="法官茶座", start=FIRST, end=FIRST + timedelta(hours=1),
                       rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=13", capacity=1)
    services.registration_create(event=small, user=make_user("judge9", Role.JUDGE), occurrence=week(4))
    waiting = services.registration_create(event=small, user=judge, occurrence=week(4))
    assert waiting.status == "waitlisted"

    body = feed_of(judge)

    expected = [("【候补】法官茶座", week(4).astimezone(UTC))]
    assert registered_per_api(judge) == expected
    check_everywhere(body, expected, tmp_path)
    assert str(vevents(body)[0]["DESCRIPTION"]).startswith("报名状态：候补\n")


def test_organised_events_are_series_and_unrelated_internal_events_are_left_out(series, organizer, judge, room,
                                                                                committed):
    internal = make_event(organizer, room, title="院内读书会", kind="reading", visibility="internal",
                          start=datetime(2026, 12, 21, 19, tzinfo=SH))
    co = make_user("org2", Role.ORGANIZER, display_name="赵组织")

    judge_feed = feed_of(judge)
    assert vevents(judge_feed) == []  # registered for nothing, organises nothing
    titles = [str(v["SUMMARY"]) for v in vevents(feed_of(organizer))]
    assert sorted(titles) == sorted(["院内读书会", "读者沙龙"])
    master = next(v for v in vevents(feed_of(organizer)) if "RRULE" in v)
    assert str(master["UID"]) == f"{series.uid}@shuyuan" and not str(master["DESCRIPTION"]).startswith("报名状态")
    # With the scope "all" the judge sees every event they may see, as series.
    everything = vevents(feed_of(judge, scope="all"))
    assert sorted(str(v["SUMMARY"]) for v in everything) == sorted(["院内读书会", "读者沙龙"])
    assert any("RRULE" in v for v in everything)
    # Made a co-organiser: the series reaches their feed (organiser changes bump the feeds).
    assert vevents(feed_of(co)) == []
    with committed():
        services.event_update(event=Event.objects.get(pk=internal.pk), changes={"organizers": ["org2"]},
                              actor=organizer)
    assert [str(v["SUMMARY"]) for v in vevents(feed_of(co))] == ["院内读书会"]


def test_a_cancelled_occurrence_stays_cancelled_thirty_days_then_leaves(series, judge, organizer, clock):
    services.registration_create(event=series, user=judge, occurrence=week(1))
    services.registration_create(event=series, user=judge, occurrence=week(2))
    services.event_cancel(event=series, actor=organizer, occurrence=week(1), reason="场地检修")

    cancelled, kept = sorted(vevents(feed_of(judge)), key=lambda v: v["DTSTART"].dt)
    assert str(cancelled["STATUS"]) == "CANCELLED" and int(cancelled["SEQUENCE"]) >= 1
    assert "变更原因：场地检修" in str(cancelled["DESCRIPTION"]) and not cancelled.walk("VALARM")
    assert str(kept["STATUS"]) == "CONFIRMED" and kept.walk("VALARM")
    clock.shift(timedelta(days=31))
    (left,) = vevents(feed_of(judge))
    assert left["DTSTART"].dt == week(2)


def test_an_occurrence_removed_from_the_series_leaves_the_feed(series, judge):
    services.registration_create(event=series, user=judge, occurrence=week(3))
    Event.objects.filter(pk=series.pk).update(exdates=[week(3).isoformat()])
    assert vevents(feed_of(judge)) == []


def test_registering_and_cancelling_change_the_cached_feed(series, judge, committed, clock):
    token = calendar_token_rotate(user=judge)
    path = f"/calendar/u/{token}.ics"
    before = Client().get(path)
    clock.shift(60)
    with committed():
        registration = services.registration_create(event=series, user=judge, occurrence=week(0))
    after = Client().get(path, headers={"If-None-Match": before["ETag"]})
    assert after.status_code == 200 and len(vevents(after.content)) == 1
    clock.shift(60)
    with committed():
        services.registration_cancel(registration=registration)
    again = Client().get(path, headers={"If-None-Match": after["ETag"]})
    assert again.status_code == 200 and vevents(again.content) == []
