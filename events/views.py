"""Web pages for events: the list of coming occurrences, an event page with registration."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import role_required
from accounts.models import Role
from core.errors import DomainError, InvalidInput
from events import attendance as attendance_codes
from events import selectors, services
from events.forms import (
    AttendanceForm,
    BulkOccurrencesForm,
    EventForm,
    EventListForm,
    OccurrenceActionForm,
    RegisterForm,
    SpeakerFormSet,
    form_repeat,
)
from events.ical import occurrence_path
from events.models import Attendance, Event, Registration, Venue
from events.recurrence import parse_instant
from events.schemas import feed_links

LIST_DAYS = 90
#: Occurrences on one page of the list; the next page continues after the last (a cursor, not an offset).
LIST_PAGE = 100
#: Occurrences one day of the month grid shows; a busier day links to the list from that day.
MONTH_DAY_ITEMS = 4
#: Coming occurrences the manage page lists, each with a box to tick for the series actions.
MANAGE_ITEMS = 60


#: The manage page's box that lets a move clash with other bookings (a refusal refers to it by this label).
FORCE_LABEL = gettext_lazy("场地有冲突也仍然安排")


def _short(moment) -> str:
    """A time as refusals name it: 12-23 19:00 (with the year when it is not this year's)."""
    local = timezone.localtime(moment)
    return f"{local:%m-%d %H:%M}" if local.year == timezone.localdate().year else f"{local:%Y-%m-%d %H:%M}"


def _refusal(exc: DomainError, event: Event | None = None) -> str:
    """A service's refusal as the manage page says it: a venue conflict names each booking in the way (the
    series' own other sessions as such) and points to the box to tick, never to the API's ?force=true."""
    if exc.code == "venue_too_busy":
        return _("场地在这段时间的预订过多，无法检查冲突。如确需安排，勾选“%(label)s”后再提交。") % {"label": FORCE_LABEL}
    conflicts = exc.extra.get("conflicts") or []
    if exc.code != "venue_conflict" or not conflicts:
        return exc.detail
    clashes = []
    for c in conflicts[:5]:
        when = _short(parse_instant(c["start"], "start"))
        if event is not None and c["event"] == event.pk:
            clashes.append(_("与本系列 %(when)s 的一场冲突") % {"when": when})
        else:
            clashes.append(_("与「%(title)s」（%(when)s）冲突") % {"title": c["title"], "when": when})
    more = len(conflicts) - len(clashes)
    listed = "；".join(clashes) + (ngettext("；另有 %(n)s 处冲突", "；另有 %(n)s 处冲突", more) % {"n": more} if more else "")
    return (_("未改期：新的时间场地已被占用——%(clashes)s。") % {"clashes": listed}
            + _("如确需安排，勾选“%(label)s”后再提交。") % {"label": FORCE_LABEL})


def _public_feeds(kind: str | None) -> list[dict]:
    """The feeds /events offers to subscribe to: every public event, and the chosen kind's (``?kind=``)."""
    url = f"{settings.SITE_URL}{reverse('feed-events')}"
    feeds = [{"url": url, "name": _("法官书苑活动"), "label": _("全部公开活动"), "key": "events"}]
    if kind:
        label = str(Event.Kind(kind).label)
        feeds.append({"url": f"{url}?kind={kind}", "name": _("法官书苑 · %(kind)s") % {"kind": label},
                      "label": label, "key": f"events-{kind}"})
    return feeds


def event_list(request: HttpRequest) -> HttpResponse:
    """Coming occurrences as a list, a page at a time (``?from=2026-12-01`` starts at a day, ``after`` is the
    cursor of the next page), or one month as a calendar grid (``?view=month&month=2026-12``)."""
    import calendar
    from datetime import datetime
    from urllib.parse import urlencode


    form = EventListForm(request.GET)
    form.is_valid()
    kind = form.value("kind")
    labels = dict(Event.Kind.choices)
    context = {"nav": "events", "kind": kind, "kinds": Event.Kind.choices, "view": "list",
               "feeds": _public_feeds(kind)}
    tz = timezone.get_current_timezone()
    if form.value("view") == "month":
        today = timezone.localdate()
        first = form.value("month") or today.replace(day=1)
        last_day = calendar.monthrange(first.year, first.month)[1]
        grid = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
        # Every day of the grid, the neighbouring months' leading and trailing days included (they were shown
        # empty although they had events: routine walk), and the day after the last for its end.
        dates = [day for week in grid for day in week]
        dates.append(dates[-1] + timedelta(days=1))
        bounds = [datetime(d.year, d.month, d.day, tzinfo=tz) for d in dates]
        # Each day's first few and how many more (one busy day cannot push the other days out).
        by_day, context["truncated"] = selectors.occurrence_days(
            viewer=request.user, days=list(zip(dates, bounds, bounds[1:], strict=False)),
            kinds=[kind] if kind else None, per_day=MONTH_DAY_ITEMS)
        for day in by_day.values():
            for item in day["items"]:
                item["kind_label"] = labels.get(item["kind"], item["kind"])
        empty = {"items": [], "more": 0}
        weeks = [[{"day": d, "in_month": d.month == first.month, "today": d == today, **by_day.get(d, empty),
                   "more_url": "?" + urlencode({"from": d.isoformat(), **({"kind": kind} if kind else {})})}
                  for d in week] for week in grid]
        prev_month = (first - timedelta(days=1)).replace(day=1)
        next_month = first + timedelta(days=last_day)
        names = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]
        context.update(view="month", weeks=weeks, month=first, prev_month=prev_month, next_month=next_month,
                       weekday_names=names)
        return render(request, "events/month.html", context)
    day = form.value("from")
    start = datetime(day.year, day.month, day.day, tzinfo=tz) if day else timezone.now()
    after = form.value("after")  # a mangled link starts the list again
    page = selectors.occurrence_list(viewer=request.user, start=start, end=start + timedelta(days=LIST_DAYS),
                                     kinds=[kind] if kind else None, limit=LIST_PAGE, after=after)
    items = page.items
    context["truncated"] = page.truncated
    for item in items:
        item["kind_label"] = labels.get(item["kind"], item["kind"])
    context["occurrences"] = items
    if page.next:
        query = {**({"from": day.isoformat()} if day else {}), **({"kind": kind} if kind else {}), "after": page.next}
        context["next_url"] = "?" + urlencode(query)
    context["from_day"] = day
    return render(request, "events/list.html", context)


