"""Reads of events: visible events, occurrences in a range with seats left, registrations."""

import base64
import binascii
import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.selectors import user_has_role
from core.errors import InvalidInput
from events.listing import covering
from events.models import Attendance, Event, ListedOccurrence, Override, Registration, SeatCounter, Speaker, Venue
from events.recurrence import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_EVENT_LENGTH,
    Occurrence,
    conflict_window,
    local_tz,
    occurrences,
    occurrences_within,
    rule_in_words,
)
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
#: Events one listing expands lazily at all, chosen in turns across the organizers who created them (each
#: organizer's earliest-starting first): one organizer's mass of series cannot push another's event out.
#: When some are left out the list is ``truncated`` (their occurrences may be missing anywhere in it).
MAX_LISTED_EVENTS = 500

#: A position in a list's order: (start, event id, recurrence id — a single event's own start).
Cursor = tuple[datetime, int, datetime]


@dataclass
class OccurrencePage:
    items: list[dict]
    #: True when the list does not hold every occurrence overlapping the range: more follow (``next``), or
    #: events were left out of the lazy expansion (see ``occurrence_list``).
    truncated: bool
    #: The cursor (``after``) of the page that continues this one; None when nothing follows it.
    next: str | None = None


def cursor_of(item: dict) -> str:
    """An opaque cursor for the position just after ``item`` (an entry of ``OccurrencePage.items``)."""
    start = item["start"].astimezone(UTC)
    rid = (item["recurrence_id"] or item["start"]).astimezone(UTC)
    raw = f"{start.isoformat()}|{item['event']}|{rid.isoformat()}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def parse_cursor(value: str, field: str = "after") -> Cursor:
    """The position a cursor made by ``cursor_of`` names; anything else is refused naming ``field``."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        start_text, event_text, rid_text = raw.split("|")
        start, rid, event = datetime.fromisoformat(start_text), datetime.fromisoformat(rid_text), int(event_text)
        # An event id is a 64-bit database integer: a larger one is no id (the eighth attack's 2**63 reached
        # SQLite and was a 500).
        if start.tzinfo is None or rid.tzinfo is None or not 1 <= event < 2**63 or not all(
                FIRST_YEAR - 1 <= dt.year <= LAST_YEAR + 1 for dt in (start, rid)):
            raise ValueError(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(field, _("不是有效的翻页游标：“%(value)s”") % {"value": value[:40]}) from None
    return start, event, rid


def _key(occ: Occurrence) -> Cursor:
    return occ.start, occ.event.pk, occ.recurrence_id or occ.start


def _stored_rows(*, viewer, start: datetime, end: datetime, kinds, venue, event, covered, starting: bool):
    """Stored occurrences overlapping [start, end) (or, ``starting``, beginning in it) of the visible events
    whose rows cover ``covered``.  Visibility and kind are the rows' own copies, read on their indexes."""
    if starting:
        rows = ListedOccurrence.objects.filter(start__gte=start, start__lt=end)
    else:
        rows = ListedOccurrence.objects.filter(start__lt=end, end__gt=start, start__gte=start - MAX_EVENT_LENGTH)
    rows = rows.filter(event__listed_from__lte=covered[0], event__listed_until__gte=covered[1])
    if not viewer.is_authenticated:
        rows = rows.filter(visibility=Event.Visibility.PUBLIC)
    if kinds:
        rows = rows.filter(kind__in=kinds)
    if venue:
        rows = rows.filter(venue_id=venue)
    if event is not None:
        rows = rows.filter(event_id=event)
    return rows


