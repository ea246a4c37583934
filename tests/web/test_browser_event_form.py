"""Issue 17 in a real browser, at desktop and phone size: an organizer creates a weekly tea talk with two
speakers and a reading list found by typing, the frequency's fields show and hide, the saved event reads its
rule in words; a clashing time is said once with free slots, and picking one schedules the event."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from tests.web.browsing import BROWSER_TEST, browser_user, login

pytestmark = BROWSER_TEST

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def next_wednesday(weeks_ahead: int = 2) -> date:
    today = date.today()
    return today + timedelta(days=(2 - today.weekday()) % 7 + 7 * weeks_ahead)


@pytest.mark.parametrize("size", SIZES)
def test_organizer_creates_a_weekly_tea_talk_with_speakers_and_reading_then_picks_a_free_slot(
        size, library_data, server, browser, shoot):
    from events.models import Event, Venue

    room = Venue.objects.create(name="法官书苑阅览室", capacity=12)
    browser_user("org1", Role.ORGANIZER, "org-pass-2026", display_name="王芳")
    wednesday = next_wednesday()
    base, _log = server
    page = browser.new_page(viewport=SIZES[size])
    login(page, base, "org1", "org-pass-2026")
    page.goto(f"{base}/organize")

    # Only what the chosen frequency uses is shown.
    visible = lambda selector: page.is_visible(selector)  # noqa: E731
    assert [visible("#part-weekly"), visible("#part-monthly"), visible("#part-ends")] == [False, False, False]
    page.select_option("#id_repeat", "monthly")
    assert [visible("#part-weekly"), visible("#part-monthly"), visible("#part-ends")] == [False, True, True]
    page.select_option("#id_repeat", "weekly")
    assert [visible("#part-weekly"), visible("#part-monthly"), visible("#part-ends")] == [True, False, True]
    assert not visible("#id_ordinal")

    page.fill("#id_title", "法官茶座")
    page.select_option("#id_kind", "tea_talk")
    page.check("#id_weekdays_2")  # 星期三
    page.fill("#id_count", "8")
    page.fill("#id_date", wednesday.isoformat())
    page.fill("#id_start_time", "19:00")
    page.fill("#id_end_time", "20:30")
    page.select_option("#id_venue", label="法官书苑阅览室")
    page.fill("#id_speakers-0-name", "张明")
    page.fill("#id_speakers-0-role", "主讲人")
    page.click("#add-speaker")
    page.fill("#id_speakers-1-name", "王芳")
    page.fill("#id_speakers-1-role", "主持人")
    page.click("#add-speaker")
    page.fill("#id_speakers-2-name", "临时")
    page.click("#speaker-rows li:nth-child(3) .speaker-remove")  # added by mistake, removed again
    assert not visible("#id_speakers-2-name")
    # The reading list: part of a title typed, the suggestion picked, a chip appears.
    page.fill("#id_reading_q", "担保物")
    page.wait_for_selector("#reading-suggestions button.suggestion")
    shoot(page, f"{size}-1-suggestions")
    page.click("#reading-suggestions button.suggestion >> nth=0")
    page.wait_for_selector("#reading-chips .chip")
    assert page.inner_text("#reading-chips").count("《担保物权研究》") == 1
    shoot(page, f"{size}-2-filled")
    page.click("button[name=save]")
    page.wait_for_selector(".messages .success")

    event = Event.objects.get(title="法官茶座")
    assert event.rrule == "FREQ=WEEKLY;BYDAY=WE;COUNT=8" and event.venue_id == room.pk
    assert [(s.name, s.role) for s in event.speakers.all()] == [("张明", "主讲人"), ("王芳", "主持人")]
    assert [b.title for b in event.books.all()] == ["担保物权研究"]
    assert page.inner_text("p.repeat-words") == "每周三 19:00，共 8 次"
    assert (f"已安排「法官茶座」：每周三 19:00—20:30，共 8 次，首场 {wednesday.isoformat()}（星期三）19:00。"
            in page.inner_text(".messages"))
    shoot(page, f"{size}-3-saved")

    # A lecture at the same hour in the same room: one message, beside time and venue, with free slots.
    page.goto(f"{base}/organize")
    assert "每周三 19:00，共 8 次" in page.inner_text("#my-events")
    page.fill("#id_title", "讲座")
    page.select_option("#id_kind", "lecture")
    page.fill("#id_date", wednesday.isoformat())
    page.fill("#id_start_time", "19:30")
    page.fill("#id_end_time", "20:30")
    page.select_option("#id_venue", label="法官书苑阅览室")
    page.click("button[name=save]")
    page.wait_for_selector("#conflict")
    assert page.locator("text=场地冲突").count() == 1 and page.locator(".messages li").count() == 0
    assert "已有「法官茶座」" in page.inner_text("#group-venue #conflict")
    slots = page.locator("#conflict button[name=slot]")
    assert slots.count() == 3
    # 18:30–20:30 clash with the tea talk (and 21:00 closes the room): the nearest free hours are before it.
    assert [slots.nth(i).get_attribute("value") for i in range(3)] == [
        f"{wednesday.isoformat()}T{hour}" for hour in ("17:00", "17:30", "18:00")]
    first = slots.nth(2).get_attribute("value")
    shoot(page, f"{size}-4-conflict")
    slots.nth(2).click()
    page.wait_for_selector(".messages .success")
    lecture = Event.objects.get(title="讲座")
    assert f"{timezone.localtime(lecture.start):%Y-%m-%dT%H:%M}" == first
    shoot(page, f"{size}-5-moved")
