"""Who may do what in /admin/: an authorization matrix generated from the admin site's registry.

``admin.site._registry`` lists every model the admin shows.  ``RULES`` says, by hand, what each actor
gets from each of eight admin actions on one real object of that model.  A registered model without a
rule fails ``test_every_registered_model_has_a_rule``, and a rule for a model that is no longer
registered fails ``test_every_rule_names_a_registered_model``, so a new admin cannot ship without
someone deciding who may use it.

Actors: anonymous; ``judge`` (no admin access: not staff); ``librarian``; ``organizer`` (organizes the
world's ``event``); ``organizer2`` (organizes ``event2`` only: the outsider of the probe in issue 13);
``superuser``; ``staff`` (is_staff but no role, so no model permissions).

The rules mirror the API (tests/shuyuan/test_authorization_matrix.py): librarians keep the catalogue
and circulation, organizers keep venues and the events they organize (``events.selectors.can_manage``),
judges use the API and the pages, not the admin; accounts are the superuser's.  An object outside the
queryset an actor may see is treated as not existing: Django's admin sends the actor to the index
(``GONE``) without saying whether it exists, just as for a deleted object.

Every request goes through ``django.test.Client`` with a logged-in session (CSRF off; the admin's CSRF
is Django's own).  POSTs resubmit the form the superuser is shown, so a refused POST is refused for
authorization, not for validation; an add also fills ``ADD_FORM``.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import FailedLogin, Role
from accounts.services import token_issue
from events import services as event_services
from jobs.models import Job, WorkerBeat
from library import circulation
from library.models import CirculationEvent, ClosedDay, LoanPolicy, Location, SruTarget
from library.services import book_create, copy_create, paper_create
from notices.models import Notice, NoticeDelivery, NoticePreference
from search_index.models import IndexChange, IndexNode, LawName
from tests.admin_forms import admin_form_data
from tests.conftest import make_user

ACTORS = ("anonymous", "judge", "librarian", "organizer", "organizer2", "superuser", "staff")
ACTIONS = ("list", "add", "add_post", "change", "change_post", "delete", "delete_post", "history")

# What an action can come to:
OK = "200"  # the page is shown
NO = "403"  # PermissionDenied
LOGIN = "login"  # 302 to the admin's login page (not logged in, or not staff)
GONE = "gone"  # 302 to the admin index: "doesn't exist" (outside the actor's queryset)
DONE = "done"  # 302 elsewhere after a POST: saved, added or deleted

#               list  add  add_post  change  change_post  delete  delete_post  history
OUT = (LOGIN,) * 8
NONE = (NO,) * 8
FULL = (OK, OK, DONE, OK, DONE, OK, DONE, OK)
# Changed only through services (circulation, registrations); the admin edits what the services allow.
NO_ADD_DELETE = (OK, NO, NO, OK, DONE, NO, NO, OK)
READ_ONLY = (OK, NO, NO, OK, NO, NO, NO, OK)
# Records written by the system: looked at, corrected or removed, never added by hand.
NO_ADD = (OK, NO, NO, OK, DONE, OK, DONE, OK)
# A model scoped to the actor's events, for an actor without its model permissions: Django checks the
# permission before it looks up the object, except on the history page.
NONE_SCOPED = (NO,) * 7 + (GONE,)
# Someone else's event, for an organizer: listed without it, and its pages do not exist for them.
OTHERS_EVENT = (OK, OK, DONE, GONE, GONE, GONE, GONE, GONE)
OTHERS_REGISTRATION = (OK, NO, NO, GONE, GONE, NO, NO, GONE)


def librarians(row):
    """A library model: the librarian's and superuser's row; no one else gets in."""
    return {"anonymous": OUT, "judge": OUT, "librarian": row, "organizer": NONE, "organizer2": NONE,
            "superuser": row, "staff": NONE}


def superusers(row):
    return {"anonymous": OUT, "judge": OUT, "librarian": NONE, "organizer": NONE, "organizer2": NONE,
            "superuser": row, "staff": NONE}


RULES: dict[str, dict[str, tuple[str, ...]]] = {
    # --- accounts: the superuser's alone
    "auth.group": superusers(FULL),
    "auth.user": superusers(FULL),
    "accounts.apitoken": superusers(NO_ADD),  # tokens are issued by the API or `issuetoken`
    "accounts.failedlogin": superusers(NO_ADD),  # written by the login throttle
    # --- library: the catalogue and circulation are the librarians'
    "library.book": librarians(FULL),
    "library.copy": librarians(FULL),
    "library.paper": librarians(FULL),
    "library.loanpolicy": librarians(FULL),
    "library.closedday": librarians(FULL),
    "library.loan": librarians(NO_ADD_DELETE),
    "library.hold": librarians(NO_ADD_DELETE),
    "library.location": librarians(FULL),
    "library.srutarget": librarians(FULL),
    "library.transfer": librarians(READ_ONLY),
    "notices.notice": librarians(NO_ADD_DELETE),
    # written by the sender and by readers (/me, the API): looked at, never edited in the admin
    "notices.noticedelivery": librarians(READ_ONLY),
    "notices.noticepreference": librarians(READ_ONLY),
    "library.circulationevent": librarians(READ_ONLY),
    # --- background jobs: librarians watch them (and queue failed ones again); superusers also delete
    "jobs.job": {**librarians(NO_ADD_DELETE), "superuser": NO_ADD},
    "jobs.workerbeat": {**librarians(READ_ONLY), "superuser": NO_ADD},
    # --- the search index's change log: looked at (and a rebuild queued) by librarians; an entry deleted or
    # added by hand would be an index update lost or invented, so no one edits it
    "search_index.indexchange": librarians(READ_ONLY),
    # --- its nodes: watched by librarians; a node gone for good may be removed by the superuser
    "search_index.indexnode": {**librarians(READ_ONLY), "superuser": NO_ADD},
    # --- the dictionary of law names searches expand: the librarians' (and the superuser's) to keep
    "search_index.lawname": librarians(FULL),
    # --- events: venues are every organizer's (as in the API), events and registrations their organizers'
    "events.venue": {"anonymous": OUT, "judge": OUT, "librarian": NONE, "organizer": FULL, "organizer2": FULL,
                     "superuser": FULL, "staff": NONE},
    "events.event": {"anonymous": OUT, "judge": OUT, "librarian": NONE_SCOPED, "organizer": FULL,
                     "organizer2": OTHERS_EVENT, "superuser": FULL, "staff": NONE_SCOPED},
    "events.registration": {"anonymous": OUT, "judge": OUT, "librarian": NONE_SCOPED,
                            "organizer": NO_ADD_DELETE, "organizer2": OTHERS_REGISTRATION,
                            "superuser": NO_ADD_DELETE, "staff": NONE_SCOPED},
}

#: Rows of a changelist that is scoped to the actor (keys of the world); other lists show every row.
ROWS = {
    ("events.event", "organizer"): {"event"},
    ("events.event", "organizer2"): {"event2"},
    ("events.registration", "organizer"): {"registration"},
    ("events.registration", "organizer2"): {"registration2"},
}

#: Fields an add form needs on top of what the empty add page carries.
ADD_FORM = {
    "auth.group": {"name": "新角色"},
    "auth.user": {"username": "newcomer", "usable_password": "true", "password1": "Xk3-secret-pass",
                  "password2": "Xk3-secret-pass"},
    "library.book": {"title": "新书"},
    "library.copy": {"book": "book", "barcode": "N1"},
    "library.paper": {"title": "新课题", "year": "2024"},
    "library.loanpolicy": {"role": Role.ORGANIZER.value},
    "library.closedday": {"date": "2099-10-01", "name": "国庆节"},
    "library.location": {"name": "乌兰木伦法庭", "code": "wlml", "position": "3"},
    "library.srutarget": {"name": "新目标", "base_url": "http://localhost:9/sru"},
    "search_index.lawname": {"code": "z9001", "title": "测试用条例", "kind": "regulation"},
    "events.venue": {"name": "新会议室", "capacity": "30"},
    "events.event": {"title": "新沙龙", "kind": "salon", "start_0": "2099-01-01", "start_1": "14:00:00",
                     "end_0": "2099-01-01", "end_1": "16:00:00"},
}


# --- the world --------------------------------------------------------------------------------------------


def _build_world() -> dict:
    """One object of every registered model, as the rules assume (``event`` is organizer's)."""
    judge = make_user("judge1", Role.JUDGE)
    users = {
        "judge": judge,
        "librarian": make_user("librarian1", Role.LIBRARIAN),
        "organizer": make_user("organizer1", Role.ORGANIZER),
        "organizer2": make_user("organizer2", Role.ORGANIZER),
        "superuser": User.objects.create_superuser("root", password="secret-pass-1"),
        "staff": User.objects.create_user("staff1", password="secret-pass-1", is_staff=True),
    }
    spare_user = make_user("spare1", Role.JUDGE)  # deletable: nothing of theirs is protected
    book = book_create(title="民法典评注")  # deletable: its one copy has never been lent
    free_copy = copy_create(book=book, barcode="F1")
    lent_book = book_create(title="合同法总论")
    copy_create(book=lent_book, barcode="C1")
    loan = circulation.loan_checkout(patron=judge, actor=users["librarian"], book=lent_book)
    reader = make_user("reader1", Role.JUDGE)
    hold = circulation.hold_place(patron=reader, book=lent_book, actor=reader)
    start = (timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)

    def event_of(organizer, title):
        return event_services.event_create(data=event_services.EventData(
            title=title, kind="salon", start=start, end=start + timedelta(hours=2), capacity=20), actor=organizer)

    event = event_of(users["organizer"], "读者沙龙")
    event2 = event_of(users["organizer2"], "审判实务讲座")
    registration = event_services.registration_create(event=event, user=judge)
    registration2 = event_services.registration_create(event=event2, user=judge)
    objects = {
        "auth.group": Group.objects.create(name="spare-group"),
        "auth.user": spare_user,
        "accounts.apitoken": token_issue(user=judge, name="matrix").token,
        "accounts.failedlogin": FailedLogin.objects.create(username="judge1", ip="10.0.0.1"),
        "library.book": book,
        "library.copy": free_copy,
        "library.paper": paper_create(title="执行难问题调研", created_by=judge),
        "library.loanpolicy": LoanPolicy.objects.create(role=Role.JUDGE, loan_days=30),
        "library.closedday": ClosedDay.objects.create(date=date(2099, 5, 1), name="劳动节"),
        "library.loan": loan,
        "library.hold": hold,
        "notices.noticedelivery": NoticeDelivery.objects.create(
            notice=Notice.objects.create(key="matrix-sent", kind=Notice.Kind.OVERDUE, patron=judge, subject="逾期",
                                         body="请尽快归还"), channel="sms", status=NoticeDelivery.Status.SKIPPED),
        "notices.noticepreference": NoticePreference.objects.create(
            user=judge, channels={"overdue": ["email", "sms"]},
            webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-robot-key"),
        "library.location": Location.objects.create(name="阅览室二楼", code="floor2"),
        "library.srutarget": SruTarget.objects.create(name="市图书馆", base_url="http://localhost:9/sru"),
        "library.transfer": circulation.transfer_create(copy=copy_create(book=lent_book, barcode="T1"),
                                                        to=Location.objects.create(name="棋盘井法庭", code="qpj"),
                                                        actor=users["librarian"]),
        "notices.notice": Notice.objects.create(key="matrix", kind=Notice.Kind.DUE_SOON, patron=judge,
                                                subject="即将到期", body="请按时归还"),
        "library.circulationevent": CirculationEvent.objects.filter(loan=loan).first(),
        "events.venue": event_services.venue_create(name="第一会议室"),
        "events.event": event,
        "events.registration": registration,
        "jobs.job": Job.objects.create(kind="matrix", task_path="tests.jobs.sample_tasks.count_to"),
        "search_index.indexchange": IndexChange.objects.create(kind=IndexChange.Kind.BOOK, object_id=book.pk),
        "search_index.indexnode": IndexNode.objects.create(name="matrix:/srv/index", generation="gen-matrix",
                                                           position=0, applied_to=0, seen_at=timezone.now()),
        "search_index.lawname": LawName.objects.get(code="f0183"),
        "jobs.workerbeat": WorkerBeat.objects.create(worker_id="matrix:1", hostname="matrix", pid=1, backend="db",
                                                     started_at=timezone.now(), seen_at=timezone.now()),
    }
    return {
        "users": users,
        "objects": {label: obj.pk for label, obj in objects.items()},
        "book": book.pk, "event": event.pk, "event2": event2.pk,
        "registration": registration.pk, "registration2": registration2.pk,
    }


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """The world, built once for the module inside a transaction rolled back at its end; each test runs in a
    savepoint of it (pytest-django's ``db``), so what one test changes the next never sees."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
    try:
        with django_db_blocker.unblock(), fast:
            world = _build_world()
        yield world
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(shared_world, db):
    return shared_world


# --- making the requests -----------------------------------------------------------------------------------


@dataclass
class Target:
    label: str
    world: dict

    @property
    def model(self):
        return next(m for m in admin.site._registry if m._meta.label_lower == self.label)

    @property
    def pk(self) -> int:
        return self.world["objects"][self.label]

    def url(self, action: str) -> str:
        opts = self.model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}_"
        if action in ("list", "add"):
            return reverse(name + ("changelist" if action == "list" else "add"))
        return reverse(name + action, args=[self.pk])


def outcome(response) -> str:
    if response.status_code != 302:
        return str(response.status_code)
    location = response["Location"]
    if location.startswith(reverse("admin:login")):
        return LOGIN
    return GONE if location == reverse("admin:index") else DONE


def _run(target: Target, actor: str) -> tuple[list[str], tuple[list[int], list[int]] | None]:
    """The outcome of each action in ACTIONS (destructive ones last), and the rows of the changelist
    with every row of the model at that moment."""
    world = target.world
    root = Client()
    root.force_login(world["users"]["superuser"])
    client = Client()
    if actor != "anonymous":
        client.force_login(world["users"][actor])
    model = target.model
    results: dict[str, str] = {}
    rows = None

    response = client.get(target.url("list"))
    results["list"] = outcome(response)
    if response.status_code == 200:
        changelist = response.context["cl"]
        rows = (sorted(obj.pk for obj in changelist.result_list),
                sorted(model._default_manager.values_list("pk", flat=True)), changelist.result_count)
    results["add"] = outcome(client.get(target.url("add")))
    results["change"] = outcome(client.get(target.url("change")))
    results["history"] = outcome(client.get(target.url("history")))
    results["delete"] = outcome(client.get(target.url("delete")))

    change_form = admin_form_data(root, target.url("change"))
    before = model._default_manager.filter(pk=target.pk).values().get()
    results["change_post"] = outcome(client.post(target.url("change"), change_form))
    if results["change_post"] != DONE:
        assert model._default_manager.filter(pk=target.pk).values().get() == before, "a refused change changed"

    add_form = admin_form_data(root, target.url("add"))
    for name, value in ADD_FORM.get(target.label, {}).items():
        add_form[name] = [str(world[value]) if value in world else value]
    count = model._default_manager.count()
    results["add_post"] = outcome(client.post(target.url("add"), add_form))
    assert model._default_manager.count() == count + (results["add_post"] == DONE), "add_post"

    results["delete_post"] = outcome(client.post(target.url("delete"), {"post": "yes"}))
    assert model._default_manager.filter(pk=target.pk).exists() == (results["delete_post"] != DONE), "delete_post"
    return [results[a] for a in ACTIONS], rows


# --- tests ------------------------------------------------------------------------------------------------


def test_every_registered_model_has_a_rule():
    """Every model of admin.site has a row in RULES; add one for a new ModelAdmin."""
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert sorted(registered - set(RULES)) == []


def test_every_rule_names_a_registered_model():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert sorted(set(RULES) - registered) == []


def test_every_rule_covers_every_actor_and_action():
    assert [(label, sorted(rule)) for label, rule in RULES.items() if sorted(rule) != sorted(ACTORS)] == []
    assert [label for label, rule in RULES.items() if any(len(row) != len(ACTIONS) for row in rule.values())] == []


def test_judges_and_staff_without_a_role_never_get_in():
    """Judges use the API and the pages; a staff flag without a role grants nothing."""
    assert {rule["judge"] for rule in RULES.values()} == {OUT}
    assert {a for rule in RULES.values() for a in rule["staff"]} <= {NO, GONE}


@pytest.mark.parametrize("label", sorted(RULES))
@pytest.mark.parametrize("actor", ACTORS)
def test_admin_authorization(label, actor, world):
    target = Target(label, world)
    if label not in {m._meta.label_lower for m in admin.site._registry}:
        pytest.fail(f"{label} is not registered")

    observed, rows = _run(target, actor)

    assert dict(zip(ACTIONS, observed, strict=True)) == dict(zip(ACTIONS, RULES[label][actor], strict=True))
    if rows is not None:
        shown, every, count = rows
        scoped = ROWS.get((label, actor))
        if scoped is None and count > len(shown):
            # More than one page (the 1,328 law names): every row is counted, the first page shown.
            assert count == len(every) and set(shown) <= set(every)
        else:
            assert shown == (sorted(world[key] for key in scoped) if scoped is not None else every)

