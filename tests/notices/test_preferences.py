"""A reader's notice preference (issue 16 §4): which channels deliver each kind, on /me and through
GET/PUT /api/v1/me/notice-preferences, every refusal naming its field and storing nothing."""

import re

import pytest
from django.test import Client

from notices.models import Notice, NoticePreference
from tests.conftest import ApiClient, api_for, make_user
from tests.notices.common import choose

pytestmark = pytest.mark.django_db
ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx"
KINDS = ["due_soon", "overdue", "hold_ready", "hold_expired", "registered", "promoted", "event_changed",
         "event_cancelled", "event_reminder"]


@pytest.fixture
def reader(db):
    return make_user("judge1", "judge", email="judge1@court.test")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the API --------------------------------------------------------------------------------------------


def test_a_reader_who_never_chose_gets_email_for_every_kind(reader):
    answer = api_for(reader).get("/api/v1/me/notice-preferences").json()

    assert answer["channels"] == {kind: ["email"] for kind in KINDS}
    assert answer["webhook_url"] == ""
    assert answer["available"] == [{"name": "email", "label": "电子邮件"}, {"name": "sms", "label": "短信"},
                                   {"name": "webhook", "label": "企业微信/政务微信机器人"}]
    assert [(k["kind"], k["group"]) for k in answer["kinds"]] == [(kind, "loans") for kind in KINDS[:4]] + [
        (kind, "events") for kind in KINDS[4:]]
    assert answer["kinds"][1] == {"kind": "overdue", "label": "逾期", "group": "loans", "group_label": "借阅"}
    english = api_for(reader).get("/api/v1/me/notice-preferences", headers={"Accept-Language": "en"}).json()
    assert english["kinds"][1] == {"kind": "overdue", "label": "Overdue", "group": "loans", "group_label": "Loans"}
    assert [c["label"] for c in english["available"]] == ["E-mail", "SMS", "WeCom / government WeChat robot"]


def test_put_replaces_the_preference(reader):
    api = api_for(reader)
    choose(reader, ROBOT, registered=["sms"], overdue=["webhook"])

    answer = api.put("/api/v1/me/notice-preferences", {
        "channels": {"overdue": ["sms", "email", "sms"], "event_reminder": []}, "webhook_url": f"  {ROBOT}  "})

    assert answer.status_code == 200
    body = answer.json()
    # Channels in the installation's order, each once; a kind left out is back to the default.
    assert body["channels"] == {**{kind: ["email"] for kind in KINDS}, "overdue": ["email", "sms"], "event_reminder": []}
    assert body["webhook_url"] == ROBOT
    stored = NoticePreference.objects.get(user=reader)
    assert (stored.channels, stored.webhook_url) == ({"overdue": ["sms", "email"], "event_reminder": []}, ROBOT)
    assert api.get("/api/v1/me/notice-preferences").json() == body
    cleared = api.put("/api/v1/me/notice-preferences", {"channels": {}}).json()
    assert cleared["webhook_url"] == "" and cleared["channels"] == {kind: ["email"] for kind in KINDS}
    assert NoticePreference.objects.count() == 1


