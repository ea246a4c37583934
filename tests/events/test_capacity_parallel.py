"""A venue's capacity changed while judges register and cancel at the same moment, through a live multi-process
server (finding F7): the seats follow the venue, the waitlist keeps its order, and nobody confirmed is
un-confirmed by a smaller room."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.services import token_issue
from events.models import Event, Registration, SeatCounter, Venue
from tests.conftest import make_user
from tests.live import all_at_once, assert_clean_log, delete, patch, post

pytestmark = pytest.mark.django_db(transaction=True)


def queue(event: Event) -> list[Registration]:
    return list(Registration.objects.filter(event=event).exclude(status="cancelled").order_by("created_at", "id"))


def assert_in_order(event: Event) -> None:
    """The confirmed come first in the order of registering: no one waits who registered before someone confirmed."""
    order = [r.status for r in queue(event)]
    assert order == sorted(order, key=lambda s: s != "confirmed"), order


def test_venue_capacity_changes_racing_registrations_and_cancellations(server):
    base, log = server
    organizer = make_user("org-venue", Role.ORGANIZER)
    boss = token_issue(user=organizer, name="p").raw
    room = Venue.objects.create(name="法官书苑阅览室", capacity=2)
    start = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    event = Event.objects.create(title="读者沙龙", kind="salon", start=start, end=start + timedelta(hours=2), venue=room)
    event.organizers.add(organizer)
    tokens = [token_issue(user=make_user(f"vj{i}", Role.JUDGE), name="p").raw for i in range(10)]

    # Ten register while the room grows from 2 to 6 seats.
    calls = [lambda t=t: post(f"{base}/api/v1/events/{event.pk}/registrations", t, {"occurrence": None})
             for t in tokens]
    calls.append(lambda: patch(f"{base}/api/v1/venues/{room.pk}", boss, {"capacity": 6}))
    results = all_at_once(calls)

    assert [status for status, _ in results] == [201] * 10 + [200]
    assert [r.status for r in queue(event)] == ["confirmed"] * 6 + ["waitlisted"] * 4
    counter = SeatCounter.objects.get(event=event)
    assert (counter.taken, counter.capacity) == (6, 6)

    # Two of the confirmed cancel while the room shrinks to 3: whichever comes first, the other four stay
    # confirmed, and a seat freed before the shrink went to the first waiting.
    owner = {body["id"]: tokens[i] for i, (_, body) in enumerate(results[:10])}
    confirmed = [r.pk for r in queue(event) if r.status == "confirmed"]
    leaving, staying = confirmed[:2], confirmed[2:]
    calls = [lambda r=r: delete(f"{base}/api/v1/registrations/{r}", owner[r]) for r in leaving]
    calls.append(lambda: patch(f"{base}/api/v1/venues/{room.pk}", boss, {"capacity": 3}))
    results = all_at_once(calls)

    assert [status for status, _ in results] == [204, 204, 200]
    assert set(Registration.objects.filter(pk__in=staying).values_list("status", flat=True)) == {"confirmed"}
    assert_in_order(event)
    taken = Registration.objects.filter(event=event, status="confirmed").count()
    assert 4 <= taken <= 6
    counter = SeatCounter.objects.get(event=event)
    assert (counter.taken, counter.capacity) == (taken, max(3, taken))
    assert_clean_log(log)
