"""One-click subscribe wherever a feed is offered (issue 17): /events (every public event, and the chosen kind's),
an event page, and each personal link on /me — webcal://, Google Calendar, Outlook.com, Microsoft 365, the address
to copy and a QR code; and the /me forms that make, rename and revoke personal links."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import CalendarLink, Role
from accounts.services import calendar_link_create
from core.links import qr_svg
from events import services as event_services
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SITE = "http://127.0.0.1:8000"


def logged_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_post(client: Client, page: str, action: str, data=None):
    html = client.get(page).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client.post(action, {"csrfmiddlewaretoken": token, **(data or {})})


def offers(html: str) -> dict[str, dict]:
    """Each subscribe block of a page by its key: the address of each client's button, the address to copy,
    whether it is unfolded, and its QR code's markup."""
    page = lxml.html.fromstring(html)
    found = {}
    for details in page.xpath("//details[@data-subscribe]"):
        key = details.get("id").removeprefix("subscribe-")
        found[key] = {
            "clients": {a.get("data-client"): a.get("href") for a in details.xpath(".//a[@data-client]")},
            "copy": details.xpath(".//input[@data-subscribe-url]")[0].get("value"),
            "open": details.get("open") is not None,
            "qr": lxml.html.tostring(details.xpath(".//figure[@class='qr']//svg")[0], encoding="unicode"),
            "summary": details.xpath("./summary")[0].text_content(),
        }
    return found


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def assert_offers_feed(offer: dict, feed: str, name: str) -> None:
    """The block subscribes to ``feed`` in every client, exactly."""
    webcal = "webcal://" + feed.split("://", 1)[1]
    clients = offer["clients"]
    assert set(clients) == {"webcal", "google", "outlook", "office365"}
    assert clients["webcal"] == webcal
    google = urlsplit(clients["google"])
    assert (google.scheme, google.netloc, google.path) == ("https", "calendar.google.com", "/calendar/r")
    assert query(clients["google"]) == {"cid": [webcal]}
    for client, host in (("outlook", "outlook.live.com"), ("office365", "outlook.office.com")):
        parts = urlsplit(clients[client])
        assert (parts.scheme, parts.netloc, parts.path) == ("https", host, "/calendar/0/addfromweb")
        assert query(clients[client]) == {"url": [feed], "name": [name]}
    assert offer["copy"] == feed
    qr = lxml.html.tostring(lxml.html.fragment_fromstring(qr_svg(webcal)), encoding="unicode")
    assert offer["qr"] == qr


@pytest.fixture
def events(organizer):
    start = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)

    def make(title, kind, visibility="public"):
        return event_services.event_create(data=event_services.EventData(
            title=title, kind=kind, start=start, end=start + timedelta(hours=2), visibility=visibility), actor=organizer)

    return make("读者沙龙", "salon"), make("院内读书会", "reading", "internal")


def test_events_page_offers_every_public_event_and_the_chosen_kind(events, judge):
    page = Client().get("/events").content.decode()
    found = offers(page)
    assert list(found) == ["events"]
    assert_offers_feed(found["events"], f"{SITE}/calendar/events.ics", "法官书苑活动")
    assert "订阅到日历 · 全部公开活动" in found["events"]["summary"] and not found["events"]["open"]
    assert "只订阅某一类活动" in page and "我的日历订阅" not in page  # the personal feed only for the logged-in

    salons = offers(Client().get("/events", {"kind": "salon"}).content.decode())

    assert list(salons) == ["events", "events-salon"]
    assert_offers_feed(salons["events-salon"], f"{SITE}/calendar/events.ics?kind=salon", "法官书苑 · 读者沙龙")
    feed = Client().get("/calendar/events.ics", {"kind": "salon"})
    assert feed.status_code == 200 and "SUMMARY:读者沙龙" in feed.content.decode()
    assert "href=\"/me#calendar\"" in logged_in(judge).get("/events").content.decode()
    # The month view offers the same.
    month = offers(Client().get("/events", {"view": "month", "kind": "salon"}).content.decode())
    assert_offers_feed(month["events-salon"], f"{SITE}/calendar/events.ics?kind=salon", "法官书苑 · 读者沙龙")


def test_an_event_page_offers_the_events_feed_and_an_internal_one_points_to_the_personal_feed(events, judge):
    salon, internal = events

    found = offers(Client().get(f"/events/{salon.pk}").content.decode())

    assert list(found) == ["event"]
    assert_offers_feed(found["event"], f"{SITE}/calendar/events/{salon.pk}.ics", "读者沙龙")
    assert Client().get(f"/calendar/events/{salon.pk}.ics").status_code == 200
    page = logged_in(judge).get(f"/events/{internal.pk}").content.decode()
    assert offers(page) == {} and "院内活动：在您的个人日历订阅中" in page


