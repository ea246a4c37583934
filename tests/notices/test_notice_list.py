"""A reader's notice list: every notice recorded for them, read or unread, in the API and at /me/notices, with
the unread count in the header (issue 16 §4)."""

import re

import pytest
from django.test import Client

from accounts.models import Role
from notices import services
from notices.models import Notice
from tests.conftest import api_for, make_user

pytestmark = pytest.mark.django_db


def notice(patron, n: int, kind: str = "due_soon") -> Notice:
    return Notice.objects.create(key=f"test:{patron.pk}:{n}", kind=kind, patron=patron, about=f"loan:{n}",
                                 subject=f"《书{n}》即将到期", body=f"第 {n} 条\n请按时归还。")


def test_the_api_lists_a_readers_own_notices_and_marks_them_read(judge):
    other = make_user("judge2", Role.JUDGE)
    mine = [notice(judge, n) for n in range(3)]
    theirs = notice(other, 9)
    api = api_for(judge)

    listed = api.get("/api/v1/me/notices").json()
    assert [i["id"] for i in listed["items"]] == [n.pk for n in reversed(mine)] and listed["count"] == 3
    assert listed["items"][0]["kind_label"] == "即将到期" and listed["items"][0]["read_at"] is None
    english = api.get("/api/v1/me/notices", headers={"Accept-Language": "en"}).json()["items"][0]
    assert english["kind_label"] == "Due soon"

    marked = api.post("/api/v1/me/notices/read", {"ids": [mine[0].pk, theirs.pk]}).json()
    assert marked == {"marked": 1, "unread": 2}  # another reader's id is ignored, not marked, not an error
    assert Notice.objects.get(pk=theirs.pk).read_at is None
    assert [i["id"] for i in api.get("/api/v1/me/notices", {"unread": "true"}).json()["items"]] == [
        mine[2].pk, mine[1].pk]
    assert api.post("/api/v1/me/notices/read", {}).json() == {"marked": 2, "unread": 0}
    for bad in (["x"], [-321931364322320842752], [2**63], [0], list(range(1, 502))):  # a huge id was a 500
        refused = api.post("/api/v1/me/notices/read", {"ids": bad})
        assert refused.status_code == 422 and "ids" in str(refused.json()["detail"]), bad
    assert Client().get("/api/v1/me/notices").status_code == 401


def test_the_notice_page_shows_every_notice_and_the_header_counts_the_unread(judge):
    for n in range(3):
        notice(judge, n)
    client = Client()
    client.force_login(judge)

    home = client.get("/").content.decode()
    assert re.search(r'id="notices-link"[^>]*>通知 <span class="count" aria-label="3 条未读">3</span>', home)
    page = client.get("/me/notices").content.decode()
    assert page.count('class="unread"') == 3 and "《书2》即将到期" in page and "第 2 条<br>请按时归还。" in page
    assert page.index("《书2》") < page.index("《书0》")  # newest first
    again = client.get("/me/notices").content.decode()
    assert 'class="unread"' not in again and 'class="count"' not in again  # seen: read from now on
    assert Client().get("/me/notices").status_code == 302  # to the login


def test_mark_read_leaves_other_readers_notices_alone(judge):
    other = make_user("judge2", Role.JUDGE)
    notice(judge, 1)
    theirs = notice(other, 2)
    assert services.mark_read(patron=judge) == 1
    assert Notice.objects.get(pk=theirs.pk).read_at is None


def test_a_reader_sets_where_notices_go_on_me(judge):
    client = Client()
    client.force_login(judge)
    page = client.get("/me").content.decode()
    assert 'id="contact"' in page and 'name="email"' in page and 'name="phone"' in page

    saved = client.post("/me/contact", {"email": "zhang@court.test", "phone": "+86 477-123 4567"})
    judge.refresh_from_db()
    assert saved.status_code == 302 and saved["Location"] == "/me#contact"
    assert (judge.email, judge.profile.phone) == ("zhang@court.test", "+86 477-123 4567")
    refused = client.post("/me/contact", {"email": "not an address", "phone": "<script>"}, follow=True)
    judge.refresh_from_db()
    assert judge.email == "zhang@court.test" and "输入一个有效的 Email 地址" in refused.content.decode()
    assert Client().post("/me/contact", {"email": "x@court.test"}).status_code == 302  # to the login
    judge.refresh_from_db()
    assert judge.email == "zhang@court.test"


@pytest.mark.parametrize("count", [1, 3])
def test_the_notice_list_query_count_does_not_grow_with_notices_and_their_deliveries(judge, count):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notices.models import NoticeDelivery

    for n in range(count):
        sent = notice(judge, n)
        NoticeDelivery.objects.create(notice=sent, channel="email", status="sent")
        NoticeDelivery.objects.create(notice=sent, channel="sms", status="skipped")
    api = api_for(judge)

    with CaptureQueriesContext(connection) as queries:
        listed = api.get("/api/v1/me/notices").json()

    assert listed["count"] == count and all(len(i["deliveries"]) == 2 for i in listed["items"])
    # the token and its user, the token's last use, count, page, deliveries
    assert len(queries) == 5, [q["sql"] for q in queries]
