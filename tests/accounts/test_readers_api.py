"""GET /api/v1/readers: the desk's reader lookup (card, username, name, pinyin, division) for librarians."""

import pytest

from accounts.models import Profile, Role
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def readers(db):
    zhang = make_user("judge1", Role.JUDGE, display_name="张明", division="民事审判庭", email="zm@court.test",
                      phone="13800000001")
    Profile.objects.filter(user=zhang).update(card_number="R0001")
    make_user("judge2", Role.JUDGE, display_name="张伟", division="执行局")
    return zhang


@pytest.mark.parametrize("typed", ["R0001", "r0001", "judge1", "zhangming", "zm", "张明"])
def test_a_reader_is_found_by_card_username_name_or_pinyin(librarian_api, readers, typed):
    rows = librarian_api.get("/api/v1/readers", {"q": typed}).json()
    assert rows == [{"username": "judge1", "display_name": "张明", "division": "民事审判庭", "card_number": "R0001",
                     "email": "zm@court.test", "phone": "13800000001", "label": "张明（民事审判庭 · judge1）"}]


def test_a_name_shared_by_two_readers_lists_both_and_a_division_finds_its_readers(librarian_api, readers):
    assert sorted(r["username"] for r in librarian_api.get("/api/v1/readers", {"q": "张"}).json()) == ["judge1", "judge2"]
    assert [r["username"] for r in librarian_api.get("/api/v1/readers", {"q": "执行"}).json()] == ["judge2"]
    assert librarian_api.get("/api/v1/readers", {"q": "nobody"}).json() == []


def test_only_librarians_look_readers_up(judge_api, readers):
    assert judge_api.get("/api/v1/readers", {"q": "张"}).status_code == 403


def test_the_query_is_required_and_named(librarian_api, readers):
    response = librarian_api.get("/api/v1/readers")
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "q"
