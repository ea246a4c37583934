"""Buttons that cannot be taken back in one click ask first (data-confirm), in a real browser."""

from library import circulation
from library.models import Hold
from tests.web.browsing import BROWSER_TEST, login

pytestmark = BROWSER_TEST


def test_cancelling_a_request_asks_first(library_data, server, browser, shoot):
    from django.contrib.auth import get_user_model

    base, _log = server
    judge = get_user_model().objects.get(username="zhangming")
    hold = circulation.hold_place(patron=judge, book=library_data, actor=judge)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    login(page, base, "zhangming", "judge-pass-2026")
    page.goto(f"{base}/me")
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.click("text=取消预约")
    page.wait_for_timeout(300)
    hold.refresh_from_db()
    assert asked == ["取消这个预约？排队的位置不会保留。"] and hold.status in Hold.OPEN  # "no" keeps it
    page.once("dialog", lambda d: answer(d, True))
    with page.expect_navigation():
        page.click("text=取消预约")
    shoot(page, "cancelled")
    hold.refresh_from_db()
    assert len(asked) == 2 and hold.status == Hold.Status.CANCELLED
