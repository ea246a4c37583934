"""Calendar feed views: /calendar/events.ics, /calendar/events/<id>.ics, /calendar/u/<token>.ics.

What calendar clients rely on: ``text/calendar; charset=utf-8``; a strong ETag (the SHA-256 of the
body as sent) and a Last-Modified that never moves backwards (``FeedState.changed_at``); 304 on
``If-None-Match`` or ``If-Modified-Since``; HEAD; ``Content-Disposition: inline``; gzip when accepted
(deterministic, so it has its own strong ETag).  Bodies are cached in Django's cache under the feed
version (``FeedState``), which every change bumps after commit — and a personal feed also under its
reader's version (``PersonalFeedState``), which their registrations bump instead; the cache backend is
shared by all worker processes (settings.CACHES: files under VAR_DIR by default), so no worker serves a
stale feed.  A 304 needs a few small queries and one cache read, never a rebuild.
"""

import gzip
import hashlib
import re
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import gettext as _

from accounts.services import calendar_link_for_token
from events.ical import (
    CANCELLED_VISIBLE_DAYS,
    PersonalItems,
    assemble,
    build_calendar,
    fragment_stamp,
    occurrence_calendar,
    occurrence_exists,
    serialize_event,
)
from events.models import Event, FeedFragment, FeedState, Override, PersonalFeedState, Registration, Speaker, Venue
from events.recurrence import FIRST_YEAR, LAST_YEAR
from events.selectors import event_queryset
from library.models import Hold, Loan, Paper
from library.selectors import paper_visible_q
from notices.models import DEFAULT_REMINDER, NoticePreference, reminder_offsets

CACHE_SECONDS = 24 * 3600


def _state() -> FeedState:
    state = FeedState.objects.filter(pk=1).first()
    if state is None:
        state, _created = FeedState.objects.get_or_create(pk=1, defaults={"version": 0, "changed_at": timezone.now()})
    return state


def _events(*, public: bool = True):
    """Events with what their VEVENTs show; ``public``: as anyone may see them (no internal papers)."""
    papers = Paper.objects.filter(paper_visible_q(AnonymousUser())) if public else Paper.objects.all()
    return Event.objects.select_related("venue").prefetch_related(
        Prefetch("speakers", queryset=Speaker.objects.order_by("position", "id")),
        Prefetch("overrides", queryset=Override.objects.select_related("venue").order_by("recurrence_id")),
        "books",
        Prefetch("papers", queryset=papers),
    ).order_by("start", "id")


def _stamped_rows(queryset, now: datetime) -> list[dict]:
    """Each event's feed-relevant columns and the stamp of its public VEVENTs, in feed order."""
    cutoff = now - timedelta(days=CANCELLED_VISIBLE_DAYS)
    rows = list(
        queryset.order_by("start", "id")
        .annotate(expired=Count("overrides", filter=Q(overrides__status="cancelled", overrides__updated_at__lt=cutoff)))
        .values("pk", "start", "end", "rrule", "revision", "updated_at", "sequence", "status", "venue__name",
                "venue__location", "expired")
    )
    for r in rows:
        r["stamp"] = fragment_stamp(revision=r["revision"], updated_at=r["updated_at"], sequence=r["sequence"],
                                    status=r["status"], venue_name=r["venue__name"],
                                    venue_location=r["venue__location"], expired_cancellations=r["expired"], now=now)
    return rows


def _serialise_and_store(stamps: dict[int, str], now: datetime) -> dict[int, bytes]:
    bodies, fresh = {}, []
    for event in _events(public=True).filter(pk__in=list(stamps)):
        body = serialize_event(event, now=now)
        bodies[event.pk] = body
        fresh.append(FeedFragment(event_id=event.pk, stamp=stamps[event.pk], body=body.decode()))
    try:
        with transaction.atomic():
            FeedFragment.objects.bulk_create(fresh, update_conflicts=True, unique_fields=["event"],
                                             update_fields=["stamp", "body"])
    except IntegrityError:  # pragma: no cover - an event was deleted meanwhile; the next build retries
        pass
    return bodies


def refresh_fragments(event_ids) -> int:
    """Serialise and store the public VEVENTs of these events now (after their change commits), so that
    no feed request has to.  Returns how many were (re)built."""
    now = timezone.now()
    rows = _stamped_rows(Event.objects.filter(pk__in=list(event_ids)), now)
    current = dict(FeedFragment.objects.filter(event_id__in=[r["pk"] for r in rows]).values_list("event_id", "stamp"))
    stale = {r["pk"]: r["stamp"] for r in rows if current.get(r["pk"]) != r["stamp"]}
    if stale:
        _serialise_and_store(stale, now)
    return len(stale)


