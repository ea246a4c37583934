"""Writes for events: venues, series, occurrence exceptions and registrations.

Every function is keyword-only and one transaction.  Refusals raise ``DomainError`` (409) with a
``code``; bad values raise ``InvalidInput`` naming the field.  Seats are counted in
``SeatCounter`` rows whose CHECK constraint (taken ≤ capacity) makes overbooking impossible in the
database; the event row is locked (``SELECT … FOR UPDATE``; ``BEGIN IMMEDIATE`` on SQLite) so
parallel registrations queue in order.
"""

import bisect
import io
import math
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, F, PositiveIntegerField, ProtectedError, Q, Sum, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.selectors import user_has_role
from core import ratelimit
from core.errors import DomainError, InvalidInput
from core.media import delete_media
from core.text import MESSAGE as NOT_ONE_LINE
from core.text import is_single_line
from events import listing, notices
from events.models import Attendance, Event, ListedOccurrence, Override, Registration, SeatCounter, Speaker, Venue
from events.recurrence import (
    MAX_EVENT_LENGTH,
    check_length,
    check_window,
    conflict_window,
    is_finite,
    is_original_occurrence,
    local_tz,
    normalize_exdates,
    normalize_rrule,
    occurrences,
    original_occurrences,
    parse_instant,
)
from library.fulltext import decode_text
from library.models import Book, Paper

#: The seat-counter key of a non-recurring event (its registrations have no occurrence).
SINGLE = datetime(1970, 1, 1, tzinfo=UTC)
#: Changes to these fields are changes of time, place or status: they bump ``sequence`` and notify.
SCHEDULE_FIELDS = ("start", "end", "all_day", "rrule", "exdates", "venue_id", "online_url", "status")


def _one_line(field_name: str, value: str | None) -> None:
    """Titles, names and places are single-line (they become iCalendar lines, CSV cells, mail subjects)."""
    if value and not is_single_line(value):
        raise InvalidInput(field_name, f"{field_name} {NOT_ONE_LINE}")


# --- venues -----------------------------------------------------------------------------------------


def venue_create(*, name: str, location: str = "", capacity: int = 30) -> Venue:
    _one_line("name", name)
    _one_line("location", location)
    if Venue.objects.filter(name=name).exists():
        raise DomainError("duplicate_venue", _("场地 %(name)s 已存在") % {"name": name})
    if capacity < 1:
        raise InvalidInput("capacity", _("容纳人数至少为 1"))
    return Venue.objects.create(name=name, location=location, capacity=capacity)


@transaction.atomic
def venue_update(*, venue: Venue, changes: dict) -> Venue:
    """Change a venue; a new capacity reaches the events that take their seats from it (``venue_seats_sync``)."""
    for key in ("name", "location"):
        _one_line(key, changes.get(key))
    if "capacity" in changes and changes["capacity"] < 1:
        raise InvalidInput("capacity", _("容纳人数至少为 1"))
    if "name" in changes and Venue.objects.filter(name=changes["name"]).exclude(pk=venue.pk).exists():
        raise DomainError("duplicate_venue", _("场地 %(name)s 已存在") % {"name": changes["name"]})
    resized = "capacity" in changes and changes["capacity"] != venue.capacity
    for key, value in changes.items():
        setattr(venue, key, value)
    venue.save()
    if resized:
        venue_seats_sync(venue=venue)
    return venue


@transaction.atomic
def venue_seats_sync(*, venue: Venue, now: datetime | None = None) -> None:
    """The venue's capacity changed: the seat counters of every event that takes its capacity from the venue
    follow, as when an event's own capacity changes (``_resize_counters``): a rise gives the new seats to the
    waitlist in order; a drop below an occurrence's confirmed count un-confirms nobody — the occurrence shows
    as full and takes no one until cancellations bring it below the new capacity.  Events with neither a
    counter nor a waitlist have nothing to change.  The events are locked in id order, as registrations
    lock them one at a time, so a registration waits for this or this for it, and neither is lost."""
    now = now or timezone.now()
    # Every event that takes its seats from the venue is locked, not only those with a counter or a waitlist
    # at this moment: a registration holding an event's lock may be creating its first counter with the old
    # capacity, invisible here until it commits.  Waiting for its lock, then looking, the new capacity reaches
    # that counter too (PostgreSQL lost it under a parallel test: 2 seats kept where the room had grown to 6).
    events = Event.objects.filter(venue=venue, capacity__isnull=True).select_for_update().order_by("pk")
    for event_id in list(events.values_list("pk", flat=True)):
        has_seats = SeatCounter.objects.filter(event_id=event_id).exists() or Registration.objects.filter(
            event_id=event_id, status=Registration.Status.WAITLISTED).exists()
        if has_seats:
            event = Event.objects.get(pk=event_id)
            event.venue = venue
            _resize_counters(event, now=now, refuse_below=False)


def venue_delete(*, venue: Venue) -> None:
    try:
        venue.delete()
    except ProtectedError:
        raise DomainError("venue_in_use", _("该场地仍有活动，不能删除")) from None


# --- events ----------------------------------------------------------------------------------------------


@dataclass
class SpeakerData:
    name: str
    role: str = ""
    user: str | None = None  # username


@dataclass
class EventData:
    title: str
    kind: str
    start: datetime
    end: datetime
    description: str = ""
    all_day: bool = False
    venue: int | None = None
    online_url: str = ""
    capacity: int | None = None
    rrule: str = ""
    exdates: list = field(default_factory=list)
    speakers: list[SpeakerData] = field(default_factory=list)
    books: list[int] = field(default_factory=list)
    papers: list[int] = field(default_factory=list)
    visibility: str = Event.Visibility.PUBLIC
    registration_required: bool = True
    registration_opens: datetime | None = None
    registration_closes: datetime | None = None
    organizers: list[str] | None = None  # usernames; None = the creator


def normalize_times(start, end, all_day: bool) -> tuple[datetime, datetime]:
    """Aware start and end.  All-day events run from local midnight of the first day to local midnight
    after the last day; ``end`` names the last day (inclusive), as people write it."""
    if all_day:
        first = _as_date(start, "start")
        last = _as_date(end, "end")
        if last < first:
            raise InvalidInput("end", _("结束日期早于开始日期"))
        check_window(first, "start")
        check_window(last, "end")
        tz = local_tz()
        return (
            datetime(first.year, first.month, first.day, tzinfo=tz),
            datetime(last.year, last.month, last.day, tzinfo=tz) + timedelta(days=1),
        )
    begin, finish = parse_instant(start, "start"), parse_instant(end, "end")
    if finish <= begin:
        raise InvalidInput("end", _("结束时间必须晚于开始时间"))
    return begin, finish


def _as_date(value, field_name: str):
    from datetime import date

    if isinstance(value, datetime):
        return value.astimezone(local_tz()).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InvalidInput(field_name, _("不是有效的日期：%(value)r") % {"value": value}) from None


def _validate(data: EventData) -> None:
    _one_line("title", data.title)
    _one_line("online_url", data.online_url)
    for speaker in data.speakers or []:
        _one_line("speakers", speaker.name)
        _one_line("speakers", speaker.role)
    if data.online_url:
        try:
            URLValidator(schemes=["http", "https"])(data.online_url)
        except ValidationError:
            raise InvalidInput("online_url", _("线上会议链接须为 http(s) 网址")) from None
    if data.capacity is not None and data.capacity < 1:
        raise InvalidInput("capacity", _("名额至少为 1"))
    if data.venue is not None and not Venue.objects.filter(pk=data.venue).exists():
        raise InvalidInput("venue", _("场地 %(id)s 不存在") % {"id": data.venue}, code="unknown_venue")
    missing = set(data.books) - set(Book.objects.filter(pk__in=data.books).values_list("pk", flat=True))
    if missing:
        raise InvalidInput("books", _("图书不存在：%(ids)s") % {"ids": sorted(missing)}, code="unknown_book")
    missing = set(data.papers) - set(Paper.objects.filter(pk__in=data.papers).values_list("pk", flat=True))
    if missing:
        raise InvalidInput("papers", _("调研成果不存在：%(ids)s") % {"ids": sorted(missing)}, code="unknown_paper")
    for name in ("registration_opens", "registration_closes"):
        # The range parse_instant allows for start and end: before 1900 local time is LMT, an offset with
        # seconds (+08:05:43) that no ISO 8601 date-time can carry back out.  A time without an offset
        # is library time, as everywhere else (a naive one beside an aware one cannot be compared).
        value = getattr(data, name)
        if value is not None:
            setattr(data, name, parse_instant(value, name))
    if data.registration_opens and data.registration_closes and data.registration_closes <= data.registration_opens:
        raise InvalidInput("registration_closes", _("报名截止须晚于报名开始"))


