"""Issue 17 in a real browser: a judge registers for one occurrence of a 13-week series on its page, and
ical.js (the vendored module, imported by the page itself) expands their personal feed to exactly that one
occurrence; the row's "加入日历" link serves that occurrence alone.  At desktop and at phone size."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import Role
from accounts.services import calendar_token_rotate
from events import services
from events.models import Event, Venue
from tests.events.common import SH
from tests.events.icaljs import BROWSER_EXPAND, parse_rows
from tests.web.browsing import BROWSER_TEST, browser_user, login

pytestmark = BROWSER_TEST

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
SIZES = {"desktop": {"viewport": {"width": 1280, "height": 900}}, "phone": PHONE}


def weekly_salon() -> Event:
    """13 Wednesdays at 19:00 (library time), the first at least a week away (the live server's clock is real)."""
    organizer = browser_user("org1", Role.ORGANIZER, "org-pass-2026", display_name="王芳")
    today = timezone.localdate()
    first = today + timedelta(days=7 + (2 - today.weekday()) % 7)
    start = datetime(first.year, first.month, first.day, 19, 0, tzinfo=SH)
    room = Venue.objects.create(name="法官书苑阅览室", capacity=20)
    return services.event_create(data=services.EventData(
        title="读者沙龙", kind="salon", start=start, end=start + timedelta(hours=2), venue=room.pk,
        rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=13"), actor=organizer, force=True)


@pytest.mark.parametrize("size", list(SIZES))
def test_a_judge_registered_for_one_occurrence_finds_exactly_it_in_their_feed(library_data, server, browser, shoot,
                                                                               size):
    base, _log = server
    event = weekly_salon()
    page = browser.new_context(locale="zh-CN", **SIZES[size]).new_page()
    login(page, base, "zhangming", "judge-pass-2026")
    page.goto(f"{base}/events/{event.pk}")
    rows = page.locator("tbody tr")
    assert rows.count() == 13
    assert page.inner_text("tbody tr >> nth=0 >> td >> nth=0").startswith(f"{event.start.astimezone(SH):%Y-%m-%d}")
    assert "19:00" in page.inner_text("tbody tr >> nth=0 >> td >> nth=0")
    assert page.locator("a.add-occurrence").count() == 13
    shoot(page, "1-event")
    rows.nth(2).locator("button:has-text('报名')").click()
    page.wait_for_selector(".messages .success")
    shoot(page, "2-registered")
    third = event.start + timedelta(weeks=2)

    token = calendar_token_rotate(user=User.objects.get(username="zhangming"))
    span = {"from": (event.start - timedelta(days=1)).astimezone(UTC).isoformat(),
            "to": (event.start + timedelta(weeks=20)).astimezone(UTC).isoformat()}
    found = parse_rows(page.evaluate(BROWSER_EXPAND, {"url": f"/calendar/u/{token}.ics", **span}))

    assert found == [("读者沙龙", third.astimezone(UTC), "CONFIRMED")]
    # The registered row's own .ics: the same single occurrence, whatever else the series holds.
    link = page.locator("tbody tr >> nth=2 >> a.add-occurrence").get_attribute("href")
    assert link == f"/calendar/events/{event.pk}/{third.astimezone(UTC):%Y%m%dT%H%M%SZ}.ics"
    alone = parse_rows(page.evaluate(BROWSER_EXPAND, {"url": link, **span}))
    assert alone == found
    page.goto(f"{base}/me")
    page.wait_for_selector("#event-reminder")
    assert page.is_checked("#event-reminder input[value=day]")
    shoot(page, "3-me-reminders")
