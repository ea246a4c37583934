"""The site's pages that span apps: the search page, book and paper pages (with the events that read
them), and /me (loans, holds, registrations, papers, the calendar link).

Thin: they read through the apps' selectors and services; the actions they post to (borrow, hold, renew,
register) are the owning app's views.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from ninja.errors import Throttled

from accounts.models import PATRON_ROLES, CalendarLink, Profile
from accounts.selectors import calendar_link_addresses, calendar_link_list, user_has_role
from accounts.services import calendar_link_create, calendar_link_revoke, calendar_link_update
from core.errors import DomainError
from core.throttles import hourly_allowance
from library import circulation, related, selectors
from library.classification import class_name, fold_code
from library.models import Hold, Language, Loan, Paper
from library.views import PAPER_ROLES
from search_index import services as search
from search_index.throttle import search_wait
from web.forms import MAX_PAGE, PER_PAGE, BrowseForm, SearchForm

FACET_LABELS = {"type": gettext_lazy("类型"), "year": gettext_lazy("年份"), "language": gettext_lazy("语种"),
                "clc": gettext_lazy("中图分类"), "available": gettext_lazy("在架情况")}
VALUE_LABELS = {"type": {"book": gettext_lazy("图书"), "paper": gettext_lazy("调研成果")},
                "available": {"yes": gettext_lazy("在架"), "no": gettext_lazy("借出/无复本")},
                "language": dict(Language.choices)}


def _params(request: HttpRequest, **changes) -> str:
    params = {k: v for k, v in request.GET.items() if v}
    params.pop("page", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(params)


#: What the home page shows before anything is searched.
HOME_ARRIVALS, HOME_UPCOMING, HOME_UPCOMING_DAYS = 8, 5, 60


def _home(request: HttpRequest) -> dict:
    """The home page: new arrivals (by accession) and the next events, above the browsable catalogue."""
    from events import selectors as event_selectors

    now = timezone.now()
    upcoming = event_selectors.occurrence_list(viewer=request.user, start=now,
                                               end=now + timedelta(days=HOME_UPCOMING_DAYS), limit=HOME_UPCOMING * 3)
    return {"arrivals": selectors.new_arrivals(limit=HOME_ARRIVALS),
            "upcoming": [o for o in upcoming.items if o["status"] != "cancelled"][:HOME_UPCOMING]}


def search_page(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    form.is_valid()
    q = form.cleaned_data.get("q") or ""
    page, sort = form.page_number(), form.ordering()
    filters = form.filters(include_internal=request.user.is_authenticated)
    context = {"nav": "search", "q": request.GET.get("q", ""), "result": None, "error": form.query_error(),
               "keep": form.kept()}
    if context["error"]:
        return render(request, "web/search.html", context, status=400)
    # The same limits as GET /api/v1/search: the rate per client, then the query's own bounds.  The home page
    # (no query, no filter, first page) is a page view, not a search: it was counted as one, so a visitor who
    # clicked about the site was told to wait before searching.
    home = not q.strip() and page == 1 and all(form.value(name) is None for name in SearchForm.FILTERS)
    wait = 0 if home else search_wait(request, user=request.user)
    if wait:
        context["error"] = _("检索过于频繁，请 %(seconds)s 秒后再试。") % {"seconds": wait}
        response = render(request, "web/search.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
    try:
        result = search.search(q, filters=filters, sort=sort, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
                               as_typed=form.value("as_typed") or False)
    except search.QueryError as exc:
        context["error"] = str(exc)
        return render(request, "web/search.html", context, status=400)
    except search.SearchTimeout as exc:
        context["error"] = str(exc)
        response = render(request, "web/search.html", context, status=503)
        response["Retry-After"] = "10"
        return response
    except search.SearchUnavailable:
        context["error"] = _("检索暂时不可用，请稍后再试。")
        return render(request, "web/search.html", context, status=503)
    facets = []
    for name, values in result.facets.items():
        current = request.GET.get(name)
        items = []
        for value, count in list(values.items())[:12]:
            active = current == value
            label = _("第 %(n)s 条") % {"n": value} if name == "article" else VALUE_LABELS.get(name, {}).get(value, value)
            items.append({"label": label, "count": count, "active": active,
                          "url": _params(request, **{name: None if active else value})})
        label = (_("%(law)s 引用条文") % {"law": result.law["name"]} if name == "article" and result.law
                 else FACET_LABELS.get(name, name))
        facets.append({"label": label, "values": items})
    # Every filter in force, whether or not a facet lists its value: the class a browse page's number links to
    # (D923.6) is deeper than the class facet (D92), so it was counted as no filter at all, the home page was
    # shown above its books and a new query stayed inside D923.6 without a word on the page (routine walk).
    filtered = [name for name in SearchForm.FILTERS if form.value(name) is not None]
    context["active_filters"] = len(filtered)
    if form.value("clc"):
        code = fold_code(form.value("clc"))
        context["class_filter"] = {"code": code, "name": class_name(code),
                                   "remove_url": _params(request, clc=None),
                                   "browse_url": reverse("browse") + "?" + urlencode({"clc": code})}
    if filtered and not result.count and q.strip():
        context["unfiltered_url"] = "?" + urlencode({"q": q})
    elif result.citations and not result.count and result.law:
        # No work cites the article: the works on the law itself are one tap away, not "try pinyin".
        context["law_search"] = {"name": result.law["name"], "url": "?" + urlencode({"q": result.law["name"]})}
    if not q.strip() and not filtered and page == 1:
        context.update(_home(request))
    context.update(
        result=result,
        facets=facets,
        law_notes=_law_notes(result),
        sorts=[{"label": label, "active": sort == key, "url": _params(request, sort=key)}
               for key, label in (("relevance", _("相关度")), ("-year", _("最新")), ("year", _("最早")),
                                  ("call_number", _("索书号")))],
        prev_url=_params(request, page=str(page - 1)) if page > 1 else None,
        next_url=_params(request, page=str(page + 1)) if page * PER_PAGE < result.count and page < MAX_PAGE else None,
    )
    return render(request, "web/search.html", context)


_TITLE_MARKS = str.maketrans("", "", '《》〈〉"')


def _law_notes(result) -> list[str]:
    """What the search did with the law names and article citations of the query, in plain words."""
    notes = []
    for expansion in result.expansions:
        typed = expansion["from"]
        # The searched forms are written without book-title marks, the name with them: one entry for both
        # (民诉法解释 was "expanded" to its title twice, with and without 《》, four lines on a phone).
        named: dict[str, str] = {}
        for form in [expansion["to"], *expansion["forms"]]:
            named.setdefault(form.translate(_TITLE_MARKS), form)
        others = [form for key, form in named.items() if key != typed.translate(_TITLE_MARKS)]
        notes.append(_("已将 %(from)s 扩展为 %(to)s") % {"from": typed, "to": "、".join(others)})
    for citation in result.citations:
        notes.append(_("已按条文检索：%(law)s 第 %(article)s 条（引用该条的作品）")
                     % {"law": citation["name"], "article": citation["article"]})
    return notes


def book_page(request: HttpRequest, pk: int) -> HttpResponse:
    book = selectors.book_get(book_id=pk)
    if book is None:
        raise Http404
    user = request.user
    context = {"nav": "search", "book": book, "availability": selectors.book_availability(book=book),
               "copies": list(book.copies.all()), "my_loan": None, "my_hold": None,
               "events": _visible_events(request, books=book),
               "related": related.book_related(book=book, user=user), "min_readers": settings.RELATED_MIN_READERS}
    if user.is_authenticated:
        context["my_loan"] = Loan.objects.filter(book=book, patron=user, status=Loan.Status.ACTIVE).first()
        context["my_hold"] = selectors.hold_queryset().filter(book=book, patron=user, status__in=Hold.OPEN).first()
        context["can_borrow"] = user_has_role(user, *PATRON_ROLES)
        if context["can_borrow"] and not context["my_loan"] and not context["my_hold"]:
            context["pickup_locations"] = list(selectors.location_list(pickup=True))
            # The reader's last pickup place is chosen for them again.
            context["last_pickup"] = (Hold.objects.filter(patron=user).order_by("-created_at", "-id")
                                      .values_list("pickup_location_id", flat=True).first())
            context["holdable"] = any(c.status in circulation.HOLDABLE for c in context["copies"])
    return render(request, "web/book.html", context)


def paper_page(request: HttpRequest, pk: int) -> HttpResponse:
    paper = selectors.paper_get(user=request.user, paper_id=pk)
    if paper is None:
        raise Http404
    return render(request, "web/paper.html", {"nav": "search", "paper": paper,
                                                   "events": _visible_events(request, papers=paper),
                                                   "related": related.paper_related(paper=paper, user=request.user)})


#: Levels of the class tree a browse page shows (the top one included); deeper ones open on a page of their own.
BROWSE_DEPTH = 3


@require_safe
def browse(request: HttpRequest) -> HttpResponse:
    """The catalogue by CLC class: the main classes holding books, or one class (``?clc=D92``), with the number
    of books under each class and its subclasses, each number a link to the search filtered by that class.

    The main classes without a book are folded into one line (其他 21 类无馆藏) that opens on their names: a
    court's library holds D and little else, and a phone showed 21 rows of 0 above and below it."""
    form = BrowseForm(request.GET)
    if not form.is_valid():
        return render(request, "web/browse.html", {"nav": "browse", "error": form.errors["clc"][0]}, status=400)
    tree = related.clc_tree(root=form.cleaned_data["clc"] or None, depth=BROWSE_DEPTH)
    if tree is None:
        raise Http404
    classes, empty = tree["classes"], []
    if not tree["root"]:
        classes = [node for node in tree["classes"] if node["count"]]
        empty = [node for node in tree["classes"] if not node["count"]]
    _open_lone_classes(classes)
    return render(request, "web/browse.html", {"nav": "browse", "tree": tree, "classes": classes,
                                               "empty_classes": empty})