def _users(usernames: list[str], field_name: str):
    users = list(get_user_model().objects.filter(username__in=usernames, is_active=True))
    unknown = set(usernames) - {u.username for u in users}
    if unknown:
        raise InvalidInput(field_name, _("用户不存在：%(users)s") % {"users": sorted(unknown)}, code="unknown_user")
    return users


def _organizers(usernames: list[str]):
    """The users named as co-organizers; each must hold the organizer role (an organizer manages the
    event and sees its registrations, so a reader cannot be handed that by another organizer)."""
    users = _users(usernames, "organizers")
    others = sorted(u.username for u in users if not user_has_role(u, Role.ORGANIZER))
    if others:
        raise InvalidInput("organizers", _("不是活动组织者：%(users)s") % {"users": others}, code="not_an_organizer")
    return users


def _set_relations(event: Event, data_speakers, books, papers) -> None:
    if data_speakers is not None:
        event.speakers.all().delete()
        linked = {u.username: u for u in _users([s.user for s in data_speakers if s.user], "speakers")}
        Speaker.objects.bulk_create(
            Speaker(event=event, name=s.name, role=s.role, user=linked.get(s.user), position=i)
            for i, s in enumerate(data_speakers)
        )
    if books is not None:
        event.books.set(books)
    if papers is not None:
        event.papers.set(papers)
    if data_speakers is not None or books is not None or papers is not None:
        # What feeds show changed: their cached VEVENTs key on updated_at.
        Event.objects.filter(pk=event.pk).update(updated_at=timezone.now(), revision=F("revision") + 1)


@dataclass
class Conflict:
    event: int
    title: str
    start: datetime
    end: datetime


#: Conflicts are looked for where a booking can still matter: from a day ago to this far ahead.
CONFLICT_AHEAD = timedelta(days=366)
#: The most conflicts reported (the first by start).
CONFLICT_MAX = 50
#: Bookings of a venue one check reads at most.  A court's rooms hold a few bookings a day (a year is some
#: thousands); past this the venue is booked beyond what a check may read while others wait, and the
#: check says so instead of reading on (the seventh attack: 34 daily series to 2100 in one room made
#: one check take the whole 60 s of a gunicorn worker, holding SQLite's write lock).
CONFLICT_SCAN_MAX = 20_000
#: Events whose stored occurrences are stale (changed outside the services) expanded by one check.
CONFLICT_STALE_MAX = 50


def venue_conflicts(event: Event, *, overrides=None, series: Event | None = None,
                    skip: datetime | None = None) -> list[Conflict]:
    """Scheduled occurrences of other events in the same venue that overlap an occurrence of ``event``,
    from a day ago to ``CONFLICT_AHEAD`` from now (the first ``CONFLICT_MAX`` by start).

    For one moved occurrence, ``event`` is that occurrence as a one-off, ``series`` its series and
    ``skip`` its recurrence id: the series' other occurrences count as other bookings.  The other
    bookings are the stored occurrences (``events.listing``), read in order of start in one indexed
    query and swept against ``event``'s occurrences, so the cost is that of the bookings read (at most
    ``CONFLICT_SCAN_MAX``; past it a DomainError ``venue_too_busy``), not of comparing every pair."""
    now = timezone.now()
    begin, finish = conflict_window(event)
    begin, finish = max(begin, now - timedelta(days=1)), min(finish, now + CONFLICT_AHEAD)
    if finish <= begin:
        return []
    mine = sorted(
        (o for o in occurrences(event, begin, finish, overrides=overrides if overrides is not None else [])
         if o.status == Event.Status.SCHEDULED and o.venue_id),
        key=lambda o: o.start,
    )
    if not mine:
        return []
    venue_ids = {o.venue_id for o in mine}
    starts = [o.start for o in mine]
    longest = max(o.end - o.start for o in mine)
    found: dict[tuple[int, datetime], Conflict] = {}

    def sweep(theirs) -> None:
        for event_id, title, start, end, venue_id in theirs:
            first = bisect.bisect_left(starts, start - longest)
            for a in mine[first:bisect.bisect_left(starts, end)]:
                if a.venue_id == venue_id and a.end > start:
                    found.setdefault((event_id, start), Conflict(event=event_id, title=title, start=start, end=end))
                    break

    stored = (
        ListedOccurrence.objects.filter(venue_id__in=venue_ids, status=Event.Status.SCHEDULED, start__lt=finish,
                                        start__gte=begin - MAX_EVENT_LENGTH, end__gt=begin)
        .filter(listing.covering(begin, finish, prefix="event__"))
    )
    if series is not None and series.pk == event.pk:
        stored = stored.exclude(event_id=event.pk, recurrence_id=skip)  # the moved occurrence itself
    else:
        stored = stored.exclude(event_id=event.pk)
    rows = stored.order_by("start").values_list("event_id", "title", "start", "end", "venue_id")
    batch = list(rows[: CONFLICT_SCAN_MAX + 1])
    if len(batch) > CONFLICT_SCAN_MAX:
        raise DomainError(
            "venue_too_busy",
            _("该场地在这段时间的预订过多，无法检查冲突；如确需安排可加 ?force=true"),
            status=409,
        )
    sweep(batch)
    # Events whose stored occurrences are not current are expanded from their rules (a few at most).
    stale = (
        Event.objects.filter(status=Event.Status.SCHEDULED, start__lt=finish)
        .filter(Q(venue_id__in=venue_ids) | Q(overrides__venue_id__in=venue_ids))
        .exclude(listing.covering(begin, finish))
        .prefetch_related("overrides")
        .distinct()
        .order_by("start", "pk")[:CONFLICT_STALE_MAX]
    )
    for other in stale:
        if other.pk == event.pk and (series is None or series.pk != event.pk):
            continue
        sweep((o.event.pk, o.title, o.start, o.end, o.venue_id)
              for o in occurrences(other, begin, finish, overrides=list(other.overrides.all()))
              if o.status == Event.Status.SCHEDULED and o.venue_id in venue_ids
              and not (other.pk == event.pk and o.recurrence_id == skip))
    return sorted(found.values(), key=lambda c: c.start)[:CONFLICT_MAX]


def _raise_conflicts(conflicts: list[Conflict]) -> None:
    if conflicts:
        raise DomainError(
            "venue_conflict",
            _("场地在该时段已有活动，可加 ?force=true 仍然安排"),
            conflicts=[
                {"event": c.event, "title": c.title, "start": timezone.localtime(c.start).isoformat(),
                 "end": timezone.localtime(c.end).isoformat()}
                for c in conflicts
            ],
        )


