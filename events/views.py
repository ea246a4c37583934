"""Web pages for events: the list of coming occurrences, an event page with registration."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import Role
from core.errors import DomainError
from events import selectors, services
from events.forms import CheckInForm, EventForm, EventListForm, OccurrenceActionForm, RegisterForm
from events.models import Event, Registration
from events.schemas import feed_links

LIST_DAYS = 90
#: Occurrences on one page of the list; the next page continues after the last (a cursor, not an offset).
LIST_PAGE = 100
#: Occurrences one day of the month grid shows; a busier day links to the list from that day.
MONTH_DAY_ITEMS = 4


def _refusal(exc: DomainError) -> str:
    """A service's refusal as a message; venue conflicts name the bookings in the way."""
    conflicts = exc.extra.get("conflicts") or []
    if not conflicts:
        return exc.detail
    booked = "；".join(f"{c['title']} {c['start'][:16].replace('T', ' ')}" for c in conflicts[:5])
    return f"{exc.detail}：{booked}。" + _("如确需安排，勾选“仍然安排”。")


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
        dates = [first + timedelta(days=i) for i in range(last_day + 1)]
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
                  for d in week] for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)]
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
    for occ in occurrences:
        occ["mine"] = mine.get(occ["recurrence_id"]) or mine.get(None)
    from library.selectors import book_availability, book_queryset

    reading = []
    for b in book_queryset().filter(events=event).order_by("title"):
        a = book_availability(book=b)
        badge = f"在架 {a['available_copies']}/{a['total_copies']}" if a["available_copies"] else (
            f"借出 — 最早归还 {a['earliest_due']:%Y-%m-%d}" if a["earliest_due"] else "暂无在架复本")
        reading.append({"title": b.title, "url": f"/books/{b.pk}", "badge": badge})
    from library.selectors import paper_visible_q

    reading += [{"title": p.title, "url": f"/papers/{p.pk}"}
                for p in event.papers.filter(paper_visible_q(request.user))]
    return render(request, "events/detail.html", {"nav": "events", "event": event, "occurrences": occurrences,
                                                  "reading_list": reading, "links": feed_links(event.pk)})


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
        if registration.status == Registration.Status.CONFIRMED:
            messages.success(request, _("报名成功。"))
        else:
            messages.success(request, _("名额已满，已加入候补（第 %(n)s 位）。") % {"n": services.waitlist_position(registration)})
    return redirect("event-detail", pk=pk)


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
    """My events, and a form to create one with recurrence in plain words, a preview and conflict warnings."""
    from events.recurrence import occurrences as expand

    form = EventForm(request.POST or None)
    preview, conflicts = [], []
    if request.method == "POST" and form.is_valid():
        start, end = form.times()
        data = services.EventData(
            title=form.cleaned_data["title"], kind=form.cleaned_data["kind"], start=start, end=end,
            description=form.cleaned_data["description"],
            venue=form.cleaned_data["venue"].pk if form.cleaned_data["venue"] else None,
            capacity=form.cleaned_data["capacity"], rrule=form.rrule(),
        )
        probe = Event(title=data.title, kind=data.kind, start=start, end=end, rrule=data.rrule, venue_id=data.venue)
        preview = [o.start for o in expand(probe, start, start + timedelta(days=400), overrides=[])][:6]
        try:
            conflicts = services.venue_conflicts(probe)
        except DomainError as exc:  # a venue booked past what one check reads: say so, as a conflict
            conflicts, busy = [], exc.detail
        else:
            busy = ""
        if busy and not form.cleaned_data["force"]:
            messages.error(request, busy)
        elif "save" in request.POST and (not conflicts or form.cleaned_data["force"]):
            try:
                event = services.event_create(data=data, actor=request.user, force=True)
            except DomainError as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, _("已安排「%(title)s」（%(rule)s）。") % {"title": event.title, "rule": form.plain_words()})
                return redirect("event-detail", pk=event.pk)
        elif "save" in request.POST:
            messages.error(request, _("场地在这些时间已有活动；确认后勾选“仍然安排”再保存。"))
    mine = Event.objects.filter(organizers=request.user).select_related("venue").order_by("-start")[:50]
    return render(request, "events/organize.html", {"nav": "organize", "form": form, "preview": preview,
                                                    "conflicts": conflicts, "mine": mine,
                                                    "words": form.plain_words() if form.is_bound and form.is_valid() else ""})