def _open_lone_classes(nodes: list[dict]) -> None:
    """Open a class that is the only one of its level holding books, and so on down: a court's library is all
    D, so the main classes page opens D and D9 at once (two taps fewer on a phone to reach D92 中国法律)."""
    holding = [node for node in nodes if node["count"]]
    if len(holding) == 1 and holding[0]["children"]:
        holding[0]["open"] = True
        _open_lone_classes(holding[0]["children"])


def _visible_events(request: HttpRequest, **related):
    """Scheduled events with this book or paper on their reading list that the viewer may see."""
    from events.selectors import event_queryset

    return event_queryset(viewer=request.user).filter(status="scheduled", **related).order_by("start")[:10]


def _contact_form(user):
    from accounts.forms import ContactForm

    profile = Profile.objects.filter(user=user).first()
    return ContactForm(initial={"email": user.email, "phone": profile.phone if profile else ""})


def _preference_form(user):
    from notices.forms import NoticePreferenceForm
    from notices.selectors import preferences_get

    return NoticePreferenceForm.for_current(preferences_get(user=user))


@never_cache  # the page shows the personal feed addresses, each with its secret: no copy in any cache
@login_required
def me(request: HttpRequest) -> HttpResponse:
    user = request.user
    loans = selectors.loan_queryset().filter(patron=user)
    top, placed = _placed_messages(request)
    context = {
        "nav": "me",
        # Messages about a section are shown in it (the page returns to its anchor); the rest at the top.
        "messages": top,
        "contact_messages": placed.pop("contact", []),
        "preference_messages": placed.pop("notice-preferences", []),
        "calendar_messages": placed.pop("calendar", []),
        "profile": Profile.objects.filter(user=user).first(),
        "loans": loans.filter(status=Loan.Status.ACTIVE).order_by("due_date"),
        "history": loans.filter(status=Loan.Status.RETURNED).order_by("-returned_at")[:20],
        # Ready to pick up first (soonest deadline first), then the rest in the order they were asked for.
        "holds": selectors.hold_queryset().filter(patron=user, status__in=Hold.OPEN).order_by(
            Case(When(status=Hold.Status.READY, then=0), default=1), "pickup_by", "created_at"),
        "registrations": _registrations(user),
        "calendar_links": (links := _calendar_links(user, new=request.session.pop("calendar_link_new", None),
                                                    placed=placed)),
        "calendar_scopes": CalendarLink.Scope.choices,
        "may_enter_papers": user_has_role(user, *PAPER_ROLES),
        # The leadership (manager) without a patron role cannot borrow: no button that ends in a 403.
        "can_borrow": user_has_role(user, *PATRON_ROLES),
        "paper_count": Paper.objects.filter(created_by=user).count(),
        "contact_form": _contact_form(user),
        "preference_form": _preference_form(user),
    }
    # A message for a section no longer on the page (a link deleted meanwhile) is shown at the top.
    shown = {f"calendar-link-{item['link'].pk}" for item in links}
    top += [m for anchor, found in placed.items() if anchor not in shown for m in found]
    return render(request, "web/me.html", context)