def test_channels_switched_off_by_the_installation_are_neither_offered_nor_applied(reader, settings):
    choose(reader, overdue=["email", "sms"])
    settings.NOTICE_CHANNELS = {"email": "notices.channels.EmailChannel"}
    api = api_for(reader)

    answer = api.get("/api/v1/me/notice-preferences").json()

    assert answer["available"] == [{"name": "email", "label": "电子邮件"}]
    assert answer["channels"]["overdue"] == ["email"]
    refused = api.put("/api/v1/me/notice-preferences", {"channels": {"overdue": ["sms"]}})
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "channels.overdue"


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"channels": {"bogus": ["email"]}}, "channels.bogus", "未知的通知类型 bogus"),
    ({"channels": {"overdue": ["fax"]}}, "channels.overdue", "未知的渠道 fax（可选：email, sms, webhook）"),
    ({"channels": {"overdue": "email"}}, "channels.overdue", "Input should be a valid list"),
    ({"channels": {"overdue": [1]}}, "channels.overdue.0", "Input should be a valid string"),
    ({"channels": {"overdue": ["email"] * 11}}, "channels.overdue", "List should have at most 10 items"),
    ({"channels": {f"k{i}": [] for i in range(21)}}, "channels", "Dictionary should have at most 20 items"),
    ({"channels": "email"}, "channels", "Input should be a valid dictionary"),
    ({}, "channels", "Field required"),
    ({"channels": {}, "available": []}, "available", "Extra inputs are not permitted"),
    ({"channels": {}, "webhook_url": "ftp://qyapi.weixin.qq.com/x"}, "webhook_url", "只能是 http:// 或 https:// 开头的地址"),
    ({"channels": {}, "webhook_url": "qyapi.weixin.qq.com/x"}, "webhook_url", "只能是 http:// 或 https:// 开头的地址"),
    ({"channels": {}, "webhook_url": "https://evil.example/hook"}, "webhook_url",
     "不允许的主机 evil.example（可用：qyapi.weixin.qq.com）"),
    ({"channels": {}, "webhook_url": "https://u:p@qyapi.weixin.qq.com/x"}, "webhook_url", "地址中不能包含用户名或密码"),
    ({"channels": {}, "webhook_url": "https://qyapi.weixin.qq.com:99999/x"}, "webhook_url", "不是有效的地址"),
    ({"channels": {}, "webhook_url": ROBOT + "\nHost: x"}, "webhook_url", "Value error, 须为单行文字"),
    ({"channels": {}, "webhook_url": ROBOT + "x" * 500}, "webhook_url", "String should have at most 500 characters"),
])
def test_a_bad_preference_is_a_422_naming_the_field_and_stores_nothing(reader, body, field, message):
    refused = api_for(reader).put("/api/v1/me/notice-preferences", body)

    assert refused.status_code == 422
    answer = refused.json()
    assert answer["code"] == "invalid"
    assert [e["field"] for e in answer["detail"]] == [field]
    assert answer["detail"][0]["msg"].startswith(message), answer["detail"][0]["msg"]
    assert NoticePreference.objects.count() == 0


INTERNAL = "地址不能指向内部网络"
NEVER = "地址不能指向链路本地、组播或未指定地址（如 169.254.169.254）"


@pytest.mark.parametrize(("url", "message"), [
    ("http://10.1.2.3/hook", INTERNAL), ("http://127.0.0.1:8000/admin/", INTERNAL), ("http://[::1]/x", INTERNAL),
    ("http://169.254.169.254/latest/meta-data", NEVER), ("http://[::ffff:127.0.0.1]/x", INTERNAL),
])
def test_with_any_host_allowed_an_internal_address_is_still_refused(reader, settings, url, message):
    settings.NOTICE_WEBHOOK_HOSTS = ["*"]

    refused = api_for(reader).put("/api/v1/me/notice-preferences", {"channels": {}, "webhook_url": url})

    assert refused.status_code == 422
    assert [(e["field"], e["msg"]) for e in refused.json()["detail"]] == [("webhook_url", message)]


def test_with_any_host_allowed_a_public_host_is_taken(reader, settings):
    settings.NOTICE_WEBHOOK_HOSTS = ["*"]

    taken = api_for(reader).put("/api/v1/me/notice-preferences",
                                {"channels": {}, "webhook_url": "https://chat.court.example/hook?key=1"})

    assert taken.status_code == 200 and taken.json()["webhook_url"] == "https://chat.court.example/hook?key=1"


def test_a_malformed_body_is_a_400_and_the_anonymous_a_401(reader):
    malformed = api_for(reader).client.put("/api/v1/me/notice-preferences", b"{not json",
                                           content_type="application/json",
                                           headers={"Authorization": api_for(reader)._headers(None)["Authorization"]})
    assert (malformed.status_code, malformed.json()["code"]) == (400, "bad_request")
    for method in ("get", "put"):
        anonymous = getattr(ApiClient(), method)("/api/v1/me/notice-preferences", *([{"channels": {}}] if method == "put" else []))
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert NoticePreference.objects.count() == 0