def _lock_venues(venue_ids) -> None:
    """Serialise the bookings of these venues until the transaction ends, so that a conflict check made after
    this sees every booking committed before it and none is committed beside it (two events moved into one
    slot of one room in parallel were both booked: attack round 17).  On SQLite the transaction is IMMEDIATE
    and already holds the database's write lock; on PostgreSQL the venue rows are locked, in id order, and
    before the event's row — the order of ``venue_update`` (venue, then its events) — so no two wait on
    each other."""
    ids = sorted({pk for pk in venue_ids if pk})
    if ids:
        list(Venue.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def check_creation_rate(actor: AbstractBaseUser) -> None:
    """At most ``EVENTS_CREATED_PER_DAY`` new events per organizer in 24 hours (superusers exempt).

    Every new event writes its occurrences for listings (``events.listing``); the limit keeps one account
    from writing hundreds of series in seconds (the sixth attack created 510 in ten).  Counted in the
    database, so every worker process and node sees the same count.
    """
    if getattr(actor, "is_superuser", False):
        return
    limit = settings.EVENTS_CREATED_PER_DAY
    if Event.objects.filter(created_by=actor, created_at__gte=timezone.now() - timedelta(days=1)).count() >= limit:
        raise DomainError("too_many_events", _("24 小时内最多新建 %(limit)s 个活动") % {"limit": limit}, status=429)


def check_not_backdated(start: datetime, actor, field_name: str = "start") -> None:
    """An organizer schedules nothing that begins more than ``listing.LISTED_BACK`` (400 days) ago; superusers
    may enter history.  Listings store every event's occurrences from its start when it began within that
    window, so only a superuser's old events are ever expanded from their rules there (the seventh attack
    created 500 series from 2000 and blanked every listing older than the window)."""
    if getattr(actor, "is_superuser", False):
        return
    days = listing.LISTED_BACK.days
    if start < timezone.now() - listing.LISTED_BACK:
        raise InvalidInput(field_name, _("开始时间不能早于 %(days)s 天前") % {"days": days}, code="too_early")


def event_create(*, data: EventData, actor: AbstractBaseUser, force: bool = False) -> Event:
    # Every check, the rule's expansion among them, runs before the transaction: on SQLite it begins
    # IMMEDIATE and so holds the database's write lock for every other writer until it ends.
    check_creation_rate(actor)
    start, end = normalize_times(data.start, data.end, data.all_day)
    _validate(data)
    rrule = normalize_rrule(data.rrule, start=start)
    check_length(start, end, recurring=bool(rrule))
    check_not_backdated(start, actor)
    event = Event(
        kind=data.kind, title=data.title, description=data.description, start=start, end=end, all_day=data.all_day,
        venue_id=data.venue, online_url=data.online_url, capacity=data.capacity, rrule=rrule,
        visibility=data.visibility, registration_required=data.registration_required,
        registration_opens=data.registration_opens, registration_closes=data.registration_closes, created_by=actor,
    )
    event.exdates = normalize_exdates(data.exdates, event)
    organizers = _organizers(data.organizers) if data.organizers is not None else []
    if not force:
        # First outside the write transaction: a clash is refused without taking any lock …
        _raise_conflicts(venue_conflicts(event))
    with transaction.atomic():
        if not force and event.venue_id:
            # … and again under the venue's lock, so two requests racing for one room cannot both pass.
            _lock_venues([event.venue_id])
            _raise_conflicts(venue_conflicts(event))
        event.save()
        event.organizers.set({actor, *organizers})
        _set_relations(event, data.speakers, data.books, data.papers)
        listing.refresh(event)
    return event


@dataclass
class _CheckedUpdate:
    start: datetime
    end: datetime
    all_day: bool
    registration_opens: datetime | None
    registration_closes: datetime | None
    rrule: str | None  # None: unchanged
    exdates: list | None


def _schedule_basis(event: Event) -> tuple:
    """What the checks of an update depend on: when it changes, they run again."""
    return (event.start, event.end, event.all_day, event.rrule, event.exdates, event.registration_opens,
            event.registration_closes)


def _check_update(current: Event, changes: dict) -> _CheckedUpdate:
    """Every check of a partial update of ``current``, the rule's expansion among them; writes nothing."""
    merged = EventData(
        title=changes.get("title", current.title), kind=changes.get("kind", current.kind),
        start=changes.get("start", current.start), end=changes.get("end", current.end),
        all_day=changes.get("all_day", current.all_day), venue=changes.get("venue", current.venue_id),
        online_url=changes.get("online_url", current.online_url), capacity=changes.get("capacity", current.capacity),
        books=changes.get("books") or [], papers=changes.get("papers") or [], speakers=changes.get("speakers") or [],
        registration_opens=changes.get("registration_opens", current.registration_opens),
        registration_closes=changes.get("registration_closes", current.registration_closes),
    )
    if current.all_day and merged.all_day and "end" not in changes and "start" in changes:
        # Keep the length of an all-day event when only its start moves.
        merged.end = _as_date(merged.start, "start") + (current.end - current.start) - timedelta(days=1)
    elif current.all_day and merged.all_day and "end" not in changes:
        merged.end = current.end - timedelta(days=1)
    start, end = normalize_times(merged.start, merged.end, merged.all_day)
    _validate(merged)
    rrule = normalize_rrule(changes["rrule"], start=start) if "rrule" in changes else None
    check_length(start, end, recurring=bool(current.rrule if rrule is None else rrule))
    exdates = None
    if "exdates" in changes:
        probe = Event(pk=current.pk, start=start, end=end, rrule=current.rrule if rrule is None else rrule)
        exdates = normalize_exdates(changes["exdates"], probe)
    return _CheckedUpdate(start=start, end=end, all_day=merged.all_day, registration_opens=merged.registration_opens,
                          registration_closes=merged.registration_closes, rrule=rrule, exdates=exdates)


def _schedule_of(event: Event) -> dict:
    return {f: getattr(event, f) for f in SCHEDULE_FIELDS}


def _apply_update(event: Event, changes: dict, checked: _CheckedUpdate) -> Event:
    """``event`` (in memory) with a checked partial update applied."""
    for key in ("title", "kind", "description", "online_url", "capacity", "visibility", "registration_required"):
        if key in changes:
            setattr(event, key, changes[key])
    event.registration_opens, event.registration_closes = checked.registration_opens, checked.registration_closes
    event.start, event.end, event.all_day = checked.start, checked.end, checked.all_day
    if "venue" in changes:
        event.venue_id = changes["venue"]
    if checked.rrule is not None:
        event.rrule = checked.rrule
    if checked.exdates is not None:
        event.exdates = checked.exdates
    return event


def event_update(*, event: Event, changes: dict, actor: AbstractBaseUser, force: bool = False) -> Event:
    """Apply a partial update (keys of EventData).  Time, place or status changes bump ``sequence``
    and notify everyone registered."""
    # The checks run before the transaction (see event_create), on the row as read now; should it
    # change before the lock is taken, they run again under the lock.
    snapshot = Event.objects.get(pk=event.pk)
    checked = _check_update(snapshot, changes)
    if checked.start != snapshot.start:
        check_not_backdated(checked.start, actor)
    organizers = _organizers(changes["organizers"]) if changes.get("organizers") is not None else None
    probe = None
    if not force and snapshot.status == Event.Status.SCHEDULED:
        # The venue check too, on the event as it will be (see event_create: first outside the lock).
        probe = _apply_update(Event.objects.get(pk=event.pk), changes, checked)  # a copy, never saved
        if _schedule_of(probe) != _schedule_of(snapshot):
            _raise_conflicts(venue_conflicts(probe, overrides=list(snapshot.overrides.all())))
        else:
            probe = None
    with transaction.atomic():
        if probe is not None:
            _lock_venues(_venues_of(probe))  # before the event's row (see _lock_venues)
        current = Event.objects.select_for_update().get(pk=event.pk)
        if _schedule_basis(current) != _schedule_basis(snapshot):
            checked = _check_update(current, changes)
        before = _schedule_of(current)
        rule_before = (current.start, current.rrule)
        seats_before = current.seats
        _apply_update(current, changes, checked)
        schedule_changed = _schedule_of(current) != before
        if not force and schedule_changed and current.status == Event.Status.SCHEDULED:
            # Again under the venues' lock: a booking committed since the first check counts.
            _lock_venues(_venues_of(current))
            _raise_conflicts(venue_conflicts(current, overrides=list(current.overrides.all())))
        if (current.start, current.rrule) != rule_before:
            _drop_orphaned_overrides(current)
            event_start_moved(event=current, was_start=rule_before[0], was_rrule=rule_before[1])
        if "capacity" in changes or "venue" in changes:
            # An organizer who lowers the seats below the confirmed count is refused; seats unchanged
            # (a form that always sends both fields) only bring the counters up to date.
            _resize_counters(current, now=timezone.now(), refuse_below=current.seats != seats_before)
        if schedule_changed:
            current.sequence += 1
        current.save()
        if organizers is not None:
            current.organizers.set({actor, *organizers})
        _set_relations(current, changes.get("speakers"), changes.get("books"), changes.get("papers"))
        listing.refresh(current)
        # How many registered readers were told of a new time or place (the page says so, truthfully).
        current.notified = notices.event_changed(current, occurrence=None) if schedule_changed else 0
    return current


def _venues_of(event: Event) -> set[int]:
    """The venues an event books: its own and those its occurrences were moved to."""
    moved = event.overrides.filter(venue_changed=True).values_list("venue_id", flat=True) if event.pk else []
    return {event.venue_id, *moved} - {None}


def _drop_orphaned_overrides(event: Event) -> None:
    """After the rule or the start of a series changed, the exceptions of occurrences it no longer has go
    (as calendar clients drop a RECURRENCE-ID that matches no instance): they were listed beside the new
    occurrences yet could not be registered for (the seventh attack)."""
    overrides = list(event.overrides.all())
    if not overrides:
        return
    kept = original_occurrences(event, [o.recurrence_id for o in overrides]) if event.rrule else set()
    Override.objects.filter(pk__in=[o.pk for o in overrides if o.recurrence_id not in kept]).delete()


def event_start_moved(*, event: Event, was_start: datetime, was_rrule: str) -> int:
    """After the start of ``event`` changed from ``was_start`` (it was a single event when ``was_rrule`` is
    empty), in the transaction that changed it: the check-ins of a single event follow its start.

    A single event's one session is keyed by its start (``Attendance.occurrence``, ``ListedOccurrence.recurrence_id``,
    ``session_of``), so a salon whose time is corrected after people checked in would otherwise lose its
    check-ins from the attendee list, the reports and the readers' history.  Its registrations
    (``occurrence`` NULL), seat counter (``SINGLE``) and session code (stamp 0) name no start; reminders are
    keyed by the new start and so announce the new time.  A row for the same person already at the new start
    (left by a move before this rule existed) is kept and the older one stays where it was, so
    ``attendance_once_per_occurrence`` holds.  A series' occurrences are keyed by their original starts,
    which a new DTSTART re-numbers: nothing follows (docs/design.md, "Attendance").  The rows moved."""
    if was_rrule or event.start == was_start:
        return 0
    already = Attendance.objects.filter(event=event, occurrence=event.start).values("user_id")
    return (Attendance.objects.filter(event=event, occurrence=was_start).exclude(user_id__in=already)
            .update(occurrence=event.start))


def _resize_counters(event: Event, *, now: datetime, refuse_below: bool) -> None:
    """Bring the event's seat counters to the capacity in force (``event.seats``) and give the seats that
    opened up to the waitlist, in waitlist order (``_promote``, with its notices).

    Nobody confirmed is ever un-confirmed.  Where a counter has more confirmed than the new capacity,
    ``refuse_below`` refuses (``capacity_below_confirmed``: an organizer lowering the event's own seats);
    otherwise (the venue's capacity dropped, ``venue_update``) the counter keeps its confirmed count as its
    capacity: the occurrence shows as full, nobody is promoted, and each cancellation shrinks it towards
    the capacity in force instead of freeing a seat (``_release_seats``)."""
    seats = event.seats
    if seats is None:
        SeatCounter.objects.filter(event=event).delete()
    else:
        if refuse_below:
            event_seats_check(event=event, seats=seats)
        SeatCounter.objects.filter(event=event).update(
            capacity=Greatest(Value(seats), F("taken"), output_field=PositiveIntegerField()))
    _promote(event, None, now)


def event_seats_check(*, event: Event, seats: int | None) -> None:
    """Refuse (``capacity_below_confirmed``) a capacity below the confirmed registrations of any occurrence."""
    if seats is not None and SeatCounter.objects.filter(event=event, taken__gt=seats).exists():
        raise DomainError("capacity_below_confirmed", _("已确认的报名人数超过新名额"))


@transaction.atomic
def event_seats_sync(*, event: Event, now: datetime | None = None) -> None:
    """After the capacity in force of ``event`` changed outside ``event_update`` (the admin): its counters
    follow and the waitlist is promoted; confirmed registrations are kept (see ``_resize_counters``)."""
    current = Event.objects.select_for_update(of=("self",)).select_related("venue").get(pk=event.pk)
    _resize_counters(current, now=now or timezone.now(), refuse_below=False)


@transaction.atomic
def event_delete(*, event: Event) -> None:
    """Delete an event with everything of it; its materials' files leave the disk once this commits
    (``events.receivers``: every deletion of a material, cascades and the admin included)."""
    event.delete()


@transaction.atomic
def event_cancel(*, event: Event, actor: AbstractBaseUser, occurrence: datetime | None, reason: str = "") -> Event:
    """Cancel the whole series (``occurrence`` None) or one occurrence; they stay visible as cancelled.  The
    returned event's ``notified`` is the number of readers told (whole series only)."""
    _one_line("reason", reason)
    current = Event.objects.select_for_update().get(pk=event.pk)
    if occurrence is None:
        if current.status == Event.Status.CANCELLED:
            raise DomainError("already_cancelled", _("活动已取消"))
        current.status = Event.Status.CANCELLED
        current.cancel_reason = reason
        current.sequence += 1
        current.save()
        listing.refresh(current)
        current.notified = notices.event_changed(current, occurrence=None, cancelled=True)  # for the page's message
        return current
    override = override_set(event=current, actor=actor, recurrence_id=occurrence, changes={"status": "cancelled",
                                                                                          "reason": reason}, force=True)
    return override.event


def _require_occurrence(event: Event, recurrence_id: datetime, field_name: str) -> None:
    if not event.rrule:
        raise InvalidInput(field_name, _("单次活动没有场次，请直接修改或取消活动"), code="not_recurring")
    if not is_original_occurrence(event, recurrence_id):
        raise InvalidInput(field_name, _("%(when)s 不是该系列的一次活动") % {"when": recurrence_id.isoformat()},
                           code="not_an_occurrence")


@transaction.atomic
def override_set(*, event: Event, actor: AbstractBaseUser, recurrence_id: datetime, changes: dict,
                 force: bool = False) -> Override:
    """Move, retitle, re-venue or cancel (``status``) one occurrence of a series."""
    for key in ("title", "reason"):
        _one_line(key, changes.get(key))
    current = Event.objects.select_for_update().get(pk=event.pk)
    recurrence_id = parse_instant(recurrence_id, "recurrence_id")
    _require_occurrence(current, recurrence_id, "recurrence_id")
    override = Override.objects.filter(event=current, recurrence_id=recurrence_id).first()
    duration = current.end - current.start
    if override is None:
        override = Override(event=current, recurrence_id=recurrence_id, start=recurrence_id, end=recurrence_id + duration)
    before = (override.start, override.end, override.venue_id, override.venue_changed, override.status)
    start = changes.get("start", override.start)
    end = changes.get("end")
    if end is None:
        end = parse_instant(start, "start") + (override.end - override.start) if "start" in changes else override.end
    override.start, override.end = normalize_times(start, end, False) if not current.all_day else normalize_times(
        start, changes.get("end", (override.end - timedelta(days=1))), True
    )
    check_length(override.start, override.end, recurring=True)
    if "start" in changes:
        check_not_backdated(override.start, actor)
    if "title" in changes:
        override.title = changes["title"] or ""
    if "venue" in changes:
        if changes["venue"] is not None and not Venue.objects.filter(pk=changes["venue"]).exists():
            raise InvalidInput("venue", _("场地 %(id)s 不存在") % {"id": changes["venue"]}, code="unknown_venue")
        override.venue_id = changes["venue"]
        override.venue_changed = True
    if "status" in changes:
        if changes["status"] not in Event.Status.values:
            raise InvalidInput("status", _("状态须为 scheduled 或 cancelled"))
        override.status = changes["status"]
    if "reason" in changes:
        override.reason = changes["reason"] or ""
    if override.status == Event.Status.CANCELLED and before[4] == Event.Status.CANCELLED and (
            override.start, override.end, override.venue_id, override.venue_changed) != before[:4]:
        # Moving a cancelled occurrence moved nothing anyone sees, yet said "moved, readers told" (attack round 15).
        raise DomainError("occurrence_cancelled", _("这一场已取消：先恢复（status 设为 scheduled）再改期或换场地"))
    after = (override.start, override.end, override.venue_id, override.venue_changed, override.status)
    changed = after != before or override.pk is None
    if changed and override.status == Event.Status.SCHEDULED and not force:
        probe = Event(pk=current.pk, start=current.start, end=current.end, rrule="", venue_id=current.venue_id,
                      title=current.title, status=current.status)
        # The moved occurrence alone, as a one-off event, against every other booking of its venue.
        probe.start, probe.end = override.start, override.end
        probe.venue_id = override.venue_id if override.venue_changed else current.venue_id
        _lock_venues([probe.venue_id])  # see _lock_venues: the check sees every booking committed before it
        _raise_conflicts(venue_conflicts(probe, series=current, skip=recurrence_id))
    if changed:
        override.sequence += 1
    override.save()
    if changed:
        current.save(update_fields=["updated_at"])
    listing.refresh(current)
    # How many readers were told, for the page's message.
    override.notified = notices.event_changed(current, occurrence=override) if changed else 0
    return override


#: The most occurrences one bulk change may touch (the manage page lists fewer; the API is held to the same).
BULK_MAX = 100


@dataclass
class BulkChange:
    """What ``occurrences_change`` did: the changed exceptions (SEQUENCE raised) and the notices recorded."""

    overrides: list[Override]
    notified: int


def _bulk_targets(event: Event, recurrence_ids: list) -> list[datetime]:
    if not recurrence_ids:
        raise InvalidInput("occurrences", _("请至少选择一场"), code="nothing_selected")
    if len(recurrence_ids) > BULK_MAX:
        raise InvalidInput("occurrences", _("一次最多选择 %(most)s 场") % {"most": BULK_MAX}, code="too_many")
    rids = sorted({parse_instant(rid, "occurrences") for rid in recurrence_ids})
    for rid in rids:
        _require_occurrence(event, rid, "occurrences")
    return rids


def _moved(start: datetime, end: datetime, *, shift: timedelta | None, at_time, on_date) -> tuple[datetime, datetime]:
    """An occurrence's new start and end: shifted, then set to another time of day and/or date (library time);
    its length is kept.  Wall-clock arithmetic, so a shift by days keeps the hour across a DST change."""
    tz = local_tz()
    local = start.astimezone(tz).replace(tzinfo=None)
    if shift:
        local += shift
    if on_date is not None:
        local = datetime.combine(on_date, local.time())
    if at_time is not None:
        local = datetime.combine(local.date(), at_time.replace(second=0, microsecond=0))
    new_start = local.replace(tzinfo=tz)
    return new_start, new_start + (end - start)


def occurrences_change(*, event: Event, actor: AbstractBaseUser, recurrence_ids: list, action: str,
                       reason: str = "", shift: timedelta | None = None, at_time=None, on_date=None,
                       force: bool = False) -> BulkChange:
    """Cancel (``action="cancel"``) or move (``"move"``: by ``shift``, to another time of day ``at_time`` and,
    for a single occurrence, to another date ``on_date``) several occurrences of a series at once.

    All or nothing: every occurrence is checked first — each is one of the series and scheduled, no new
    start in the past, no venue conflict (``venue_conflict`` names every clash, with the series' own other
    occurrences too) — and only then is anything written, in one transaction.  Each changed occurrence's
    SEQUENCE goes up, and each reader registered for any of them gets one notice listing all the changes
    (``notices.occurrences_changed``), not one per occurrence."""
    _one_line("reason", reason)
    if action not in ("cancel", "move"):
        raise InvalidInput("action", _("action 须为 cancel 或 move"))
    snapshot = Event.objects.get(pk=event.pk)
    rids = _bulk_targets(snapshot, recurrence_ids)
    if action == "move":
        if not shift and at_time is None and on_date is None:
            raise InvalidInput("shift", _("请填写推移的天数、新的时间或新的日期"), code="no_change")
        if on_date is not None and len(rids) > 1:
            raise InvalidInput("date", _("改到某一天只适用于一场；多场请按天数推移"), code="date_for_one")
    if snapshot.status == Event.Status.CANCELLED:
        raise DomainError("event_cancelled", _("活动已取消"))

    def plan(current: Event) -> dict[datetime, tuple[Override, tuple]]:
        existing = {o.recurrence_id: o for o in current.overrides.filter(recurrence_id__in=rids)}
        duration = current.end - current.start
        planned = {}
        for rid in rids:
            override = existing.get(rid) or Override(event=current, recurrence_id=rid, start=rid, end=rid + duration)
            if override.status == Event.Status.CANCELLED:
                raise DomainError("occurrence_cancelled", _("%(when)s 这一场已取消") % {
                    "when": f"{timezone.localtime(rid):%Y-%m-%d %H:%M}"})
            before = (override.start, override.end)
            if action == "move":
                override.start, override.end = _moved(override.start, override.end, shift=shift, at_time=at_time,
                                                      on_date=on_date)
                check_window(override.start, "shift")
                check_not_backdated(override.start, actor, "shift")
                if override.start < timezone.now() and not getattr(actor, "is_superuser", False):
                    raise InvalidInput("shift", _("%(when)s 已经过去，不能改到这个时间") % {
                        "when": f"{timezone.localtime(override.start):%Y-%m-%d %H:%M}"}, code="in_the_past")
            else:
                override.status = Event.Status.CANCELLED
                override.reason = reason
            planned[rid] = (override, before)
        return planned

    def booked(current: Event, planned: dict) -> set[int]:
        return {o.venue_id if o.venue_changed else current.venue_id for o, _before in planned.values()} - {None}

    planned = plan(snapshot)
    checking = action == "move" and not force
    if checking:
        # First outside the write transaction: a clash is refused without taking any lock …
        _raise_conflicts(_bulk_conflicts(snapshot, [o for o, _before in planned.values()]))
    with transaction.atomic():
        locked = booked(snapshot, planned) if checking else set()
        _lock_venues(locked)  # before the event's row (see _lock_venues)
        current = Event.objects.select_for_update().get(pk=event.pk)
        planned = plan(current)  # again under the lock: the row may have changed since the checks
        if checking:
            # … and again under the venues' lock: two events moved into one slot of one room in parallel
            # both passed the first check and both were booked (attack round 17).
            _lock_venues(booked(current, planned) - locked)  # a venue changed meanwhile (rare)
            _raise_conflicts(_bulk_conflicts(current, [o for o, _before in planned.values()]))
        changed = []
        for override, before in planned.values():
            if action == "move" and (override.start, override.end) == before:
                continue
            override.sequence += 1
            override.save()
            changed.append(override)
        if changed:
            current.save(update_fields=["updated_at"])
        listing.refresh(current)
        notified = notices.occurrences_changed(current, changed) if changed else 0
    return BulkChange(overrides=changed, notified=notified)


def _bulk_conflicts(event: Event, moved: list[Override]) -> list[Conflict]:
    """Venue clashes of the moved occurrences: with other events' bookings (``venue_conflicts``, each moved
    occurrence as a one-off), and with the series' own occurrences as they will be after the move."""
    found: dict[tuple[int, datetime], Conflict] = {}
    overrides = {o.recurrence_id: o for o in event.overrides.all()}
    overrides.update({o.recurrence_id: o for o in moved})
    for override in moved:
        probe = Event(pk=event.pk, start=override.start, end=override.end, rrule="", title=event.title,
                      status=event.status,
                      venue_id=override.venue_id if override.venue_changed else event.venue_id)
        for c in venue_conflicts(probe):  # the series itself is not among "other bookings" here
            found.setdefault((c.event, c.start), c)
    begin = min(o.start for o in moved) - MAX_EVENT_LENGTH
    finish = max(o.end for o in moved) + MAX_EVENT_LENGTH
    after = occurrences(event, begin, finish, overrides=list(overrides.values()))
    moved_ids = {o.recurrence_id for o in moved}
    for mine in after:
        if mine.recurrence_id not in moved_ids or mine.status != Event.Status.SCHEDULED or not mine.venue_id:
            continue
        for other in after:
            if (other.recurrence_id != mine.recurrence_id and other.status == Event.Status.SCHEDULED
                    and other.venue_id == mine.venue_id and other.start < mine.end and mine.start < other.end):
                found.setdefault((event.pk, other.start), Conflict(event=event.pk, title=other.title,
                                                                   start=other.start, end=other.end))
    return sorted(found.values(), key=lambda c: c.start)[:CONFLICT_MAX]


# --- registration ------------------------------------------------------------------------------------------


#: How far ahead a whole-series registration takes seats.
SERIES_HORIZON = timedelta(days=3660)


def series_registration_max() -> int:
    """The most coming occurrences a whole-series registration may cover (``EVENTS_SERIES_REGISTRATION_MAX``,
    60 by default: a weekly salon for a year, a daily reading month twice); for a longer series a reader
    registers for each occurrence."""
    return settings.EVENTS_SERIES_REGISTRATION_MAX


def _keys_for(event: Event, occurrence: datetime | None, now: datetime, *, limit: int | None = None) -> list[datetime]:
    """The seat counters a registration occupies; for a whole series, its scheduled occurrences from
    ``now`` on, and with ``limit`` no more than that many plus one (enough to tell that there are more)."""
    if not event.rrule:
        return [SINGLE]
    if occurrence is not None:
        return [occurrence]
    # EXDATEs and cancelled occurrences count among the instances read, so read past them.
    slack = None if limit is None else limit + 1 + len(event.exdates or []) + sum(
        1 for o in event.overrides.all() if o.status == Event.Status.CANCELLED)
    keys = [o.recurrence_id for o in occurrences(event, now, now + SERIES_HORIZON, limit=slack)
            if o.status == Event.Status.SCHEDULED]
    return keys if limit is None else keys[:limit + 1]


def _take_seats(event: Event, keys: list[datetime]) -> bool:
    """Take one seat in each counter, all or none.  False when any is full.

    Three statements whatever the number of keys: missing counters are created (a parallel request
    creating the same one is ignored by the unique constraint), then one conditional UPDATE takes a
    seat in every counter that has one free.  Fewer rows updated than keys means one is full: the
    savepoint is rolled back, so no seat is taken.  The CHECK constraint (taken ≤ capacity) holds
    whatever races past this."""
    seats = event.seats
    if seats is None:
        return True
    keys = list(dict.fromkeys(keys))
    try:
        with transaction.atomic():
            SeatCounter.objects.bulk_create([SeatCounter(event=event, occurrence=key, capacity=seats) for key in keys],
                                            ignore_conflicts=True)
            taken = SeatCounter.objects.filter(event=event, occurrence__in=keys, taken__lt=F("capacity")).update(
                taken=F("taken") + 1)
            if taken != len(keys):
                raise _Full
    except _Full:
        return False
    return True


class _Full(Exception):
    pass


def _release_seats(event: Event, keys: list[datetime]) -> None:
    """Free one seat in each counter; a counter above the capacity in force (its venue shrank below the
    confirmed count, ``_resize_counters``) shrinks with it instead, so that no seat comes free until the
    confirmed are fewer than the capacity."""
    counters = SeatCounter.objects.filter(event=event, occurrence__in=keys, taken__gt=0)
    seats = event.seats
    if seats is None:
        counters.update(taken=F("taken") - 1)
    else:  # both right-hand sides read the row as it was
        counters.update(taken=F("taken") - 1,
                        capacity=Greatest(Value(seats), F("taken") - 1, output_field=PositiveIntegerField()))


@transaction.atomic
def registration_create(*, event: Event, user: AbstractBaseUser, occurrence=None,
                        now: datetime | None = None) -> Registration:
    """Register ``user`` for one occurrence or the whole event; confirmed while seats last, then waitlisted.

    Refusals: ``already_registered``, ``event_cancelled``, ``registration_not_open``,
    ``registration_closed``; 422 naming ``occurrence``: a non-occurrence, a whole open-ended series
    (``series_without_end``) or one with more than ``series_registration_max()`` occurrences to come
    (``series_too_long``).
    """
    current = Event.objects.select_for_update().get(pk=event.pk)
    now = now or timezone.now()
    if occurrence is not None:
        occurrence = parse_instant(occurrence, "occurrence")
        _require_occurrence(current, occurrence, "occurrence")
    if current.status == Event.Status.CANCELLED:
        raise DomainError("event_cancelled", _("活动已取消"))
    if current.rrule and occurrence is None and not is_finite(current.rrule):
        raise InvalidInput("occurrence", _("长期重复的活动请选择具体场次报名"),
                           code="series_without_end")
    if current.rrule and occurrence is None:
        # Taking a seat in each of thousands of occurrences would hold the write lock for seconds.
        most = series_registration_max()
        if len(_keys_for(current, None, now, limit=most)) > most:
            raise InvalidInput("occurrence", _("该系列还有超过 %(most)s 场，请选择具体场次报名") % {"most": most},
                               code="series_too_long")
    if current.registration_opens and now < current.registration_opens:
        raise DomainError("registration_not_open", _("报名尚未开始（%(opens)s）") % {
            "opens": f"{timezone.localtime(current.registration_opens):%Y-%m-%d %H:%M}"})
    if current.registration_closes and now > current.registration_closes:
        raise DomainError("registration_closed", _("报名已截止"))
    occ = None
    if occurrence is not None:
        found = [o for o in occurrences(current, occurrence - timedelta(days=400), occurrence + timedelta(days=400))
                 if o.recurrence_id == occurrence]
        occ = found[0] if found else None
        if occ is None or occ.status == Event.Status.CANCELLED:
            raise DomainError("event_cancelled", _("该场活动已取消"))
        if occ.start <= now:
            raise DomainError("registration_closed", _("该场活动已开始"))
    elif not current.rrule and current.start <= now:
        raise DomainError("registration_closed", _("活动已开始"))
    active = Registration.objects.filter(event=current, user=user, status__in=Registration.ACTIVE)
    if occurrence is None and active.exists() or occurrence is not None and active.filter(
        Q(occurrence=occurrence) | Q(occurrence__isnull=True)
    ).exists():
        raise DomainError("already_registered", _("您已报名"))
    keys = _keys_for(current, occurrence, now)
    if not keys:
        raise DomainError("registration_closed", _("没有可报名的场次"))
    _take_registration_quota(user)  # after every check, so that a refused attempt costs nothing
    status = Registration.Status.CONFIRMED if _take_seats(current, keys) else Registration.Status.WAITLISTED
    try:
        with transaction.atomic():
            registration = Registration.objects.create(
                event=current, occurrence=occurrence, user=user, status=status, created_at=now,
                was_waitlisted=status == Registration.Status.WAITLISTED)
    except IntegrityError:
        raise DomainError("already_registered", _("您已报名")) from None
    if status == Registration.Status.CONFIRMED:
        notices.registered(registration)
    return registration


def _take_registration_quota(user: AbstractBaseUser) -> None:
    """At most ``EVENTS_REGISTRATIONS_PER_HOUR`` registrations per reader in a rolling hour (in 5-minute
    slices), counted in ``core.ratelimit``'s store, so every worker process sees one count.  Registrations
    made are counted, not registrations held, so cancelling frees nothing: a register/cancel loop wrote
    485 registrations and 485 notices (each a mail) in 30 seconds.  Cancellations need no limit of their
    own — each cancels one registration that was counted when it was made."""
    limit = ratelimit.Limit(settings.EVENTS_REGISTRATIONS_PER_HOUR, 3600, buckets=12)
    wait = ratelimit.take(f"registrations-created:user:{user.pk}", limit)
    if wait:
        raise DomainError(
            "too_many_registrations",
            _("一小时内最多报名 %(n)s 次，请 %(minutes)s 分钟后再试。") % {"n": limit.limit, "minutes": math.ceil(wait / 60)},
            status=429, retry_after=wait,
        )


def waitlist_position(registration: Registration) -> int | None:
    """1 for the next to be promoted, among waitlisted registrations for the same occurrence (or series)."""
    if registration.status != Registration.Status.WAITLISTED:
        return None
    scope = Q(occurrence=registration.occurrence) if registration.occurrence else Q(occurrence__isnull=True)
    before = Q(created_at__lt=registration.created_at) | Q(created_at=registration.created_at, pk__lte=registration.pk)
    return (
        Registration.objects.filter(event_id=registration.event_id, status=Registration.Status.WAITLISTED)
        .filter(scope)
        .filter(before)
        .count()
    )


@transaction.atomic
def registration_cancel(*, registration: Registration, now: datetime | None = None) -> Registration:
    """Cancel a registration; a freed seat goes to the first on the waitlist who fits."""
    current_event = Event.objects.select_for_update().get(pk=registration.event_id)
    current = Registration.objects.select_for_update().get(pk=registration.pk)
    now = now or timezone.now()
    if current.status == Registration.Status.CANCELLED:
        raise DomainError("registration_cancelled", _("该报名已取消"))
    was_confirmed = current.status == Registration.Status.CONFIRMED
    current.status = Registration.Status.CANCELLED
    current.cancelled_at = now
    current.save(update_fields=["status", "cancelled_at"])
    if was_confirmed:
        keys = _keys_for(current_event, current.occurrence, now)
        _release_seats(current_event, keys)
        _promote(current_event, keys, now)
    return current


def _promote(event: Event, freed: list[datetime] | None, now: datetime) -> None:
    """Confirm waitlisted registrations in the order they were made, as long as seats allow.

    ``freed``: the counters where a seat came free; None when the capacity changed (any counter may have
    room), and then only for what is still to come: not for a cancelled event or occurrence, nor for one
    that has begun."""
    if freed is None:
        if event.status == Event.Status.CANCELLED or (not event.rrule and event.start <= now):
            return
        cancelled = [o.recurrence_id for o in event.overrides.all() if o.status == Event.Status.CANCELLED]
        relevant = Q(occurrence__isnull=True) | Q(occurrence__gt=now) & ~Q(occurrence__in=cancelled)
    elif event.rrule:
        relevant = Q(occurrence__in=[k for k in freed if k != SINGLE]) | Q(occurrence__isnull=True)
    else:
        relevant = Q()
    waiting = Registration.objects.filter(event=event, status=Registration.Status.WAITLISTED).filter(relevant)
    series_keys = None  # the whole series' keys, read once for every waiting whole-series registration
    full: set[datetime] = set()  # counters found full: they stay full while this runs (it only takes seats)
    for candidate in waiting.order_by("created_at", "id"):
        if candidate.occurrence is None and event.rrule:
            series_keys = _keys_for(event, None, now) if series_keys is None else series_keys
            keys = series_keys
        else:
            keys = _keys_for(event, candidate.occurrence, now)
        if not keys or full.intersection(keys):
            continue  # nothing left to come (a finished series), or a counter already found full
        if _take_seats(event, keys):
            candidate.status = Registration.Status.CONFIRMED
            candidate.promoted_at = now
            candidate.save(update_fields=["status", "promoted_at"])  # a save: the reader's feed is refreshed (events.receivers)
            notices.promoted(candidate)
        elif len(keys) == 1:
            full.update(keys)


# --- attendance -------------------------------------------------------------------------------------------

#: Check-in opens this long before an occurrence starts and stays open until the end of the day it ends on.
CHECK_IN_EARLY = timedelta(hours=1)


@dataclass
class Session:
    """One occurrence to check in to: its key (the recurrence id; a single event's start) and its times."""

    event: Event
    key: datetime
    recurrence_id: datetime | None
    start: datetime
    end: datetime
    status: str

    @property
    def opens(self) -> datetime:
        return self.start - CHECK_IN_EARLY

    @property
    def closes(self) -> datetime:
        last = timezone.localtime(max(self.start, self.end - timedelta(microseconds=1))).date() + timedelta(days=1)
        return datetime(last.year, last.month, last.day, tzinfo=local_tz())


def session_of(event: Event, occurrence: datetime | None) -> Session:
    """The occurrence ``occurrence`` (a recurrence id) of ``event``, its exception applied; a single event's own
    time when ``event`` is not a series (``occurrence`` is then ignored)."""
    if not event.rrule:
        return Session(event=event, key=event.start, recurrence_id=None, start=event.start, end=event.end,
                       status=event.status)
    if occurrence is None:
        raise InvalidInput("occurrence", _("请选择场次"), code="occurrence_required")
    occurrence = parse_instant(occurrence, "occurrence")
    _require_occurrence(event, occurrence, "occurrence")
    override = Override.objects.filter(event=event, recurrence_id=occurrence).first()
    if override is None:
        start, end, status = occurrence, occurrence + (event.end - event.start), Event.Status.SCHEDULED
    else:
        start, end, status = override.start, override.end, override.status
    if event.status == Event.Status.CANCELLED:
        status = Event.Status.CANCELLED
    return Session(event=event, key=occurrence, recurrence_id=occurrence, start=start, end=end, status=status)


def sessions_open(event: Event, *, now: datetime | None = None) -> list[Session]:
    """The occurrences of ``event`` whose check-in is open at ``now`` (see ``CHECK_IN_EARLY``), by start."""
    now = now or timezone.now()
    if not event.rrule:
        found = [session_of(event, None)]
    else:
        found = [Session(event=event, key=o.recurrence_id, recurrence_id=o.recurrence_id, start=o.start, end=o.end,
                         status=o.status)
                 for o in occurrences(event, now - timedelta(days=1) - MAX_EVENT_LENGTH, now + CHECK_IN_EARLY)]
    return [s for s in found if s.status == Event.Status.SCHEDULED and s.opens <= now < s.closes]


def _check_open(session: Session, now: datetime) -> None:
    """Refuse a check-in outside the session's window: a session still to come, or one whose day is over."""
    if session.status == Event.Status.CANCELLED:
        raise DomainError("occurrence_cancelled", _("这一场已取消"))
    if now < session.opens:
        raise DomainError("not_started", _("这一场尚未开始（%(when)s 开始，开始前 1 小时起可签到）") % {
            "when": f"{timezone.localtime(session.start):%Y-%m-%d %H:%M}"})
    if now >= session.closes:
        raise DomainError("check_in_closed", _("这一场已结束，不能再签到"))


def person_name(user: AbstractBaseUser) -> str:
    """A person as lists show them: the profile's name, else the account's full name, else the username."""
    profile = getattr(user, "profile", None)
    return (getattr(profile, "display_name", "") or user.get_full_name() or user.get_username())


@dataclass
class CheckIn:
    attendance: Attendance
    #: Checked in before this call (nothing was written).
    already: bool = False
    #: Not registered: a confirmed registration for the occurrence was made with the check-in.
    walk_in: bool = False


@transaction.atomic
def check_in(*, event: Event, user: AbstractBaseUser, occurrence: datetime | None, actor: AbstractBaseUser | None,
             method: str = "desk", walk_in: bool = False, now: datetime | None = None) -> CheckIn:
    """Record ``user`` as present at one occurrence of ``event`` (a single event: ``occurrence`` None).

    Only while the session's check-in is open (``not_started``, ``check_in_closed``, ``occurrence_cancelled``).
    The person must hold a confirmed registration for it or for the whole series; a waitlisted one is refused
    (``waitlisted``); someone not registered is refused (``not_registered``) unless ``walk_in``: then they get a
    confirmed registration for the occurrence while seats last (``full``).  Checking in twice is no error
    (``already``).  The event row is locked, as registrations lock it, so a walk-in takes a seat in order."""
    now = now or timezone.now()
    current = Event.objects.select_for_update().get(pk=event.pk)
    session = session_of(current, occurrence)
    _check_open(session, now)
    existing = Attendance.objects.filter(event=current, occurrence=session.key, user=user).first()
    if existing is not None:
        return CheckIn(attendance=existing, already=True, walk_in=existing.walk_in)
    scope = Q(occurrence__isnull=True)
    if session.recurrence_id is not None:
        scope |= Q(occurrence=session.recurrence_id)
    registration = (Registration.objects.select_for_update()
                    .filter(scope, event=current, user=user, status__in=Registration.ACTIVE).first())
    name = person_name(user)
    joined = False
    if registration is None:
        if not walk_in:
            raise DomainError("not_registered", _("%(name)s 没有报名这一场") % {"name": name})
        if not _take_seats(current, _keys_for(current, session.recurrence_id, now)):
            raise DomainError("full", _("名额已满，%(name)s 不能现场加入") % {"name": name})
        registration = Registration.objects.create(event=current, occurrence=session.recurrence_id, user=user,
                                                   status=Registration.Status.CONFIRMED, created_at=now)
        joined = True
    elif registration.status == Registration.Status.WAITLISTED:
        raise DomainError("waitlisted", _("%(name)s 在候补名单上（第 %(n)s 位），报名尚未确认，不能签到") % {
            "name": name, "n": waitlist_position(registration)})
    attendance = Attendance.objects.create(event=current, occurrence=session.key, user=user,
                                           registration=registration, checked_in_at=now, checked_in_by=actor,
                                           method=method, walk_in=joined)
    if registration.occurrence is not None or not current.rrule:
        # The registration's own check-in time (the registrations API and CSV show it); a whole-series
        # registration has one per session, in Attendance only.
        registration.checked_in_at = now
        registration.save(update_fields=["checked_in_at"])
    return CheckIn(attendance=attendance, walk_in=joined)


@transaction.atomic
def check_in_undo(*, attendance, now: datetime | None = None) -> bool:
    """Take back a check-in (a wrong scan, the wrong row).  A walk-in's registration, made by the check-in,
    is cancelled with it (its seat goes back).  True when a walk-in registration was cancelled."""
    registration = attendance.registration
    attendance.delete()
    if registration is None:
        return False
    if registration.checked_in_at is not None and (registration.occurrence is not None
                                                   or not registration.event.rrule):
        registration.checked_in_at = None
        registration.save(update_fields=["checked_in_at"])
    if attendance.walk_in and registration.status != Registration.Status.CANCELLED:
        registration_cancel(registration=registration, now=now)
        return True
    return False


def registration_check_in(*, registration: Registration, actor: AbstractBaseUser | None = None,
                          now: datetime | None = None) -> Registration:
    """Check in the reader of ``registration``: for its occurrence, or — a whole-series registration — for
    the session open now (``check_in`` has the rules)."""
    if registration.status != Registration.Status.CONFIRMED:
        raise DomainError("not_confirmed", _("只有已确认的报名可以签到"))
    event = registration.event
    occurrence = registration.occurrence
    if event.rrule and occurrence is None:
        open_now = sessions_open(event, now=now)
        if not open_now:
            raise DomainError("not_started", _("现在没有可签到的场次（开始前 1 小时起可签到，当天有效）"))
        occurrence = open_now[0].recurrence_id
    check_in(event=event, user=registration.user, occurrence=occurrence, actor=actor, now=now)
    registration.refresh_from_db()
    return registration


# --- materials ---------------------------------------------------------------------------------------------

#: Materials people attach to events: documents and pictures, never anything a browser would run.
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain; charset=utf-8",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
}