def _stored_occurrences(*, viewer, start: datetime, end: datetime, kinds, venue, event, limit: int,
                        after: Cursor | None = None, covered: tuple[datetime, datetime] | None = None,
                        starting: bool = False) -> list[Occurrence]:
    """The first ``limit`` + 1 stored occurrences overlapping [start, end) (after ``after``) of the visible
    events whose rows cover the range (or ``covered``): one query on the ``start`` index (an occurrence
    lasts at most MAX_EVENT_LENGTH, so those running when the range begins started at most that long
    before).  The cursor is a condition on the ordering columns, so a later page costs what the first does."""
    rows = _stored_rows(viewer=viewer, start=start, end=end, kinds=kinds, venue=venue, event=event,
                        covered=covered or (start, end), starting=starting)
    if after is not None:
        at, pk, rid = after
        rows = rows.filter(Q(start__gt=at) | Q(start=at, event_id__gt=pk) | Q(start=at, event_id=pk, recurrence_id__gt=rid))
    # Plain tuples, and each event and venue read once: a model instance per row (with its event and venue
    # joined in) made a page of 1,000 take 100 ms of object building.
    rows = list(rows.order_by("start", "event_id", "recurrence_id")
                .values_list("event_id", "recurrence_id", "start", "end", "title", "venue_id", "status")[: limit + 1])
    # What the items read of an event (any other field is loaded if asked for).
    events = (Event.objects.select_related("venue")
              .only("kind", "all_day", "rrule", "start", "capacity", "status", "venue__name", "venue__capacity")
              .in_bulk({row[0] for row in rows}))
    venues = Venue.objects.in_bulk({row[5] for row in rows if row[5] is not None})
    return [
        Occurrence(event=events[event_id], recurrence_id=rid if events[event_id].rrule else None, start=at, end=until,
                   title=title, venue_id=venue_id, status=status, venue=venues.get(venue_id))
        for event_id, rid, at, until, title, venue_id, status in rows
    ]


