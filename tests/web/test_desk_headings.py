"""Every desk page opens the same way (routine walk of issue 17): its heading with the desk's place, then the
desk's tabs — /desk/labels and /desk/cards had the tabs first and no place."""

import re

import pytest

from library.models import Location
from tests.web.test_pages import logged_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("url", "heading"), [
    ("/desk", "服务台 · 棋盘井法庭"),
    ("/desk/pull", "取书单 · 棋盘井法庭"),
    ("/desk/transit", "在途 · 棋盘井法庭"),
    ("/desk/labels", "打印书标和条码标签 · 棋盘井法庭"),
    ("/desk/cards", "打印读者证 · 棋盘井法庭"),
])
def test_each_desk_page_has_its_heading_with_the_place_above_the_tabs(librarian, url, heading):
    Location.objects.create(name="棋盘井法庭", code="qpj", pickup=True, position=1)
    client = logged_in(librarian)
    client.get("/desk", {"at": "qpj"})

    html = client.get(url).content.decode()

    main = html[html.index("<main"):]
    assert re.findall(r"<h1>(.*?)</h1>", main) == [heading]
    assert main.index("<h1>") < main.index('<nav class="desk-nav"')