def event_page(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.event_get(viewer=request.user, event_id=pk)
    if event is None:
        raise Http404
    now = timezone.now()
    occurrences = selectors.occurrence_list(viewer=request.user, start=now - timedelta(hours=3),
                                            end=now + timedelta(days=400), event=pk, limit=24).items
    mine = {}
    if request.user.is_authenticated:
        for r in Registration.objects.filter(event=event, user=request.user, status__in=Registration.ACTIVE):
            r.position = services.waitlist_position(r)
            mine[r.occurrence] = r
    # Why a cancelled session was cancelled (its exception's reason).  One query.
    reasons = dict(event.overrides.filter(status=Event.Status.CANCELLED).exclude(reason="")
                   .values_list("recurrence_id", "reason")) if event.rrule else {}
    for occ in occurrences:
        occ["mine"] = mine.get(occ["recurrence_id"]) or mine.get(None)
        occ["ics_path"] = occurrence_path(event.pk, occ["recurrence_id"] or event.start)
        occ["moved"] = occ["recurrence_id"] is not None and occ["recurrence_id"] != occ["start"]
        occ["reason"] = reasons.get(occ["recurrence_id"], "") if occ["status"] == Event.Status.CANCELLED else ""
    from library.selectors import book_availability, book_queryset

    reading = []
    for b in book_queryset().filter(events=event).order_by("title"):
        a = book_availability(book=b)
        badge = (_("在架 %(n)s/%(total)s") % {"n": a["available_copies"], "total": a["total_copies"]}
                 if a["available_copies"] else
                 _("借出 — 最早归还 %(due)s") % {"due": f"{a['earliest_due']:%Y-%m-%d}"} if a["earliest_due"]
                 else _("暂无在架复本"))
        reading.append({"title": b.title, "url": f"/books/{b.pk}", "badge": badge})
    from library.selectors import paper_visible_q

    reading += [{"title": p.title, "url": f"/papers/{p.pk}"}
                for p in event.papers.filter(paper_visible_q(request.user))]
    return render(request, "events/detail.html", {"nav": "events", "event": event, "occurrences": occurrences,
                                                  "reading_list": reading, "links": feed_links(event.pk),
                                                  "manages": selectors.can_manage(request.user, event)})


@login_required
@require_POST
def register(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.event_get(viewer=request.user, event_id=pk)
    if event is None:
        raise Http404
    form = RegisterForm(request.POST)
    if not form.is_valid():
        messages.error(request, next(str(m) for errors in form.errors.values() for m in errors))
        return redirect("event-detail", pk=pk)
    try:
        registration = services.registration_create(event=event, user=request.user,
                                                    occurrence=form.cleaned_data["occurrence"])
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _registered(event, registration))
    return redirect("event-detail", pk=pk)


def _registered(event: Event, registration: Registration) -> str:
    """What the reader is told after 报名: which session (or the whole series) they now hold a seat for, or
    their place on its waiting list."""
    from core.templatetags.punctuation import when

    if event.rrule and registration.occurrence is None:
        session = _("全部场次")
    else:
        session = when(timezone.localtime(services.session_of(event, registration.occurrence).start))
    if registration.status == Registration.Status.CONFIRMED:
        if event.rrule and registration.occurrence is None:
            return _("已报名本活动的全部场次。")
        return _("已报名 %(session)s 这一场。") % {"session": session}
    return _("%(session)s 名额已满，已加入候补（第 %(n)s 位）。") % {
        "session": session, "n": services.waitlist_position(registration)}


@login_required
@require_POST
def cancel_registration(request: HttpRequest, pk: int) -> HttpResponse:
    registration = Registration.objects.filter(pk=pk, user=request.user).first()
    if registration is None:
        raise Http404
    try:
        services.registration_cancel(registration=registration)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("已取消报名。"))
    return redirect("event-detail", pk=registration.event_id)


