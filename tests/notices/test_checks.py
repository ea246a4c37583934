"""The notice channels' configuration is checked at start-up (system checks notices.E001–E004)."""

import pytest

from notices.checks import check_notice_channels


def ids(settings, **changes) -> list[str]:
    for name, value in changes.items():
        setattr(settings, name, value)
    return [error.id for error in check_notice_channels(None)]


def test_the_defaults_pass(settings):
    assert ids(settings) == []


@pytest.mark.parametrize(("channels", "expected"), [
    ({"Email!": "notices.channels.EmailChannel"}, ["notices.E001"]),
    ({"sms": "courtsms.adapters.AliyunSms"}, ["notices.E002"]),
    ({"sms": "notices.channels.mobile_number"}, ["notices.E003"]),
    ({"sms": "notices.models.Notice"}, ["notices.E003"]),
])
def test_a_wrong_channel_is_an_error(settings, channels, expected):
    assert ids(settings, NOTICE_CHANNELS=channels) == expected


@pytest.mark.parametrize(("hosts", "expected"), [
    (["qyapi.weixin.qq.com", "zwwx.court.internal", "10.2.3.4", "*"], []),
    (["https://qyapi.weixin.qq.com"], ["notices.E004"]),
    (["qyapi.weixin.qq.com/cgi-bin"], ["notices.E004"]),
])
def test_robot_hosts_are_names_only(settings, hosts, expected):
    assert ids(settings, NOTICE_WEBHOOK_HOSTS=hosts) == expected
