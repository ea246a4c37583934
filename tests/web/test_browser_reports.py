"""Real-browser checks of the report pages (issue 20) at desktop and phone size: every chart is drawn (a canvas
inside each chart box) from its table, the table under it holds the numbers, no script error or refused
resource, and on a phone the page never scrolls sideways (tables scroll in their own box, charts fit)."""

import pytest
import time_machine

from reports.registry import REPORTS
from tests.reports import history
from tests.web.browsing import BROWSER_TEST, login

pytestmark = BROWSER_TEST

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
QUERY = "from=2026-01-01&to=2026-06-15"


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_report_pages_draw_their_charts_over_their_tables(server, browser, shoot, size):
    with time_machine.travel(history.NOW, tick=False):
        history.build()
    base, _log = server
    page = browser.new_page(**(PHONE if size == "phone" else DESKTOP))
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    width = 390 if size == "phone" else 1280
    login(page, base, "lib", "secret-pass-1")
    page.wait_for_url(f"{base}/me")
    slugs = list(REPORTS) if size == "desktop" else ["circulation", "top-books"]

    for slug in slugs:
        page.goto(f"{base}/reports/{slug}?{QUERY}")
        charts = page.locator(".chart[data-chart]")
        page.wait_for_function("[...document.querySelectorAll('.chart[data-chart]')]"
                               ".every((el) => el.querySelector('canvas'))")
        drawn = page.evaluate("""[...document.querySelectorAll('.chart[data-chart]')].map((el) => {
            const canvas = el.querySelector('canvas'); const box = canvas.getBoundingClientRect();
            return [el.dataset.table, Math.round(box.width) > 100, Math.round(box.height) > 100,
                    Math.round(box.right) <= window.innerWidth]; })""")
        tables = page.locator("table.report")
        assert charts.count() >= 1, slug
        assert [d[1:] for d in drawn] == [[True, True, True]] * charts.count(), (slug, drawn)
        assert {d[0] for d in drawn} <= {f"table-{i}" for i in page.evaluate(
            "[...document.querySelectorAll('table.report')].map((t) => t.id.slice(6))")}
        assert tables.count() >= 1 and tables.first.locator("tbody tr").count() >= 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width, slug
        shoot(page, f"{size}-{slug}")

    if size == "desktop":
        page.goto(f"{base}/reports/circulation?{QUERY}")
        months = page.locator("#table-months tbody tr")
        assert months.count() == 6
        assert months.nth(3).locator("td").nth(1).inner_text() == "2"  # April: L4 and L6
        page.emulate_media(media="print")
        shoot(page, "print-circulation")
        assert page.locator("form.report-filter").is_hidden()
    assert problems == []