# --- organizers ------------------------------------------------------------------------------------------


def _managed(request: HttpRequest, pk: int) -> Event:
    """An event the organizer manages (one they may not manage is not found, as in the API)."""
    event = selectors.event_get(viewer=request.user, event_id=pk)
    if event is None or not selectors.can_manage(request.user, event):
        raise Http404
    return event


@role_required(Role.ORGANIZER)
def organize(request: HttpRequest) -> HttpResponse:
    """My events, and the form to create one (``_event_form_page``)."""
    return _event_form_page(request, event=None)


#: The service's field names on the organizer's form (a refusal is shown beside the field it concerns).
FORM_FIELDS = {"start": "date", "end": "end_time", "rrule": "repeat", "title": "title", "kind": "kind", "venue": "venue",
               "online_url": "online_url", "capacity": "capacity", "registration_opens": "registration_opens",
               "registration_closes": "registration_closes", "books": "books", "papers": "papers",
               "visibility": "visibility"}
#: Buttons of the reading list that change the page without saving (when the page has no script).
READING_STEPS = ("find_reading", "add_book", "add_paper", "drop_book", "drop_paper")


def _with_closed_days(starts: list) -> list[tuple]:
    """Each previewed start with whether it falls on one of the library's closed days and that day's name (a public
    holiday: 元旦, 国庆节…) — a series does not skip them by itself, and the organizer decides (routine walk: a
    monthly tea talk landed on New Year's Day)."""
    from library.models import ClosedDay

    days = [timezone.localdate(s) for s in starts]
    closed = dict(ClosedDay.objects.filter(date__in=days).values_list("date", "name"))
    return [(s, d in closed, closed.get(d, "")) for s, d in zip(starts, days, strict=True)]


def _form_step(post, *, default: str) -> tuple[object, str, str]:
    """The posted data with the reading list's add/remove buttons and a chosen free slot applied, what the
    press asked for: ``save`` (also a free slot), ``preview``, or ``step`` (the reading list changed: show the
    form again, saving nothing and judging nothing yet); ``default`` when no button is named (Enter in a field
    of an older page); and what is wrong with a chosen slot ("" when nothing is)."""
    data = post.copy()
    for kind in ("book", "paper"):
        values = [v for v in data.getlist(f"{kind}s") if v != data.get(f"drop_{kind}")]
        added = data.get(f"add_{kind}", "")
        if added and added not in values:
            values.append(added)
        data.setlist(f"{kind}s", values)
    if any(name in post for name in READING_STEPS):
        return data, "step", ""
    slot = post.get("slot", "")
    if slot:
        from datetime import datetime

        from events.recurrence import FIRST_YEAR, LAST_YEAR

        # A mangled slot shows the form as it was, with the error.  The year is checked before any arithmetic:
        # 9999-12-31T23:30 plus an hour overflowed into a 500 (attack round 17).
        try:
            moment = datetime.strptime(slot, "%Y-%m-%dT%H:%M")
            length = (datetime.strptime(post.get("end_time", ""), "%H:%M")
                      - datetime.strptime(post.get("start_time", ""), "%H:%M"))
            if not FIRST_YEAR <= moment.year <= LAST_YEAR:
                return data, "preview", _("所选时段须在 %(first)s 至 %(last)s 年之间") % {
                    "first": FIRST_YEAR, "last": LAST_YEAR}
            if length <= timedelta(0):
                return data, "preview", _("结束时间必须晚于开始时间")
            end = moment + length
        except (ValueError, OverflowError):
            return data, "preview", _("所选时段无效，请重新选择。")
        data["date"] = moment.date().isoformat()
        data["start_time"] = f"{moment:%H:%M}"
        data["end_time"] = f"{end:%H:%M}"
        return data, "save", ""
    if "save" in post or "preview" in post:
        return data, "save" if "save" in post else "preview", ""
    return data, default, ""


def _reading_items(form: EventForm, viewer) -> list[dict]:
    """The chips of the reading list: the form's books and papers (those that exist and the viewer may see)."""
    from library.models import Book, Paper
    from library.selectors import paper_visible_q

    field_value = {}
    for name in ("books", "papers"):
        try:
            field_value[name] = form.fields[name].to_python(form[name].value())
        except Exception:  # a mangled id: no chip (the form says what is wrong)
            field_value[name] = []
    books = {b.pk: b for b in Book.objects.filter(pk__in=field_value["books"]).only("pk", "title")}
    papers = {p.pk: p for p in Paper.objects.filter(paper_visible_q(viewer), pk__in=field_value["papers"])
              .only("pk", "title")}
    return ([{"type": "book", "id": pk, "title": books[pk].title, "label": _("图书")}
             for pk in field_value["books"] if pk in books]
            + [{"type": "paper", "id": pk, "title": papers[pk].title, "label": _("调研成果")}
               for pk in field_value["papers"] if pk in papers])


