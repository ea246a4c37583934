"""/sru and /oai opened in Debian's Chromium: the answers' xml-stylesheet turns them into readable pages (our
own XSLT, static/interop/), with the site's look, nothing refused by the Content-Security-Policy, and a way
to the /opendata page that explains them.

Browsers have deprecated XSLT: Chromium 156 still applies it but lays its own warning banner over the page,
whose inline style the site's Content-Security-Policy refuses (the banner then sits in the middle of the
page, still readable and closable).  The browser here runs without that banner, so that what the policy
refuses is only ever the stylesheets' own doing.  When browsers drop XSLT the comment before each answer's
root and the footer link still lead to /opendata."""

import pytest

from library.models import Location
from search_index import services as search
from tests.interop.conftest import build_catalogue
from tests.web.browsing import BROWSER_TEST, CHROMIUM

pytestmark = BROWSER_TEST


@pytest.fixture
def browser(monkeypatch):
    """tests/web/conftest.py's browser, without Chromium's XSLT deprecation banner."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    refused = []
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--disable-features=GenerateXSLTWarningBanner"])
        page = instance.new_page(locale="zh-CN")
        page.on("console", lambda msg: refused.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text else None)
        yield page
        instance.close()
    assert refused == [], "the stylesheets' pages broke the Content-Security-Policy"
    from django.db import connections

    connections.close_all()


@pytest.fixture
def catalogue(db):
    Location.objects.update_or_create(name="院本部", defaults={"code": "main", "pickup": True, "position": 0})
    made = build_catalogue()
    search.index_rebuild()
    return made


def test_a_librarian_of_the_city_library_reads_sru_and_oai_in_the_browser(catalogue, server, browser, shoot):
    base, _log = server
    page = browser

    page.goto(f"{base}/sru")
    page.wait_for_selector("table#indexes")
    assert "SRU 接口说明" in page.inner_text("h1")
    assert "dc.subject" in page.inner_text("table#indexes")
    assert page.evaluate("getComputedStyle(document.querySelector('header.site')).backgroundColor") == "rgb(138, 28, 28)"
    shoot(page, "1-explain")

    page.fill("#sru-query", "dc.subject = 物权")
    page.click("form.search-box button[type=submit]")
    page.wait_for_selector("#count")
    assert "共 2 条" in page.inner_text("#count")
    assert "民法典评注 : 物权编" in page.inner_text("main")
    shoot(page, "2-search-dc")

    page.goto(f"{base}/sru?query=dc.date%20%3E%201000&maximumRecords=2&sortKeys=dc.date,,0")
    page.wait_for_selector("table.holdings")
    assert "棋盘井法庭" in page.inner_text("table.holdings")
    page.click("#next-page")
    page.wait_for_selector("#count")
    assert "第 3 条" in page.inner_text("main") and "The Concept of Law" not in page.inner_text("#count")
    shoot(page, "3-next-page-marc")

    page.goto(f"{base}/oai?verb=ListSets")
    page.wait_for_selector("table#sets")
    page.click("table#sets tr:has(code:text-is('book')) a:text-is('oai_dc')")
    page.wait_for_selector("section.oai-record")
    assert page.locator("section.oai-record").count() == 3
    shoot(page, "4-oai-records")

    page.click("footer a[href='opendata']")
    page.wait_for_selector("table#cql-indexes")
    assert page.url == f"{base}/opendata"
    assert "OAI-PMH" in page.inner_text("main")
    shoot(page, "5-opendata")
