"""The occurrences listings read, written when an event changes and read with one indexed query.

A series is stored as its rule (``events.recurrence`` expands it lazily), but a listing of a month or of
the coming 90 days must not expand every series there is: its cost, and what it can show, would then
depend on how many series exist (an attack with thousands of series made a listing take seconds, and
the bounds that kept it fast let one organizer crowd everyone else out).  So each event's occurrences
in a window around today — ``LISTED_BACK`` behind, ``LISTED_AHEAD`` ahead, the whole event when it
lies inside — are kept as ``ListedOccurrence`` rows, overrides applied, and ``Event.listed_from`` /
``listed_until`` say which span they hold complete.

- **Written** by the event services, in the transaction of the change (``refresh``), and by the admin
  after its inlines are saved.  Any save of an event or an override by other means (a shell, a data
  fix) empties the span (``invalidate``, from events.receivers): the event is then expanded lazily by
  listings, as before, until the hourly job (``refresh_due``) writes its rows again.
- **Rolled forward** by that job: a span that ends less than ``ROLL_MARGIN`` beyond ``LISTED_AHEAD``
  from now gets the rows of the days since (``extend``); past rows stay.
- **Read** by ``events.selectors.occurrence_list``: rows of events whose span covers the range, by an
  index on ``start``; an event whose span does not cover it (a range years ahead, or an event just
  changed by other means) is expanded lazily, within the listing's budgets.
"""

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from events.models import NOT_LISTED, Event, ListedOccurrence, Override
from events.recurrence import LAST_YEAR, MAX_SCAN_STEPS, is_finite, local_tz, occurrences, series_starts_within

#: The span of an event whose rows are not current (the model's default).
EMPTY = NOT_LISTED
#: Span bounds meaning "from the event's beginning" and "to its end": every input date lies within 2000–2100.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: How far behind and ahead of now an open series is written when it changes (a listing spans at most
#: 400 days; pages look a year back and 400 days ahead).
LISTED_BACK = timedelta(days=400)
LISTED_AHEAD = timedelta(days=800)
#: The hourly job extends a span that ends less than this beyond ``now + LISTED_AHEAD - ROLL_MARGIN``, so
#: each open series gets one write a month.
ROLL_MARGIN = timedelta(days=30)
#: Events one run of the job refreshes or extends; it enqueues itself again while more are due.
BATCH = 200


def covering(start: datetime, end: datetime, *, prefix: str = "") -> Q:
    """Events whose rows are complete for [start, end) (``prefix``: the path to the event, e.g. ``event__``)."""
    return Q(**{f"{prefix}listed_from__lte": start, f"{prefix}listed_until__gte": end})


def _rows(event: Event, begin: datetime, end: datetime, overrides: list[Override]) -> list[ListedOccurrence]:
    return [
        ListedOccurrence(event=event, recurrence_id=occ.recurrence_id or event.start, start=occ.start, end=occ.end,
                         title=occ.title, venue_id=occ.venue_id, status=occ.status, kind=event.kind,
                         visibility=event.visibility)
        for occ in occurrences(event, begin, end, overrides)
    ]


def _ends_before(event: Event, when: datetime, overrides: list[Override]) -> bool:
    """Whether no occurrence of ``event`` begins at or after ``when`` (known within one expansion's budget)."""
    if not is_finite(event.rrule) or any(o.end > when for o in overrides):
        return False
    far = datetime(LAST_YEAR + 1, 2, 1, tzinfo=local_tz())
    # An allowance below the read's own budget makes a scan that ran out say so (``seen``) instead of
    # ending the series there: only a scan that reached the rule's real end proves it complete.
    starts, seen = series_starts_within(event, when, far, limit=1, max_steps=MAX_SCAN_STEPS - 1)
    return not starts and seen is None


def _span(event: Event, now: datetime, overrides: list[Override]) -> tuple[datetime, datetime, datetime, datetime]:
    """(rows from, rows until, span claimed from, span claimed until) for a fresh write at ``now``."""
    if not event.rrule:
        return EARLIEST, LATEST, EARLIEST, LATEST
    begin, end = now - LISTED_BACK, now + LISTED_AHEAD
    claimed_from = EARLIEST if event.start >= begin and all(o.start >= begin for o in overrides) else begin
    claimed_until = LATEST if _ends_before(event, end, overrides) else end
    return begin, end, claimed_from, claimed_until


def refresh(event: Event, *, now: datetime | None = None) -> int:
    """Write ``event``'s rows again (call it inside the transaction that changed it, holding its row lock,
    after every change is saved); returns how many rows it has."""
    now = now or timezone.now()
    overrides = list(Override.objects.filter(event=event))
    begin, end, claimed_from, claimed_until = _span(event, now, overrides)
    rows = _rows(event, begin, end, overrides)
    with transaction.atomic():
        ListedOccurrence.objects.filter(event=event).delete()
        ListedOccurrence.objects.bulk_create(rows, batch_size=500)
        Event.objects.filter(pk=event.pk).update(listed_from=claimed_from, listed_until=claimed_until)
    event.listed_from, event.listed_until = claimed_from, claimed_until
    return len(rows)


def extend(event: Event, *, now: datetime | None = None) -> int:
    """Add the rows from the end of ``event``'s span to ``now + LISTED_AHEAD`` (its rows so far are current);
    returns how many were added."""
    now = now or timezone.now()
    overrides = list(Override.objects.filter(event=event))
    end = now + LISTED_AHEAD
    rows = _rows(event, event.listed_until, end, overrides)
    claimed_until = LATEST if _ends_before(event, end, overrides) else end
    with transaction.atomic():
        # An occurrence running across the old end is there already: the unique key skips it.
        ListedOccurrence.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        Event.objects.filter(pk=event.pk).update(listed_until=claimed_until)
    event.listed_until = claimed_until
    return len(rows)


def invalidate(event_id: int) -> None:
    """Mark ``event_id``'s rows as not current: listings expand it lazily until they are written again."""
    Event.objects.filter(pk=event_id).update(listed_from=EMPTY, listed_until=EMPTY)


def due(now: datetime | None = None):
    """Events whose rows must be written (span empty) or extended (span ends too soon)."""
    now = now or timezone.now()
    stale = Q(listed_until__lte=EMPTY)
    short = Q(listed_until__lt=now + LISTED_AHEAD - ROLL_MARGIN) & ~Q(listed_until__gte=LATEST)
    return Event.objects.filter(stale | short).order_by("pk")


def refresh_due(*, now: datetime | None = None, limit: int | None = None) -> dict:
    """Write or extend the rows of up to ``limit`` due events, each under its row lock (a change made
    meanwhile by a service waits, or has already written them); returns counts and whether more are due."""
    now = now or timezone.now()
    written = extended = rows = 0
    for pk in list(due(now).values_list("pk", flat=True)[: limit or BATCH]):
        with transaction.atomic():
            event = Event.objects.select_for_update().filter(pk=pk).first()
            if event is None or event.listed_until >= now + LISTED_AHEAD - ROLL_MARGIN:
                continue
            if event.listed_until <= EMPTY:
                rows += refresh(event, now=now)
                written += 1
            else:
                rows += extend(event, now=now)
                extended += 1
    return {"written": written, "extended": extended, "rows": rows, "more": due(now).exists()}