def _reading_search(query: str, viewer) -> list[dict]:
    """Books and papers whose title holds the words typed (the page without script; with script the box asks
    the full-text search, ``GET /api/v1/search``).  A title match in the database: events sits beside the
    search index, not above it (tests/shuyuan/test_layers.py)."""
    from library.models import Book, Paper
    from library.selectors import paper_visible_q

    words = query.split()[:5]
    if not words:
        return []
    title = Q()
    for word in words:
        title &= Q(title__icontains=word[:100])
    books = Book.objects.filter(title).order_by("title", "pk").only("pk", "title", "year")[:8]
    papers = (Paper.objects.filter(paper_visible_q(viewer)).filter(title).order_by("title", "pk")
              .only("pk", "title", "year")[: 8 - len(books)])
    return ([{"type": "book", "id": b.pk, "title": b.title, "authors": "", "year": b.year} for b in books]
            + [{"type": "paper", "id": p.pk, "title": p.title, "authors": "", "year": p.year} for p in papers])


def _conflict(*, conflicts: list[dict], venue, start, end, rrule: str, exclude: int | None) -> dict:
    """What the page says once, beside the time and the venue: the first clashing booking (and how many more),
    and the nearest free starts at that venue."""
    found = (selectors.free_slots(venue_id=venue.pk, start=start, end=end, rrule=rrule, exclude_event=exclude)
             if venue is not None else [])
    # A series keeps its days and moves to another time of day: its button says the whole rule.
    slots = [{"value": f"{timezone.localtime(s):%Y-%m-%dT%H:%M}", "label": _span_words(s, s + (end - start), rrule)}
             for s in found]
    return {"detail": "", "venue": venue, "first": conflicts[0] if conflicts else None,
            "more": max(0, len(conflicts) - 1), "slots": slots}


def _span_words(start, end, rrule: str = "") -> str:
    """When an event takes place, start to end: 2026-12-16（星期三）19:30—20:30, or a series' rule with its hours
    (每周三 19:30—20:30，共 8 次)."""
    from core.templatetags.punctuation import when
    from events.recurrence import rule_in_words

    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    if rrule:
        # The rule's words hold its start time once, right after the days: the end is written beside it.
        return rule_in_words(rrule, start).replace(f" {local_start:%H:%M}", f" {local_start:%H:%M}—{local_end:%H:%M}", 1)
    if local_end.date() != local_start.date():
        return f"{when(local_start)}—{when(local_end)}"
    return f"{when(local_start)}—{local_end:%H:%M}"


def _conflict_dicts(found) -> list[dict]:
    return [{"title": c.title, "start": timezone.localtime(c.start), "end": timezone.localtime(c.end)} for c in found]