def test_me_offers_each_link_and_unfolds_the_one_just_made(judge):
    phone = calendar_link_create(user=judge, name="手机")
    client = logged_in(judge)

    response = csrf_post(client, "/me", "/me/calendar-link", {"name": "办公室 Outlook", "scope": "all"})

    office = CalendarLink.objects.get(name="办公室 Outlook")
    assert (office.scope, office.user) == ("all", judge)
    assert response.status_code == 302 and response["Location"] == f"/me#calendar-link-{office.pk}"
    page = client.get("/me").content.decode()
    found = offers(page)
    assert list(found) == [str(phone.pk), str(office.pk)]
    assert_offers_feed(found[str(phone.pk)], f"{SITE}/calendar/u/{phone.token()}.ics", "法官书苑 · 手机")
    assert_offers_feed(found[str(office.pk)], f"{SITE}/calendar/u/{office.token()}.ics", "法官书苑 · 办公室 Outlook")
    assert (found[str(phone.pk)]["open"], found[str(office.pk)]["open"]) == (False, True)
    assert "已新建订阅链接“办公室 Outlook”；其他链接照常有效。" in page
    assert "全部活动 + 我的日程" in page and "尚未获取" in page
    # On the next visit both are still shown, folded.
    again = offers(client.get("/me").content.decode())
    assert again[str(office.pk)]["copy"] == found[str(office.pk)]["copy"] and not again[str(office.pk)]["open"]
    for link in (phone, office):
        assert Client().get(f"/calendar/u/{link.token()}.ics").status_code == 200


def test_me_names_a_link_left_unnamed_and_refuses_a_bad_name(judge):
    client = logged_in(judge)
    csrf_post(client, "/me", "/me/calendar-link", {"name": ""})
    assert list(CalendarLink.objects.values_list("name", "scope")) == [("订阅链接 1", "mine")]

    csrf_post(client, "/me", "/me/calendar-link", {"name": "两\n行"})

    assert CalendarLink.objects.count() == 1
    assert "名称：" in client.get("/me").content.decode()


def test_me_renames_and_revokes_one_link_and_the_other_keeps_working(judge):
    phone, office = calendar_link_create(user=judge, name="手机"), calendar_link_create(user=judge, name="办公室")
    phone_url, office_url = f"/calendar/u/{phone.token()}.ics", f"/calendar/u/{office.token()}.ics"
    client = logged_in(judge)

    renamed = csrf_post(client, "/me", f"/me/calendar-links/{phone.pk}", {"action": "save", "name": "旧手机",
                                                                           "scope": "all"})
    revoked = csrf_post(client, "/me", f"/me/calendar-links/{office.pk}", {"action": "revoke", "name": ""})

    assert (renamed.status_code, renamed["Location"]) == (302, f"/me#calendar-link-{phone.pk}")
    assert (revoked.status_code, revoked["Location"]) == (302, "/me#calendar")
    assert list(CalendarLink.objects.values_list("name", "scope")) == [("旧手机", "all")]
    assert (Client().get(phone_url).status_code, Client().get(office_url).status_code) == (200, 404)
    page = client.get("/me").content.decode()
    assert "已删除订阅链接“办公室”，它的地址已失效。" in page
    assert [h.text_content().split()[0] for h in lxml.html.fromstring(page).xpath("//li[@class='calendar-link']/h3")] \
        == ["旧手机"]


def test_me_link_forms_of_someone_else_are_a_404(judge):
    link = calendar_link_create(user=judge, name="手机")
    stranger = logged_in(make_user("judge9", Role.JUDGE))
    response = csrf_post(stranger, "/me", f"/me/calendar-links/{link.pk}", {"action": "revoke"})
    assert response.status_code == 404 and CalendarLink.objects.filter(pk=link.pk).exists()


def test_me_says_when_the_cap_is_reached(judge, settings):
    settings.CALENDAR_LINKS_PER_USER = 1
    client = logged_in(judge)
    csrf_post(client, "/me", "/me/calendar-link", {"name": "手机"})

    csrf_post(client, "/me", "/me/calendar-link", {"name": "平板"})

    assert list(CalendarLink.objects.values_list("name", flat=True)) == ["手机"]
    assert "日历订阅链接已达 1 个上限，请先删除不用的链接。" in client.get("/me").content.decode()
