"""Who may call what: an authorization matrix generated from the URL conf.

``endpoints()`` walks Django's URL resolver (the NinjaAPI's operations included) and lists every
(method, route) it answers.  ``EXPECTED`` says, by hand, what each of six actors gets from each one:
anonymous, ``judge``, ``librarian``, ``organizer``, ``other_judge`` (a second judge) and ``manager`` (院领导,
the manager role alone: the library's reports and nothing of a reader's).  A row that does not name the
manager's answer expects what ``other_judge`` gets (a logged-in stranger to the world's objects).  A route
without a rule fails ``test_every_endpoint_has_a_rule``, and a rule for a route that is gone fails
``test_every_rule_names_an_endpoint``, so a new endpoint cannot ship without someone deciding who may
call it.

Every case runs through ``django.test.Client`` (the whole middleware stack): the API with a bearer
token of the actor, the pages with a logged-in session.  CSRF checks are off here; they are tested in
tests/web/test_pages.py and tests/accounts/test_auth.py.  Bodies are valid, so the answer is about
authorization and not about validation: a 409 is an authorized actor refused by a business rule.

Objects marked ``owned`` belong to ``judge``; ``other_judge`` must never get a 2xx from them
(``test_other_judge_never_reaches_an_object_of_judge``).
"""

import inspect
import re
from dataclasses import dataclass, field
from datetime import UTC, timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from ninja.operation import PathView

from accounts.models import Role
from accounts.services import calendar_link_create, calendar_token_rotate, token_issue
from events import services as event_services
from library import circulation, copycat
from library.importers import CSV_COLUMNS
from library.models import Location, SruTarget
from library.services import book_create, copy_create, paper_attach_file, paper_create
from library.tasks import catalog_import_start
from search_index import services as search
from tests.conftest import ApiClient, make_user
from tests.jobs.worker import run_queued_jobs
from tests.library.sru_server import marc21_record

ACTORS = ("anonymous", "judge", "librarian", "organizer", "other_judge", "manager")
#: The methods a page (a view that is not an API operation) is called with, unless it declares fewer.
PAGE_METHODS = ("GET", "POST")
#: Routes left out of the matrix, and why.  Keep this short.
EXCLUDED = {
    "admin/": "Django's admin checks staff status itself (test_admin_sends_non_staff_to_its_login)",
    "i18n/setlang/": "set_language only switches the interface language of the caller",
}
#: A redirect to settings.LOGIN_URL (``login_required``); a plain 302 is a redirect anywhere else.
LOGIN = "login"


# --- the URL conf -------------------------------------------------------------------------------------


def _path_view(callback) -> PathView | None:
    """The ninja PathView behind a URL pattern of the API (its view closes over it as ``self``)."""
    if not callable(callback) or not hasattr(callback, "__code__"):
        return None
    candidate = inspect.getclosurevars(callback).nonlocals.get("self")
    return candidate if isinstance(candidate, PathView) else None


def _declared_methods(callback) -> set[str] | None:
    """The methods a function view restricts itself to with ``require_http_methods`` (None: any)."""
    view = callback
    while view is not None:
        if hasattr(view, "__code__"):
            methods = inspect.getclosurevars(view).nonlocals.get("request_method_list")
            if methods is not None:
                return {m.upper() for m in methods}
        view = getattr(view, "__wrapped__", None)
    return None


def _methods(callback) -> set[str]:
    path_view = _path_view(callback)
    if path_view is not None:
        return {method for operation in path_view.operations for method in operation.methods}
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        allowed = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
    else:
        allowed = _declared_methods(callback)
    return {m for m in PAGE_METHODS if allowed is None or m in allowed}


def endpoints() -> set[tuple[str, str]]:
    """Every (method, route) of the URL conf, routes written as in urls.py (``books/<int:pk>``)."""
    found: set[tuple[str, str]] = set()

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if route in EXCLUDED:
                continue
            if isinstance(entry, URLResolver):
                walk(entry, route)
            else:
                assert isinstance(entry, URLPattern)
                found.update((method, route) for method in _methods(entry.callback))

    walk(get_resolver(), "")
    return found


# --- the rules -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """What each actor gets from one request, and how to make the request."""

    expect: dict[str, int | str]
    args: dict[str, str] = field(default_factory=dict)  # route parameter → key of the world
    body: dict | None = None  # JSON for the API, form fields for pages
    query: dict | None = None
    upload: tuple[str, bytes] | None = None  # (file name, content): a multipart "file" field
    url: str | None = None  # for a regex route
    label: str = ""
    owned: bool = False  # the object belongs to judge
    index: bool = False  # needs the search index


def E(anonymous, judge, librarian, organizer, other_judge, manager=None, **options) -> Case:  # noqa: N802 - a table column
    answers = (anonymous, judge, librarian, organizer, other_judge, other_judge if manager is None else manager)
    return Case(dict(zip(ACTORS, answers, strict=True)), **options)


def same(status, **options) -> Case:
    return E(status, status, status, status, status, status, **options)


CSV_IMPORT = (",".join(CSV_COLUMNS) + "\n" + ",".join("导入的书" if c == "title" else "" for c in CSV_COLUMNS) + "\n")
FUTURE = "2099-01-01T10:00:00+08:00"
EVENT_IN = {"title": "新沙龙", "kind": "salon", "start": "2099-01-01T14:00:00+08:00", "end": "2099-01-01T16:00:00+08:00"}