def _event_form_page(request: HttpRequest, *, event: Event | None) -> HttpResponse:
    """/organize (``event`` None: a new event) and /organize/<id>/edit: one form, grouped, with speakers, a
    reading list, a venue conflict shown once beside time and venue (with free slots to pick instead)."""
    from core.templatetags.punctuation import when
    from events.recurrence import occurrences as expand
    from events.recurrence import rule_in_words

    creating = event is None
    initial, speakers_initial, unsupported = ({}, [], False) if creating else _initial_of(event)
    data, action, slot_error = (_form_step(request.POST, default="preview" if creating else "save")
                                if request.method == "POST" else (None, "", ""))
    form = EventForm(data, initial=initial, creating=creating)
    if slot_error:
        form.add_error(None, slot_error)  # nothing is saved or previewed: the form is no longer valid
    # A page from before the speakers' rows (or a script posting the old fields) leaves the speakers as they are.
    speakers_posted = data is not None and "speakers-TOTAL_FORMS" in data
    speakers = SpeakerFormSet(data if speakers_posted else None, prefix="speakers", initial=speakers_initial)
    reading_posted = data is not None and "reading_list" in data
    preview, conflict, words, found = [], None, "", []
    if action == "step":
        found = _reading_search(data.get("reading_q", ""), request.user) if "find_reading" in data else []
        form.quiet = True
    elif action and form.is_valid() and (not speakers_posted or speakers.is_valid()):
        cleaned = form.cleaned_data
        start, end = form.times()
        rrule = form.rrule() if not unsupported else event.rrule
        words = rule_in_words(rrule, start) if rrule else _("不重复")
        venue = cleaned["venue"]
        speaker_rows = None
        if speakers_posted:
            speaker_rows = [services.SpeakerData(name=f.cleaned_data["name"], role=f.cleaned_data.get("role", ""),
                                                 user=f.cleaned_data.get("user") or None)
                            for f in speakers.forms
                            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("name")]
        fields = {"title": cleaned["title"], "kind": cleaned["kind"], "start": start, "end": end,
                  "description": cleaned["description"], "venue": venue.pk if venue else None,
                  "online_url": cleaned["online_url"], "capacity": cleaned["capacity"],
                  "visibility": cleaned["visibility"], "registration_required": cleaned["registration_required"],
                  "registration_opens": cleaned["registration_opens"],
                  "registration_closes": cleaned["registration_closes"]}
        if reading_posted or creating:
            fields.update(books=cleaned["books"], papers=cleaned["papers"])
        probe = Event(pk=None if creating else event.pk, title=cleaned["title"], start=start, end=end, rrule=rrule,
                      venue_id=venue.pk if venue else None)
        overrides = [] if creating else list(event.overrides.all())
        preview = _with_closed_days([o.start for o in expand(probe, start, start + timedelta(days=400), overrides=[])][:6])
        force = cleaned["force"]
        exclude = None if creating else event.pk
        try:
            if action == "preview":
                found_conflicts = [] if force else services.venue_conflicts(probe, overrides=overrides)
                if found_conflicts:
                    conflict = _conflict(conflicts=_conflict_dicts(found_conflicts), venue=venue, start=start, end=end,
                                         rrule=rrule, exclude=exclude)
            elif creating:
                saved = services.event_create(
                    data=services.EventData(rrule=rrule, speakers=speaker_rows or [], **fields),
                    actor=request.user, force=force)
                if rrule:
                    messages.success(request, _("已安排「%(title)s」：%(rule)s，首场 %(first)s。") % {
                        "title": saved.title, "rule": _span_words(start, end, rrule),
                        "first": when(timezone.localtime(start))})
                else:
                    messages.success(request, _("已安排「%(title)s」：%(when)s。") % {
                        "title": saved.title, "when": _span_words(start, end)})
                return redirect("event-detail", pk=saved.pk)
            else:
                changes = {**fields, **({"rrule": rrule} if not unsupported else {}),
                           **({"speakers": speaker_rows} if speaker_rows is not None else {})}
                saved = services.event_update(event=event, changes=changes, actor=request.user, force=force)
                said = _("已保存「%(title)s」：%(when)s。") % {"title": cleaned["title"], "when": _span_words(start, end, rrule)}
                if saved.notified:
                    said += ngettext("已把时间或地点的变更通知 %(n)s 位报名读者。", "已把时间或地点的变更通知 %(n)s 位报名读者。",
                                     saved.notified) % {"n": saved.notified}
                messages.success(request, said)
                return redirect("event-detail", pk=event.pk)
        except InvalidInput as exc:
            form.add_error(FORM_FIELDS.get(exc.field), exc.detail)
        except DomainError as exc:
            if exc.code == "venue_conflict":
                listed = [{"title": c["title"], "start": parse_instant(c["start"], "start"),
                           "end": parse_instant(c["end"], "end")} for c in exc.extra.get("conflicts", [])]
                conflict = _conflict(conflicts=listed, venue=venue, start=start, end=end, rrule=rrule, exclude=exclude)
            elif exc.code == "venue_too_busy":
                conflict = {"detail": exc.detail, "venue": venue, "first": None, "more": 0, "slots": []}
            else:
                form.add_error(None, exc.detail)
    if creating:
        mine = Event.objects.filter(organizers=request.user).select_related("venue").order_by("-start")[:50]
    else:
        mine = []
    return render(request, "events/organize.html" if creating else "events/edit.html", {
        "nav": "organize", "event": event, "form": form, "speakers": speakers, "preview": preview,
        "conflict": conflict, "saving": action == "save", "mine": mine, "words": words, "unsupported": unsupported,
        "reading": _reading_items(form, request.user), "found": found})


def _initial_of(event: Event) -> tuple[dict, list[dict], bool]:
    """The form's values for an event, its speakers' rows, and whether its rule is one the form cannot
    express (it is then kept as it is)."""
    local_start, local_end = timezone.localtime(event.start), timezone.localtime(event.end)
    initial = {"title": event.title, "kind": event.kind, "date": local_start.date(), "start_time": local_start.time(),
               "end_time": local_end.time(), "venue": event.venue_id, "capacity": event.capacity,
               "description": event.description, "online_url": event.online_url, "visibility": event.visibility,
               "registration_required": event.registration_required,
               "registration_opens": event.registration_opens and timezone.localtime(event.registration_opens),
               "registration_closes": event.registration_closes and timezone.localtime(event.registration_closes),
               "books": list(event.books.values_list("pk", flat=True)),
               "papers": list(event.papers.values_list("pk", flat=True))}
    repeat = form_repeat(event.rrule)
    unsupported = bool(event.rrule) and repeat is None
    initial.update(repeat or {"repeat": "none"})
    speakers = [{"name": s.name, "role": s.role, "user": s.user.get_username() if s.user else ""}
                for s in event.speakers.select_related("user")]
    return initial, speakers, unsupported


def _told(notified: int) -> str:
    """What the readers were told, as it happened."""
    if not notified:
        return _("没有报名的读者。")
    return ngettext("已通知 %(n)s 位报名读者。", "已通知 %(n)s 位报名读者。", notified) % {"n": notified}


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


