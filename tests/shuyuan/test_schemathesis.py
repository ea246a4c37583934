"""Every operation of /api/v1/openapi.json, called by schemathesis as each role, answers as the schema says.

The schema is read from the app itself (in-process WSGI, the full middleware stack) and every operation is
called with generated valid and invalid input (schemathesis' coverage cases, then a bounded, derandomized
hypothesis draw): valid input as two of an anonymous reader, a judge, a librarian and an organizer, invalid
input as one of the four, chosen by the case's content (`_roles_for`).  Each response must not be
a 5xx, must carry a status code the operation declares, and must match the schema declared for that status.
The database holds the demo library, loaded once for the module (objects with history: returned loans, an
active loan, a waiting hold, a registration, papers with files, recurring events with a moved and a
cancelled occurrence), plus rows seeded for the operations (books with copies, a public paper with its file
and an internal one, a venue, an event with a registration and a material, a loan, a hold), all made once.
Generated ids in paths and bodies are pointed at real rows part of the time, so handlers get past their 404s.

No operation is left out: the multipart uploads (imports, paper files, event materials) take schemathesis'
generated files like any client's, and none of the operations runs long.
"""

import zlib
from dataclasses import dataclass
from datetime import timedelta

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from accounts.models import Role
from accounts.services import token_issue
from events.models import Event
from events.services import attachment_add, registration_create
from library.circulation import hold_place, loan_checkout
from library.models import SruTarget
from library.services import book_create, copy_create, paper_attach_file, paper_create
from search_index import searcher
from search_index.services import index_rebuild
from tests.conftest import api_for, make_user

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
MAX_EXAMPLES = 10
ROLES = ["anonymous", "judge", "librarian", "organizer"]


@dataclass
class Seeded:
    tokens: dict[str, str | None]
    #: Path parameter or body field name → real values a generated one may be replaced by.
    ids: dict[str, list]