@role_required(Role.ORGANIZER)
def attendees(request: HttpRequest, pk: int) -> HttpResponse:
    """The attendee list of one of my events, with check-in."""
    event = _managed(request, pk)
    if request.method == "POST":
        form = CheckInForm(request.POST)
        registration = (Registration.objects.filter(pk=form.cleaned_data["registration"], event=event).first()
                        if form.is_valid() else None)
        if registration is not None:
            try:
                services.registration_check_in(registration=registration)
            except DomainError as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, _("%(reader)s 已签到。") % {"reader": registration.user.get_username()})
        return redirect("event-attendees", pk=pk)
    rows = selectors.registration_rows(
        selectors.registration_queryset().filter(event=event).exclude(status=Registration.Status.CANCELLED)
        .order_by("occurrence", "created_at", "id"))
    return render(request, "events/attendees.html", {"nav": "organize", "event": event, "rows": rows})


@role_required(Role.ORGANIZER)
def manage(request: HttpRequest, pk: int) -> HttpResponse:
    """One of my events: move or cancel one occurrence, or cancel the whole event."""
    event = _managed(request, pk)
    if request.method == "POST":
        form = OccurrenceActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, form.first_error())
            return redirect("event-manage", pk=pk)
        action, reason, rid = (form.cleaned_data[k] for k in ("action", "reason", "recurrence_id"))
        try:
            if action == "cancel-event":
                services.event_cancel(event=event, actor=request.user, occurrence=None, reason=reason)
                messages.success(request, _("整个活动已取消，已通知报名的读者。"))
            elif action == "cancel-occurrence":
                services.event_cancel(event=event, actor=request.user, occurrence=rid, reason=reason)
                messages.success(request, _("%(when)s 这一场已取消。") % {"when": f"{timezone.localtime(rid):%Y-%m-%d %H:%M}"})
            else:
                new_start = form.cleaned_data["new_start"]
                services.override_set(event=event, actor=request.user, recurrence_id=rid,
                                      changes={"start": new_start}, force=form.cleaned_data["force"])
                messages.success(request, _("已改到 %(when)s，已通知报名的读者。") % {"when": f"{new_start:%Y-%m-%d %H:%M}"})
        except DomainError as exc:
            messages.error(request, _refusal(exc))
        return redirect("event-manage", pk=pk)
    now = timezone.now()
    occurrences = selectors.occurrence_list(viewer=request.user, start=now, end=now + timedelta(days=400), event=pk,
                                            limit=24).items
    return render(request, "events/manage.html", {"nav": "organize", "event": event, "occurrences": occurrences})


@role_required(Role.ORGANIZER)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit an event's title, kind, time, venue, capacity, description and recurrence."""

    event = _managed(request, pk)
    local_start, local_end = timezone.localtime(event.start), timezone.localtime(event.end)
    initial = {"title": event.title, "kind": event.kind, "date": local_start.date(), "start_time": local_start.time(),
               "end_time": local_end.time(), "venue": event.venue_id, "capacity": event.capacity,
               "description": event.description, "repeat": "none"}
    rule = dict(part.split("=", 1) for part in event.rrule.split(";") if "=" in part)
    # Only rules the form can express exactly are edited here; anything else is kept as it is.
    simple = set(rule) <= {"FREQ", "BYDAY", "COUNT"}
    if simple and rule.get("FREQ") == "WEEKLY" and len(rule.get("BYDAY", "")) == 2:
        initial.update(repeat="weekly", weekday=rule["BYDAY"])
    elif simple and rule.get("FREQ") == "MONTHLY" and rule.get("BYDAY", "")[-2:].isalpha():
        initial.update(repeat="monthly", weekday=rule["BYDAY"][-2:], ordinal=rule["BYDAY"][:-2] or "1")
    if simple and rule.get("COUNT", "").isascii() and rule.get("COUNT", "").isdigit():
        initial["count"] = int(rule["COUNT"])
    form = EventForm(request.POST or None, initial=initial)
    unsupported = bool(event.rrule) and initial["repeat"] == "none"
    if request.method == "POST" and form.is_valid():
        start, end = form.times()
        changes = {"title": form.cleaned_data["title"], "kind": form.cleaned_data["kind"], "start": start, "end": end,
                   "description": form.cleaned_data["description"],
                   "venue": form.cleaned_data["venue"].pk if form.cleaned_data["venue"] else None,
                   "capacity": form.cleaned_data["capacity"]}
        if not unsupported:
            changes["rrule"] = form.rrule()
        try:
            services.event_update(event=event, changes=changes, actor=request.user, force=form.cleaned_data["force"])
        except DomainError as exc:
            messages.error(request, _refusal(exc))
        else:
            messages.success(request, _("已保存；时间或地点的变更已通知报名的读者。"))
            return redirect("event-detail", pk=pk)
    return render(request, "events/edit.html", {"nav": "organize", "event": event, "form": form,
                                                "unsupported": unsupported})
