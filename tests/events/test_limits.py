"""Limits that keep one organizer or reader from making event pages slow: event and occurrence length,
occurrences per response, whole-series registration, and date-times given as numbers."""

import json
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from events import listing, selectors, services
from events.models import Event, Override, Registration, SeatCounter
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.common import SH

pytestmark = pytest.mark.django_db

clock = common.clock  # autouse: time stands at NOW in every test of this module
org = common.org



def expanded_lazily() -> None:
    """Make listings expand every event as they do for events whose stored occurrences (events.listing) do not
    cover the range: one changed outside the services, or a range beyond the stored window.  The budgets
    below are the bounds of that path."""
    Event.objects.update(listed_from=listing.EMPTY, listed_until=listing.EMPTY)


@pytest.fixture
def room(org):
    return org.post("/api/v1/venues", {"name": "法官书苑阅览室", "capacity": 5}).json()


def create(org, **extra):
    payload = {"title": "读书会", "kind": "reading", "start": "2026-12-01T10:00:00+08:00",
               "end": "2026-12-01T11:00:00+08:00", **extra}
    return org.post("/api/v1/events?force=true", payload)


def failure(response) -> tuple[int, list[tuple[str, str]]]:
    body = response.json()
    return response.status_code, [(e["field"], e["type"]) for e in body["detail"]]


# --- length ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "ok"), [
    ({"end": "2026-12-08T10:00:00+08:00", "rrule": "FREQ=WEEKLY"}, True),  # a week-long occurrence of a series
    ({"end": "2026-12-08T10:01:00+08:00", "rrule": "FREQ=WEEKLY"}, False),
    ({"start": "2000-01-01T10:00:00", "end": "2100-12-30T11:00:00", "rrule": "FREQ=DAILY"}, False),  # the attack
    ({"end": "2027-01-01T10:00:00+08:00"}, True),  # a month-long reading festival
    ({"end": "2027-01-01T10:01:00+08:00"}, False),
    ({"start": "2026-12-01", "end": "2026-12-31", "all_day": True}, True),
    ({"start": "2026-12-01", "end": "2027-01-01", "all_day": True}, False),
])
def test_an_event_longer_than_its_kind_may_last_is_refused_naming_end(org, extra, ok):
    response = create(org, **extra)

    if ok:
        assert response.status_code == 201, response.content
    else:
        assert failure(response) == (422, [("end", "too_long")])
        assert Event.objects.count() == 0


def test_an_update_or_an_override_cannot_stretch_an_occurrence(org):
    event = create(org, rrule="FREQ=WEEKLY").json()

    longer = org.patch(f"/api/v1/events/{event['id']}", {"end": "2026-12-09T11:00:00+08:00"})
    moved = org.post(f"/api/v1/events/{event['id']}/overrides?force=true", {
        "recurrence_id": "2026-12-08T10:00:00+08:00", "end": "2026-12-20T10:00:00+08:00"})

    assert failure(longer) == (422, [("end", "too_long")])
    assert failure(moved) == (422, [("end", "too_long")])
    assert Event.objects.get(pk=event["id"]).end == datetime(2026, 12, 1, 11, tzinfo=SH)
    assert Override.objects.count() == 0


def test_the_admin_checks_the_same_lengths():
    series = Event(title="茶座", kind="tea_talk", start=datetime(2026, 12, 1, 10, tzinfo=SH),
                   end=datetime(2026, 12, 9, 10, tzinfo=SH), rrule="FREQ=WEEKLY")
    override = Override(recurrence_id=datetime(2026, 12, 8, 10, tzinfo=SH), start=datetime(2026, 12, 8, 10, tzinfo=SH),
                        end=datetime(2026, 12, 16, 10, tzinfo=SH))

    with pytest.raises(ValidationError) as series_error:
        series.clean()
    with pytest.raises(ValidationError) as override_error:
        override.clean()

    assert list(series_error.value.message_dict) == ["end"]
    assert list(override_error.value.message_dict) == ["end"]


