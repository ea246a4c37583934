"""The notices' admin for librarians: deliveries and preferences are read, never edited, and a reader's robot
URL (it holds the robot's secret key) is shown only by its host."""

from django.test import Client

from accounts.models import Role
from notices.models import NoticeDelivery
from tests.conftest import make_user
from tests.notices.common import choose, record

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-robot-key"


def test_a_librarian_reads_deliveries_and_preferences_without_the_robots_key(db):
    reader = make_user("judge1", Role.JUDGE, email="judge1@court.test")
    preference = choose(reader, ROBOT, overdue=["email", "sms"])
    notice = record(reader)
    NoticeDelivery.objects.create(notice=notice, channel="sms", status="skipped", last_error="没有填写手机号")
    client = Client()
    client.force_login(make_user("librarian1", Role.LIBRARIAN))

    deliveries = client.get("/admin/notices/noticedelivery/").content.decode()
    notice_page = client.get(f"/admin/notices/notice/{notice.pk}/change/").content.decode()
    listed = client.get("/admin/notices/noticepreference/").content.decode()
    shown = client.get(f"/admin/notices/noticepreference/{preference.pk}/change/").content.decode()

    assert "hold_ready:hold:1" in deliveries and "短信" in deliveries and "没有填写手机号" in deliveries
    assert "没有填写手机号" in notice_page  # the deliveries under their notice
    assert "qyapi.weixin.qq.com" in listed and "qyapi.weixin.qq.com" in shown
    assert "secret-robot-key" not in listed + shown
    assert '"overdue": ["email", "sms"]' in shown.replace("&quot;", '"')
    assert client.post(f"/admin/notices/noticepreference/{preference.pk}/change/", {}).status_code == 403