# --- the form on /me --------------------------------------------------------------------------------------


def test_me_shows_each_kind_with_its_channels_grouped_with_email_checked_by_default(reader):
    page = logged_in(reader).get("/me").content.decode()

    section = page[page.index('id="notice-preferences"'):page.index('id="calendar"')]
    assert [m for m in re.findall(r'scope="colgroup"[^>]*>([^<]+)<', section)] == ["借阅", "活动"]
    assert re.findall(r'<th scope="row">([^<]+)</th>', section) == [k.label for k in Notice.Kind]
    checked = re.findall(r'<input type="checkbox" name="(\w+)" value="(\w+)"[^>]*checked', section)
    assert checked == [(kind, "email") for kind in KINDS]
    assert section.count('type="checkbox"') == 27
    assert '<span class="visually-hidden">逾期 · 短信</span>' in section  # each box is named for a screen reader
    assert 'name="webhook_url"' in section


def test_the_form_saves_the_choice(reader):
    client = logged_in(reader)

    saved = client.post("/me/notice-preferences", {"overdue": ["email", "sms"], "hold_ready": ["webhook"],
                                                   "webhook_url": ROBOT})

    assert (saved.status_code, saved["Location"]) == (302, "/me#notice-preferences")
    stored = NoticePreference.objects.get(user=reader)
    # Every kind is on the form: a kind with no box ticked gets no channel.
    assert stored.channels == {**{kind: [] for kind in KINDS}, "overdue": ["email", "sms"], "hold_ready": ["webhook"]}
    assert stored.webhook_url == ROBOT
    page = client.get("/me").content.decode()
    assert "通知方式已保存。" in page
    assert re.findall(r'<input type="checkbox" name="(\w+)" value="(\w+)"[^>]*checked', page) == [
        ("overdue", "email"), ("overdue", "sms"), ("hold_ready", "webhook")]
    assert f'value="{ROBOT}"' in page


@pytest.mark.parametrize(("data", "message"), [
    ({"overdue": ["fax"]}, "逾期：选择一个有效的选项。 fax 不在可用的选项中。"),
    ({"webhook_url": "https://evil.example/hook"}, "机器人地址：不允许的主机 evil.example（可用：qyapi.weixin.qq.com）"),
    ({"webhook_url": "javascript:alert(1)"}, "机器人地址：只能是 http:// 或 https:// 开头的地址"),
])
def test_the_form_refuses_a_bad_choice_with_its_reason_and_saves_nothing(reader, data, message):
    client = logged_in(reader)

    refused = client.post("/me/notice-preferences", data, follow=True)

    assert refused.redirect_chain == [("/me#notice-preferences", 302)]
    assert message in refused.content.decode()
    assert NoticePreference.objects.count() == 0


def test_without_the_webhook_channel_the_form_has_no_robot_and_keeps_the_url(reader, settings):
    choose(reader, ROBOT, overdue=["webhook"])
    settings.NOTICE_CHANNELS = {"email": "notices.channels.EmailChannel", "sms": "notices.channels.FileSmsChannel"}
    client = logged_in(reader)

    page = client.get("/me").content.decode()
    client.post("/me/notice-preferences", {"overdue": ["sms"]})

    assert 'name="webhook_url"' not in page and "企业微信/政务微信机器人" not in page
    stored = NoticePreference.objects.get(user=reader)
    assert (stored.channels["overdue"], stored.webhook_url) == (["sms"], ROBOT)


def test_the_anonymous_are_sent_to_the_login(reader):
    assert Client().post("/me/notice-preferences", {"overdue": ["sms"]})["Location"].startswith("/login/")
    assert NoticePreference.objects.count() == 0


def test_every_kind_is_in_exactly_one_group():
    """A kind added to Notice.Kind must be placed in 借阅 or 活动, or the form on /me would not show it."""
    from notices.models import KIND_GROUPS

    grouped = [kind for _key, _label, kinds in KIND_GROUPS for kind in kinds]
    assert sorted(grouped) == sorted(Notice.Kind.values)