def _registrations(user) -> list:
    """The reader's active registrations, each with ``session``: when it takes place now (a moved session at its
    new time, the original kept to say so; a cancelled one marked), the sessions in order of time and whole
    series last."""
    from events.models import ListedOccurrence, Registration
    from events.selectors import registered_sessions

    registrations = list(Registration.objects.filter(user=user, status__in=Registration.ACTIVE)
                         .select_related("event").order_by("event__start", "occurrence", "id"))
    sessions = registered_sessions(registrations)
    for r in registrations:
        r.session = sessions[r.pk]
    # Sessions that are over leave the list (what was attended is under 签到记录): a session once it has ended, a
    # whole series once none of its sessions is still to end (one query over the listings).
    now = timezone.now()
    series = {r.event_id for r in registrations if r.session.end is None}
    running = set(ListedOccurrence.objects.filter(event_id__in=series, end__gt=now).values_list("event_id", flat=True)
                  .distinct()) if series else set()
    current = [r for r in registrations if (r.session.end > now if r.session.end is not None else r.event_id in running)]
    return sorted(current, key=lambda r: (r.session.start is None, r.session.start or r.event.start))


def _calendar_links(user, *, new: int | None, placed: dict[str, list] | None = None) -> list[dict]:
    """The person's calendar links as /me lists them: the feed's address (None for a link carried over from
    before, which cannot be shown again) and the name Outlook is offered; the link just made is unfolded, and
    a message about a link is shown in it."""
    placed = placed or {}
    return [{"link": link, "url": calendar_link_addresses(link).get("url"), "new": link.pk == new,
             "calendar_name": _("法官书苑 · %(name)s") % {"name": link.name},
             "messages": placed.get(f"calendar-link-{link.pk}", [])}
            for link in calendar_link_list(user=user)]