def test_stored_century_long_occurrences_cost_one_range_of_instances(org, organizer, anon_api):
    """Three daily series of 100-year occurrences written past the checks: a read lists the occurrences
    that begin in the range or in the week before it, not every instance since 2000."""
    ids = [create(org, rrule="FREQ=DAILY", title=f"系列{i}").json()["id"] for i in range(3)]
    Event.objects.filter(pk__in=ids).update(start=datetime(2000, 1, 1, 10, tzinfo=SH),
                                            end=datetime(2100, 12, 30, 11, tzinfo=SH))
    web = Client()

    response = anon_api.get("/api/v1/occurrences", {"from": "2026-12-01", "to": "2027-02-28"})
    page = web.get("/events")

    body = response.json()
    # Starts from 2026-11-24 10:00 (a week before the range) to 2027-02-28 10:00: 97 a series.
    assert (response.status_code, body["count"], body["truncated"]) == (200, 3 * 97, False)
    assert body["items"][0]["start"] == "2026-11-24T10:00:00+08:00"
    assert page.status_code == 200
    assert len(page.content) < 500_000


# --- occurrences per response ---------------------------------------------------------------------------------


def test_a_response_lists_at_most_max_listed_occurrences_and_says_so(org, anon_api, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_LISTED", 5)
    daily = create(org, rrule="FREQ=DAILY").json()
    create(org, title="讲座", kind="lecture", start="2026-12-02T09:00:00+08:00", end="2026-12-02T10:00:00+08:00")

    response = anon_api.get("/api/v1/occurrences", {"from": "2026-12-01", "to": "2026-12-31"})
    detail = Client().get(f"/events/{daily['id']}")

    body = response.json()
    assert (body["count"], body["truncated"], bool(body["next"])) == (5, True, True)
    assert [(i["title"], i["start"][:13]) for i in body["items"]] == [
        ("读书会", "2026-12-01T10"), ("讲座", "2026-12-02T09"), ("读书会", "2026-12-02T10"), ("读书会", "2026-12-03T10"),
        ("读书会", "2026-12-04T10"),
    ]
    assert "场次过多" not in detail.content.decode()


def test_a_short_range_is_not_marked_truncated(org, anon_api):
    create(org, rrule="FREQ=DAILY;COUNT=3")

    body = anon_api.get("/api/v1/occurrences", {"from": "2026-12-01", "to": "2026-12-31"}).json()

    assert (body["count"], body["truncated"]) == (3, False)


# --- whole-series registration ---------------------------------------------------------------------------------


@pytest.fixture
def reader(db):
    return make_user("reader-series", Role.JUDGE)


def register(user, event_id, occurrence=None):
    return api_for(user).post(f"/api/v1/events/{event_id}/registrations", {"occurrence": occurrence})


def test_a_whole_series_of_many_occurrences_is_refused_register_for_each(org, room, reader):
    event = create(org, rrule="FREQ=DAILY;UNTIL=21001230", venue=room["id"], capacity=5).json()

    whole = register(reader, event["id"])
    one = register(reader, event["id"], "2026-12-03T10:00:00+08:00")

    assert failure(whole) == (422, [("occurrence", "series_too_long")])
    assert one.status_code == 201 and one.json()["status"] == "confirmed"
    assert list(SeatCounter.objects.filter(event_id=event["id"]).values_list("taken", flat=True)) == [1]


def test_the_limit_counts_occurrences_to_come_without_cancelled_ones(org, room, reader, settings):
    settings.EVENTS_SERIES_REGISTRATION_MAX = 3
    event = create(org, rrule="FREQ=DAILY;COUNT=4", venue=room["id"]).json()
    assert failure(register(reader, event["id"])) == (422, [("occurrence", "series_too_long")])
    org.post(f"/api/v1/events/{event['id']}/cancel", {"occurrence": "2026-12-02T10:00:00+08:00"})

    response = register(reader, event["id"])

    assert response.status_code == 201 and response.json()["status"] == "confirmed"
    assert sorted(SeatCounter.objects.filter(event_id=event["id"]).values_list("occurrence", "taken")) == [
        (datetime(2026, 12, d, 10, tzinfo=SH), 1) for d in (1, 3, 4)]


def test_series_seats_are_taken_in_a_few_statements_whatever_the_length(org, room, reader, settings):
    settings.EVENTS_SERIES_REGISTRATION_MAX = 200
    event = create(org, rrule="FREQ=DAILY;COUNT=150", venue=room["id"]).json()

    with CaptureQueriesContext(connection) as queries:
        response = register(reader, event["id"])

    assert response.json()["status"] == "confirmed"
    assert len([q for q in queries.captured_queries if "events_seatcounter" in q["sql"]]) == 2
    assert SeatCounter.objects.filter(event_id=event["id"], taken=1).count() == 150


def test_one_full_occurrence_waitlists_the_series_and_takes_no_seat(org, reader):
    event = create(org, rrule="FREQ=DAILY;COUNT=3", capacity=1).json()
    assert register(make_user("first", Role.JUDGE), event["id"], "2026-12-02T10:00:00+08:00").status_code == 201

    response = register(reader, event["id"])

    assert response.json()["status"] == "waitlisted"
    assert list(SeatCounter.objects.filter(event_id=event["id"], taken__gt=0).values_list("occurrence", flat=True)) == [
        datetime(2026, 12, 2, 10, tzinfo=SH)]
    assert Registration.objects.filter(event_id=event["id"], status="confirmed").count() == 1


# --- date-times as numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [12345, 1.5e9, True, "12345"])
def test_a_number_as_occurrence_is_refused_naming_the_field_without_a_repr(org, reader, value):
    event = create(org, rrule="FREQ=DAILY;COUNT=3").json()

    response = register(reader, event["id"], value)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["occurrence"]
    assert "datetime.datetime" not in response.content.decode()
    assert "ISO 8601" in response.json()["detail"][0]["msg"]
    assert Registration.objects.count() == 0


@pytest.mark.parametrize(("field", "value", "named"), [("start", 946684800, "start"),
                                                       ("registration_opens", 12345, "registration_opens"),
                                                       ("exdates", [12345], "exdates.0")])
def test_a_number_as_any_event_date_time_is_refused_naming_the_field(org, field, value, named):
    response = create(org, **{field: value})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == [named]
    assert "datetime.datetime" not in response.content.decode()


def test_a_number_as_an_occurrence_range_bound_is_refused(anon_api):
    response = anon_api.get("/api/v1/occurrences", {"from": "12345"})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["from"]
    assert "1970" not in json.dumps(response.json())


def test_many_events_share_one_expansion_budget_and_the_list_is_an_exact_prefix(monkeypatch):
    """Attack: 2,000 valid daily series, each expanded for 1,001 instances, made one anonymous
    /api/v1/occurrences take 6 s and /healthz 23 s.  The instances expanded per listing are shared out,
    and the list stops before the first event that used its share: what it shows is exact."""
    from events import recurrence

    organizer = make_user("org1", "organizer")
    base = timezone.make_aware(datetime(2027, 3, 1, 9, 0))
    for i in range(30):
        services.event_create(data=services.EventData(
            title=f"晨读{i}", kind="reading", start=base + timedelta(minutes=i), end=base + timedelta(minutes=i + 30),
            rrule="FREQ=DAILY"), actor=organizer, force=True)
    expanded_lazily()
    expanded = []
    real = recurrence.original_starts

    def counting(*args, **kwargs):
        starts = real(*args, **kwargs)
        expanded.append(len(starts))
        return starts

    window = (base, base + timedelta(days=90))
    full = selectors.occurrence_list(viewer=AnonymousUser(), start=window[0], end=window[1], limit=100)
    monkeypatch.setattr(recurrence, "original_starts", counting)
    monkeypatch.setattr(selectors, "MAX_EXPANDED", 120)  # 4 instances per event

    page = selectors.occurrence_list(viewer=AnonymousUser(), start=window[0], end=window[1], limit=100)

    assert sum(expanded) <= 120
    assert page.truncated and full.truncated
    assert 0 < len(page.items) < len(full.items)
    assert page.items == full.items[: len(page.items)]


def test_many_rarely_matching_series_share_one_scanning_allowance(monkeypatch):
    """Attack round 4: 1,000 valid daily series on 29 February each scanned about four years of days per
    listing and produced nothing (3.5 s for one anonymous /api/v1/occurrences).  A listing shares out its
    months of scanning; what it shows stays an exact prefix of the full answer."""
    from events import bounded_rrule

    organizer = make_user("org1", "organizer")
    leap = timezone.make_aware(datetime(2028, 2, 29, 9, 0))
    for i in range(20):
        services.event_create(data=services.EventData(
            title=f"闰日读书{i}", kind="reading", start=leap + timedelta(minutes=i), end=leap + timedelta(minutes=i + 30),
            rrule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29"), actor=organizer, force=True)
    base = timezone.make_aware(datetime(2029, 3, 1, 9, 0))
    services.event_create(data=services.EventData(
        title="晨读", kind="reading", start=base, end=base + timedelta(minutes=30), rrule="FREQ=WEEKLY"),
        actor=organizer, force=True)
    expanded_lazily()
    window = (timezone.make_aware(datetime(2029, 3, 1)), timezone.make_aware(datetime(2030, 3, 1)))
    full = selectors.occurrence_list(viewer=AnonymousUser(), start=window[0], end=window[1])
    scanned = []
    real_charge = bounded_rrule.Budget.charge_step

    def counting(self, units):
        scanned.append(units)
        return real_charge(self, units)

    monkeypatch.setattr(bounded_rrule.Budget, "charge_step", counting)
    monkeypatch.setattr(selectors, "MAX_SCANNED_MONTHS", 21 * 13)  # 13 months each: less than the year read + 36

    page = selectors.occurrence_list(viewer=AnonymousUser(), start=window[0], end=window[1])

    assert sum(scanned) <= 21 * 14
    assert full.truncated is False and [i["title"] for i in full.items] == ["晨读"] * 53
    # The sparse series were each seen through 11 months of the year read: the list shows those months.
    assert page.truncated is True
    assert 40 <= len(page.items) < 53
    assert page.items == full.items[: len(page.items)]


def test_a_listing_expands_only_the_earliest_starting_events_and_says_it_was_cut(monkeypatch):
    """Attack round 5: with a share of scanning for each of 3,000 series the listing's work still grew with
    their number (3 s); and a list cut before the end of the range said ``truncated: false``."""
    organizer = make_user("org1", "organizer")
    base = timezone.make_aware(datetime(2029, 3, 1, 9, 0))
    for i in range(5):
        services.event_create(data=services.EventData(
            title=f"周读{i}", kind="reading", start=base + timedelta(days=i), end=base + timedelta(days=i, hours=1),
            rrule="FREQ=WEEKLY"), actor=organizer, force=True)
    expanded_lazily()
    window = (base, base + timedelta(days=60))
    full = selectors.occurrence_list(viewer=AnonymousUser(), start=window[0], end=window[1])
    monkeypatch.setattr(selectors, "MAX_LISTED_EVENTS", 3)
    expanded = []
    real = selectors.occurrences_within
    monkeypatch.setattr(selectors, "occurrences_within",
                        lambda series, *args, **kwargs: expanded.append(series.title) or real(series, *args, **kwargs))

    page = selectors.occurrence_list(viewer=AnonymousUser(), start=window[0], end=window[1])

    assert sorted(expanded) == ["周读0", "周读1", "周读2"]
    assert (full.truncated, page.truncated, page.next) == (False, True, None)
    # Every occurrence of the events expanded (one organizer's: its earliest-starting), none of the others'.
    assert page.items == [item for item in full.items if item["title"] in ("周读0", "周读1", "周读2")]


def test_an_organizer_creates_at_most_a_days_worth_of_events(settings):
    """Attack round 6: 510 series created in ten seconds by one organizer (listings then expanded a bounded
    number of events, so they crowded every other event out; each now writes its stored occurrences)."""
    settings.EVENTS_CREATED_PER_DAY = 3
    organizer = make_user("org1", "organizer")
    client = api_for(organizer)
    start = timezone.make_aware(datetime(2029, 3, 1, 9, 0))

    def create(i):
        return client.post("/api/v1/events", {"title": f"沙龙{i}", "kind": "salon", "start": (start + timedelta(days=i)).isoformat(),
                                              "end": (start + timedelta(days=i, hours=1)).isoformat()})

    statuses = [create(i).status_code for i in range(3)]
    refused = create(3)

    assert statuses == [201, 201, 201]
    assert (refused.status_code, refused.json()["code"]) == (429, "too_many_events")
    assert Event.objects.count() == 3
    Event.objects.update(created_at=timezone.now() - timedelta(days=1, seconds=1))
    assert create(4).status_code == 201


# --- venue conflicts (attack round 7) -------------------------------------------------------------------------


def test_a_conflict_check_reads_a_years_bookings_in_one_sweep_outside_the_write_transaction(org, room, monkeypatch):
    """Attack round 7: 34 forced daily series from 2000 to 2100 in one room made one conflict check compare every pair of
    occurrences (about 5,000 × 5,000 each) inside the write transaction: 60 s, SQLite's write lock held, every
    other writer refused.  The check reads the stored bookings of the coming year in start order and runs
    before the transaction."""
    for minute in (0, 20, 40):
        assert create(org, start=f"2025-11-01T09:{minute:02d}:00+08:00", end=f"2025-11-01T09:{minute + 10:02d}:00+08:00",
                      venue=room["id"], rrule="FREQ=DAILY;UNTIL=21001231").status_code == 201
    expanded, in_transaction = [], []
    outside = len(connection.atomic_blocks)  # the test's own transaction
    real_occurrences, real_conflicts = services.occurrences, services.venue_conflicts
    monkeypatch.setattr(services, "occurrences", lambda event, begin, end, **kw: expanded.append(end - begin)
                        or real_occurrences(event, begin, end, **kw))
    monkeypatch.setattr(services, "venue_conflicts", lambda *a, **kw: in_transaction.append(
        len(connection.atomic_blocks) > outside) or real_conflicts(*a, **kw))

    response = org.post("/api/v1/events", {"title": "晨读", "kind": "reading", "start": "2027-03-01T09:05:00+08:00",
                                           "end": "2027-03-01T09:45:00+08:00", "venue": room["id"],
                                           "rrule": "FREQ=DAILY;UNTIL=21001231"})

    assert response.status_code == 409 and response.json()["code"] == "venue_conflict"
    conflicts = response.json()["conflicts"]
    # The first 50 by start, in library time: three bookings a day from 1 March 2027.
    assert len(conflicts) == services.CONFLICT_MAX
    assert conflicts[0]["start"] == "2027-03-01T09:00:00+08:00" and conflicts[-1]["start"] == "2027-03-17T09:20:00+08:00"
    assert in_transaction == [False]
    assert expanded and max(expanded) <= services.CONFLICT_AHEAD + timedelta(days=1)


def test_a_venue_booked_past_what_one_check_reads_is_said_so_and_force_still_books(org, room, monkeypatch):
    monkeypatch.setattr(services, "CONFLICT_SCAN_MAX", 100)
    assert create(org, start="2026-12-01T09:00:00+08:00", end="2026-12-01T09:10:00+08:00", venue=room["id"],
                  rrule="FREQ=DAILY").status_code == 201
    payload = {"title": "晚读", "kind": "reading", "start": "2026-12-01T20:00:00+08:00",
               "end": "2026-12-01T21:00:00+08:00", "venue": room["id"], "rrule": "FREQ=WEEKLY"}

    busy = org.post("/api/v1/events", payload)
    forced = org.post("/api/v1/events?force=true", payload)

    assert (busy.status_code, busy.json()["code"]) == (409, "venue_too_busy")
    assert "force=true" in busy.json()["detail"]
    assert forced.status_code == 201


def test_an_event_changed_outside_the_services_still_counts_as_a_booking(org, room):
    """Its stored occurrences are stale: the check expands it from its rule."""
    booked = create(org, start="2026-12-02T15:00:00+08:00", end="2026-12-02T16:00:00+08:00", venue=room["id"],
                    rrule="FREQ=WEEKLY").json()
    Event.objects.filter(pk=booked["id"]).update(start=timezone.make_aware(datetime(2026, 12, 3, 15)),
                                                 end=timezone.make_aware(datetime(2026, 12, 3, 16)))

    response = org.post("/api/v1/events", {"title": "讲座", "kind": "lecture", "start": "2026-12-10T15:30:00+08:00",
                                           "end": "2026-12-10T16:30:00+08:00", "venue": room["id"]})

    assert response.status_code == 409
    assert [(c["event"], c["start"]) for c in response.json()["conflicts"]] == [(booked["id"], "2026-12-10T15:00:00+08:00")]


def test_an_update_checks_its_new_times_outside_the_write_transaction(org, room, monkeypatch):
    create(org, start="2026-12-02T15:00:00+08:00", end="2026-12-02T16:00:00+08:00", venue=room["id"])
    other = create(org, start="2026-12-02T17:00:00+08:00", end="2026-12-02T18:00:00+08:00", venue=room["id"]).json()
    in_transaction = []
    outside = len(connection.atomic_blocks)  # the test's own transaction
    real = services.venue_conflicts
    monkeypatch.setattr(services, "venue_conflicts", lambda *a, **kw: in_transaction.append(
        len(connection.atomic_blocks) > outside) or real(*a, **kw))

    moved = org.patch(f"/api/v1/events/{other['id']}", {"start": "2026-12-02T15:30:00+08:00",
                                                         "end": "2026-12-02T16:30:00+08:00"})
    retitled = org.patch(f"/api/v1/events/{other['id']}", {"title": "改名"})

    assert (moved.status_code, moved.json()["code"]) == (409, "venue_conflict")
    assert retitled.status_code == 200
    assert in_transaction == [False]  # the title alone changes no booking: not checked


def test_an_organizer_schedules_nothing_that_began_more_than_400_days_ago(org):
    """Attack round 7: 500 series from 2000 were never stored (the listed window reaches 400 days back) and
    blanked every listing older than that."""
    old = {"start": "2025-10-20T10:00:00+08:00", "end": "2025-10-20T11:00:00+08:00"}
    recent = create(org, start="2025-11-01T10:00:00+08:00", end="2025-11-01T11:00:00+08:00").json()

    refused = create(org, **old)
    moved_back = org.patch(f"/api/v1/events/{recent['id']}", old)
    root = User.objects.create_superuser("root", password="secret-pass-1")
    history = api_for(root).post("/api/v1/events?force=true", {"title": "2000 年读书会", "kind": "reading",
                                                               "start": "2000-01-01T10:00:00", "end": "2000-01-01T11:00:00"})

    assert failure(refused) == (422, [("start", "too_early")])
    assert failure(moved_back) == (422, [("start", "too_early")])
    assert history.status_code == 201