#: Sessions the attendees page offers: this far back and ahead of today.
ROSTER_BACK = timedelta(days=60)
ROSTER_AHEAD = timedelta(days=60)


def _sessions(event: Event) -> list[services.Session]:
    """The sessions an organizer may pick on the attendees page (a single event: its one)."""
    if not event.rrule:
        return [services.session_of(event, None)]
    from events.recurrence import occurrences as expand

    now = timezone.now()
    return [services.Session(event=event, key=o.recurrence_id, recurrence_id=o.recurrence_id, start=o.start, end=o.end,
                             status=o.status)
            for o in expand(event, now - ROSTER_BACK, now + ROSTER_AHEAD)][:200]


def _chosen_session(event: Event, sessions: list[services.Session], wanted) -> services.Session | None:
    """The session asked for, else the one open for check-in now, else the next to come, else the last."""
    if wanted is not None:
        for session in sessions:
            if session.recurrence_id == wanted:
                return session
    open_now = services.sessions_open(event)
    if open_now:
        return next((s for s in sessions if s.key == open_now[0].key), open_now[0])
    now = timezone.now()
    coming = [s for s in sessions if s.start >= now and s.status == Event.Status.SCHEDULED]
    return coming[0] if coming else (sessions[-1] if sessions else None)


def _attendees_url(pk: int, session) -> str:
    url = reverse("event-attendees", args=[pk])
    if session is not None and session.recurrence_id is not None:
        url += "?" + urlencode({"occurrence": session.recurrence_id.isoformat()})
    return url


def _check_in_message(request: HttpRequest, result: services.CheckIn) -> None:
    name = services.person_name(result.attendance.user)
    when = f"{timezone.localtime(result.attendance.checked_in_at):%H:%M}"
    if result.already:
        messages.info(request, _("%(name)s 已于 %(when)s 签到。") % {"name": name, "when": when})
    elif result.walk_in:
        messages.success(request, _("%(name)s 现场加入并已签到。") % {"name": name})
    else:
        messages.success(request, _("%(name)s 已签到。") % {"name": name})


@role_required(Role.ORGANIZER)
def attendees(request: HttpRequest, pk: int) -> HttpResponse:
    """Who registered for one session of my event and who came: check-in by scanning a reader's personal
    code (or typing it), by each row's button, undone by another; the session's own code for readers to scan."""
    event = _managed(request, pk)
    if request.method == "POST":
        form = AttendanceForm(request.POST)
        if not form.is_valid():
            messages.error(request, form.first_error())
            return redirect("event-attendees", pk=pk)
        data = form.cleaned_data
        session = None
        try:
            session = services.session_of(event, data["occurrence"])
            if data["action"] == "undo":
                attendance = Attendance.objects.filter(pk=data["attendance"] or 0, event=event).select_related(
                    "user", "registration__event").first()
                if attendance is not None:
                    cancelled = services.check_in_undo(attendance=attendance)
                    name = services.person_name(attendance.user)
                    messages.success(request, (_("已撤销 %(name)s 的签到，现场加入的报名也已取消。") if cancelled
                                               else _("已撤销 %(name)s 的签到。")) % {"name": name})
            elif data["action"] == "check-in":
                registration = Registration.objects.filter(pk=data["registration"] or 0, event=event).select_related(
                    "user").first()
                if registration is not None:
                    _check_in_message(request, services.check_in(
                        event=event, user=registration.user, occurrence=session.recurrence_id, actor=request.user))
            else:
                reader = attendance_codes.personal_code_user(data["code"])
                try:
                    result = services.check_in(event=event, user=reader, occurrence=session.recurrence_id,
                                               actor=request.user, method=Attendance.Method.SCAN,
                                               walk_in=data["walk_in"])
                except DomainError as exc:
                    if exc.code == "not_registered":
                        # The organizer decides: the page offers to let the reader join on the spot.
                        request.session["walk_in"] = {"event": pk, "code": data["code"],
                                                      "name": services.person_name(reader)}
                    raise
                _check_in_message(request, result)
        except DomainError as exc:
            messages.error(request, exc.detail)
        return redirect(_attendees_url(pk, session))
    sessions = _sessions(event)
    wanted = None
    if request.GET.get("occurrence"):
        picked = AttendanceForm({"action": "scan", "occurrence": request.GET["occurrence"]})
        wanted = picked.cleaned_data.get("occurrence") if picked.is_valid() else None
    session = _chosen_session(event, sessions, wanted)
    roster = selectors.session_rosters(event, [session])[0][1] if session is not None else []
    context = {"nav": "organize", "event": event, "sessions": sessions, "session": session, "rows": roster,
               "checked_in": sum(1 for r in roster if r["checked_in_at"]), "open": False,
               # Expected: the confirmed and whoever came; the waitlist is told apart (it counted as expected).
               "expected": sum(1 for r in roster if r["status"] != "waitlisted" or r["checked_in_at"]),
               "waiting": sum(1 for r in roster if r["status"] == "waitlisted" and not r["checked_in_at"])}
    if session is not None:
        now = timezone.now()
        context["open"] = session.status == Event.Status.SCHEDULED and session.opens <= now < session.closes
        context["occurrence_value"] = session.recurrence_id.isoformat() if session.recurrence_id else ""
        if context["open"]:
            import segno

            code = attendance_codes.occurrence_code(event, session.recurrence_id, timezone.localdate(now))
            url = request.build_absolute_uri(reverse("event-check-in", args=[pk])) + "?" + urlencode({"code": code})
            context["self_url"] = url
            context["self_qr"] = segno.make(url, error="m").svg_inline(scale=4)
        walk_in = request.session.pop("walk_in", None)
        if walk_in and walk_in.get("event") == pk:
            context["walk_in"] = walk_in
    return render(request, "events/attendees.html", context)


