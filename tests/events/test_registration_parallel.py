"""Registration under real parallel load: 30 judges register at once for 10 seats through a live
multi-process server; the seat counter's CHECK constraint and the event lock keep it exact."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.services import token_issue
from events.models import Event, Registration, SeatCounter, Venue
from tests.conftest import make_user
from tests.live import all_at_once, assert_clean_log, delete, post

pytestmark = pytest.mark.django_db(transaction=True)


def test_thirty_judges_ten_seats_then_ten_cancel_at_once(server):
    base, log = server
    organizer = make_user("org-parallel", Role.ORGANIZER)
    room = Venue.objects.create(name="法官书苑阅览室", capacity=10)
    start = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    event = Event.objects.create(title="读者沙龙", kind="salon", start=start, end=start + timedelta(hours=2), venue=room)
    event.organizers.add(organizer)
    tokens = [token_issue(user=make_user(f"rj{i}", Role.JUDGE), name="p").raw for i in range(30)]
    results = all_at_once(
        [lambda t=t: post(f"{base}/api/v1/events/{event.pk}/registrations", t, {"occurrence": None}) for t in tokens]
    )
    assert [status for status, _ in results] == [201] * 30
    statuses = [body["status"] for _, body in results]
    assert statuses.count("confirmed") == 10 and statuses.count("waitlisted") == 20
    assert sorted(body["position"] for _, body in results if body["status"] == "waitlisted") == list(range(1, 21))
    assert SeatCounter.objects.get(event=event).taken == 10

    # The ten confirmed cancel at once: exactly ten of the waitlisted are promoted, in waitlist order.
    owner = {body["id"]: tokens[i] for i, (_, body) in enumerate(results)}
    confirmed = [body["id"] for _, body in results if body["status"] == "confirmed"]
    first_ten = sorted((b for _, b in results if b["status"] == "waitlisted"), key=lambda b: b["position"])[:10]
    cancels = all_at_once([lambda r=r: delete(f"{base}/api/v1/registrations/{r}", owner[r]) for r in confirmed])
    assert [status for status, _ in cancels] == [204] * 10
    now_confirmed = set(Registration.objects.filter(event=event, status="confirmed").values_list("pk", flat=True))
    assert now_confirmed == {b["id"] for b in first_ten}
    assert SeatCounter.objects.get(event=event).taken == 10
    assert_clean_log(log)