@login_required
@require_POST
def contact(request: HttpRequest) -> HttpResponse:
    """Save the reader's e-mail and phone from /me."""
    from accounts.forms import ContactForm
    from accounts.services import contact_update

    form = ContactForm(request.POST)
    if form.is_valid():
        contact_update(user=request.user, email=form.cleaned_data["email"], phone=form.cleaned_data["phone"])
        _say(request, messages.SUCCESS, _("联系方式已保存。"), "contact")
    else:
        _say(request, messages.ERROR, next(str(m) for errors in form.errors.values() for m in errors), "contact")
    return redirect(reverse("me") + "#contact")


@login_required
@require_POST
def notice_preferences(request: HttpRequest) -> HttpResponse:
    """Save which channels deliver each kind of notice (and the reader's robot URL) from /me."""
    from notices.forms import NoticePreferenceForm
    from notices.services import preference_update

    form = NoticePreferenceForm(request.POST)
    if form.is_valid():
        preference_update(user=request.user, **form.preference())
        _say(request, messages.SUCCESS, _("通知方式已保存。"), "notice-preferences")
    else:
        field, errors = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else ""
        _say(request, messages.ERROR,
             _("%(field)s：%(error)s") % {"field": label, "error": errors[0]} if label else errors[0], "notice-preferences")
    return redirect(reverse("me") + "#notice-preferences")