@pytest.fixture
def django_app_in_this_thread():
    """Let the WSGI handler run inside the test's transaction, as django.test.Client does: Django closes
    "old" connections when a request starts and ends, and a connection inside an atomic block looks old."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@dataclass
class Demo:
    media: str
    index: str
    seeded: Seeded


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo library and the rows seeded for the operations, made once for this module inside a transaction
    that is rolled back after it (the way TestCase.setUpTestData works): each test's own transaction nests
    inside it, and each call inside that (see the test), so no call sees another's writes."""
    from events.models import Registration
    from library.models import Copy, Hold, Loan, Paper

    root = tmp_path_factory.mktemp("demo")
    with django_db_blocker.unblock(), override_settings(
            MEDIA_ROOT=str(root / "media"), SEARCH_INDEX_DIR=str(root / "index"),
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("load_demo", verbosity=0)
            with_history = Copy.objects.filter(loans__isnull=False).distinct()
            demo_ids = {
                "book_id": list(with_history.values_list("book_id", flat=True)),
                "barcode": list(with_history.values_list("barcode", flat=True)),
                "paper_id": list(Paper.objects.values_list("pk", flat=True)[:6]),
                "loan_id": list(Loan.objects.values_list("pk", flat=True)),
                "hold_id": list(Hold.objects.values_list("pk", flat=True)),
                "registration_id": list(Registration.objects.values_list("pk", flat=True)),
                "event_id": list(Registration.objects.values_list("event_id", flat=True)),
            }
            seeded = _seed()
            for name, values in demo_ids.items():
                seeded.ids[name] = seeded.ids[name] + values
                if name == "barcode":
                    seeded.ids["barcode_in_body"] = seeded.ids["barcode_in_body"] + values
            # Only search reads the index (writes reach it on commit, which never comes here): built once, here.
            index_rebuild()
            yield Demo(media=str(root / "media"), index=str(root / "index"), seeded=seeded)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _seed() -> Seeded:
    """Rows for each operation to find: books with copies, a public paper with its file and an internal one, a
    venue, an event with a registration and a material, a loan, a hold, a copy-cataloguing target."""
    judge = make_user("judge1", Role.JUDGE, display_name="张法官")
    other_judge = make_user("judge2", Role.JUDGE, display_name="赵法官")
    librarian = make_user("librarian1", Role.LIBRARIAN, display_name="李馆员")
    organizer = make_user("organizer1", Role.ORGANIZER, display_name="王组织")

    book = book_create(title="民法物权", isbn="978-7-301-04815-3", year=2020, contributors=["王泽鉴 著"])
    copies = [copy_create(book=book, barcode=f"FG{n}") for n in (1, 2)]
    scarce = book_create(title="刑法总论", year=2019)
    copy_create(book=scarce, barcode="FG3")
    public = paper_create(title="关于物权登记的调研", visibility="public", created_by=judge)
    paper_attach_file(paper=public, data="第一章 物权登记的现状。".encode(), filename="调研.txt")
    internal = paper_create(title="内部调研报告", visibility="internal", created_by=judge)
    loan = loan_checkout(patron=judge, actor=judge, book=scarce)
    hold = hold_place(patron=other_judge, book=scarce, actor=other_judge)

    org = api_for(organizer)
    venue = org.post("/api/v1/venues", {"name": "测试阅览室", "location": "院本部三楼", "capacity": 3}).json()
    start = (timezone.localtime() + timedelta(days=7)).replace(hour=15, minute=0, second=0, microsecond=0)
    response = org.post("/api/v1/events", {
        "title": "法官茶座", "kind": "tea_talk", "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(), "venue": venue["id"], "books": [book.pk],
    })
    assert response.status_code == 201, response.content
    event_id = response.json()["id"]
    event = Event.objects.get(pk=event_id)
    registration = registration_create(event=event, user=judge)
    attachment = attachment_add(event=event, data=b"%PDF-1.4 agenda", filename="议程.pdf")

    # A copy-cataloguing target naming this machine: a search is refused at once (409), as for a server that is
    # down (SRU_ALLOWED_HOSTS in tests/conftest.py keeps every other host out of reach, and no target not listed
    # in SRU_INTERNAL_HOSTS reaches this machine).
    sru_target = SruTarget.objects.create(name="测试目标", base_url="http://localhost:9/sru")
    issued = {role: token_issue(user=user) for role, user in
              (("judge", judge), ("librarian", librarian), ("organizer", organizer))}
    return Seeded(
        tokens={"anonymous": None, **{role: token.raw for role, token in issued.items()}},
        ids={
            "book_id": [book.pk, scarce.pk],
            "barcode": [c.barcode for c in copies],
            "paper_id": [public.pk, internal.pk],
            "loan_id": [loan.pk],
            "hold_id": [hold.pk],
            "venue_id": [venue["id"]],
            "event_id": [event_id],
            "attachment_id": [attachment.pk],
            "registration_id": [registration.pk],
            "target_id": [sru_target.pk],
            "token_id": [token.token.pk for token in issued.values()],
            # Body fields that name rows: borrowing, holds, returns and event venues.
            "book": [book.pk, scarce.pk],
            "barcode_in_body": [c.barcode for c in copies],
            "patron": ["judge1", "judge2"],
            "venue": [venue["id"]],
        },
    )


@pytest.fixture
def seeded(db, demo, settings):
    settings.MEDIA_ROOT = demo.media  # the demo papers' and the seeded paper's files
    settings.SEARCH_INDEX_DIR = demo.index  # the index built from them
    searcher.reset()  # not a searcher cached by an earlier test on another directory
    yield demo.seeded
    searcher.reset()  # nor this one for a later test


def _aim_at_real_rows(case, ids: dict[str, list]) -> None:
    """Point two of every three generated ids (in the path, or at the top of a JSON body) at a real row; the
    choice follows the generated value, so a run is still determined by hypothesis' draw."""

    def aimed(value, real: list):
        key = value if isinstance(value, int) and not isinstance(value, bool) else len(str(value))
        return real[key % len(real)] if key % 3 else value

    for name, value in (case.path_parameters or {}).items():
        if ids.get(name):
            case.path_parameters[name] = aimed(value, ids[name])
    if isinstance(case.body, dict):
        for name, value in case.body.items():
            real = ids.get("barcode_in_body" if name == "barcode" else name)
            if real and isinstance(value, type(real[0])):
                case.body[name] = aimed(value, real)


def _roles_for(case) -> list[str]:
    """Who sends ``case``, chosen from the case's content, so that the same case always goes to the same roles
    (hypothesis replays a failing case, and a run is repeatable).  Valid input goes out as two of the four roles
    (anonymous, judge, librarian, organizer): what each may do is where roles differ, and over an operation's
    examples every pair of roles comes up.  Input the schema forbids (two thirds of the cases: schemathesis'
    coverage phase takes each parameter through its wrong types, bounds and formats) goes out once, as one of
    the four (anonymous, which must be refused before the input is read, or a signed-in role, which must get a
    4xx naming it).  (Until 2026-12-07 each valid case went out as all four roles, three quarters of the
    module's calls; each role's access to each operation is the authorization matrix's to check.)"""
    content = zlib.crc32(repr((case.method, case.path, case.path_parameters, case.query, case.body)).encode())
    first = ROLES[content % len(ROLES)]
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return [first]
    # The second role: one of the other three.
    return [first, ROLES[(content + 1 + (content // len(ROLES)) % (len(ROLES) - 1)) % len(ROLES)]]


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_every_operation_answers_as_declared(case, seeded, django_app_in_this_thread):
    _aim_at_real_rows(case, seeded.ids)
    for role in _roles_for(case):
        token = seeded.tokens[role]
        # X-Test-Role names the role in the report's "Reproduce with" command, which hides the token.
        headers = {"X-Test-Role": role, **({"Authorization": f"Bearer {token}"} if token else {})}
        # Each call starts from the seeded rows: whatever it writes is rolled back before the next one.
        with transaction.atomic():
            case.call_and_validate(headers=headers, checks=CHECKS)
            transaction.set_rollback(True)


# --- what schemathesis found, pinned so it stays fixed whatever the draw --------------------------------

HUGE = 2**70


@pytest.mark.parametrize(("path", "field"), [
    ("/api/v1/loans", "book"),
    ("/api/v1/holds", "book"),
    ("/api/v1/circulation/events", "book"),
    ("/api/v1/events", "venue"),
    ("/api/v1/occurrences", "venue"),
])
def test_an_id_beyond_64_bits_in_a_filter_is_422_naming_it(librarian, path, field):
    """Was a 500: SQLite's driver overflows comparing a foreign key with an integer over 64 bits."""
    response = api_for(librarian).get(path, {field: HUGE})

    assert response.status_code == 422, response.content
    assert [error["field"] for error in response.json()["detail"]] == [field]


def test_an_id_beyond_64_bits_in_an_event_body_is_422_naming_it(organizer):
    start = (timezone.localtime() + timedelta(days=7)).replace(microsecond=0)
    payload = {"title": "法官茶座", "kind": "tea_talk", "start": start.isoformat(),
               "end": (start + timedelta(hours=1)).isoformat(), "books": [HUGE]}

    response = api_for(organizer).post("/api/v1/events", payload)

    assert response.status_code == 422, response.content
    assert [error["field"] for error in response.json()["detail"]] == ["books.0"]


@pytest.mark.parametrize("field", ["registration_opens", "registration_closes"])
def test_a_registration_time_before_1900_is_422_naming_it(organizer, field):
    """Was a 200 whose body broke the schema: before 1900 Asia/Shanghai is LMT, +08:05:43, which no
    ISO 8601 date-time carries (it came back as "0316-01-21T03:23:30+08:05:43")."""
    org = api_for(organizer)
    start = (timezone.localtime() + timedelta(days=7)).replace(microsecond=0)
    created = org.post("/api/v1/events", {"title": "法官茶座", "kind": "tea_talk", "start": start.isoformat(),
                                          "end": (start + timedelta(hours=1)).isoformat()}).json()

    response = org.patch(f"/api/v1/events/{created['id']}", {field: "0316-01-20T16:25:47-02:52"})

    assert response.status_code == 422, response.content
    assert [error["field"] for error in response.json()["detail"]] == [field]
    assert org.get(f"/api/v1/events/{created['id']}").json()[field] is None