# Columns:            anonymous  judge  librarian  organizer  other_judge
EXPECTED: dict[tuple[str, str], Case | list[Case]] = {
    # --- processes and the login pages
    ("GET", "healthz"): same(200),
    ("POST", "healthz"): same(200),
    ("GET", "readyz"): same(200, index=True),
    ("POST", "readyz"): same(200, index=True),
    ("GET", "favicon.ico"): same(301),
    ("POST", "favicon.ico"): same(301),
    ("GET", "login/"): same(200),
    ("POST", "login/"): same(200),  # an empty form: shown again with errors
    ("POST", "logout/"): same(302),
    # --- API: accounts
    ("GET", "api/v1/openapi.json"): same(200),
    ("POST", "api/v1/openapi.json"): same(200),
    ("GET", "api/v1/docs"): same(200),
    ("POST", "api/v1/docs"): same(200),
    ("GET", "api/v1/"): same(404),
    ("POST", "api/v1/"): same(404),
    ("GET", "^api/v1/(?P<path>.*)$"): same(404, url="/api/v1/no-such-endpoint"),
    ("POST", "^api/v1/(?P<path>.*)$"): same(404, url="/api/v1/no-such-endpoint"),
    ("POST", "api/v1/auth/token"): same(200, body={"username": "judge1", "password": "secret-pass-1"}),
    ("GET", "api/v1/me"): E(401, 200, 200, 200, 200),
    ("GET", "api/v1/me/tokens"): E(401, 200, 200, 200, 200),
    ("DELETE", "api/v1/me/tokens/<token_id>"): E(401, 204, 404, 404, 404, owned=True),
    ("POST", "api/v1/me/calendar-token"): E(401, 200, 200, 200, 200),
    ("GET", "api/v1/me/calendar-links"): E(401, 200, 200, 200, 200),
    ("POST", "api/v1/me/calendar-links"): E(401, 201, 201, 201, 201, body={"name": "手机"}),
    ("PATCH", "api/v1/me/calendar-links/<link_id>"): E(401, 200, 404, 404, 404, body={"name": "平板"}, owned=True),
    ("DELETE", "api/v1/me/calendar-links/<link_id>"): E(401, 204, 404, 404, 404, owned=True),
    ("GET", "api/v1/me/notices"): E(401, 200, 200, 200, 200),
    ("GET", "api/v1/readers"): E(401, 403, 200, 403, 403, query={"q": "张法官"}),
    ("POST", "api/v1/me/notices/read"): E(401, 200, 200, 200, 200, body={}),
    ("GET", "api/v1/me/notice-preferences"): E(401, 200, 200, 200, 200),
    ("PUT", "api/v1/me/notice-preferences"): E(401, 200, 200, 200, 200,
                                               body={"channels": {"overdue": ["email", "sms"]}}),
    # --- API: catalog
    ("GET", "api/v1/books"): same(200),
    ("POST", "api/v1/books"): E(401, 403, 201, 403, 403, body={"title": "新书"}),
    ("GET", "api/v1/books/<book_id>"): same(200),
    # Related works (issue 19 §4): books for everyone; an internal paper's, like the paper, only for those logged in.
    ("GET", "api/v1/books/<book_id>/related"): same(200),
    ("GET", "api/v1/clc-tree"): same(200, query={"root": "D92"}),
    ("PATCH", "api/v1/books/<book_id>"): E(401, 403, 200, 403, 403, body={"summary": "改"}),
    ("DELETE", "api/v1/books/<book_id>"): E(401, 403, 204, 403, 403, args={"book_id": "free_book"}),
    ("POST", "api/v1/books/<book_id>/copies"): E(401, 403, 201, 403, 403, body={"barcode": "N1"}),
    ("GET", "api/v1/copies/<barcode>"): same(200),
    ("PATCH", "api/v1/copies/<barcode>"): E(401, 403, 200, 403, 403, body={"note": "改"}),
    ("DELETE", "api/v1/copies/<barcode>"): E(401, 403, 204, 403, 403),
    ("GET", "api/v1/papers"): same(200),
    ("POST", "api/v1/papers"): E(401, 201, 201, 403, 201, 403, body={"title": "新课题"}),
    ("GET", "api/v1/papers/<paper_id>"): E(404, 200, 200, 200, 200),  # the internal paper
    ("GET", "api/v1/papers/<paper_id>/related"): E(404, 200, 200, 200, 200),
    ("PATCH", "api/v1/papers/<paper_id>"): E(401, 200, 200, 403, 403, body={"awards": "一等奖"}, owned=True),
    ("DELETE", "api/v1/papers/<paper_id>"): E(401, 204, 204, 403, 403, owned=True),
    ("POST", "api/v1/papers/<paper_id>/file"): E(401, 200, 200, 403, 403, upload=("全文.txt", "全文".encode()),
                                                 owned=True),
    ("GET", "api/v1/papers/<paper_id>/file"): E(404, 200, 200, 200, 200),
    ("POST", "api/v1/imports"): E(401, 403, 202, 403, 403, upload=("books.csv", CSV_IMPORT.encode())),
    # Any librarian may follow any import (the world's was started by another librarian).
    ("GET", "api/v1/imports/<import_id>"): E(401, 403, 200, 403, 403),
    ("GET", "api/v1/imports/<import_id>/report"): E(401, 403, 200, 403, 403),
    ("GET", "api/v1/imports/<import_id>/report.xlsx"): E(401, 403, 200, 403, 403),
    ("GET", "api/v1/imports/<import_id>/records"): E(401, 403, 200, 403, 403),
    # Librarians decide a conflict of any import (the world's was started by another librarian).
    ("POST", "api/v1/imports/<import_id>/records/<position>/decision"): E(
        401, 403, 200, 403, 403, args={"import_id": "conflict_import", "position": "conflict_position"},
        body={"action": "keep"}),
    # --- API: copy cataloguing (librarians); the world's target names this machine, which no target not listed in
    # SRU_INTERNAL_HOSTS may reach, so a search is an authorized request that is refused (409)
    ("GET", "api/v1/sru-targets"): E(401, 403, 200, 403, 403),
    ("POST", "api/v1/sru-targets"): E(401, 403, 201, 403, 403, body={
        "name": "新目标", "base_url": "http://localhost:9/sru"}),
    ("PATCH", "api/v1/sru-targets/<target_id>"): E(401, 403, 200, 403, 403, body={"position": 2}),
    ("DELETE", "api/v1/sru-targets/<target_id>"): E(401, 403, 204, 403, 403),
    ("GET", "api/v1/sru-targets/<target_id>/search"): E(401, 403, 409, 403, 403, query={"isbn": "9787301048153"}),
    ("POST", "api/v1/sru-targets/<target_id>/import"): E(401, 403, 200, 403, 403, body={"token": "sru_token"}),
    ("POST", "api/v1/labels"): E(401, 403, 200, 403, 403, body={"kind": "spine", "barcodes": ["C1", "F1"]}),
    # --- API: circulation
    ("POST", "api/v1/loans"): [
        E(401, 201, 201, 201, 201, 403, body={"barcode": "F1"}, label="self-service"),
        E(401, 403, 201, 403, 403, body={"barcode": "F1", "patron": "reader1"}, label="desk"),
    ],
    ("GET", "api/v1/loans"): E(401, 200, 200, 200, 200),
    ("GET", "api/v1/loans/<loan_id>"): E(401, 200, 200, 404, 404, owned=True),
    ("POST", "api/v1/loans/<loan_id>/renew"): E(401, 200, 200, 404, 404, owned=True),
    # SELF_RETURN is off: the borrower too is sent to the desk.
    ("POST", "api/v1/loans/<loan_id>/return"): E(401, 403, 200, 404, 404, owned=True),
    ("POST", "api/v1/returns"): E(401, 403, 200, 403, 403, body={"barcode": "C1"}),
    ("POST", "api/v1/checkins"): E(401, 403, 200, 403, 403, body={"barcode": "C1", "location": "main"}),
    ("POST", "api/v1/holds/<hold_id>/pulled"): E(401, 403, 200, 403, 403, args={"hold_id": "pull_hold"}),
    ("POST", "api/v1/holds/<hold_id>/not-found"): E(401, 403, 200, 403, 403, args={"hold_id": "pull_hold"}),
    ("GET", "api/v1/locations"): same(200),
    ("GET", "api/v1/pull-list"): E(401, 403, 200, 403, 403, query={"location": "main"}),
    ("GET", "api/v1/transfers"): E(401, 403, 200, 403, 403, query={"location": "main", "direction": "outgoing"}),
    ("POST", "api/v1/transfers"): E(401, 403, 201, 403, 403, body={"barcode": "F1", "to_location": "qpj"}),
    ("POST", "api/v1/transfers/<transfer_id>/send"): E(401, 403, 200, 403, 403),
    ("POST", "api/v1/transfers/<transfer_id>/receive"): E(401, 403, 200, 403, 403),
    ("POST", "api/v1/holds"): [
        E(401, 201, 201, 201, 201, 403, body={"book": "busy_book"}, label="own"),
        E(401, 403, 201, 403, 403, body={"book": "busy_book", "patron": "judge1"}, label="for-a-patron"),
    ],
    ("GET", "api/v1/holds"): E(401, 200, 200, 200, 200),
    ("GET", "api/v1/holds/<hold_id>"): E(401, 200, 200, 404, 404, owned=True),
    ("DELETE", "api/v1/holds/<hold_id>"): E(401, 204, 204, 404, 404, owned=True),
    ("GET", "api/v1/circulation/events"): E(401, 403, 200, 403, 403),
    # --- API: events (``event`` is organized by organizer, ``internal_event`` too)
    ("GET", "api/v1/venues"): same(200),
    ("POST", "api/v1/venues"): E(401, 403, 403, 201, 403, body={"name": "新会议室"}),
    ("PATCH", "api/v1/venues/<venue_id>"): E(401, 403, 403, 200, 403, body={"capacity": 40}),
    ("DELETE", "api/v1/venues/<venue_id>"): E(401, 403, 403, 204, 403),
    ("GET", "api/v1/events"): same(200),
    ("POST", "api/v1/events"): E(401, 403, 403, 201, 403, body=EVENT_IN),
    ("GET", "api/v1/events/<event_id>"): E(404, 200, 200, 200, 200, args={"event_id": "internal_event"}),
    ("PATCH", "api/v1/events/<event_id>"): E(401, 403, 403, 200, 403, body={"title": "改名"}),
    ("DELETE", "api/v1/events/<event_id>"): E(401, 403, 403, 204, 403),
    ("POST", "api/v1/events/<event_id>/cancel"): E(401, 403, 403, 200, 403, body={"reason": "停办"}),
    ("POST", "api/v1/events/<event_id>/overrides"): E(401, 403, 403, 200, 403,
                                                      body={"recurrence_id": "event_start", "title": "改题"}),
    ("GET", "api/v1/occurrences"): same(200),
    ("POST", "api/v1/events/<event_id>/attachments"): E(401, 403, 403, 201, 403, upload=("议程.txt", b"agenda")),
    ("GET", "api/v1/events/<event_id>/attachments/<attachment_id>"): E(404, 200, 200, 200, 200,
                                                                       args={"event_id": "internal_event"}),
    ("DELETE", "api/v1/events/<event_id>/attachments/<attachment_id>"): E(401, 403, 403, 204, 403,
                                                                          args={"event_id": "internal_event"}),
    ("POST", "api/v1/events/<event_id>/registrations"): E(401, 201, 201, 201, 201, 403, body={},
                                                          args={"event_id": "internal_event"}),
    ("GET", "api/v1/events/<event_id>/registrations"): E(401, 403, 403, 200, 403),
    ("GET", "api/v1/me/registrations"): E(401, 200, 200, 200, 200),
    # The event's organizer may cancel a registration; a stranger is told it does not exist.
    ("DELETE", "api/v1/registrations/<registration_id>"): E(401, 204, 404, 204, 404, owned=True),
    # The organizer is refused by the rule, not the role: the session is days ahead (not_started).
    ("POST", "api/v1/registrations/<registration_id>/check-in"): E(401, 403, 404, 409, 404, owned=True),
    ("POST", "api/v1/events/<event_id>/occurrences/bulk"): E(401, 403, 403, 200, 403,
                                                            body={"action": "cancel", "occurrences": ["event_start"]}),
    ("GET", "api/v1/me/attendance"): E(401, 200, 200, 200, 200),
    # --- API: reports (issue 20): librarians and the leadership; records naming readers for librarians only
    ("GET", "api/v1/reports"): E(401, 403, 200, 200, 403, 200),
    ("GET", "api/v1/reports/<slug>"): [
        E(401, 403, 200, 403, 403, 200, query={"by": "division"}, label="library"),
        E(401, 403, 200, 403, 403, 200, args={"slug": "papers_report"}, label="papers"),
        E(401, 403, 200, 200, 403, 200, args={"slug": "events_report"}, label="events"),
    ],
    ("GET", "api/v1/reports/<slug>/records"): [
        E(401, 403, 200, 403, 403, 403, query={"figure": "loans", "month": "2026-01"}, label="readers"),
        E(401, 403, 200, 403, 403, 200, args={"slug": "weeding_report"}, query={"figure": "never", "class": "D"},
          label="copies"),
        # Who downloaded a paper: librarians only; the leadership sees the counts (top-papers).
        E(401, 403, 200, 403, 403, 403, args={"slug": "papers_report"}, query={"figure": "kind", "kind": "article"},
          label="paper downloads"),
    ],
    # A person's year in reading: their own, and anyone's for librarians (reports.reading_api).
    ("GET", "api/v1/reports/me/year"): E(401, 200, 200, 200, 200, 200),
    ("GET", "api/v1/reports/readers/<user_id>/year"): E(401, 200, 200, 403, 403, 403,
                                                        args={"user_id": "judge_user"}, owned=True),
    # --- API: search
    ("GET", "api/v1/search"): same(200, query={"q": "民法典"}, index=True),
    # --- calendar feeds (the personal feed's token is the credential: judge's token works for anyone)
    ("GET", "calendar/events.ics"): same(200),
    ("POST", "calendar/events.ics"): same(405),
    ("GET", "calendar/events/<int:event_id>.ics"): same(200),
    ("POST", "calendar/events/<int:event_id>.ics"): same(405),
    # One occurrence of a public event (issue 17), named by its original start in UTC.
    ("GET", "calendar/events/<int:event_id>/<str:occurrence>.ics"): same(200),
    ("POST", "calendar/events/<int:event_id>/<str:occurrence>.ics"): same(405),
    ("GET", "calendar/u/<str:token>.ics"): same(200),
    ("POST", "calendar/u/<str:token>.ics"): same(405),
    # --- the outside interfaces (SRU, OAI-PMH): anonymous and read-only; internal papers are invisible to
    # everyone there (tests/interop)
    ("GET", "sru"): same(200, query={"query": "dc.title = 执行难"}),
    ("POST", "sru"): same(200, body={"query": "dc.title = 执行难"}),  # SRU's POST binding, as GET
    ("GET", "oai"): same(200, query={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "paper"}),
    ("POST", "oai"): same(200, body={"verb": "Identify"}),
    ("GET", "opendata"): same(200),  # the page that explains them
    # --- pages
    ("GET", ""): same(200, query={"q": "民法典"}, index=True),
    ("POST", ""): same(200, index=True),
    ("GET", "books/<int:pk>"): same(200, args={"pk": "book"}),
    ("POST", "books/<int:pk>"): same(200, args={"pk": "book"}),
    ("POST", "books/<int:pk>/hold"): E(LOGIN, 302, 302, 302, 302, 403, args={"pk": "busy_book"}),
    ("GET", "browse"): same(200, query={"clc": "D9"}),
    ("GET", "papers/<int:pk>"): E(404, 200, 200, 200, 200, args={"pk": "internal_paper"}),
    ("POST", "papers/<int:pk>"): E(404, 200, 200, 200, 200, args={"pk": "internal_paper"}),
    ("GET", "me"): E(LOGIN, 200, 200, 200, 200),
    ("POST", "me"): E(LOGIN, 200, 200, 200, 200),
    # The manager role alone borrows nothing (a leader who reads holds the judge role as well).
    ("GET", "borrow"): E(LOGIN, 200, 200, 200, 200, 403),
    ("POST", "borrow"): E(LOGIN, 302, 302, 302, 302, 403, body={"barcode": "F1"}),
    ("GET", "desk/pull"): E(LOGIN, 403, 200, 403, 403),
    ("POST", "desk/pull"): E(LOGIN, 403, 302, 403, 403, body={"hold": "pull_hold", "action": "pulled"}),
    ("GET", "desk/transit"): E(LOGIN, 403, 200, 403, 403),
    ("POST", "desk/transit"): E(LOGIN, 403, 302, 403, 403, body={"action": "send", "transfer": "transfer"}),
    ("GET", "desk/slips/hold/<int:hold_id>"): E(LOGIN, 403, 200, 403, 403, args={"hold_id": "ready_hold"}),
    # The receipt is for the desk's current reader: none in a fresh session.
    ("GET", "desk/slips/receipt"): E(LOGIN, 403, 404, 403, 403),
    ("GET", "desk"): E(LOGIN, 403, 200, 403, 403),
    ("POST", "desk"): E(LOGIN, 403, 302, 403, 403, body={"action": "return", "barcode": "C1"}),
    ("GET", "desk/labels"): E(LOGIN, 403, 200, 403, 403),
    ("POST", "desk/labels"): E(LOGIN, 403, 200, 403, 403, body={"kind": "spine", "barcodes": "C1", "mark_printed": "on"}),
    ("GET", "desk/cards"): E(LOGIN, 403, 200, 403, 403),
    # An empty form: shown again with its errors.
    ("POST", "desk/cards"): E(LOGIN, 403, 400, 403, 403),
    ("GET", "catalog/import"): E(LOGIN, 403, 200, 403, 403),
    # An empty form: shown again with its errors.
    ("POST", "catalog/import"): E(LOGIN, 403, 400, 403, 403),
    ("GET", "catalog/import/<int:import_id>"): E(LOGIN, 403, 200, 403, 403),
    ("GET", "catalog/import/template.csv"): E(LOGIN, 403, 200, 403, 403),
    ("POST", "catalog/import/<int:import_id>/records/<int:position>/decision"): E(
        LOGIN, 403, 302, 403, 403, args={"import_id": "conflict_import", "position": "conflict_position"},
        body={"action": "keep"}),
    ("POST", "catalog/import/<int:import_id>/commit"): E(LOGIN, 403, 302, 403, 403, args={"import_id": "dry_run_import"}),
    ("GET", "catalog/copy"): E(LOGIN, 403, 200, 403, 403),
    ("POST", "catalog/copy/import"): E(LOGIN, 403, 302, 403, 403, body={"target": "sru_target", "token": "sru_token"}),
    ("POST", "catalog/import/<int:import_id>"): E(LOGIN, 403, 200, 403, 403),
    ("POST", "me/loans/<int:loan_id>/renew"): E(LOGIN, 302, 404, 404, 404, owned=True),
    ("POST", "me/holds/<int:hold_id>/cancel"): E(LOGIN, 302, 404, 404, 404, owned=True),
    ("POST", "me/calendar-link"): E(LOGIN, 302, 302, 302, 302),
    ("POST", "me/calendar-links/<int:pk>"): E(LOGIN, 302, 404, 404, 404, args={"pk": "calendar_link"},
                                              body={"name": "平板", "scope": "all", "action": "save"}, owned=True),
    ("GET", "me/notices"): E(LOGIN, 200, 200, 200, 200),
    ("GET", "me/reading"): E(LOGIN, 200, 200, 200, 200),
    # The annual summary: librarians and the leadership (manager, not an actor here).  Its one page is
    # /reports/annual; the old address redirects there (permanently, for everyone: the page then decides).
    ("GET", "reports/annual"): E(LOGIN, 403, 200, 403, 403, 200),
    ("GET", "reports/annual/"): same(301),
    ("POST", "reports/annual/"): same(301),
    ("POST", "me/contact"): E(LOGIN, 302, 302, 302, 302),
    ("POST", "me/notice-preferences"): E(LOGIN, 302, 302, 302, 302),
    # A judge's own papers; librarians edit every paper.  An empty form is shown again with its errors.
    ("GET", "me/papers"): E(LOGIN, 200, 200, 403, 200, 403),
    ("POST", "me/papers"): E(LOGIN, 200, 200, 403, 200, 403),
    ("GET", "me/papers/<int:pk>"): E(LOGIN, 200, 200, 404, 404, args={"pk": "internal_paper"}, owned=True),
    ("POST", "me/papers/<int:pk>"): E(LOGIN, 200, 200, 404, 404, args={"pk": "internal_paper"}, owned=True),
    # Reports (issue 20): librarians and the leadership (院领导); records naming readers for librarians only.
    # Organizers read the events reports (their figures, not the people behind them).
    ("GET", "reports/"): E(LOGIN, 403, 200, 200, 403, 200),
    ("GET", "reports/<slug:slug>"): [
        E(LOGIN, 403, 200, 403, 403, 200, label="library"),
        E(LOGIN, 403, 200, 403, 403, 200, args={"slug": "papers_report"}, label="papers"),
        E(LOGIN, 403, 200, 200, 403, 200, args={"slug": "events_report"}, label="events"),
    ],
    ("GET", "reports/<slug:slug>/records"): [
        E(LOGIN, 403, 200, 403, 403, 403, query={"figure": "loans", "month": "2026-01"}, label="readers"),
        E(LOGIN, 403, 200, 403, 403, 200, args={"slug": "weeding_report"}, query={"figure": "never", "class": "D"},
          label="copies"),
        E(LOGIN, 403, 200, 403, 403, 403, args={"slug": "papers_report"}, query={"figure": "kind", "kind": "article"},
          label="paper downloads"),
    ],
    # The records behind a figure as one file: the same rules as the records page.
    **{("GET", f"reports/<slug:slug>/records.{ext}"): [
        E(LOGIN, 403, 200, 403, 403, 403, query={"figure": "loans", "month": "2026-01"}, label="readers"),
        E(LOGIN, 403, 200, 403, 403, 200, args={"slug": "weeding_report"}, query={"figure": "never", "class": "D"},
          label="copies"),
    ] for ext in ("xlsx", "csv")},
    ("GET", "reports/<slug:slug>/<slug:table>.xlsx"): E(LOGIN, 403, 200, 403, 403, 200),
    ("GET", "reports/<slug:slug>/<slug:table>.csv"): E(LOGIN, 403, 200, 403, 403, 200),
    ("GET", "events"): same(200),
    ("POST", "events"): same(200),
    ("GET", "events/<int:pk>"): E(404, 200, 200, 200, 200, args={"pk": "internal_event"}),
    ("POST", "events/<int:pk>"): E(404, 200, 200, 200, 200, args={"pk": "internal_event"}),
    ("POST", "events/<int:pk>/register"): E(LOGIN, 302, 302, 302, 302, args={"pk": "internal_event"}),
    # Without a valid session code the page says so (and checks nobody in).
    ("GET", "events/<int:pk>/check-in"): E(LOGIN, 200, 200, 200, 200, args={"pk": "event"}),
    ("POST", "events/<int:pk>/check-in"): E(LOGIN, 200, 200, 200, 200, args={"pk": "event"}),
    # The event's organizers and librarians; another organizer is told it does not exist.
    ("GET", "events/<int:pk>/attendance.csv"): E(LOGIN, 403, 200, 200, 403, args={"pk": "event"}),
    ("GET", "events/<int:pk>/attendance.xlsx"): E(LOGIN, 403, 200, 200, 403, args={"pk": "event"}),
    ("POST", "me/check-in-code"): E(LOGIN, 302, 302, 302, 302),
    ("GET", "organize"): E(LOGIN, 403, 403, 200, 403),
    ("POST", "organize"): E(LOGIN, 403, 403, 200, 403),  # an empty form: shown again with errors
    ("GET", "organize/<int:pk>"): E(LOGIN, 403, 403, 200, 403, args={"pk": "event"}),
    ("POST", "organize/<int:pk>"): E(LOGIN, 403, 403, 302, 403, args={"pk": "event"}, body={"action": "cancel-event"}),
    ("GET", "organize/<int:pk>/edit"): E(LOGIN, 403, 403, 200, 403, args={"pk": "event"}),
    ("POST", "organize/<int:pk>/edit"): E(LOGIN, 403, 403, 200, 403, args={"pk": "event"}),
    ("GET", "organize/<int:pk>/attendees"): E(LOGIN, 403, 403, 200, 403, args={"pk": "event"}),
    ("POST", "organize/<int:pk>/attendees"): E(LOGIN, 403, 403, 302, 403, args={"pk": "event"},
                                               body={"registration": "registration"}),
    # Only the person who registered cancels on this page (organizers use the API).
    ("POST", "registrations/<int:pk>/cancel"): E(LOGIN, 302, 404, 404, 404, args={"pk": "registration"},
                                                 owned=True),
}

