"""Small divisions merged into 其他部门 for the leadership: the merged group itself must not be one or two people
(a division of one person merged alone was that person's reading under another name)."""

import lxml.html
import pytest
from django.test import Client, override_settings

from accounts.models import Role
from reports.filters import divisions, small_divisions, small_roles
from tests.conftest import ApiClient, make_user


def api(user) -> ApiClient:
    client = Client()
    client.force_login(user)
    return ApiClient(client=client)


@pytest.fixture
def court(db):
    for i in range(3):
        make_user(f"civil{i}", Role.JUDGE, display_name=f"民{i}", division="民事审判庭")
    for i in range(4):
        make_user(f"crim{i}", Role.JUDGE, display_name=f"刑{i}", division="刑事审判庭")
    make_user("lonely", Role.JUDGE, display_name="孤", division="执行局")
    make_user("boss", Role.MANAGER, display_name="院长", division="院领导")
    make_user("boss2", Role.MANAGER, display_name="副院长", division="院领导")
    make_user("boss3", Role.MANAGER, display_name="副院长二", division="院领导")
    return make_user("lib", Role.LIBRARIAN, display_name="馆员", division="院领导")


def test_a_lone_small_division_is_merged_with_the_next_smallest(court):
    """执行局 (1 person) is the only small division: merged alone, "其他部门" would be that one judge.  The next
    smallest division (民事审判庭, 3) joins it; 刑事审判庭 (4) and 院领导 (4) stay."""
    assert small_divisions(3) == frozenset({"执行局", "民事审判庭"})
    assert small_divisions(1) == frozenset()


def test_small_divisions_that_together_reach_the_minimum_are_merged_alone(court):
    make_user("lonely2", Role.JUDGE, display_name="孤二", division="政治部")
    make_user("lonely3", Role.JUDGE, display_name="孤三", division="办公室")
    assert small_divisions(3) == frozenset({"执行局", "政治部", "办公室"})


def test_no_small_division_merges_nothing(court):
    make_user("civil9", Role.JUDGE, division="执行局")
    make_user("civil8", Role.JUDGE, division="执行局")
    assert small_divisions(3) == frozenset()


@override_settings(REPORT_MIN_GROUP=3)
def test_a_division_whose_people_have_all_left_is_small_too(court):
    """``divisions()`` offers every division a profile names, inactive accounts' too; sized by active accounts, one
    whose only member left has none: it is merged (topped up with 执行局's one and 民事审判庭's three, as any small
    division) and cannot be the manager's filter — else its figures were the one who left's reading."""
    gone = make_user("gone", Role.JUDGE, display_name="离", division="审判管理办公室")
    gone.is_active = False
    gone.save(update_fields=["is_active"])

    assert "审判管理办公室" in divisions()
    assert small_divisions(3) == frozenset({"审判管理办公室", "执行局", "民事审判庭"})
    manager = court.__class__.objects.get(username="boss")
    refused = api(manager).get("/api/v1/reports/circulation", {"division": "审判管理办公室"})
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["detail"]] == ["division"]


@override_settings(REPORT_MIN_GROUP=3)
def test_the_manager_never_sees_a_group_of_one(court):
    manager = court.__class__.objects.get(username="boss")
    rows = api(manager).get("/api/v1/reports/readers").json()["tables"][0]["rows"]
    assert [(r[0], r[1]) for r in rows] == [("刑事审判庭", 4), ("院领导", 4), ("其他部门", 4), ("全院", 12)]


def test_small_roles_are_merged_and_topped_up(court):
    """Active accounts by role: judges 8, managers 3, librarian 1 — the librarian alone is too few, so the next
    smallest (managers) join: 其他角色 has 4."""
    assert small_roles(3) == frozenset({"librarian", "manager"})
    make_user("lib2", Role.LIBRARIAN)
    make_user("lib3", Role.LIBRARIAN)
    assert small_roles(3) == frozenset()


@override_settings(REPORT_MIN_GROUP=3)
def test_grouped_by_role_the_manager_never_sees_the_one_administrators_loans(court):
    """The one librarian borrowed a book: grouped by role, the manager sees it under 其他角色 (with the three
    managers), never as 馆员's own row; the librarian sees every role."""
    from library import circulation
    from library.models import Copy, Location
    from library.services import book_create, copy_create

    Location.objects.update_or_create(name="院本部", defaults={"code": "main", "pickup": True, "position": 0})
    book = book_create(title="民法典评注", clc="D923")
    copy = copy_create(book=book, barcode="C1", location="院本部")
    librarian = court
    circulation.loan_checkout(patron=librarian, actor=librarian, copy=Copy.objects.get(pk=copy.pk))
    manager = court.__class__.objects.get(username="boss")
    query = "/api/v1/reports/circulation?by=role"

    def loans(user):
        groups = {t["key"]: t for t in api(user).get(query).json()["tables"]}["groups"]["rows"]
        return sorted({(r[1], r[2]) for r in groups if r[2]})

    assert loans(manager) == [("其他角色", 1)]
    assert loans(librarian) == [("馆员", 1)]


@override_settings(REPORT_MIN_GROUP=3)
def test_grouped_by_role_within_a_division_roles_are_merged_by_their_size_in_that_division(court):
    """Three librarians and four managers: no role is small court-wide.  刑事审判庭 has four judges and one manager
    (its head, 副院长三): narrowed to 刑事审判庭 and grouped by role, the managers' row would be that one person's
    loans, so for the manager, on the page and in the API, the division's roles are merged by their size there —
    the head alone is too few, the judges join (or the head's row would be the division's total less theirs): one
    row 其他角色 of both loans.  The librarian sees each role."""
    from library import circulation
    from library.models import Copy, Location
    from library.services import book_create, copy_create

    users = court.__class__.objects
    make_user("lib2", Role.LIBRARIAN, division="办公室")
    make_user("lib3", Role.LIBRARIAN, division="办公室")
    head = make_user("head", Role.MANAGER, display_name="副院长三", division="刑事审判庭")
    Location.objects.update_or_create(name="院本部", defaults={"code": "main", "pickup": True, "position": 0})
    book = book_create(title="刑法学", clc="D924")
    for patron, barcode in ((head, "C1"), (users.get(username="crim0"), "C2")):
        copy = copy_create(book=book, barcode=barcode, location="院本部")
        circulation.loan_checkout(patron=patron, actor=court, copy=Copy.objects.get(pk=copy.pk))
    manager = users.get(username="boss")
    query = {"by": "role", "division": "刑事审判庭"}

    def loans(user):
        groups = {t["key"]: t for t in api(user).get("/api/v1/reports/circulation", query).json()["tables"]}
        return sorted((r[1], r[2]) for r in groups["groups"]["rows"] if r[2])

    assert small_roles(3) == frozenset()
    assert small_roles(3, "刑事审判庭") == frozenset({"manager", "judge"})
    assert loans(manager) == [("其他角色", 2)]
    assert loans(court) == [("法官", 1), ("院领导", 1)]
    client = Client()
    client.force_login(manager)
    page = client.get("/reports/circulation", query)
    assert page.status_code == 200
    shown = lxml.html.fromstring(page.content.decode()).xpath('//table[@id="table-groups"]/tbody/tr/td[2]/text()')
    assert sorted(set(shown)) == ["其他角色"]