@require_safe
@role_required(Role.ORGANIZER, Role.LIBRARIAN)
def attendance_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The event's attendance, a row per person and session held so far: CSV (with BOM) or XLSX."""
    from events import exports

    event = selectors.event_get(viewer=request.user, event_id=pk)
    if event is None or not selectors.can_see_attendance(request.user, event):
        raise Http404
    rows = exports.attendance_table(event)
    if fmt == "xlsx":
        return exports.xlsx_response(rows, filename=f"attendance-{event.pk}.xlsx", title=event.title)
    return exports.csv_response(rows, filename=f"attendance-{event.pk}.csv")


@login_required
def self_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """A reader who scanned a session's code (shown on the attendees page): a page to confirm (GET), then the
    check-in (POST; CSRF-protected, so a link alone checks nobody in)."""
    event = selectors.event_get(viewer=request.user, event_id=pk)
    if event is None:
        raise Http404
    form = AttendanceForm({"action": "scan", "code": request.POST.get("code") or request.GET.get("code", ""),
                           "walk_in": request.POST.get("walk_in", "")})
    form.is_valid()
    code = form.cleaned_data.get("code", "")
    context = {"nav": "events", "event": event, "code": code}
    try:
        occurrence = attendance_codes.occurrence_code_read(code, event_id=event.pk)
        session = services.session_of(event, occurrence)
        context["session"] = session
        if request.method == "POST":
            result = services.check_in(event=event, user=request.user, occurrence=session.recurrence_id,
                                       actor=request.user, method=Attendance.Method.SELF,
                                       walk_in=form.cleaned_data.get("walk_in", False))
            if result.already:
                messages.info(request, _("您已于 %(when)s 签到。") % {
                    "when": f"{timezone.localtime(result.attendance.checked_in_at):%H:%M}"})
            else:
                messages.success(request, _("签到成功：%(title)s %(when)s。") % {"title": event.title,
                                                                           "when": _local(session.start)})
            return redirect(reverse("me") + "#attendance")
        scope = Q(occurrence__isnull=True) | Q(occurrence=session.recurrence_id) if session.recurrence_id else Q()
        context["registration"] = Registration.objects.filter(
            scope, event=event, user=request.user, status__in=Registration.ACTIVE).first()
        context["attended"] = Attendance.objects.filter(event=event, occurrence=session.key, user=request.user).first()
    except DomainError as exc:
        context["error"] = exc.detail
        context["code_error"] = exc.code
    return render(request, "events/check_in.html", context)


@login_required
@require_POST
def check_in_code_rotate(request: HttpRequest) -> HttpResponse:
    """A new personal check-in code on /me; the old QR code stops working."""
    attendance_codes.personal_code_rotate(user=request.user)
    messages.success(request, _("签到码已更换，旧的签到码不再有效。"))
    return redirect(reverse("me") + "#check-in-code")


def _bulk(request: HttpRequest, event: Event) -> tuple[str, int] | None:
    """The manage page's series actions, with messages saying what was done and who was told; a refusal is
    returned with its status (nothing was changed) for the page to show beside the form, the choices kept."""
    form = BulkOccurrencesForm(request.POST)
    if not form.is_valid():
        return form.first_error(), 422
    data = form.cleaned_data
    if data["action"] == "bulk-change":
        return _change_one(request, event, data)
    action = "cancel" if data["action"] == "bulk-cancel" else "move"
    shift = timedelta(days=data["shift_days"]) if data["shift_days"] else None
    try:
        done = services.occurrences_change(event=event, actor=request.user, recurrence_ids=data["occurrences"],
                                           action=action, reason=data["reason"], shift=shift,
                                           at_time=data["new_time"], on_date=data["new_date"], force=data["force"])
    except DomainError as exc:
        return _refusal(exc, event), exc.status
    n = len(done.overrides)
    if not n:
        messages.info(request, _("所选场次没有变化。"))
    elif action == "cancel":
        messages.success(request, ngettext("已取消 %(n)s 场。", "已取消 %(n)s 场。", n) % {"n": n} + _told(done.notified))
    else:
        moved = "、".join(_local(o.start) for o in done.overrides[:5]) + ("…" if n > 5 else "")
        messages.success(request, ngettext("已改期 %(n)s 场（%(when)s）。", "已改期 %(n)s 场（%(when)s）。", n) % {
            "n": n, "when": moved} + _told(done.notified))
    return None