#: Which object of the world a route parameter names when a case does not say.
DEFAULT_ARGS = {
    "import_id": "catalog_import",
    "book_id": "book",
    "barcode": "free_copy",
    "paper_id": "internal_paper",
    "loan_id": "loan",
    "hold_id": "hold",
    "token_id": "spare_token",
    "venue_id": "venue",
    "event_id": "event",
    "attachment_id": "attachment",
    "registration_id": "registration",
    "token": "calendar_token",
    "link_id": "calendar_link",
    "transfer_id": "transfer",
    "occurrence": "event_occurrence",
    "target_id": "sru_target",
    "slug": "report",
    "table": "report_table",
}


def _cases():
    for (method, route), rule in EXPECTED.items():
        for case in rule if isinstance(rule, list) else [rule]:
            for actor in ACTORS:
                name = f"{method} /{route}" + (f" [{case.label}]" if case.label else "")
                yield pytest.param(method, route, case, actor, id=f"{name} - {actor}")


# --- the world --------------------------------------------------------------------------------------------


def _build_world() -> dict:
    """One of everything, owned as the table assumes; values are what goes into URLs and bodies."""
    judge = make_user("judge1", Role.JUDGE, display_name="张法官")
    librarian = make_user("librarian1", Role.LIBRARIAN)
    organizer = make_user("organizer1", Role.ORGANIZER)
    other_judge = make_user("judge2", Role.JUDGE)
    reader = make_user("reader1", Role.JUDGE)
    book = book_create(title="民法典评注")
    copy_create(book=book, barcode="C1")
    loan = circulation.loan_checkout(patron=judge, actor=judge, book=book)
    held_book = book_create(title="担保物权研究")
    copy_create(book=held_book, barcode="H1")
    circulation.loan_checkout(patron=reader, actor=reader, book=held_book)
    hold = circulation.hold_place(patron=judge, book=held_book, actor=judge)
    busy_book = book_create(title="合同法总论")
    copy_create(book=busy_book, barcode="B1")
    circulation.loan_checkout(patron=reader, actor=reader, book=busy_book)
    free_book = book_create(title="行政诉讼法")
    free_copy = copy_create(book=free_book, barcode="F1")
    Location.objects.create(name="棋盘井法庭", code="qpj", pickup=True)
    pull_book = book_create(title="执行程序研究")
    copy_create(book=pull_book, barcode="PL1")
    pull_hold = circulation.hold_place(patron=reader, book=pull_book, actor=reader)
    ready_book = book_create(title="物权编理解与适用")
    copy_create(book=ready_book, barcode="RD1")
    ready_hold = circulation.hold_place(patron=reader, book=ready_book, actor=reader)
    circulation.hold_pulled(hold=ready_hold, actor=librarian)
    moving_book = book_create(title="公司法")
    transfer = circulation.transfer_create(copy=copy_create(book=moving_book, barcode="MV1"),
                                           to=Location.objects.get(code="qpj"), actor=librarian)
    internal_paper = paper_create(title="执行难问题调研", visibility="internal", created_by=judge)
    paper_attach_file(paper=internal_paper, data="内部全文".encode(), filename="调研.txt")
    paper_create(title="公开的调研成果", visibility="public")
    librarian2 = make_user("librarian2", Role.LIBRARIAN)
    catalog_import = catalog_import_start(data=CSV_IMPORT.encode(), filename="books.csv", format=None, location=None,
                                          started_by=librarian2)
    book_create(title="有 ISBN 的书", isbn="9787301048153")
    conflict_import = catalog_import_start(data=b"isbn,title\n9787301048153,\xe5\x88\xab\xe7\x9a\x84\xe9\xa2\x98\xe5\x90\x8d\n",
                                           filename="conflict.csv", format=None, location=None, started_by=librarian2)
    dry_run_import = catalog_import_start(data=CSV_IMPORT.encode(), filename="trial.csv", format=None, location=None,
                                          started_by=librarian2, dry_run=True)
    run_queued_jobs()
    venue = event_services.venue_create(name="第一会议室")
    start = (timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)
    event = event_services.event_create(data=event_services.EventData(
        title="读者沙龙", kind="salon", start=start, end=start + timedelta(hours=2), capacity=20,
        rrule="FREQ=WEEKLY;COUNT=4"), actor=organizer)
    internal_event = event_services.event_create(data=event_services.EventData(
        title="院内读书会", kind="reading", start=start + timedelta(days=1),
        end=start + timedelta(days=1, hours=2), capacity=20, visibility="internal"), actor=organizer)
    registration = event_services.registration_create(event=event, user=judge)
    attachment = event_services.attachment_add(event=internal_event, data=b"agenda", filename="agenda.txt")
    sru_target = SruTarget.objects.create(name="矩阵目标", base_url="http://localhost:9/sru")
    sru_token = copycat.sign_record(sru_target, marc21_record(title="复制编目的书", year=2020).encode())
    manager = make_user("manager1", Role.MANAGER, display_name="高院长", division="院领导")
    users = {"judge": judge, "librarian": librarian, "organizer": organizer, "other_judge": other_judge,
             "manager": manager}
    return {
        "users": users,
        "tokens": {actor: token_issue(user=user, name="matrix").raw for actor, user in users.items()},
        "book": book.pk, "free_book": free_book.pk, "busy_book": busy_book.pk, "free_copy": free_copy.barcode,
        "internal_paper": internal_paper.pk, "loan": loan.pk, "hold": hold.pk, "catalog_import": catalog_import.pk,
        "conflict_import": conflict_import.pk, "conflict_position": 1, "dry_run_import": dry_run_import.pk,
        "pull_hold": pull_hold.pk, "ready_hold": ready_hold.pk, "transfer": transfer.pk,
        "spare_token": token_issue(user=judge, name="spare").token.pk,
        "venue": venue.pk, "event": event.pk, "internal_event": internal_event.pk, "attachment": attachment.pk,
        "event_start": timezone.localtime(event.start).isoformat(), "registration": registration.pk,
        "event_occurrence": event.start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "calendar_token": calendar_token_rotate(user=judge),
        "calendar_link": calendar_link_create(user=judge, name="办公室 Outlook").pk,
        "sru_target": sru_target.pk, "sru_token": sru_token, "judge_user": judge.pk,
        "report": "circulation", "report_table": "months", "weeding_report": "never-borrowed",
        "events_report": "event-attendance", "papers_report": "top-papers",
    }


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once for the module inside a transaction that is rolled back at its end.

    Each test runs in a savepoint of it (pytest-django's ``db``), so what one test changes the next never sees.
    """
    media = str(tmp_path_factory.mktemp("media"))
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], MEDIA_ROOT=media)
    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
    try:
        with django_db_blocker.unblock(), fast:
            world = _build_world()
        yield {**world, "media": media}
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(shared_world, db, settings):
    settings.MEDIA_ROOT = shared_world["media"]  # where the world's paper file and attachment are
    return shared_world


def _url(route: str, case: Case, world: dict) -> str:
    if case.url:
        return case.url

    def value(match: re.Match) -> str:
        name = match.group(1)
        return str(world[case.args.get(name) or DEFAULT_ARGS[name]])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route)


def _fill(data: dict | None, world: dict) -> dict | None:
    """Bodies name objects of the world by key ("free_book"); put in their ids."""
    if data is None:
        return None
    def put(v):
        return world[v] if isinstance(v, str) and v in world else [put(x) for x in v] if isinstance(v, list) else v

    return {k: put(v) for k, v in data.items()}


def _call(method: str, route: str, case: Case, actor: str, world: dict):
    url = _url(route, case, world)
    body, query = _fill(case.body, world), case.query
    if route.startswith(("api/v1/", "^api/v1/")):
        api = ApiClient(world["tokens"].get(actor), client=Client(enforce_csrf_checks=False))
        if case.upload:
            name, content = case.upload
            return api.upload(url, {"file": SimpleUploadedFile(name, content)})
        if method == "GET":
            return api.get(url, query)
        return getattr(api, method.lower())(url, body) if method != "DELETE" else api.delete(url)
    client = Client(enforce_csrf_checks=False)
    if actor != "anonymous":
        client.force_login(world["users"][actor])
    if method == "GET":
        return client.get(url, query)
    return client.generic(method, url) if body is None else client.post(url, body)


# --- tests ------------------------------------------------------------------------------------------------


def test_every_endpoint_has_a_rule():
    """Every (method, route) of the URL conf has a row in EXPECTED; add one for a new endpoint."""
    assert sorted(endpoints() - set(EXPECTED)) == []


def test_every_rule_names_an_endpoint():
    """EXPECTED names no endpoint that the URL conf no longer has."""
    assert sorted(set(EXPECTED) - endpoints()) == []


def test_the_walk_finds_api_operations_and_page_methods():
    """The walk sees each API operation's methods and a page's require_POST (the two sources it reads)."""
    found = endpoints()
    assert {m for m, r in found if r == "api/v1/books/<book_id>"} == {"GET", "PATCH", "DELETE"}
    assert {m for m, r in found if r == "books/<int:pk>/hold"} == {"POST"}
    assert {m for m, r in found if r == "desk/slips/receipt"} == {"GET"}  # require_safe
    assert {m for m, r in found if r == "logout/"} == {"POST"}
    assert not any(r.startswith(tuple(EXCLUDED)) for _, r in found)


def test_other_judge_never_reaches_an_object_of_judge():
    owned = [case for rule in EXPECTED.values() for case in (rule if isinstance(rule, list) else [rule]) if case.owned]
    assert len(owned) >= 10
    assert [c.expect["other_judge"] for c in owned if c.expect["other_judge"] not in (403, 404)] == []


@pytest.mark.parametrize(("method", "route", "case", "actor"), list(_cases()))
def test_authorization(method, route, case, actor, world):
    if case.index:
        search.index_rebuild()
    expected = case.expect[actor]

    response = _call(method, route, case, actor, world)

    location = response.get("Location", "")
    if expected == LOGIN:
        assert (response.status_code, location.split("?")[0]) == (302, settings.LOGIN_URL)
        return
    assert response.status_code == expected, response.content[:300]
    if expected == 302:
        assert not location.startswith(settings.LOGIN_URL)
    if route.startswith("api/v1/") and expected in (401, 403, 404):
        # The refusal comes from the API's own checks, in its one error shape.
        assert response.json()["code"] == {401: "unauthorized", 403: "forbidden", 404: "not_found"}[expected]


@pytest.mark.parametrize("actor", ["anonymous", "judge"])
def test_admin_sends_non_staff_to_its_login(actor, world):
    client = Client()
    if actor != "anonymous":
        client.force_login(world["users"][actor])

    response = client.get("/admin/")

    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")
