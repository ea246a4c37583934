"""Seats follow the capacity in force: raising an event's capacity gives the new seats to the waitlist in order
(finding F4); a venue's new capacity reaches the events that take their seats from it, and a drop below the
confirmed count un-confirms nobody (finding F7)."""


import pytest

from accounts.models import Role
from events.models import Registration, SeatCounter, Venue
from notices.models import Notice
from tests.conftest import api_for, make_user
from tests.events import common

pytestmark = pytest.mark.django_db

clock = common.clock  # autouse: time stands at NOW in every test of this module
org = common.org

FIRST, SECOND = "2026-12-04T15:00:00+08:00", "2027-01-01T15:00:00+08:00"


@pytest.fixture
def readers(db):
    return [make_user(f"reader{i}", Role.JUDGE, email=f"reader{i}@court.test") for i in range(6)]


def salon(org, **extra) -> dict:
    response = org.post("/api/v1/events?force=true", {"title": "读者沙龙", "kind": "salon", "start": FIRST,
                                           "end": "2026-12-04T17:00:00+08:00", **extra})
    assert response.status_code == 201, response.content
    return response.json()


def register(user, event, clock, occurrence=None) -> dict:
    clock.shift(60)  # one a minute: the waitlist's order is the order of registering
    response = api_for(user).post(f"/api/v1/events/{event['id']}/registrations", {"occurrence": occurrence})
    assert response.status_code == 201, response.content
    return response.json()


def statuses(event) -> dict[str, str]:
    return {r.user.username: r.status for r in Registration.objects.filter(event_id=event["id"]).select_related("user")}


def promoted(readers) -> list[str]:
    return sorted(Notice.objects.filter(kind="promoted").values_list("patron__username", flat=True))


def test_raising_the_capacity_promotes_the_waitlist_in_order_not_a_later_registrant(org, readers, clock):
    event = salon(org, capacity=2)
    rows = [register(r, event, clock) for r in readers[:5]]
    assert [r["status"] for r in rows] == ["confirmed", "confirmed", "waitlisted", "waitlisted", "waitlisted"]

    assert org.patch(f"/api/v1/events/{event['id']}", {"capacity": 3}).status_code == 200
    later = register(readers[5], event, clock)

    assert statuses(event) == {"reader0": "confirmed", "reader1": "confirmed", "reader2": "confirmed",
                               "reader3": "waitlisted", "reader4": "waitlisted", "reader5": "waitlisted"}
    assert (later["status"], later["position"]) == ("waitlisted", 3)
    assert promoted(readers) == ["reader2"]
    counter = SeatCounter.objects.get(event_id=event["id"])
    assert (counter.taken, counter.capacity) == (3, 3)
    mine = api_for(readers[3]).get("/api/v1/me/registrations").json()
    assert [(r["status"], r["position"]) for r in mine] == [("waitlisted", 1)]

    # Raised past everyone waiting: all three, in order, and the rest of the seats stay free.
    assert org.patch(f"/api/v1/events/{event['id']}", {"capacity": 10}).status_code == 200
    assert set(statuses(event).values()) == {"confirmed"}
    assert promoted(readers) == ["reader2", "reader3", "reader4", "reader5"]
    assert SeatCounter.objects.get(event_id=event["id"]).taken == 6
    occurrence = org.get("/api/v1/occurrences", {"from": "2026-12-04T00:00:00+08:00",
                                                 "to": "2026-12-05T00:00:00+08:00"}).json()["items"][0]
    assert occurrence["seats_left"] == 4


def test_lifting_the_limit_confirms_everyone_waiting(org, readers, clock):
    event = salon(org, capacity=1)
    for reader in readers[:3]:
        register(reader, event, clock)

    assert org.patch(f"/api/v1/events/{event['id']}", {"capacity": None}).json()["capacity"] is None

    assert set(statuses(event).values()) == {"confirmed"}
    assert promoted(readers) == ["reader1", "reader2"]


def test_raising_the_capacity_of_a_series_promotes_only_for_occurrences_still_to_come(org, readers, clock):
    event = salon(org, capacity=1, rrule="FREQ=MONTHLY;BYDAY=1FR;COUNT=3")
    for occurrence in (FIRST, SECOND):
        register(readers[0], event, clock, occurrence)
        register(readers[1], event, clock, occurrence)
    cancel = org.post(f"/api/v1/events/{event['id']}/cancel", {"occurrence": SECOND, "reason": "元旦"})
    assert cancel.status_code == 200

    assert org.patch(f"/api/v1/events/{event['id']}", {"capacity": 2}).status_code == 200

    rows = Registration.objects.filter(event_id=event["id"], user=readers[1]).order_by("occurrence")
    assert [r.status for r in rows] == ["confirmed", "waitlisted"]  # not for the cancelled occurrence
    assert promoted(readers) == ["reader1"]


def test_lowering_the_capacity_below_the_confirmed_is_still_refused(org, readers, clock):
    event = salon(org, capacity=3)
    for reader in readers[:3]:
        register(reader, event, clock)

    response = org.patch(f"/api/v1/events/{event['id']}", {"capacity": 2})

    assert (response.status_code, response.json()["code"]) == (409, "capacity_below_confirmed")
    assert set(statuses(event).values()) == {"confirmed"}


