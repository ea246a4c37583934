"""Fixtures of the real-browser tests (tests/web/browsing.py has the rest)."""

import pytest

from accounts.models import Role
from library.services import book_create, copy_create
from search_index import services as search
from tests.library.sru_server import sru_server  # noqa: F401 - a fixture: the local SRU server
from tests.live import start_server
from tests.web.browsing import CHROMIUM, SHOTS, browser_user


@pytest.fixture
def server(tmp_path):
    """The live server of a browser test: two worker processes (one browser rarely asks for more than two
    things at once; the tests of simultaneous requests use tests.live's four)."""
    with start_server(tmp_path, workers=2) as running:
        yield running


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own database work
    # (fixtures, assertions on rows) is ordinary synchronous code around it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        # Pages open in Chinese, as on the court's computers (the English switch is tested separately).
        original = instance.new_page
        blocked = []  # what the Content-Security-Policy refused, on any page of the test

        def new_page(**kw):
            page = original(**{"locale": "zh-CN", **kw})
            page.on("console", lambda msg: blocked.append(f"{page.url}: {msg.text}")
                    if "Content Security Policy" in msg.text else None)
            return page

        instance.new_page = new_page
        yield instance
        instance.close()
        assert blocked == [], "the pages broke their own Content-Security-Policy"
        # Database work done while Playwright's loop runs uses its own (context-local) connection:
        # close it here, or PostgreSQL keeps a session open on the test database.
        from django.db import connections

        connections.close_all()


@pytest.fixture
def shoot(request):
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = []

    def take(page, name: str) -> None:
        pages.append(page)
        page.screenshot(path=str(SHOTS / f"{request.node.name}-{name}.png"), full_page=True)

    yield take
    failed = getattr(request.node, "rep_call", None)
    if pages and (failed is None or failed.failed):
        try:
            pages[-1].screenshot(path=str(SHOTS / f"{request.node.name}-at-failure.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001 - a test that ran its own Playwright has closed it by now
            print(f"no screenshot at failure: {exc}")


@pytest.fixture
def library_data(db):
    from library.models import Location

    # The places of a fresh installation (a test before this one may have flushed the migration's rows).
    Location.objects.update_or_create(name="院本部", defaults={"code": "main", "pickup": True, "position": 0})
    browser_user("zhangming", Role.JUDGE, "judge-pass-2026", display_name="张明")
    book = book_create(title="担保物权研究", summary="系统研究抵押权、质权与留置权。", clc="D923.2", year=2017)
    copy_create(book=book, barcode="B1")
    search.index_rebuild()
    return book
