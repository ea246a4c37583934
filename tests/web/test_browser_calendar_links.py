"""Issue 17 in a real browser, at desktop and phone size: the subscribe buttons carry the right address for each
client on /events, an event page and /me, and a judge who adds a second calendar link on /me keeps the first
working (both fetched from the live server); revoking one leaves the other."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from accounts.models import Role
from core.links import subscription_links
from events import services as event_services
from tests.web.browsing import BROWSER_TEST, browser_user, login

pytestmark = BROWSER_TEST

SIZES = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    # An Android phone: its system calendar is Google's, so that button comes first (static/subscribe.js).
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True, "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                                                "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"},
}
CLIENTS = {"webcal": "webcal_url", "google": "google_url", "outlook": "outlook_url", "office365": "office365_url"}


def buttons(page, block: str) -> dict[str, str]:
    return page.eval_on_selector_all(
        f"{block} a[data-client]", "links => Object.fromEntries(links.map(a => [a.dataset.client, a.href]))")


def check_block(page, block: str, feed: str, name: str, size: str) -> None:
    """The subscribe block ``block`` offers ``feed`` to every client, exactly; it unfolds at a tap."""
    # static/subscribe.js orders the buttons once the page has loaded: a block the server sent unfolded (the new
    # link's) is there before it has run.
    page.wait_for_load_state("load")
    if not page.evaluate(f"document.querySelector('{block}').open"):
        page.click(f"{block} > summary")
    page.wait_for_selector(f"{block}[open] a[data-client=webcal]")
    expected = subscription_links(feed, name=name)
    found = buttons(page, block)
    assert found == {client: expected[key] for client, key in CLIENTS.items()}
    # Decoded as the calendar services read them.
    assert parse_qs(urlsplit(found["google"]).query)["cid"] == ["webcal://" + feed.split("://", 1)[1]]
    assert parse_qs(urlsplit(found["outlook"]).query) == {"url": [feed], "name": [name]}
    assert urlsplit(found["office365"]).netloc == "outlook.office.com"
    assert page.input_value(f"{block} input[data-subscribe-url]") == feed
    assert page.locator(f"{block} .qr svg").count() == 1
    first = page.eval_on_selector(f"{block} ul.subscribe-clients a", "a => a.dataset.client")
    assert first == ("google" if size == "phone" else "webcal")
    if size == "phone":  # nothing of the block wider than the phone
        widest = page.eval_on_selector(
            block, "b => Math.max(...[b, ...b.querySelectorAll('*')].map(e => e.getBoundingClientRect().right))")
        assert widest <= 390


@pytest.mark.parametrize("size", list(SIZES))
def test_subscribe_buttons_everywhere_and_a_second_link_keeps_the_first(library_data, server, browser, shoot, size):
    organizer = browser_user("organizer1", Role.ORGANIZER, "organizer-pass-2026")
    start = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    salon = event_services.event_create(data=event_services.EventData(
        title="读者沙龙", kind="salon", start=start, end=start + timedelta(hours=2)), actor=organizer)
    base, _log = server
    context = browser.new_context(locale="zh-CN", **SIZES[size])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()

    # /events: every public event, then one kind.
    page.goto(f"{base}/events")
    check_block(page, "#subscribe-events", f"{base}/calendar/events.ics", "法官书苑活动", size)
    shoot(page, f"{size}-1-events")
    page.goto(f"{base}/events?kind=salon")
    check_block(page, "#subscribe-events-salon", f"{base}/calendar/events.ics?kind=salon", "法官书苑 · 读者沙龙", size)
    assert "SUMMARY:读者沙龙" in page.request.get(f"{base}/calendar/events.ics?kind=salon").text()

    # An event page: the event's own feed.
    page.goto(f"{base}/events/{salon.pk}")
    check_block(page, "#subscribe-event", f"{base}/calendar/events/{salon.pk}.ics", "读者沙龙", size)
    shoot(page, f"{size}-2-event")

    # /me: a link for the phone, then one for the office; the first keeps working.
    login(page, base, "zhangming", "judge-pass-2026")
    page.goto(f"{base}/me#calendar")
    page.fill("#new-link-name", "手机")
    page.click("#calendar-link-create button[type=submit]")
    page.wait_for_selector(".messages .success")
    first_block = "li.calendar-link:nth-of-type(1) details[data-subscribe]"
    first = page.input_value(f"{first_block} input[data-subscribe-url]")
    assert first.startswith(f"{base}/calendar/u/fgcal_") and first.endswith(".ics")
    check_block(page, first_block, first, "法官书苑 · 手机", size)
    if size == "desktop":  # the copy button puts the address on the clipboard
        page.click(f"{first_block} button[data-copy]")
        assert page.evaluate("navigator.clipboard.readText()") == first
    shoot(page, f"{size}-3-first-link")

    page.fill("#new-link-name", "办公室 Outlook")
    page.select_option("#new-link-scope", "all")
    page.click("#calendar-link-create button[type=submit]")
    page.wait_for_selector(".messages .success")
    assert "其他链接照常有效" in page.inner_text(".messages")
    second_block = "li.calendar-link:nth-of-type(2) details[data-subscribe]"
    assert page.evaluate(f"document.querySelector('{second_block}').open")  # the new one unfolded
    second = page.input_value(f"{second_block} input[data-subscribe-url]")
    check_block(page, second_block, second, "法官书苑 · 办公室 Outlook", size)
    assert page.input_value(f"{first_block} input[data-subscribe-url]") == first  # shown again, unchanged
    shoot(page, f"{size}-4-second-link")
    for url in (first, second):
        response = page.request.get(url)
        assert response.status == 200 and response.headers["content-type"] == "text/calendar; charset=utf-8"
        assert "X-WR-CALNAME:法官书苑 · 张明" in response.text()

    # A link to one subscription unfolds it (static/subscribe.js); then it is revoked, alone.
    first_id = page.get_attribute("li.calendar-link:nth-of-type(1)", "id")
    page.goto(f"{base}/me#{first_id}")
    page.wait_for_selector(f"#{first_id} details[data-subscribe][open]")
    page.click(f"#{first_id} details.link-settings > summary")
    page.click(f"#{first_id} button[value=revoke]")
    page.wait_for_selector(".messages .success")
    assert "已删除订阅链接“手机”" in page.inner_text(".messages")
    assert page.locator("li.calendar-link").count() == 1
    assert (page.request.get(first).status, page.request.get(second).status) == (404, 200)
    shoot(page, f"{size}-5-revoked")
    context.close()
