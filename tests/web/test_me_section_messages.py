"""/me says what was done beside the section it was done in (routine walk of issue 17): saving the notice
preferences, the contact details or a calendar link returns to that section's anchor, so the message is shown
there, not at the top of the page where nobody sees it."""

import re
from html import unescape

import pytest

from accounts.models import CalendarLink
from accounts.services import calendar_link_create
from tests.web.test_pages import csrf_post, logged_in

pytestmark = pytest.mark.django_db


def _top(html: str) -> list[str]:
    """The messages at the top of the page (base.html's, right before the content)."""
    found = re.search(r'<ul class="messages" role="status">(.*?)</ul>', html, re.S)
    return [unescape(m) for m in re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)] if found else []


def _in(html: str, start: str, end: str) -> list[str]:
    """The messages shown between two marks of the page (a section)."""
    part = html[html.index(start):html.index(end, html.index(start))]
    return [unescape(m) for m in re.findall(r'<ul class="messages section-messages" role="status"><li class="(\w+)">(.*?)</li>',
                                            part, re.S)]


def test_saving_notice_preferences_says_so_in_that_section(judge):
    client = logged_in(judge)

    response = csrf_post(client, "/me", "/me/notice-preferences", {"remind_before": "hour"})

    assert response["Location"] == "/me#notice-preferences"
    html = client.get("/me").content.decode()
    assert _in(html, '<h2 id="notice-preferences">', "</form>") == [("success", "通知方式已保存。")]
    assert _top(html) == []


def test_a_refused_preference_is_said_in_that_section_too(judge):
    client = logged_in(judge)

    csrf_post(client, "/me", "/me/notice-preferences", {"remind_before": "never-heard-of"})

    html = client.get("/me").content.decode()
    assert [level for level, _text in _in(html, '<h2 id="notice-preferences">', "</form>")] == ["error"]
    assert _top(html) == []


def test_saving_contact_details_says_so_in_that_section(judge):
    client = logged_in(judge)

    csrf_post(client, "/me", "/me/contact", {"email": "zhang@court.test", "phone": ""})

    html = client.get("/me").content.decode()
    assert _in(html, '<h2 id="contact">', "</form>") == [("success", "联系方式已保存。")]
    assert _top(html) == []


def test_a_new_calendar_link_says_so_inside_the_new_link(judge):
    client = logged_in(judge)

    response = csrf_post(client, "/me", "/me/calendar-link", {"name": "手机", "scope": "mine"})

    link = CalendarLink.objects.get(user=judge, name="手机")
    assert response["Location"] == f"/me#calendar-link-{link.pk}"
    html = client.get("/me").content.decode()
    assert _in(html, f'<li id="calendar-link-{link.pk}"', "</details>") == [
        ("success", "已新建订阅链接“手机”；其他链接照常有效。")]
    assert _top(html) == []


def test_messages_of_other_pages_stay_at_the_top(judge):
    client = logged_in(judge)
    link = calendar_link_create(user=judge, name="旧手机")  # a link deleted in another tab meanwhile
    csrf_post(client, "/me", f"/me/calendar-links/{link.pk}", {"name": "旧手机", "action": "save"})
    link.delete()

    html = client.get("/me").content.decode()

    assert _top(html) == ["订阅链接“旧手机”已保存；地址不变。"]