def _expanded_occurrences(*, viewer, start: datetime, end: datetime, kinds, venue, event, limit: int,
                          after: Cursor | None = None) -> tuple[list[Occurrence], datetime | None, bool]:
    """Occurrences overlapping [start, end) (after ``after``) of the visible events whose rows do not cover
    the range, expanded within the listing's budgets; the instant after which the list is not exact (None:
    exact); and whether events were left out (``MAX_LISTED_EVENTS``).

    ``MAX_EXPANDED`` rule instances and ``MAX_SCANNED_MONTHS`` months of scanning are shared out among the
    events (while there are few, each gets all it needs); an event that used its share was not looked at
    past its horizon, so the list is cut after the earliest such horizon.  With a cursor, rules are
    expanded from its start, so the budgets of a later page are spent on what that page shows."""
    begin = max(start, after[0]) if after is not None else start
    if begin >= end:
        return [], None, False
    # An override may move an occurrence to before its series' start: such events are candidates too.
    moved_in = Exists(Override.objects.filter(event=OuterRef("pk"), start__lt=end, end__gt=begin))
    # One-off events over before the range cannot be in it; series are judged by their rule.
    events = (event_queryset(viewer=viewer).filter(Q(start__lt=end) | moved_in).exclude(rrule="", end__lte=begin)
              .exclude(covering(start, end)))
    if kinds:
        events = events.filter(kind__in=kinds)
    if event is not None:
        events = events.filter(pk=event)
    # In turns across organizers: each one's first event, then each one's second …
    turn = Window(RowNumber(), partition_by=[F("created_by")], order_by=[F("start").asc(), F("pk").asc()])
    events = list(events.annotate(turn=turn).order_by("turn", "start", "pk")[: MAX_LISTED_EVENTS + 1])
    left_out = len(events) > MAX_LISTED_EVENTS
    events = events[:MAX_LISTED_EVENTS]
    found, cutoff = [], None
    share = max(2, min(limit + 1, MAX_EXPANDED // max(1, len(events))))
    months = max(1, MAX_SCANNED_MONTHS // max(1, len(events)))
    for series in events:
        listed, horizon = occurrences_within(series, begin, end, overrides=list(series.overrides.all()),
                                             limit=share, max_steps=months)
        if horizon is not None:
            cutoff = horizon if cutoff is None else min(cutoff, horizon)
        found += [occ for occ in listed
                  if (not venue or occ.venue_id == venue) and (after is None or _key(occ) > after)]
    return found, cutoff, left_out


def occurrence_list(*, viewer, start: datetime, end: datetime, kinds: list[str] | None = None,
                    venue: int | None = None, event: int | None = None, limit: int | None = None,
                    after: Cursor | None = None) -> OccurrencePage:
    """The first ``limit`` (``MAX_LISTED``) occurrences overlapping [start, end) of the visible events
    (or of one, ``event``), sorted by (start, event, recurrence id) and strictly after ``after`` when given;
    whether the list was cut, and the cursor of the page that follows.

    Stored occurrences (``events.listing``) answer for every event whose rows cover the range; the rest
    are expanded lazily within budgets.  What the list shows is always real, and:

    - it is exact (every occurrence of every visible event, in order) up to its last item, or up to the
      earliest horizon where a budget cut a series short; ``next`` then continues from the last item;
    - except when more than ``MAX_LISTED_EVENTS`` events needed expanding: those left out (an organizer's
      events beyond its turn) may have occurrences missing anywhere in the range.  ``truncated`` is then
      true even when ``next`` is None (a later page would not hold them either).
    """
    limit = MAX_LISTED if limit is None else limit
    filters = {"viewer": viewer, "start": start, "end": end, "kinds": kinds, "venue": venue, "event": event,
               "limit": limit, "after": after}
    stored = _stored_occurrences(**filters)
    expanded, cutoff, left_out = _expanded_occurrences(**filters)
    more = len(stored) > limit
    # The first ``limit`` + 1 stored rows hold every stored occurrence that sorts before the last of them,
    # so the first ``limit`` of the merged list are exact.
    found = sorted(stored + expanded, key=_key)
    if cutoff is not None and cutoff < end:
        # Cut before the end of the range asked for: what follows was not looked at, found or not.
        found = [occ for occ in found if occ.start <= cutoff]
        more = True
    more = more or len(found) > limit
    found = found[:limit]
    items = _items(found)
    return OccurrencePage(items=items, truncated=more or left_out,
                          next=cursor_of(items[-1]) if more and items else None)


def occurrence_days(*, viewer, days: list[tuple[date, datetime, datetime]], kinds: list[str] | None = None,
                    per_day: int) -> tuple[dict[date, dict], bool]:
    """For a calendar: the first ``per_day`` occurrences beginning on each of ``days`` (consecutive (day,
    its first instant, the next day's) triples) and how many more begin that day, and whether the answer
    may be incomplete (see ``occurrence_list``).

    Each day's stored occurrences are a query of their own (at most ``per_day`` + 1 rows), so one busy day
    cannot push the others out; the counts are one grouped query over the month's rows (an index range:
    cheap next to rendering them).  Events the rows do not cover are expanded once for the whole span."""
    start, end = days[0][1], days[-1][2]
    common = {"viewer": viewer, "kinds": kinds, "venue": None, "event": None}
    expanded, cutoff, left_out = _expanded_occurrences(**common, start=start, end=end, limit=MAX_LISTED)
    cut = cutoff is not None and cutoff < end
    expanded = [occ for occ in expanded if occ.start >= start and not (cut and occ.start > cutoff)]
    tz = days[0][1].tzinfo
    counts = dict(
        _stored_rows(**common, start=start, end=end, covered=(start, end), starting=True)
        .annotate(day=TruncDate("start", tzinfo=tz)).order_by().values_list("day").annotate(n=Count("id"))
    )
    shown: dict[date, tuple[list[Occurrence], int]] = {}
    for day, first, after_last in days:
        stored = _stored_occurrences(**common, start=first, end=after_last, limit=per_day, covered=(start, end),
                                     starting=True)
        lazy = [occ for occ in expanded if first <= occ.start < after_last]
        merged = sorted(stored + lazy, key=_key)[:per_day]
        shown[day] = (merged, counts.get(day, 0) + len(lazy) - len(merged))
    items = iter(_items([occ for merged, _more in shown.values() for occ in merged]))
    out = {day: {"items": [next(items) for _occ in merged], "more": more} for day, (merged, more) in shown.items()}
    return out, cut or left_out


def _items(found: list[Occurrence]) -> list[dict]:
    """Occurrences as listings show them, with the seats left (one query for all)."""
    keys = {o.recurrence_id if o.event.rrule else SINGLE for o in found}
    counters: dict[tuple[int, datetime], SeatCounter] = {
        (c.event_id, c.occurrence): c
        for c in SeatCounter.objects.filter(event__in={o.event.pk for o in found}, occurrence__in=keys)
    } if found else {}
    items = []
    words: dict[int, str] = {}  # each series' rule in words, once per listing
    for occ in found:
        series = occ.event
        if series.rrule and series.pk not in words:
            words[series.pk] = rule_in_words(series.rrule, series.start)
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
                "repeat": words.get(series.pk, "") if series.rrule else "",
            }
        )
    return items


def registration_queryset() -> QuerySet[Registration]:
    return Registration.objects.select_related("event", "user", "user__profile")


def registration_rows(registrations) -> list[dict]:
    return [
        {
            "id": r.pk,
            "event": r.event_id,
            "title": r.event.title,
            "occurrence": r.occurrence,
            "user": r.user.get_username(),
            "name": _person(r.user)[0],
            "status": r.status,
            "status_label": str(Registration.Status(r.status).label),
            "position": waitlist_position(r),
            "checked_in_at": r.checked_in_at,
            "created_at": r.created_at,
        }
        for r in registrations
    ]


@dataclass
class RegisteredSession:
    """When a registration's session takes place now: ``start``/``end`` with its exception applied (None for a
    registration of a whole series), ``original`` the planned start when the session was moved (else None), and
    ``status`` the session's (``cancelled`` when it or the whole event was cancelled)."""

    start: datetime | None
    end: datetime | None
    original: datetime | None
    status: str
    reason: str = ""

    @property
    def whole_series(self) -> bool:
        return self.start is None


def registered_sessions(registrations) -> dict[int, RegisteredSession]:
    """For each of ``registrations`` (their events loaded), keyed by its id, the session it is for as it stands:
    a one-off event's own time, a series occurrence with its exception applied (moved or cancelled), or a whole
    series.  One query (the exceptions), whatever the number of registrations."""
    registrations = list(registrations)
    wanted = [(r.event_id, r.occurrence) for r in registrations if r.occurrence is not None and r.event.rrule]
    overrides = {}
    if wanted:
        found = Override.objects.filter(event_id__in={e for e, _o in wanted},
                                        recurrence_id__in={o for _e, o in wanted})
        overrides = {(o.event_id, o.recurrence_id): o for o in found}
    out = {}
    for r in registrations:
        event = r.event
        if not event.rrule:
            session = RegisteredSession(start=event.start, end=event.end, original=None, status=event.status)
        elif r.occurrence is None:
            session = RegisteredSession(start=None, end=None, original=None, status=event.status)
        else:
            override = overrides.get((r.event_id, r.occurrence))
            if override is None:
                session = RegisteredSession(start=r.occurrence, end=r.occurrence + (event.end - event.start),
                                            original=None, status=Event.Status.SCHEDULED)
            else:
                session = RegisteredSession(start=override.start, end=override.end,
                                            original=r.occurrence if override.start != r.occurrence else None,
                                            status=override.status, reason=override.reason)
            if event.status == Event.Status.CANCELLED:
                session.status = Event.Status.CANCELLED
        out[r.pk] = session
    return out


# --- free slots at a venue ------------------------------------------------------------------------------

#: The hours a venue is offered in when a booking clashes: alternatives start at or after SLOT_OPENS and end
#: by SLOT_CLOSES (library time), on a grid of SLOT_STEP.
SLOT_OPENS, SLOT_CLOSES = time(8, 0), time(21, 0)
SLOT_STEP = timedelta(minutes=30)
#: A one-off event is offered the free starts of its own day and of this many days after it.
SLOT_DAYS_AHEAD = 7
#: Bookings one search reads at most (as a conflict check, ``services.CONFLICT_SCAN_MAX``); past it, no
#: alternatives are offered.
SLOT_SCAN_MAX = 20_000


def venue_bookings(*, venue_id: int, start: datetime, end: datetime, exclude_event: int | None = None
                   ) -> list[tuple[datetime, datetime]] | None:
    """The scheduled occurrences of events at ``venue_id`` overlapping [start, end) as (start, end), sorted by
    start; those of ``exclude_event`` left out.  Read from the stored occurrences in one indexed query, and
    events whose stored ones are not current expanded from their rules (as ``services.venue_conflicts``).
    None when the venue holds more than ``SLOT_SCAN_MAX`` bookings in the range."""
    rows = (ListedOccurrence.objects.filter(venue_id=venue_id, status=Event.Status.SCHEDULED, start__lt=end,
                                            start__gte=start - MAX_EVENT_LENGTH, end__gt=start)
            .filter(covering(start, end, prefix="event__")))
    if exclude_event is not None:
        rows = rows.exclude(event_id=exclude_event)
    found = list(rows.order_by("start").values_list("start", "end")[: SLOT_SCAN_MAX + 1])
    if len(found) > SLOT_SCAN_MAX:
        return None
    stale = (Event.objects.filter(status=Event.Status.SCHEDULED, start__lt=end)
             .filter(Q(venue_id=venue_id) | Q(overrides__venue_id=venue_id))
             .exclude(covering(start, end)).exclude(pk=exclude_event)
             .prefetch_related("overrides").distinct().order_by("start", "pk")[:50])
    for other in stale:
        found += [(o.start, o.end) for o in occurrences(other, start, end, overrides=list(other.overrides.all()))
                  if o.status == Event.Status.SCHEDULED and o.venue_id == venue_id]
    return sorted(found)


def _clashes(starts: list[datetime], duration: timedelta, busy: list[tuple[datetime, datetime]],
             busy_starts: list[datetime], longest: timedelta) -> bool:
    """Whether any [s, s + duration) for s in ``starts`` overlaps a booking in ``busy`` (sorted by start)."""
    for s in starts:
        finish = s + duration
        for b_start, b_end in busy[bisect.bisect_left(busy_starts, s - longest):bisect.bisect_left(busy_starts, finish)]:
            if b_end > s and b_start < finish:
                return True
    return False


def free_slots(*, venue_id: int, start: datetime, end: datetime, rrule: str = "", exclude_event: int | None = None,
               count: int = 3, now: datetime | None = None) -> list[datetime]:
    """The ``count`` starts nearest to ``start`` at which an event of the same length has the venue to itself,
    in order of time.

    A one-off event is offered starts on its own day and the ``SLOT_DAYS_AHEAD`` days after, on the
    ``SLOT_STEP`` grid within the venue's hours (``SLOT_OPENS``–``SLOT_CLOSES``).  A series keeps its days
    (the same weekday, the same rule): it is offered other times of day, each checked against every
    occurrence the conflict check reads (``recurrence.conflict_window``, at most a year ahead).  Starts
    already past are never offered; ties in distance go to the earlier start."""
    tz = local_tz()
    now = now or timezone.now()
    duration = end - start
    local = start.astimezone(tz)
    day_minutes = (datetime.combine(local.date(), SLOT_CLOSES) - datetime.combine(local.date(), SLOT_OPENS))
    if duration <= timedelta(0) or duration > day_minutes:
        return []
    times = []
    moment = datetime.combine(local.date(), SLOT_OPENS)
    while moment + duration <= datetime.combine(local.date(), SLOT_CLOSES):
        times.append(moment.time())
        moment += SLOT_STEP
    if rrule:
        probe = Event(start=start, end=end, rrule=rrule, venue_id=venue_id)
        begin, finish = conflict_window(probe)
        begin, finish = max(begin, now - timedelta(days=1)), min(finish, now + timedelta(days=366))
        firsts = [o.start.astimezone(tz) for o in occurrences(probe, begin, finish, overrides=[])]
        if not firsts:
            return []
        window = (datetime.combine(firsts[0].date(), time(0), tzinfo=tz),
                  datetime.combine(firsts[-1].date() + timedelta(days=1), time(0), tzinfo=tz))

        def shifted(candidate: datetime) -> list[datetime]:
            return [datetime.combine(o.date(), candidate.timetz()) for o in firsts]
        candidates = [datetime.combine(local.date(), t, tzinfo=tz) for t in times]
    else:
        window = (datetime.combine(local.date(), time(0), tzinfo=tz),
                  datetime.combine(local.date() + timedelta(days=SLOT_DAYS_AHEAD + 1), time(0), tzinfo=tz))

        def shifted(candidate: datetime) -> list[datetime]:
            return [candidate]
        candidates = [datetime.combine(local.date() + timedelta(days=d), t, tzinfo=tz)
                      for d in range(SLOT_DAYS_AHEAD + 1) for t in times]
    busy = venue_bookings(venue_id=venue_id, start=window[0], end=window[1], exclude_event=exclude_event)
    if busy is None:
        return []
    busy_starts = [b[0] for b in busy]
    longest = max((b[1] - b[0] for b in busy), default=timedelta(0))
    chosen = []
    for candidate in sorted(candidates, key=lambda c: (abs(c - local), c)):
        if candidate == local or candidate < now:
            continue
        if not _clashes(shifted(candidate), duration, busy, busy_starts, longest):
            chosen.append(candidate)
            if len(chosen) == count:
                break
    return sorted(chosen)


# --- attendance -------------------------------------------------------------------------------------------------

#: The most sessions an attendance export covers (a daily series for over a year).
EXPORT_SESSIONS_MAX = 400


def can_see_attendance(user, event: Event) -> bool:
    """Who may read an event's attendance: its organizers (``can_manage``), librarians and superusers."""
    if not user.is_authenticated:
        return False
    return can_manage(user, event) or user_has_role(user, Role.LIBRARIAN)


def _person(user) -> tuple[str, str]:
    profile = getattr(user, "profile", None)
    name = (getattr(profile, "display_name", "") or user.get_full_name() or user.get_username())
    return name, getattr(profile, "division", "") or ""


def session_rosters(event: Event, sessions: list) -> list[tuple[object, list[dict]]]:
    """For each of ``sessions`` (``services.Session``): who was expected and who came, in order of name —
    the active registrations for that session or the whole series made before it ended, and everyone checked
    in (walk-ins, and registrations cancelled since).  Two queries whatever the number of sessions."""
    registrations = list(Registration.objects.filter(event=event, status__in=Registration.ACTIVE)
                         .select_related("user", "user__profile").order_by("created_at", "id"))
    keys = [s.key for s in sessions]
    attendances = {(a.occurrence, a.user_id): a for a in Attendance.objects.filter(event=event, occurrence__in=keys)
                   .select_related("user", "user__profile", "registration")}
    out = []
    for session in sessions:
        rows: dict[int, dict] = {}
        for r in registrations:
            mine = r.occurrence is None or r.occurrence == session.recurrence_id
            if mine and r.created_at < session.end:
                rows[r.user_id] = {"registration": r, "user": r.user, "status": r.status}
        for (key, user_id), a in attendances.items():
            if key == session.key and user_id not in rows:
                rows[user_id] = {"registration": a.registration, "user": a.user,
                                 "status": a.registration.status if a.registration else Registration.Status.CANCELLED}
        items = []
        for user_id, row in rows.items():
            name, division = _person(row["user"])
            attendance = attendances.get((session.key, user_id))
            registration = row["registration"]
            items.append({
                "user": row["user"].get_username(), "user_id": user_id, "name": name, "division": division,
                "registration": registration.pk if registration else None,
                "status": row["status"], "status_label": str(Registration.Status(row["status"]).label),
                "position": waitlist_position(registration) if registration and row["status"] == "waitlisted" else None,
                "attendance": attendance.pk if attendance else None,
                "checked_in_at": attendance.checked_in_at if attendance else None,
                "walk_in": bool(attendance and attendance.walk_in),
            })
        items.sort(key=lambda i: (i["checked_in_at"] is None, i["name"], i["user"]))
        out.append((session, items))
    return out


def attendance_history(user) -> list[dict]:
    """The sessions ``user`` was checked in to, newest first, each with its title and when it took place
    (its exception applied).  Two queries."""
    attendances = list(Attendance.objects.filter(user=user).select_related("event").order_by("-occurrence", "-id"))
    overrides = {(o.event_id, o.recurrence_id): o for o in Override.objects.filter(
        event__in={a.event_id for a in attendances}, recurrence_id__in={a.occurrence for a in attendances})
    } if attendances else {}
    items = []
    for a in attendances:
        override = overrides.get((a.event_id, a.occurrence)) if a.event.rrule else None
        items.append({
            "event": a.event_id, "title": (override.title if override and override.title else a.event.title),
            "kind": a.event.kind, "occurrence": a.occurrence,
            "start": override.start if override else a.occurrence,
            "checked_in_at": a.checked_in_at, "walk_in": a.walk_in,
        })
    items.sort(key=lambda i: i["start"], reverse=True)
    return items