#: OOXML documents are ZIP archives; each type has its own main part.
_OOXML_PARTS = {"docx": "word/document.xml", "pptx": "ppt/presentation.xml", "xlsx": "xl/workbook.xml"}


def _content_matches(data: bytes, extension: str) -> bool:
    """Whether ``data`` is what its extension says, by its magic bytes (an OOXML file: a ZIP holding
    ``[Content_Types].xml`` and the type's main part; text: no NUL, UTF-8 or GB18030).  Downloads are
    served with the extension's type, so an HTML page named ``x.pdf`` must not get in.  Reads the ZIP
    directory only."""
    if extension == "pdf":
        return data.startswith(b"%PDF-")
    if extension in ("jpg", "jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if extension == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in _OOXML_PARTS:
        if not data.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return False
        return {"[Content_Types].xml", _OOXML_PARTS[extension]} <= names
    if extension == "txt":
        if b"\x00" in data[:8192]:
            return False
        try:
            decode_text(data)
        except UnicodeDecodeError:
            return False
        return True
    return False


def attachment_add(*, event: Event, data: bytes, filename: str):
    """Store a material under a random name in the uploads' events/ folder (the given name is kept for downloads)."""
    import os

    from django.core.files.base import ContentFile

    from events.models import Attachment

    name = os.path.basename((filename or "").replace("\\", "/")).strip()[:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ATTACHMENT_TYPES:
        raise InvalidInput("file", _("不支持的文件类型 .%(extension)s（可用：%(types)s）") % {
            "extension": extension, "types": ", ".join(sorted(ATTACHMENT_TYPES))}, code="bad_file_type")
    if not data:
        raise InvalidInput("file", _("文件为空"), code="empty_file")
    if not _content_matches(data, extension):
        raise InvalidInput("file", _("文件内容不是 .%(extension)s 文件") % {"extension": extension},
                           code="file_type_mismatch")
    # Per event: a programme's handouts and slides fit many times over; the eighth attack filled the disk
    # with 25 × 20 MB in four seconds.  The request's own rate is the API's (EVENTS_ATTACHMENTS_PER_HOUR).
    attachment = Attachment(event=event, name=name, size=len(data))
    attachment.file.save("upload", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            # Counted under the event's row lock, so uploads racing for one event cannot pass the caps
            # together (the ninth attack stored 119.5 MB with eight at once).
            if Event.objects.select_for_update().filter(pk=event.pk).first() is None:  # deleted meanwhile
                raise DomainError("not_found", _("活动 %(id)s 不存在") % {"id": event.pk}, status=404)
            kept = event.attachments.aggregate(files=Count("pk"), size=Sum("size"))
            if kept["files"] >= settings.EVENTS_ATTACHMENTS_MAX:
                raise DomainError("too_many_attachments", _("每个活动最多 %(most)s 份材料") % {
                    "most": settings.EVENTS_ATTACHMENTS_MAX}, status=409)
            limit = settings.EVENTS_ATTACHMENTS_MAX_BYTES
            if (kept["size"] or 0) + len(data) > limit:
                raise DomainError("attachments_too_large", _("每个活动的材料合计最多 %(mb)s MB") % {
                    "mb": limit // 2**20}, status=409)
            attachment.save()
    except BaseException:
        delete_media(attachment.file.storage, attachment.file.name, folder="events")  # a refused upload's file goes
        raise
    return attachment


@transaction.atomic
def attachment_delete(*, attachment) -> None:
    """Delete one material; its file leaves the disk once this commits (``events.receivers``), so a
    deletion that fails or rolls back never leaves a row whose file is gone."""
    attachment.delete()
