"""Reads of events: visible events, occurrences in a range with seats left, registrations."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet

from accounts.models import Role
from accounts.selectors import user_has_role
from events.listing import covering
from events.models import Event, ListedOccurrence, Override, Registration, SeatCounter, Speaker
from events.recurrence import MAX_EVENT_LENGTH, Occurrence, occurrences_within
from events.services import SINGLE, waitlist_position
from library.models import Paper
from library.selectors import paper_visible_q


def event_queryset(*, viewer: AbstractBaseUser | AnonymousUser) -> QuerySet[Event]:
    events = Event.objects.select_related("venue").prefetch_related(
        Prefetch("speakers", queryset=Speaker.objects.select_related("user")),
        "attachments",
        "books",
        # A public event may list an internal paper: its title is for logged-in readers only.
        Prefetch("papers", queryset=Paper.objects.filter(paper_visible_q(viewer))),
        "organizers",
        Prefetch("overrides", queryset=Override.objects.select_related("event")),
    )
    if not viewer.is_authenticated:
        events = events.filter(visibility=Event.Visibility.PUBLIC)
    return events


def event_get(*, viewer, event_id: int) -> Event | None:
    return event_queryset(viewer=viewer).filter(pk=event_id).first()


def event_list(*, viewer, kind: str | None = None, venue: int | None = None) -> QuerySet[Event]:
    events = event_queryset(viewer=viewer).order_by("start", "id")
    if kind:
        events = events.filter(kind=kind)
    if venue:
        events = events.filter(venue_id=venue)
    return events


def can_manage(user, event: Event) -> bool:
    """Organizers manage the events they organize; superusers manage all."""
    if not user.is_authenticated or not user_has_role(user, Role.ORGANIZER):
        return False
    return user.is_superuser or event.organizers.filter(pk=user.pk).exists()


def managed_events(user) -> QuerySet[Event]:
    """The events ``user`` may manage: the rule of ``can_manage`` as a queryset (the admin lists these)."""
    if not user.is_authenticated or not user_has_role(user, Role.ORGANIZER):
        return Event.objects.none()
    if user.is_superuser:
        return Event.objects.all()
    return Event.objects.filter(organizers=user)


#: The most occurrences one list (an API response, the list and month pages) shows: a court's whole
#: programme of 400 days fits many times over; past it the list ends and says it was cut short.
MAX_LISTED = 1000
#: The budgets below apply only to events expanded lazily: those whose stored occurrences
#: (``events.listing``) do not cover the range — a range beyond the stored window (years ahead), or an
#: event changed by other means than the services and not yet written again by the hourly job.
#: Rule instances expanded for one listing, shared out among those events (at least 2 each): the
#: listing's cost stays bounded however many there are (an attack's 2,000 daily series, each expanded
#: for 1,001 instances, made one anonymous request take 6 s).
MAX_EXPANDED = 20_000
#: Months of rule periods scanned for one listing, shared out the same way (each event gets at least
#: 13): a rule that rarely matches scans month after month producing nothing (the fourth attack's 1,000
#: "29 February" daily series made one listing take 3.5 s).  The scan of a daily rule costs about 0.08 ms
#: a month here, so a listing scans for well under a second however many events there are.
MAX_SCANNED_MONTHS = 6_000
#: Events one listing expands lazily at all, the earliest-starting first.  An event begins no earlier
#: than its start, so the list is exact up to the start of the first event left out (and ``truncated``).
MAX_LISTED_EVENTS = 500


@dataclass
class OccurrencePage:
    items: list[dict]
    #: True when more occurrences overlap the range than ``items`` holds (the first by start are listed).
    truncated: bool


def _stored_occurrences(*, viewer, start: datetime, end: datetime, kinds, venue, event, limit: int) -> list[Occurrence]:
    """The first ``limit`` + 1 stored occurrences overlapping [start, end) of the visible events whose rows
    cover the range: one query on the ``start`` index (an occurrence lasts at most MAX_EVENT_LENGTH, so
    those running when the range begins started at most that long before)."""
    rows = ListedOccurrence.objects.filter(
        start__lt=end, end__gt=start, start__gte=start - MAX_EVENT_LENGTH,
        event__listed_from__lte=start, event__listed_until__gte=end,
    )
    if not viewer.is_authenticated:
        rows = rows.filter(event__visibility=Event.Visibility.PUBLIC)
    if kinds:
        rows = rows.filter(event__kind__in=kinds)
    if venue:
        rows = rows.filter(venue_id=venue)
    if event is not None:
        rows = rows.filter(event_id=event)
    rows = rows.select_related("event__venue", "venue").order_by("start", "event_id", "recurrence_id")[: limit + 1]
    return [
        Occurrence(event=row.event, recurrence_id=row.recurrence_id if row.event.rrule else None, start=row.start,
                   end=row.end, title=row.title, venue_id=row.venue_id, status=row.status, venue=row.venue)
        for row in rows
    ]


def _expanded_occurrences(*, viewer, start: datetime, end: datetime, kinds, venue, event,
                          limit: int) -> tuple[list[Occurrence], datetime | None]:
    """Occurrences overlapping [start, end) of the visible events whose rows do not cover the range,
    expanded within the listing's budgets, and the instant after which the list is not exact (None: exact).

    ``MAX_EXPANDED`` rule instances and ``MAX_SCANNED_MONTHS`` months of scanning are shared out among the
    events (while there are few, each gets all it needs); an event that used its share was not looked at
    past its horizon, so the list is cut after the earliest such horizon."""
    # One-off events over before the range cannot be in it; series are judged by their rule.
    events = (event_queryset(viewer=viewer).filter(start__lt=end).exclude(rrule="", end__lte=start)
              .exclude(covering(start, end)))
    if kinds:
        events = events.filter(kind__in=kinds)
    if event is not None:
        events = events.filter(pk=event)
    events = list(events.order_by("start", "pk")[: MAX_LISTED_EVENTS + 1])
    found, cutoff = [], None
    if len(events) > MAX_LISTED_EVENTS:
        cutoff = events[MAX_LISTED_EVENTS].start - timedelta(microseconds=1)
        events = events[:MAX_LISTED_EVENTS]
    share = max(2, min(limit + 1, MAX_EXPANDED // max(1, len(events))))
    months = max(1, MAX_SCANNED_MONTHS // max(1, len(events)))
    for series in events:
        listed, horizon = occurrences_within(series, start, end, overrides=list(series.overrides.all()),
                                             limit=share, max_steps=months)
        if horizon is not None:
            cutoff = horizon if cutoff is None else min(cutoff, horizon)
        found += [occ for occ in listed if not venue or occ.venue_id == venue]
    return found, cutoff


def occurrence_list(*, viewer, start: datetime, end: datetime, kinds: list[str] | None = None,
                    venue: int | None = None, event: int | None = None, limit: int | None = None) -> OccurrencePage:
    """The first ``limit`` (``MAX_LISTED``) occurrences overlapping [start, end) of the visible events
    (or of one, ``event``), sorted by start, and whether the list was cut.

    Stored occurrences (``events.listing``) answer for every event whose rows cover the range; the rest
    are expanded lazily within budgets, and where those cut a series short the list ends there — what it
    shows is exact, and ``truncated`` says that more may follow.
    """
    limit = MAX_LISTED if limit is None else limit
    filters = {"viewer": viewer, "start": start, "end": end, "kinds": kinds, "venue": venue, "event": event,
               "limit": limit}
    stored = _stored_occurrences(**filters)
    expanded, cutoff = _expanded_occurrences(**filters)
    truncated = len(stored) > limit
    # The first ``limit`` + 1 stored rows hold every stored occurrence that sorts before the last of them,
    # so the first ``limit`` of the merged list are exact.
    found = sorted(stored + expanded, key=lambda o: (o.start, o.event.pk, o.recurrence_id or o.start))
    if cutoff is not None and cutoff < end:
        # Cut before the end of the range asked for: what follows was not looked at, found or not.
        found = [occ for occ in found if occ.start <= cutoff]
        truncated = True
    truncated = truncated or len(found) > limit
    found = found[:limit]
    keys = {o.recurrence_id if o.event.rrule else SINGLE for o in found}
    counters: dict[tuple[int, datetime], SeatCounter] = {
        (c.event_id, c.occurrence): c
        for c in SeatCounter.objects.filter(event__in={o.event.pk for o in found}, occurrence__in=keys)
    } if found else {}
    items = []
    for occ in found:
        series = occ.event
        seats = series.seats
        counter = counters.get((series.pk, occ.recurrence_id if series.rrule else SINGLE))
        seats_left = None if seats is None else (counter.capacity - counter.taken if counter else seats)
        if occ.venue is not None or occ.venue_id is None:
            venue_obj = occ.venue
        else:
            venue_obj = occ.override.venue if occ.override is not None and occ.override.venue_changed else series.venue
        items.append(
            {
                "event": series.pk,
                "title": occ.title,
                "kind": series.kind,
                "start": occ.start,
                "end": occ.end,
                "all_day": series.all_day,
                "venue": occ.venue_id,
                "venue_name": venue_obj.name if venue_obj else None,
                "status": occ.status,
                "recurrence_id": occ.recurrence_id,
                "seats_left": max(0, seats_left) if seats_left is not None else None,
            }
        )
    return OccurrencePage(items=items, truncated=truncated)


def registration_queryset() -> QuerySet[Registration]:
    return Registration.objects.select_related("event", "user")


def registration_rows(registrations) -> list[dict]:
    return [
        {
            "id": r.pk,
            "event": r.event_id,
            "title": r.event.title,
            "occurrence": r.occurrence,
            "user": r.user.get_username(),
            "status": r.status,
            "position": waitlist_position(r),
            "checked_in_at": r.checked_in_at,
            "created_at": r.created_at,
        }
        for r in registrations
    ]
