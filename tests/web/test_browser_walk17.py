"""Real-browser checks of the routine walk of issue 17's fixes where layout is the point: /me fits a phone in
English and Chinese (the notice table scrolls in its own box, reminder choices never break inside), the event
page's 加入日历 is a 44 px tap target on a phone, and a venue conflict on the organizer's form brings the page to
the conflict."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from events import services
from tests.web.browsing import BROWSER_TEST, browser_user, login

pytestmark = BROWSER_TEST

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

#: How many lines each reminder choice's words take (one, unless the label breaks inside).
REMINDER_LINES = """[...document.querySelectorAll('#event-reminder label')].map((label) => {
  const lines = new Set();
  for (const node of label.childNodes) {
    if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) if (rect.width > 0) lines.add(Math.round(rect.top));
  }
  return lines.size;
})"""
#: What sticks out past the screen's right edge (for the message when the page is too wide).
TOO_WIDE = """[...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > 391).slice(0, 5).map((el) => el.tagName + '#' + el.id + '.' + el.className)"""


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_me_fits_a_phone_and_reminder_choices_stay_whole(locale, server, browser, shoot):
    browser_user("zhangming", Role.JUDGE, "judge-pass-2026", display_name="张明")
    base, _log = server
    page = browser.new_page(**PHONE, locale=locale)
    login(page, base, "zhangming", "judge-pass-2026")
    page.goto(f"{base}/me#notice-preferences")
    page.wait_for_selector("#event-reminder")

    shoot(page, f"me-phone-{locale}")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.evaluate(TOO_WIDE)
    lines = page.evaluate(REMINDER_LINES)
    if locale == "zh-CN":
        assert lines == [1, 1, 1, 1]  # 提前一小时 was broken as 提前一/小时
    else:
        # "The day before" was broken as "The day / before"; only "The day before and an hour before", wider
        # than the line itself, takes two (broken between words).
        assert lines == [1, 1, 1, 2]
    # The table keeps its columns and scrolls inside its own box when it is wider than the screen.
    box = page.evaluate("(() => { const b = document.getElementById('channels-scroll');"
                        " return [b.clientWidth, getComputedStyle(b).overflowX]; })()")
    assert box[0] <= 390 and box[1] == "auto"


def _talk(organizer, venue=None, **kw):
    start = timezone.localtime(timezone.now() + timedelta(days=7)).replace(hour=15, minute=0, second=0, microsecond=0)
    return services.event_create(data=services.EventData(
        title=kw.pop("title", "法官茶座"), kind="tea_talk", start=start, end=start + timedelta(hours=1),
        venue=venue.pk if venue else None, **kw), actor=organizer, force=True)


def test_add_to_calendar_is_a_tap_target_on_a_phone(server, browser, shoot):
    organizer = browser_user("org1", Role.ORGANIZER, "org-pass-2026", display_name="王组织")
    talk = _talk(organizer)
    base, _log = server
    page = browser.new_page(**PHONE, locale="zh-CN")
    page.goto(f"{base}/events/{talk.pk}")

    height = page.locator("a.add-occurrence").first.bounding_box()["height"]

    assert height >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "event-phone-add-to-calendar")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_conflict_on_save_brings_the_page_to_it(size, server, browser, shoot):
    organizer = browser_user("org1", Role.ORGANIZER, "org-pass-2026", display_name="王组织")
    room = services.venue_create(name="第一会议室")
    booked = _talk(organizer, room, title="读书会")
    base, _log = server
    page = browser.new_page(**(DESKTOP if size == "desktop" else PHONE), locale="zh-CN")
    login(page, base, "org1", "org-pass-2026")
    page.goto(f"{base}/organize")
    local = timezone.localtime(booked.start)
    page.fill("#id_title", "讲座")
    page.select_option("#id_kind", "lecture")
    page.fill("#id_date", local.date().isoformat())
    page.fill("#id_start_time", "15:30")
    page.fill("#id_end_time", "16:30")
    page.select_option("#id_venue", label="第一会议室")
    page.click("button[name=save]")
    page.wait_for_selector("#conflict")
    page.wait_for_load_state("load")  # static/event_form.js moves the focus once the page has loaded

    assert page.evaluate("document.activeElement.id") == "conflict-heading"
    top = page.evaluate("document.getElementById('conflict-heading').getBoundingClientRect().top")
    assert 0 <= top < (900 if size == "desktop" else 844)
    assert page.inner_text("#conflict-summary") == "未保存：场地有冲突，见下方“场地”"
    assert page.get_attribute("#conflict-summary a", "href") == "#conflict"
    shoot(page, f"organize-conflict-{size}")