def refresh_all_fragments(*, progress=None, batch: int = 500) -> tuple[int, int]:
    """Bring every event's stored entry up to date, ``batch`` events at a time; returns (rebuilt, events).

    The work of the ``feeds.warm`` job (events.tasks) and of ``manage.py warm_feeds``: entries already
    current cost one light query per batch."""
    ids = list(Event.objects.order_by("pk").values_list("pk", flat=True))
    built = 0
    for i in range(0, len(ids), batch):
        built += refresh_fragments(ids[i : i + batch])
        if progress is not None:
            progress(min(i + batch, len(ids)), len(ids))
    return built, len(ids)


def public_calendar(queryset, *, name: str, description: str = "") -> bytes:
    """A public feed of the events in ``queryset``, assembled from each event's stored VEVENTs.

    Entries are refreshed by a job after an event changes (events.receivers → events.tasks); one light query
    gives every event's stamp here, and an entry missing or stale (events written without signals,
    the first request after installation) is serialised now and stored."""
    now = timezone.now()
    rows = _stamped_rows(queryset, now)
    stamps = {r["pk"]: r["stamp"] for r in rows}
    bodies = {
        event_id: body.encode()
        for event_id, stamp, body in FeedFragment.objects.filter(event_id__in=list(stamps)).values_list(
            "event_id", "stamp", "body")
        if stamps.get(event_id) == stamp
    }
    missing = {pk: stamp for pk, stamp in stamps.items() if pk not in bodies}
    if missing:
        bodies.update(_serialise_and_store(missing, now))
    return assemble(name=name, description=description,
                    spans=[(r["start"], r["end"], bool(r["rrule"])) for r in rows],
                    bodies=[bodies[r["pk"]] for r in rows if r["pk"] in bodies])


def _render(key: str, state: FeedState, build) -> dict:
    """The cached entry for a feed: its body (plain and gzipped) and their ETags."""
    cache_key = f"feed:{state.token}:{state.version}:{timezone.localdate()}:{key}"
    cache = caches["feeds"]
    entry = cache.get(cache_key)
    if entry is None:
        body = build()
        zipped = gzip.compress(body, compresslevel=6, mtime=0)
        entry = {
            "body": body,
            "gzip": zipped,
            "etag": '"' + hashlib.sha256(body).hexdigest()[:40] + '"',
            "etag_gzip": '"' + hashlib.sha256(zipped).hexdigest()[:40] + '"',
        }
        cache.set(cache_key, entry, CACHE_SECONDS)
    return entry


def _respond(request: HttpRequest, entry: dict, state: FeedState, filename: str,
             changed_at: datetime | None = None) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    wants_gzip = "gzip" in request.headers.get("Accept-Encoding", "").lower()
    etag = entry["etag_gzip"] if wants_gzip else entry["etag"]
    last_modified = int((changed_at or state.changed_at).timestamp())
    # Django's reading of If-None-Match (weak comparison, "*") and If-Modified-Since (only without an
    # If-None-Match), as RFC 9110 orders them: a 304 without building or sending the body.
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        body = entry["gzip"] if wants_gzip else entry["body"]
        response = HttpResponse(b"" if request.method == "HEAD" else body, content_type="text/calendar; charset=utf-8")
        response["Content-Length"] = str(len(body))
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        if wants_gzip:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = "private, max-age=300"
    response["Vary"] = "Accept-Encoding"
    return response


def _kinds(request: HttpRequest) -> list[str] | None:
    raw = request.GET.get("kind", "")
    # Each distinct kind once, in one order: ?kind=salon,salon,seminar is the feed of ?kind=seminar,salon
    # (and one cache entry), so query strings cannot mint cache entries without end.
    kinds = sorted({k.strip() for k in raw.split(",") if k.strip()})
    unknown = set(kinds) - set(Event.Kind.values)
    if unknown:
        raise ValueError(f"unknown kind: {', '.join(sorted(unknown))}")
    return kinds or None


def public_feed(request: HttpRequest) -> HttpResponse:
    """All public events, optionally ``?kind=salon,tea_talk`` and ``?venue=ID``."""
    try:
        kinds = _kinds(request)
        venue = int(request.GET["venue"]) if request.GET.get("venue") else None
    except ValueError as exc:
        return HttpResponseBadRequest(_("参数错误：%(error)s") % {"error": exc}, content_type="text/plain; charset=utf-8")
    if venue is not None and not Venue.objects.filter(pk=venue).exists():
        raise Http404("no such venue")
    state = _state()
    key = f"public:{','.join(sorted(kinds or []))}:{venue or ''}"

    def build() -> bytes:
        events = Event.objects.filter(visibility=Event.Visibility.PUBLIC)
        if kinds:
            events = events.filter(kind__in=kinds)
        if venue is not None:
            in_venue = Event.objects.filter(Q(venue_id=venue) | Q(overrides__venue_id=venue)).values("pk")
            events = events.filter(pk__in=in_venue)
        return public_calendar(events, name="法官书苑活动", description="法官书苑的读者沙龙、法学研讨会、法官茶座与读书活动")

    return _respond(request, _render(key, state, build), state, "shuyuan-events.ics")


