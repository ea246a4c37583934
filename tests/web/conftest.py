"""Fixtures of the real-browser tests (tests/web/browsing.py has the rest)."""

import asyncio
import sys

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


class _Chromium:
    """Playwright's driver and one Chromium for the whole test process, started by its first browser test (a
    launch per test cost about a second of each); every test gets contexts of its own (``browser``).

    Playwright's sync API marks its event loop as running in this thread, between its calls too.  The mark is
    taken off after each browser test (``pause``), so that the tests after it (asyncio.run, async_to_sync,
    Django's async-unsafe check, a test's own sync_playwright) run as in a process without Playwright, and put
    back before the next (``resume``)."""

    def __init__(self) -> None:
        self._manager = None
        self._loop = None
        self._hooks_outside = self._hooks_inside = sys.get_asyncgen_hooks()
        self._browser = None

    def resume(self):
        from playwright.sync_api import sync_playwright

        try:
            if self._manager is None:
                self._manager = sync_playwright()
                self._playwright = self._manager.start()
                self._loop = asyncio.get_running_loop()  # Playwright's, marked running from its start
            else:
                asyncio._set_running_loop(self._loop)
                sys.set_asyncgen_hooks(*self._hooks_inside)
            if self._browser is None or not self._browser.is_connected():  # none yet, or it crashed
                self._browser = self._playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        except BaseException:
            self.pause()
            raise
        return self._browser

    def pause(self) -> None:
        if self._loop is not None:
            self._hooks_inside = sys.get_asyncgen_hooks()
            asyncio._set_running_loop(None)
            sys.set_asyncgen_hooks(*self._hooks_outside)

    def stop(self) -> None:
        if self._manager is not None:
            self.resume()
            try:
                self._browser.close()
            finally:
                self._manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def _chromium():
    chromium = _Chromium()
    yield chromium
    chromium.stop()


class TestBrowser:
    """A test's browser: ``new_page`` and ``new_context`` as on Playwright's Browser, in contexts of the test's
    own (cookies, storage, cache), all closed at its end (``close`` too).  Pages of ``new_page`` open in
    Chinese, as on the court's computers (the English switch is tested separately), and what the
    Content-Security-Policy refused on any of them is listed in ``blocked``."""

    __test__ = False  # not a test class

    def __init__(self, browser) -> None:
        self._browser = browser
        self.blocked: list[str] = []

    def new_page(self, **kw):
        page = self._browser.new_page(**{"locale": "zh-CN", **kw})
        page.on("console", lambda msg: self.blocked.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text else None)
        return page

    def new_context(self, **kw):
        return self._browser.new_context(**kw)

    def close(self) -> None:
        # Every context of the browser is this test's: those of new_page too (each page has its own).
        for context in self._browser.contexts:
            context.close()


@pytest.fixture
def browser(_chromium, monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own database work
    # (fixtures, assertions on rows) is ordinary synchronous code around it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    instance = TestBrowser(_chromium.resume())
    try:
        yield instance
        instance.close()
    finally:
        try:
            # Database work done while Playwright's loop runs uses its own (context-local) connection:
            # close it here, or PostgreSQL keeps a session open on the test database.
            from django.db import connections

            connections.close_all()
        finally:
            _chromium.pause()
    assert instance.blocked == [], "the pages broke their own Content-Security-Policy"


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
