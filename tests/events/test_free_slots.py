"""The nearest free starts at a venue offered when a booking clashes (events.selectors.free_slots), on a fixed
calendar: the library clock stands at Wednesday 2026-12-02 10:00."""

from datetime import datetime, timedelta

import pytest

from events import selectors, services
from events.models import Venue
from tests.clock import SH, clock  # noqa: F401  (autouse: time stands still)


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026 if month == 12 else 2027, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def room(db):
    return Venue.objects.create(name="法官书苑阅览室", capacity=20)


@pytest.fixture
def book(organizer, room):
    def booking(title: str, start: datetime, end: datetime, rrule: str = ""):
        return services.event_create(data=services.EventData(title=title, kind="salon", start=start, end=end,
                                                             venue=room.pk, rrule=rrule), actor=organizer, force=True)
    return booking


def test_a_one_off_gets_the_nearest_free_starts_of_its_day_ties_to_the_earlier(room, book):
    book("读书会", at(9, 14), at(9, 16))
    book("茶座", at(9, 16, 30), at(9, 17, 30))

    slots = selectors.free_slots(venue_id=room.pk, start=at(9, 15), end=at(9, 16))

    # 13:00 is 2 h away; 12:30 and 17:30 are both 2.5 h away (the earlier first); all others clash.
    assert slots == [at(9, 12, 30), at(9, 13), at(9, 17, 30)]


def test_a_day_booked_from_opening_to_closing_moves_to_the_next_morning(room, book):
    book("全天培训", at(9, 8), at(9, 21))

    slots = selectors.free_slots(venue_id=room.pk, start=at(9, 15), end=at(9, 16))

    assert slots == [at(10, 8), at(10, 8, 30), at(10, 9)]


def test_starts_already_past_are_never_offered(room, book):
    book("上午讲座", at(2, 10), at(2, 12))  # today; the clock says 10:00

    slots = selectors.free_slots(venue_id=room.pk, start=at(2, 10, 30), end=at(2, 11, 30))

    assert slots == [at(2, 12), at(2, 12, 30), at(2, 13)]


def test_a_long_event_only_gets_starts_that_end_by_closing_time(room, book):
    book("晚间", at(9, 8), at(9, 12))

    slots = selectors.free_slots(venue_id=room.pk, start=at(9, 9), end=at(9, 18), count=2)

    assert slots == [at(9, 12), at(10, 8)]  # 12:00–21:00 is that day's only nine free hours
    assert selectors.free_slots(venue_id=room.pk, start=at(9, 9), end=at(9, 23)) == []  # longer than the hours


def test_a_series_keeps_its_days_and_moves_to_a_time_free_on_every_one(room, book):
    book("周三读书会", at(9, 19), at(9, 20, 30), rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=8")
    book("临时讲座", at(16, 17), at(16, 18, 30))  # one Wednesday only

    slots = selectors.free_slots(venue_id=room.pk, start=at(9, 19), end=at(9, 20),
                                 rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=4")

    # 16:30–20:30 clash on 12-16 (the lecture) or on every Wednesday (the reading group).
    assert slots == [at(9, 15), at(9, 15, 30), at(9, 16)]


def test_the_event_being_edited_does_not_block_itself(room, book):
    own = book("周三读书会", at(9, 19), at(9, 20, 30), rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=8")
    book("临时讲座", at(16, 17), at(16, 18, 30))

    slots = selectors.free_slots(venue_id=room.pk, start=at(9, 19), end=at(9, 20),
                                 rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=4", exclude_event=own.pk)

    assert slots == [at(9, 18, 30), at(9, 19, 30), at(9, 20)]  # 18:00 would clash with the lecture on 12-16


def test_bookings_elsewhere_and_cancelled_ones_leave_the_venue_free(room, book, organizer):
    other = Venue.objects.create(name="第三审判庭", capacity=40)
    services.event_create(data=services.EventData(title="别处", kind="salon", start=at(9, 14), end=at(9, 16),
                                                  venue=other.pk), actor=organizer)
    cancelled = book("已取消", at(9, 13), at(9, 15))
    services.event_cancel(event=cancelled, actor=organizer, occurrence=None)

    slots = selectors.free_slots(venue_id=room.pk, start=at(9, 15), end=at(9, 16))

    assert slots == [at(9, 14), at(9, 14, 30), at(9, 15, 30)]


def test_bookings_read_from_stale_occurrences_count_too(room, book):
    from events.models import Event

    event = book("读书会", at(9, 14), at(9, 16))
    Event.objects.filter(pk=event.pk).update(title="读书会（改）")  # stored occurrences no longer current

    assert selectors.venue_bookings(venue_id=room.pk, start=at(9, 0), end=at(10, 0)) == [(at(9, 14), at(9, 16))]
    assert selectors.free_slots(venue_id=room.pk, start=at(9, 15), end=at(9, 16), count=1) == [at(9, 16)]


def test_the_search_window_is_a_week(room, book):
    for day in range(9, 17):
        book(f"满 {day}", at(day, 8), at(day, 21))

    assert selectors.free_slots(venue_id=room.pk, start=at(9, 15), end=at(9, 16)) == []
    assert timedelta(days=selectors.SLOT_DAYS_AHEAD) == timedelta(days=7)