def event_feed(request: HttpRequest, event_id: int) -> HttpResponse:
    """One event (the whole series).  Internal events only through a personal feed."""
    event = Event.objects.filter(pk=event_id, visibility=Event.Visibility.PUBLIC).first()
    if event is None:
        raise Http404("no such event")
    state = _state()

    def build() -> bytes:
        return public_calendar(Event.objects.filter(pk=event_id), name=event.title)

    return _respond(request, _render(f"event:{event_id}", state, build), state, f"event-{event_id}.ics")


def personal_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A person's feed: each occurrence they registered for (a whole-series registration: the series), the
    events they organise (as series), due dates and pickup deadlines; a link made with the scope "all" also
    holds every event they may see, as series."""
    link = calendar_link_for_token(token)
    if link is None:
        # Unknown, malformed or revoked: the same 404 as a missing page, never someone else's feed.
        raise Http404("no such feed")
    # What the link was made for: CalendarLink.Scope.MINE (the person's own dates) or ALL (every event they
    # may see, internal ones included, and their own dates).  Links of one scope share a cache entry.
    user, scope = link.user, link.scope
    state = _state()
    # The person's own version too: their registrations change it, not the version of every feed.
    own = PersonalFeedState.objects.filter(user_id=user.pk).values_list("version", "changed_at").first()
    version, changed_at = own if own else (0, state.changed_at)
    # The reminder preference lives in the notices app: its value is part of the key, and its change time of
    # Last-Modified, so a changed choice is a new body (not a 304 on If-Modified-Since).
    preference = NoticePreference.objects.filter(user_id=user.pk).values_list("remind_before", "updated_at").first()
    reminder, preference_changed = preference if preference else (DEFAULT_REMINDER, state.changed_at)

    def build() -> bytes:
        registrations: dict[int, list[Registration]] = {}
        for r in Registration.objects.filter(user=user, status__in=Registration.ACTIVE).order_by("occurrence", "id"):
            registrations.setdefault(r.event_id, []).append(r)
        organized = set(Event.objects.filter(organizers=user).values_list("pk", flat=True))
        shown = Q(pk__in=registrations) | Q(pk__in=organized)
        series = set(organized)
        if scope == "all":
            visible = set(event_queryset(viewer=user).order_by().values_list("pk", flat=True))
            shown |= Q(pk__in=visible)
            series |= visible
        events = _events(public=False).filter(shown).distinct()
        loans = Loan.objects.filter(patron=user, status=Loan.Status.ACTIVE).select_related("book", "copy").order_by("id")
        holds = Hold.objects.filter(patron=user, status=Hold.Status.READY).select_related("book", "copy").order_by("id")
        profile = getattr(user, "profile", None)
        name = getattr(profile, "display_name", "") or user.get_username()
        personal = PersonalItems(registrations=registrations, loans=list(loans), holds=list(holds), display_name=name,
                                 series=series, reminders=reminder_offsets(reminder))
        description = ("我报名的场次、我组织的活动、院内外全部活动和借阅到期日" if scope == "all"
                       else "我报名的场次、我组织的活动、借阅到期日和取书期限")
        return build_calendar(events, name=f"法官书苑 · {name}", description=description, personal=personal)

    key = f"user:{user.pk}:{version}:{scope}:{reminder}"
    return _respond(request, _render(key, state, build), state, "shuyuan-me.ics",
                    changed_at=max(state.changed_at, changed_at, preference_changed))


def _occurrence_instant(value: str) -> datetime | None:
    """``20261209T110000Z`` (an occurrence's original start in UTC, iCalendar's basic format) as an instant.
    Only that one spelling: strptime alone also took ``20261209t110000z`` and full-width digits, each a
    different URL — and cache key — for the same occurrence (attack round 17)."""
    if not re.fullmatch(r"\d{8}T\d{6}Z", value, re.ASCII):
        return None
    try:
        instant = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    # Outside the years any event may have, nothing to expand (and no arithmetic near datetime's limits).
    return instant if FIRST_YEAR <= instant.year <= LAST_YEAR else None


def occurrence_feed(request: HttpRequest, event_id: int, occurrence: str) -> HttpResponse:
    """One occurrence of a public event as a calendar of one VEVENT (its UID as in personal feeds): 404 for
    an internal event, an instant that is not one of its occurrences, or a cancellation past its 30 days."""
    instant = _occurrence_instant(occurrence)
    event = _events(public=True).filter(pk=event_id, visibility=Event.Visibility.PUBLIC).first() if instant else None
    if event is None or not occurrence_exists(event, instant) or occurrence_calendar(event, instant) is None:
        raise Http404("no such occurrence")
    state = _state()
    # Only real occurrences reach the cache, so a made-up instant mints no entry.
    canonical = f"{instant:%Y%m%dT%H%M%SZ}"
    entry = _render(f"occurrence:{event_id}:{canonical}", state, lambda: occurrence_calendar(event, instant))
    return _respond(request, entry, state, f"event-{event_id}-{canonical}.ics")
