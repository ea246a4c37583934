"""Each channel a notice goes by (issue 16 §4): e-mail through Django's mail, SMS through the file backend, and
the chat-robot webhook against a real HTTP server on 127.0.0.1; each (notice, channel) delivery recorded, a
failed channel tried again later up to the cap and never delivered twice, a channel without an address
skipped; the reader's choice of channels per kind respected."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail

from jobs.models import Job
from notices import channels, services
from notices.models import Notice, NoticeDelivery
from tests.clock import SH, stopped_at
from tests.conftest import make_user
from tests.jobs.worker import run_queued_jobs
from tests.notices.common import choose, deliveries, record
from tests.notices.robot import HANG, start_robot, stop_robot

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SH)
clock = stopped_at(NOW)


@pytest.fixture
def reader(db):
    return make_user("judge1", "judge", email="judge1@court.test", phone="+86 139-0000-0001", display_name="张法官")


@pytest.fixture
def robot(settings):
    settings.NOTICE_WEBHOOK_HOSTS = ["127.0.0.1"]
    settings.NOTICE_WEBHOOK_TIMEOUT = 0.5
    server = start_robot()
    yield server
    stop_robot(server)


def sms_files(settings) -> list[Path]:
    return sorted(Path(settings.NOTICE_SMS_FILE_PATH).glob("*"))


# --- e-mail ---------------------------------------------------------------------------------------------


def test_by_default_a_notice_is_mailed_and_the_delivery_recorded(reader):
    notice = record(reader)

    assert run_queued_jobs(key="notices.send")[0].summary == {"sent": 1}

    assert [(m.to, m.subject) for m in mail.outbox] == [(["judge1@court.test"], "预约到书：《民法典评注》")]
    assert mail.outbox[0].body == notice.body
    delivery = NoticeDelivery.objects.get(notice=notice)
    assert (delivery.channel, delivery.status, delivery.attempts, delivery.sent_at) == ("email", "sent", 1, NOW)
    notice.refresh_from_db()
    assert (notice.sent_at, notice.sending_since, notice.retry_at) == (NOW, None, None)


def test_a_reader_without_an_email_address_has_the_mail_skipped(reader):
    reader.email = ""
    reader.save()
    notice = record(reader)

    assert services.send_pending() == 1

    assert mail.outbox == []
    assert deliveries(notice) == {"email": ("skipped", 0, "没有填写邮箱")}
    assert Notice.objects.get().sent_at == NOW  # every channel is done: the notice waits in the list only


def test_a_mail_server_that_fails_is_tried_again_later_and_then_the_notice_goes_once(reader, monkeypatch, clock):
    notice = record(reader)
    monkeypatch.setattr(channels, "send_mail", lambda *a, **k: (_ for _ in ()).throw(OSError("mail server down")))

    job = run_queued_jobs(key="notices.send")[0]

    assert (job.state, job.summary) == ("done", {"sent": 0})
    notice.refresh_from_db()
    assert (notice.sent_at, notice.sending_since, notice.retry_at) == (None, None, NOW + timedelta(seconds=300))
    assert deliveries(notice) == {"email": ("pending", 1, "OSError: mail server down")}
    # The next try is queued for its time, under a key of its own (new notices' deliveries are not delayed).
    assert list(Job.objects.filter(key__startswith="notices.retry").values_list("key", "state", "run_after")) == [
        ("notices.retry:2026-12-02T02:05", "queued", NOW + timedelta(seconds=300))]
    monkeypatch.undo()
    assert services.send_pending() == 0  # not before its time
    assert mail.outbox == []

    clock.move_to(NOW + timedelta(seconds=301))
    assert run_queued_jobs(key__startswith="notices.retry")[0].summary == {"sent": 1}
    assert services.send_pending() == 0
    assert len(mail.outbox) == 1 and deliveries(notice) == {"email": ("sent", 2, "")}


# --- SMS ------------------------------------------------------------------------------------------------


def test_an_sms_is_written_to_a_file_of_its_own(reader, settings):
    choose(reader, hold_ready=["sms"])
    first = record(reader, key="hold_ready:hold:1", title="民法典评注")
    second = record(reader, key="hold_ready:hold:2", title="担保法")

    assert services.send_pending() == 2

    files = sms_files(settings)
    assert len(files) == 2 and all(f.suffix == ".txt" and not f.name.startswith(".") for f in files)
    texts = sorted(f.read_text(encoding="utf-8") for f in files)
    assert texts == sorted(
        f"To: 13900000001\nNotice: {n.key}\n\n{n.subject}（详见 {settings.SITE_URL}/me/notices）\n" for n in (first, second))
    assert mail.outbox == []  # e-mail was not chosen for this kind
    assert deliveries(first) == {"sms": ("sent", 1, "")}


def test_a_reader_without_a_mobile_number_has_the_sms_skipped_not_failed(reader, settings):
    reader.profile.phone = "0477-1234567"  # a landline
    reader.profile.save()
    choose(reader, hold_ready=["email", "sms"])
    notice = record(reader)

    assert services.send_pending() == 1
    assert services.send_pending() == 0

    assert deliveries(notice) == {"email": ("sent", 1, ""), "sms": ("skipped", 0, "没有填写手机号")}
    assert sms_files(settings) == [] and len(mail.outbox) == 1


@pytest.mark.parametrize(("phone", "number"), [
    ("13900000001", "13900000001"),
    ("+86 139-0000-0001", "13900000001"),
    ("86 139 0000 0001", "13900000001"),
    ("+976 9911 2233", "+97699112233"),  # Mongolia, in international form
    ("0477-1234567", ""),
    ("12345678901", ""),  # no mainland mobile starts with 12
    ("+86 0477 1234567", ""),
    ("", ""),
])
def test_the_mobile_number_an_sms_goes_to(phone, number):
    assert channels.mobile_number(phone) == number


# --- the webhook (chat robots) ----------------------------------------------------------------------------


def test_the_robot_receives_the_notice_as_wecom_text_json(reader, robot):
    choose(reader, robot.url(), hold_ready=["webhook"])
    notice = record(reader)

    assert services.send_pending() == 1

    [received] = robot.received
    assert received.path == "/cgi-bin/webhook/send?key=k1"
    assert received.content_type == "application/json; charset=utf-8"
    assert "《民法典评注》".encode() in received.raw  # UTF-8 as is, not \u escapes
    assert received.body == {"msgtype": "text", "text": {"content": f"{notice.subject}\n\n{notice.body.strip()}"}}
    assert received.body["text"]["content"].startswith("预约到书：《民法典评注》\n\n张法官，您好：\n\n您预约的《民法典评注》已到书")
    assert deliveries(notice) == {"webhook": ("sent", 1, "")}


def test_the_robots_text_is_cut_to_its_2048_byte_limit_on_a_character_boundary(reader, robot):
    choose(reader, robot.url(), hold_ready=["webhook"])
    record(reader, title="长" * 1000)

    services.send_pending()

    content = robot.received[0].body["text"]["content"]
    assert 2046 <= len(content.encode()) <= 2048 and content.startswith("预约到书：《长长长")


def test_a_robot_answering_500_is_recorded_retried_and_delivered_once(reader, robot, clock):
    choose(reader, robot.url(), hold_ready=["email", "webhook"])
    robot.answers = [(500, {"error": "busy"})]
    notice = record(reader)

    assert services.send_pending() == 0
    assert deliveries(notice) == {"email": ("sent", 1, ""), "webhook": ("pending", 1, "WebhookFailed: HTTP 500")}
    assert services.send_pending() == 0 and len(robot.received) == 1  # waits for its time

    clock.move_to(NOW + timedelta(seconds=300))
    assert run_queued_jobs(key__startswith="notices.retry")[0].summary == {"sent": 1}
    assert services.send_pending() == 0

    assert deliveries(notice) == {"email": ("sent", 1, ""), "webhook": ("sent", 2, "")}
    assert len(robot.received) == 2 and robot.received[0].body == robot.received[1].body
    assert len(mail.outbox) == 1  # the channel that went is not sent again with the retry
    assert Notice.objects.get().sent_at == NOW + timedelta(seconds=300)


def test_a_retry_queued_for_later_does_not_hold_back_an_earlier_one(reader, robot, clock):
    choose(reader, robot.url(), hold_ready=["webhook"])
    robot.answers = [(500, {}), (500, {}), (500, {})]
    first = record(reader, key="hold_ready:hold:1")
    run_queued_jobs(key="notices.send")  # first fails: next try at +5 min
    clock.move_to(NOW + timedelta(minutes=5))
    run_queued_jobs(key__startswith="notices.retry")  # first fails again: next try at +15 min
    second = record(reader, key="hold_ready:hold:2")
    run_queued_jobs(key="notices.send")  # second fails: next try at +10 min

    queued = Job.objects.filter(key__startswith="notices.retry", state="queued").order_by("run_after")
    assert [j.run_after for j in queued] == [NOW + timedelta(minutes=10), NOW + timedelta(minutes=15)]
    clock.move_to(NOW + timedelta(minutes=10))
    assert [j.summary for j in run_queued_jobs(key__startswith="notices.retry")] == [{"sent": 1}]
    assert (deliveries(first)["webhook"][:2], deliveries(second)["webhook"][:2]) == (("pending", 2), ("sent", 2))


def test_a_robot_that_does_not_answer_times_out_and_is_given_up_after_the_last_try(reader, robot, clock, settings):
    settings.NOTICE_DELIVERY_ATTEMPTS = 3
    choose(reader, robot.url(), hold_ready=["webhook"])
    robot.answers = [HANG, HANG, HANG]
    notice = record(reader)

    for _ in range(3):
        services.send_pending()
        notice.refresh_from_db()
        if notice.retry_at:
            clock.move_to(notice.retry_at)

    status, attempts, error = deliveries(notice)["webhook"]
    assert (status, attempts) == ("failed", 3) and "timed out" in error
    assert notice.sent_at is not None and notice.retry_at is None  # given up: done, and kept in the list
    assert services.send_pending() == 0 and len(robot.received) == 3


def test_the_wait_between_tries_doubles(reader, robot, clock, settings):
    choose(reader, robot.url(), hold_ready=["webhook"])
    robot.answers = [(502, {})] * 3
    notice = record(reader)
    waits = []

    for _ in range(3):
        now = datetime.now(tz=SH)
        services.send_pending()
        notice.refresh_from_db()
        waits.append((notice.retry_at - now).total_seconds())
        clock.move_to(notice.retry_at)

    assert waits == [300, 600, 1200]


def test_a_robot_error_code_in_a_200_answer_is_a_failure(reader, robot):
    choose(reader, robot.url(), hold_ready=["webhook"])
    robot.answers = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    notice = record(reader)

    services.send_pending()

    assert deliveries(notice) == {"webhook": ("pending", 1, "WebhookFailed: errcode 93000: invalid webhook url")}


def test_a_redirect_is_not_followed(reader, robot):
    choose(reader, robot.url(), hold_ready=["webhook"])
    robot.answers = [(302, {})]  # Location: the robot's own /internal
    notice = record(reader)

    services.send_pending()

    assert [r.path for r in robot.received] == ["/cgi-bin/webhook/send?key=k1"]
    assert deliveries(notice)["webhook"][2] == "WebhookFailed: HTTP 302 (redirects are not followed)"


def test_a_robot_on_a_host_no_longer_allowed_fails_at_once_without_a_request(reader, robot, settings):
    choose(reader, robot.url(), hold_ready=["webhook"])
    settings.NOTICE_WEBHOOK_HOSTS = ["qyapi.weixin.qq.com"]
    notice = record(reader)

    assert services.send_pending() == 1  # done: failed for good, not retried

    assert robot.received == []
    assert deliveries(notice) == {"webhook": ("failed", 1, "不允许的主机 127.0.0.1（可用：qyapi.weixin.qq.com）")}


def test_with_any_host_allowed_a_name_that_resolves_inside_the_network_is_refused(reader, robot, settings):
    settings.NOTICE_WEBHOOK_HOSTS = ["*"]
    choose(reader, robot.url(host="localhost"), hold_ready=["webhook"])  # a name: only resolving tells
    notice = record(reader)

    services.send_pending()

    assert robot.received == []
    assert deliveries(notice) == {"webhook": ("failed", 1, "地址不能指向内部网络")}


def test_a_reader_without_a_robot_has_the_webhook_skipped(reader):
    choose(reader, hold_ready=["webhook"])
    notice = record(reader)

    assert services.send_pending() == 1
    assert deliveries(notice) == {"webhook": ("skipped", 0, "没有填写机器人地址")}


def test_a_channel_switched_off_before_its_retry_is_skipped(reader, robot, clock, settings):
    choose(reader, robot.url(), hold_ready=["webhook"])
    robot.answers = [(500, {})]
    notice = record(reader)
    services.send_pending()
    settings.NOTICE_CHANNELS = {"email": "notices.channels.EmailChannel"}

    clock.move_to(NOW + timedelta(seconds=300))
    assert services.send_pending() == 1

    assert deliveries(notice) == {"webhook": ("skipped", 1, "渠道已停用")}
    assert len(robot.received) == 1


# --- the reader's choice --------------------------------------------------------------------------------


def test_a_kind_with_email_off_sends_no_mail_and_other_kinds_keep_the_default(reader, settings):
    choose(reader, hold_ready=["sms"])
    hold_ready = record(reader, key="hold_ready:hold:1")
    due_soon = record(reader, key="due_soon:loan:1", kind=Notice.Kind.DUE_SOON)

    assert services.send_pending() == 2

    assert [m.subject for m in mail.outbox] == [due_soon.subject]  # only the kind left at its default
    assert deliveries(hold_ready) == {"sms": ("sent", 1, "")}
    assert deliveries(due_soon) == {"email": ("sent", 1, "")}
    assert len(sms_files(settings)) == 1


def test_a_kind_with_no_channel_chosen_is_only_listed(reader, settings):
    choose(reader, hold_ready=[])
    notice = record(reader)

    assert services.send_pending() == 1

    assert mail.outbox == [] and sms_files(settings) == [] and deliveries(notice) == {}
    assert Notice.objects.get().sent_at == NOW


def test_the_channels_are_planned_at_the_first_try_and_kept_for_the_retries(reader, robot, clock):
    """A reader who changes their choice after a failed try does not change where that notice goes: its
    deliveries were planned at the first try (a kind switched to nothing would otherwise drop a pending retry)."""
    choose(reader, robot.url(), hold_ready=["webhook"])
    robot.answers = [(500, {})]
    notice = record(reader)
    services.send_pending()
    choose(reader, robot.url(), hold_ready=["email"])

    clock.move_to(NOW + timedelta(seconds=300))
    services.send_pending()

    assert deliveries(notice) == {"webhook": ("sent", 2, "")} and mail.outbox == []


def test_the_notice_list_shows_where_each_notice_went(reader, robot):
    from django.test import Client

    from tests.conftest import api_for

    reader.profile.phone = ""
    reader.profile.save()
    choose(reader, robot.url(), hold_ready=["email", "sms", "webhook"])
    record(reader)
    services.send_pending()

    item = api_for(reader).get("/api/v1/me/notices").json()["items"][0]
    assert item["deliveries"] == [
        {"channel": "email", "channel_label": "电子邮件", "status": "sent", "status_label": "已发送",
         "sent_at": "2026-12-02T10:00:00+08:00"},
        {"channel": "sms", "channel_label": "短信", "status": "skipped", "status_label": "未发送", "sent_at": None},
        {"channel": "webhook", "channel_label": "企业微信/政务微信机器人", "status": "sent", "status_label": "已发送",
         "sent_at": "2026-12-02T10:00:00+08:00"},
    ]
    assert item["sent_at"] == "2026-12-02T10:00:00+08:00"
    client = Client()
    client.force_login(reader)
    page = client.get("/me/notices").content.decode()
    assert ('<span class="delivery sent">电子邮件 已发送</span>' in page
            and '<span class="delivery skipped">短信 未发送</span>' in page)
    english = api_for(reader).get("/api/v1/me/notices", headers={"Accept-Language": "en"}).json()["items"][0]
    assert [(d["channel_label"], d["status_label"]) for d in english["deliveries"]] == [
        ("E-mail", "Sent"), ("SMS", "Not sent"), ("WeCom / government WeChat robot", "Sent")]

