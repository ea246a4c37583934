"""Bookings of one venue under real parallel load (attack round 17): several series at the same room each move an
occurrence into the same free slot at once, through a live multi-process server.  The conflict check runs again
inside the write transaction, under the venue's lock, so exactly one move is booked and every other is refused
with 409 ``venue_conflict``."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.services import token_issue
from events import services
from events.models import Event, Override, Venue
from tests.conftest import make_user
from tests.live import all_at_once, assert_clean_log, post

pytestmark = pytest.mark.django_db(transaction=True)


def test_series_moved_into_one_slot_of_one_room_at_once_book_it_once(server):
    base, log = server
    organizer = make_user("org-venue", Role.ORGANIZER)
    room = Venue.objects.create(name="法官书苑阅览室", capacity=20)
    day = timezone.localtime(timezone.now() + timedelta(days=7)).replace(hour=8, minute=0, second=0, microsecond=0)
    series = [services.event_create(data=services.EventData(
        title=f"读书会{i}", kind="reading", start=day + timedelta(hours=2 * i), end=day + timedelta(hours=2 * i, minutes=90),
        venue=room.pk, rrule="FREQ=WEEKLY;COUNT=4"), actor=organizer) for i in range(4)]  # 08:00, 10:00, 12:00, 14:00
    token = token_issue(user=organizer, name="p").raw

    results = all_at_once([
        lambda e=e: post(f"{base}/api/v1/events/{e.pk}/occurrences/bulk", token, {
            "action": "move", "occurrences": [e.start.isoformat()], "time": "19:00"})
        for e in series])

    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409, 409, 409], results
    assert sorted(body.get("code", "") for status, body in results if status == 409) == ["venue_conflict"] * 3
    moved = Override.objects.filter(event__in=series)
    assert moved.count() == 1
    assert timezone.localtime(moved.get().start).hour == 19
    assert Event.objects.filter(venue=room).count() == 4
    assert_clean_log(log)