def _change_one(request: HttpRequest, event: Event, data: dict) -> tuple[str, int] | None:
    """One ticked occurrence gets a venue (or goes online) and/or a title of its own (the API's overrides; the page
    could only move or cancel a session: routine walk); its readers are told of a new place."""
    if len(data["occurrences"]) != 1:
        return _("修改场地或标题时只能选择一场。"), 422
    changes: dict = {}
    if data["new_venue"]:
        changes["venue"] = None if data["new_venue"] == "online" else int(data["new_venue"])
    if data["new_title"].strip():
        changes["title"] = data["new_title"].strip()
    if not changes:
        return _("请选择新的场地或填写新的标题。"), 422
    try:
        override = services.override_set(event=event, actor=request.user, recurrence_id=data["occurrences"][0],
                                          changes=changes, force=data["force"])
    except DomainError as exc:  # InvalidInput among them
        return _refusal(exc, event), exc.status
    messages.success(request, _("%(when)s 这一场已修改。") % {"when": _local(override.recurrence_id)}
                     + _told(override.notified))
    return None


def _registration_counts(event: Event, occurrences: list[dict]) -> None:
    """Each occurrence's active registrations (``confirmed``, ``waitlisted``): its own and the whole series'
    (a one-off event's are all "whole").  One query."""
    from django.db.models import Count

    counts: dict = {}
    for row in (Registration.objects.filter(event=event, status__in=Registration.ACTIVE)
                .values("occurrence", "status").annotate(n=Count("id"))):
        counts.setdefault(row["occurrence"], {}).setdefault(row["status"], 0)
        counts[row["occurrence"]][row["status"]] += row["n"]
    whole = counts.get(None, {})
    for occ in occurrences:
        own = counts.get(occ["recurrence_id"], {}) if occ["recurrence_id"] is not None else {}
        occ["confirmed"] = own.get("confirmed", 0) + whole.get("confirmed", 0)
        occ["waitlisted"] = own.get("waitlisted", 0) + whole.get("waitlisted", 0)


@role_required(Role.ORGANIZER)
def manage(request: HttpRequest, pk: int) -> HttpResponse:
    """One of my events: cancel or move the ticked occurrences at once, or cancel the whole event."""
    event = _managed(request, pk)
    refused = None
    if request.method == "POST" and request.POST.get("action", "").startswith("bulk-"):
        refused = _bulk(request, event)
        if refused is None:
            return redirect("event-manage", pk=pk)
    elif request.method == "POST":
        form = OccurrenceActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, form.first_error())
            return redirect("event-manage", pk=pk)
        action, reason, rid = (form.cleaned_data[k] for k in ("action", "reason", "recurrence_id"))
        try:
            if action == "cancel-event":
                cancelled = services.event_cancel(event=event, actor=request.user, occurrence=None, reason=reason)
                messages.success(request, _("整个活动已取消。") + _told(cancelled.notified))
            elif action == "cancel-occurrence":
                done = services.occurrences_change(event=event, actor=request.user, recurrence_ids=[rid],
                                                   action="cancel", reason=reason)
                messages.success(request, _("%(when)s 这一场已取消。") % {"when": _local(rid)} + _told(done.notified))
            else:
                new_start = form.cleaned_data["new_start"]
                done = services.occurrences_change(
                    event=event, actor=request.user, recurrence_ids=[rid], action="move", on_date=new_start.date(),
                    at_time=new_start.time(), force=form.cleaned_data["force"])
                messages.success(request, _("已改到 %(when)s。") % {"when": f"{new_start:%Y-%m-%d %H:%M}"}
                                 + _told(done.notified))
        except DomainError as exc:
            messages.error(request, _refusal(exc, event))
        return redirect("event-manage", pk=pk)
    now = timezone.now()
    occurrences = selectors.occurrence_list(viewer=request.user, start=now, end=now + timedelta(days=400), event=pk,
                                            limit=MANAGE_ITEMS).items
    _registration_counts(event, occurrences)
    # After a refusal the page is shown again as it was posted: the ticked sessions and the values typed.
    posted = request.POST if refused else {}
    ticked = set()
    for value in posted.getlist("occurrences") if posted else []:
        try:
            ticked.add(parse_instant(value, "occurrences"))
        except InvalidInput:
            pass
    for occ in occurrences:
        occ["ticked"] = occ["recurrence_id"] in ticked
    return render(request, "events/manage.html", {
        "nav": "organize", "event": event, "occurrences": occurrences, "bulk_max": services.BULK_MAX,
        "venues": Venue.objects.order_by("name"),
        "bulk_error": refused[0] if refused else None, "posted": posted, "force_label": FORCE_LABEL,
    }, status=refused[1] if refused else 200)


@role_required(Role.ORGANIZER)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit everything the create form sets (``_event_form_page``); a rule the form cannot express is kept."""
    return _event_form_page(request, event=_managed(request, pk))
