"""The desk's pages through Django's test client (CSRF on): the pull list, the van's lists, slips, the desk's
place, and ids typed into them that are not ids."""

import re

import pytest

from accounts.models import Profile, Role
from library import circulation
from library.models import Copy, Hold, Location, Transfer
from library.services import book_create, copy_create
from tests.conftest import make_user
from tests.web.test_pages import csrf_post, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, librarian):
    Location.objects.create(name="棋盘井法庭", code="qpj", pickup=True, position=1)
    reader = make_user("judge1", Role.JUDGE, display_name="张明", division="民事审判庭")
    Profile.objects.filter(user=reader).update(card_number="R0001")
    book = book_create(title="担保物权研究", clc="D923.2")
    copy_create(book=book, barcode="B1", shelf="A3-2")
    hold = circulation.hold_place(patron=reader, book=book, actor=reader)
    return {"reader": reader, "book": book, "hold": hold, "desk": logged_in(librarian)}


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def follow(client, response) -> str:
    assert response.status_code == 302, response.status_code
    return client.get(response["Location"]).content.decode()


def test_the_pull_list_names_the_reader_and_pulling_puts_the_copy_on_the_hold_shelf(world):
    desk = world["desk"]
    html = page(desk, "/desk/pull")
    assert "担保物权研究" in html and "张明" in html and "A3-2" in html and "取书单" in html
    done = follow(desk, csrf_post(desk, "/desk/pull", "/desk/pull", {"hold": world["hold"].pk, "action": "pulled"}))
    assert "已取出《担保物权研究》。请放上预约架：张明（民事审判庭 · judge1）" in done
    assert "取书单是空的。" in done
    slip = page(desk, f"/desk/slips/hold/{world['hold'].pk}")
    assert "张明" in slip and "院本部" in slip and "R0001" in slip and "取书截止" in slip


def test_not_found_on_the_pull_list(world):
    desk = world["desk"]
    done = follow(desk, csrf_post(desk, "/desk/pull", "/desk/pull", {"hold": world["hold"].pk, "action": "missing"}))
    assert "记为架上未找到；预约回到排队。" in done
    assert Copy.objects.get(barcode="B1").status == "missing"
    assert Hold.objects.get(pk=world["hold"].pk).status == "waiting"


@pytest.mark.parametrize("typed", ["²", "9" * 30, "-1", "abc", ""])
def test_ids_that_are_not_ids_are_refused_politely(world, typed):
    desk = world["desk"]
    said = follow(desk, csrf_post(desk, "/desk/pull", "/desk/pull", {"hold": typed, "action": "pulled"}))
    assert "该预约不存在。" in said
    said = follow(desk, csrf_post(desk, "/desk/transit", "/desk/transit", {"action": "send", "transfer": typed}))
    assert "有 1 项调拨不存在" in said
    judge = logged_in(world["reader"])
    assert judge.get("/borrow", {"book": typed}).status_code == 200


def test_the_van_between_the_two_places_through_the_pages(world):
    desk = world["desk"]
    Hold.objects.filter(pk=world["hold"].pk).delete()
    Copy.objects.filter(barcode="B1").update(status="available")
    moved = follow(desk, csrf_post(desk, "/desk/transit", "/desk/transit",
                                   {"action": "move", "barcode": "b1", "to": "qpj"}))
    assert "《担保物权研究》（B1）待发往 棋盘井法庭。" in moved
    transfer = Transfer.objects.get()
    sent = follow(desk, csrf_post(desk, "/desk/transit", "/desk/transit", {"action": "send", "transfer": transfer.pk}))
    assert "已发往 棋盘井法庭" in sent
    assert "没有发往本馆的书。" in page(desk, "/desk/transit")  # 院本部 receives nothing
    arriving = page(desk, "/desk/transit?at=qpj")
    assert "棋盘井法庭" in arriving and "B1" in arriving
    received = follow(desk, csrf_post(desk, "/desk/transit", "/desk/transit",
                                      {"action": "receive", "transfer": transfer.pk}))
    assert "已签收《担保物权研究》。请放回书架。" in received
    assert Copy.objects.get(barcode="B1").location == "棋盘井法庭"


def test_moving_a_copy_that_is_not_here_or_unknown_is_refused(world):
    desk = world["desk"]
    unknown = desk.post("/desk/transit", {"action": "move", "barcode": "NOPE", "to": "qpj"})
    assert unknown.status_code == 403  # no CSRF token
    said = csrf_post(desk, "/desk/transit", "/desk/transit", {"action": "move", "barcode": "NOPE", "to": "qpj"})
    assert said.status_code == 400 and "条码 NOPE 不存在。" in said.content.decode()
    busy = csrf_post(desk, "/desk/transit", "/desk/transit", {"action": "move", "barcode": "B1", "to": "qpj"})
    assert busy.status_code == 400 and "只有在架的复本可以调拨（当前：备书中）" in busy.content.decode()


def test_the_receipt_lists_the_current_readers_books(world):
    desk = world["desk"]
    assert desk.get("/desk/slips/receipt").status_code == 404  # no reader at the desk yet
    follow(desk, csrf_post(desk, "/desk", "/desk", {"action": "checkout", "patron": "R0001", "barcode": "B1"}))
    receipt = page(desk, "/desk/slips/receipt")
    assert "张明" in receipt and "担保物权研究" in receipt and "B1" in receipt and "共 1 册" in receipt


def test_the_desk_keeps_its_place(world):
    desk = world["desk"]
    assert "服务台 · 棋盘井法庭" in page(desk, "/desk?at=qpj")
    assert "服务台 · 棋盘井法庭" in page(desk, "/desk")  # kept in the session
    assert "服务台 · 棋盘井法庭" in page(desk, "/desk?at=nowhere")  # an unknown place changes nothing


@pytest.mark.parametrize("url", ["/desk/labels", "/desk/cards"])
def test_the_printing_pages_keep_the_desk_header(world, url):
    desk = world["desk"]
    page(desk, "/desk?at=qpj")
    html = page(desk, url)
    # The same header as the other desk pages: the desk's place kept, this page marked …
    assert re.search(r'<option value="qpj" selected>棋盘井法庭</option>', html)
    assert re.search(rf'<a href="{url}" aria-current="page">', html)
    # … and the work waiting at the place (the requested copy is pulled at 院本部).
    assert '取书单 <span class="count">1</span>' in page(desk, url + "?at=main")
    assert '取书单 <span class="count">' not in html