@login_required
@require_POST
def calendar_link(request: HttpRequest) -> HttpResponse:
    """Make another calendar link (for another device or calendar app); it opens unfolded on /me."""
    from accounts.forms import CalendarLinkForm

    form = CalendarLinkForm(request.POST)
    if not form.is_valid():
        _say(request, messages.ERROR, _first_error(form), "calendar")
        return redirect(reverse("me") + "#calendar")
    existing = calendar_link_list(user=request.user).count()
    name = form.cleaned_data["name"] or _("订阅链接 %(n)d") % {"n": existing + 1}
    # The API's allowance, counted together with it (the eleventh attack rotated 300 times here past the API's 429).
    try:
        with hourly_allowance(request.user, "calendar-token", "CALENDAR_TOKEN_ROTATIONS_PER_HOUR"):
            link = calendar_link_create(user=request.user, name=name,
                                        scope=form.cleaned_data["scope"] or CalendarLink.Scope.MINE)
    except Throttled:
        _say(request, messages.ERROR, _("新建订阅链接过于频繁，请稍后再试。"), "calendar")
        return redirect(reverse("me") + "#calendar")
    except DomainError as exc:
        _say(request, messages.ERROR, exc.detail, "calendar")
        return redirect(reverse("me") + "#calendar")
    request.session["calendar_link_new"] = link.pk
    _say(request, messages.SUCCESS, _("已新建订阅链接“%(name)s”；其他链接照常有效。") % {"name": link.name},
         f"calendar-link-{link.pk}")
    return redirect(reverse("me") + f"#calendar-link-{link.pk}")


@login_required
@require_POST
def calendar_link_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename one of the person's calendar links or change what it holds (``action=save``), or delete it
    (``action=revoke``): its address stops working at once, the others keep working."""
    from accounts.forms import CalendarLinkForm

    link = calendar_link_list(user=request.user).filter(pk=pk).first()
    if link is None:
        raise Http404
    form = CalendarLinkForm(request.POST)
    if not form.is_valid():
        _say(request, messages.ERROR, _first_error(form), f"calendar-link-{pk}")
        return redirect(reverse("me") + f"#calendar-link-{pk}")
    if form.cleaned_data["action"] == "revoke":
        calendar_link_revoke(link=link)
        _say(request, messages.SUCCESS, _("已删除订阅链接“%(name)s”，它的地址已失效。") % {"name": link.name}, "calendar")
        return redirect(reverse("me") + "#calendar")
    calendar_link_update(link=link, name=form.cleaned_data["name"] or None, scope=form.cleaned_data["scope"] or None)
    _say(request, messages.SUCCESS, _("订阅链接“%(name)s”已保存；地址不变。") % {"name": link.name}, f"calendar-link-{pk}")
    return redirect(reverse("me") + f"#calendar-link-{pk}")


#: The tag of a message said beside a section of /me (``_say``) rather than at the top of the page.
AT = "at:"


def _say(request: HttpRequest, level: int, text: str, anchor: str) -> None:
    """A message about something done in one section of /me, shown beside that section (the page returns there
    through its anchor, so a message at the top would go unseen)."""
    messages.add_message(request, level, text, extra_tags=AT + anchor)


def _placed_messages(request: HttpRequest) -> tuple[list, dict[str, list]]:
    """The pending messages: those for the top of the page, and those for a section of /me by its anchor."""
    top, placed = [], {}
    for message in messages.get_messages(request):
        anchor = next((t[len(AT):] for t in message.extra_tags.split() if t.startswith(AT)), None)
        (placed.setdefault(anchor, []) if anchor else top).append(message)
    return top, placed


def _first_error(form) -> str:
    field, errors = next(iter(form.errors.items()))
    label = form.fields[field].label if field in form.fields else ""
    return _("%(field)s：%(error)s") % {"field": label, "error": errors[0]} if label else errors[0]


#: Notices a page of /me/notices shows.
NOTICES_PER_PAGE = 50


@login_required
@require_safe
def my_notices(request: HttpRequest) -> HttpResponse:
    """Every notice recorded for the reader, newest first; the unread ones are marked as such on this visit
    and counted as read from then on (as a mail client does)."""
    from notices import selectors as notice_selectors
    from notices import services as notice_services

    before = request.GET.get("before", "")
    notices = notice_selectors.notice_list(patron=request.user)
    if before.isascii() and before.isdigit():
        notices = notices.filter(pk__lt=int(before))
    shown = list(notices[: NOTICES_PER_PAGE + 1])
    more = len(shown) > NOTICES_PER_PAGE
    shown = shown[:NOTICES_PER_PAGE]
    notice_services.mark_read(patron=request.user, ids=[n.pk for n in shown if n.read_at is None])
    return render(request, "web/notices.html", {
        "nav": "notices", "notices": shown, "older": shown[-1].pk if more else None,
    })