def test_the_admin_changes_seats_as_the_api_does(org, organizer, readers, clock):
    from django.test import Client

    from tests.admin_forms import admin_form_data

    event = salon(org, capacity=2)
    for reader in readers[:4]:
        register(reader, event, clock)
    client = Client()
    client.force_login(organizer)
    url = f"/admin/events/event/{event['id']}/change/"

    lowered = client.post(url, {**admin_form_data(client, url), "capacity": ["1"]})
    raised = client.post(url, {**admin_form_data(client, url), "capacity": ["3"]})

    assert lowered.status_code == 200 and "已确认的报名人数超过新名额" in lowered.content.decode()
    assert raised.status_code == 302
    assert statuses(event) == {"reader0": "confirmed", "reader1": "confirmed", "reader2": "confirmed",
                               "reader3": "waitlisted"}
    assert promoted(readers) == ["reader2"]
    assert SeatCounter.objects.get(event_id=event["id"]).capacity == 3


# --- the venue's capacity (F7) -----------------------------------------------------------------------------


@pytest.fixture
def room(org):
    return org.post("/api/v1/venues", {"name": "法官书苑阅览室", "capacity": 3}).json()


def seats_left(org) -> int:
    items = org.get("/api/v1/occurrences", {"from": "2026-12-04T00:00:00+08:00",
                                            "to": "2026-12-05T00:00:00+08:00"}).json()["items"]
    return items[0]["seats_left"]


def cancel(user, row) -> None:
    assert api_for(user).delete(f"/api/v1/registrations/{row['id']}").status_code == 204


def test_a_smaller_venue_keeps_the_confirmed_and_shows_the_event_full(org, room, readers, clock):
    event = salon(org, venue=room["id"])
    rows = [register(r, event, clock) for r in readers[:4]]
    assert [r["status"] for r in rows] == ["confirmed", "confirmed", "confirmed", "waitlisted"]

    assert org.patch(f"/api/v1/venues/{room['id']}", {"capacity": 1}).status_code == 200

    assert org.get(f"/api/v1/events/{event['id']}").json()["capacity"] == 1
    assert statuses(event) == {"reader0": "confirmed", "reader1": "confirmed", "reader2": "confirmed",
                               "reader3": "waitlisted"}  # nobody un-confirmed
    assert seats_left(org) == 0
    later = register(readers[4], event, clock)
    assert (later["status"], later["position"]) == ("waitlisted", 2)
    # Cancellations bring the confirmed down to the new capacity before anyone moves up.
    cancel(readers[0], rows[0])
    cancel(readers[1], rows[1])
    assert promoted(readers) == [] and seats_left(org) == 0
    counter = SeatCounter.objects.get(event_id=event["id"])
    assert (counter.taken, counter.capacity) == (1, 1)
    cancel(readers[2], rows[2])
    assert promoted(readers) == ["reader3"]
    assert statuses(event)["reader3"] == "confirmed" and statuses(event)["reader4"] == "waitlisted"
    assert (SeatCounter.objects.get(event_id=event["id"]).taken, seats_left(org)) == (1, 0)
    # Saving the event with its seats unchanged (as the edit page does) is no attempt to lower them.
    kept = org.patch(f"/api/v1/events/{event['id']}", {"title": "读者沙龙（新）", "venue": room["id"], "capacity": None})
    assert kept.status_code == 200, kept.content


def test_a_larger_venue_promotes_the_waitlist_in_order(org, room, readers, clock):
    smaller = org.post("/api/v1/venues", {"name": "小会议室", "capacity": 1}).json()
    event = salon(org, venue=smaller["id"])
    own = salon(org, venue=smaller["id"], capacity=1, title="法官茶座")  # its own capacity: not the venue's
    for reader in readers[:4]:
        register(reader, event, clock)
        register(reader, own, clock)

    assert org.patch(f"/api/v1/venues/{smaller['id']}", {"capacity": 3}).status_code == 200
    later = register(readers[4], event, clock)

    assert statuses(event) == {"reader0": "confirmed", "reader1": "confirmed", "reader2": "confirmed",
                               "reader3": "waitlisted", "reader4": "waitlisted"}
    assert (later["status"], later["position"]) == ("waitlisted", 2)
    assert promoted(readers) == ["reader1", "reader2"]
    assert list(Registration.objects.filter(event_id=own["id"], status="confirmed")
                .values_list("user__username", flat=True)) == ["reader0"]
    assert (SeatCounter.objects.get(event_id=event["id"]).capacity,
            SeatCounter.objects.get(event_id=own["id"]).capacity) == (3, 1)


def test_the_venue_admin_changes_seats_as_the_api_does(org, room, readers, clock):
    from django.contrib.auth.models import User
    from django.test import Client

    from tests.admin_forms import admin_form_data

    event = salon(org, venue=room["id"])
    for reader in readers[:5]:
        register(reader, event, clock)
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="secret-pass-1"))
    url = f"/admin/events/venue/{room['id']}/change/"

    response = client.post(url, {**admin_form_data(client, url), "capacity": ["4"]})

    assert response.status_code == 302
    assert Venue.objects.get(pk=room["id"]).capacity == 4
    assert promoted(readers) == ["reader3"]
    assert statuses(event)["reader4"] == "waitlisted"
