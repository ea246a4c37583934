"""Real-browser journeys of issue 17's series management and attendance: an organizer cancels two occurrences at
once (desktop), then checks a judge in by scanning the QR code on the judge's /me with the phone's camera (a fake
camera playing a video of that very code), and the judge finds the session in their attendance history."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Role
from events import services
from events.models import Attendance, Override
from tests.web.browsing import BROWSER_TEST, CHROMIUM, browser_user, login

pytestmark = BROWSER_TEST

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


def _salon():
    """A daily salon of four sessions, the first starting in half an hour (its check-in is open), with the
    judge registered for all of them."""
    organizer = browser_user("org1", Role.ORGANIZER, "org-pass-2026", display_name="王组织")
    judge = browser_user("zhangming", Role.JUDGE, "judge-pass-2026", display_name="张明")
    start = (timezone.now() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    event = services.event_create(data=services.EventData(
        title="审判实务沙龙", kind="salon", start=start, end=start + timedelta(hours=1), capacity=10,
        rrule="FREQ=DAILY;COUNT=4"), actor=organizer)
    services.registration_create(event=event, user=judge)
    return event, start


def test_organizer_cancels_two_occurrences_at_once(server, browser, shoot):
    event, start = _salon()
    base, _log = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "org1", "org-pass-2026")
    page.goto(f"{base}/organize/{event.pk}")
    page.wait_for_selector("#select-all:not([hidden])")
    shoot(page, "1-manage")
    boxes = page.locator("input[name=occurrences]")
    assert boxes.count() == 4
    boxes.nth(2).check()
    boxes.nth(3).check()
    assert page.inner_text("#selected-count") == "已选 2 场"
    page.fill("#bulk-reason", "会议室检修")
    shoot(page, "2-two-ticked")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))  # cancelling asks first
    page.click("button[value=bulk-cancel]")
    page.wait_for_selector(".messages .success")
    assert asked == ["取消所选场次？报名这些场次的读者会收到通知，取消后不能恢复。"]
    assert page.inner_text(".messages") == "已取消 2 场。已通知 1 位报名读者。"
    assert page.locator("#occurrences tr.cancelled").count() == 2
    shoot(page, "3-cancelled")
    # On a phone the same page fits the screen, the select-all box included.
    phone = browser.new_page(**PHONE)
    login(phone, base, "org1", "org-pass-2026")
    phone.goto(f"{base}/organize/{event.pk}")
    phone.wait_for_selector("#select-all:not([hidden])")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(phone, "4-manage-phone")
    assert sorted(Override.objects.filter(event=event).values_list("status", flat=True)) == ["cancelled"] * 2


def test_organizer_scans_a_judges_code_and_the_judge_sees_the_attendance(server, shoot, tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    from tests.web.qr_video import write_qr_y4m

    event, _start = _salon()
    base, _log = server
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        plain = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        judge = plain.new_context(**PHONE).new_page()
        login(judge, base, "zhangming", "judge-pass-2026")
        judge.goto(f"{base}/me#check-in-code")
        assert judge.locator("#my-check-in-qr svg").count() == 1
        code = judge.inner_text("#my-check-in-code")
        shoot(judge, "1-judge-code")
        video = write_qr_y4m(tmp_path / "code.y4m", code)

        camera = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"])
        organizer = camera.new_context(**PHONE, permissions=["camera"]).new_page()
        login(organizer, base, "org1", "org-pass-2026")
        organizer.goto(f"{base}/organize/{event.pk}/attendees")
        organizer.wait_for_selector("#scan-start:not([hidden])")
        assert organizer.locator("#self-check-in svg").count() == 1  # the session's code for readers to scan
        assert organizer.evaluate("document.documentElement.scrollWidth") <= 390
        shoot(organizer, "2-attendees-phone")
        organizer.click("#scan-start")
        try:
            # Decoding the fake camera's frames takes a few seconds alone and much longer on a loaded machine.
            organizer.wait_for_selector(".messages .success", timeout=90_000)
        except Exception:
            shoot(organizer, "at-scan-failure")  # while the browser is still open
            raise
        assert organizer.inner_text(".messages") == "张明 已签到。"
        assert "撤销签到" in organizer.inner_text("#roster")
        shoot(organizer, "3-scanned")
        camera.close()

        judge.goto(f"{base}/me")  # a new load: /me#check-in-code → /me#attendance would only scroll
        history = judge.inner_text("#attendance-history")
        assert "审判实务沙龙" in history and "签到" in history
        assert f"{timezone.localdate().year} 年已参加 1 场活动。" in judge.inner_text("main")
        shoot(judge, "4-judge-history")
        plain.close()
    from django.db import connections

    connections.close_all()
    assert list(Attendance.objects.values_list("user__username", "method")) == [("zhangming", "scan")]
