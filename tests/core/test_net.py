"""core.net's guard for requests the server makes itself (a chat robot's URL typed by a reader): only http(s),
no credentials, allowed hosts, never an address inside the network; redirects never followed."""

import ipaddress

import pytest

from core.net import OutboundRefused, is_public, outbound_url_check, post_json
from tests.notices.robot import start_robot, stop_robot


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("2400:3200::1", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("fe80::1", False), ("fc00::1", False), ("::ffff:10.0.0.1", False), ("::ffff:8.8.8.8", True),
    ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
])
def test_which_addresses_are_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(("url", "hosts", "code"), [
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1", ["qyapi.weixin.qq.com"], None),
    ("https://QYAPI.weixin.qq.com./x", ["qyapi.weixin.qq.com"], None),  # case and the root's dot
    ("http://zwwx.court.internal:8080/hook", ["zwwx.court.internal"], None),  # listed: trusted on the intranet
    ("https://chat.example/x", ["qyapi.weixin.qq.com"], "host_not_allowed"),
    ("https://chat.example/x", ["*"], None),
    ("http://10.0.0.8/x", ["*"], "internal_address"),
    ("http://[fd00::8]/x", ["*"], "internal_address"),
    ("file:///etc/passwd", ["*"], "scheme"),
    ("gopher://qyapi.weixin.qq.com/", ["*"], "scheme"),
    ("https:///nohost", ["*"], "scheme"),
    ("https://a:b@qyapi.weixin.qq.com/x", ["qyapi.weixin.qq.com"], "credentials"),
    ("https://qyapi.weixin.qq.com:0x1/x", ["qyapi.weixin.qq.com"], "invalid"),
    ("http://[::1/x", ["*"], "invalid"),
])
def test_which_urls_the_server_may_call(url, hosts, code):
    if code is None:
        assert outbound_url_check(url, allowed_hosts=hosts).scheme in ("http", "https")
    else:
        with pytest.raises(OutboundRefused) as refused:
            outbound_url_check(url, allowed_hosts=hosts)
        assert refused.value.code == code


def test_post_json_returns_a_redirect_as_it_is_and_refuses_a_name_resolving_inside():
    robot = start_robot()
    try:
        robot.answers = [(307, {})]
        answer = post_json(robot.url(), {"a": 1}, allowed_hosts=["127.0.0.1"], timeout=2)
        assert answer.status == 307 and [r.path for r in robot.received] == ["/cgi-bin/webhook/send?key=k1"]
        with pytest.raises(OutboundRefused) as refused:
            post_json(robot.url(host="localhost"), {"a": 1}, allowed_hosts=["*"], timeout=2)
        assert refused.value.code == "internal_address" and len(robot.received) == 1
    finally:
        stop_robot(robot)


@pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "64:ff9b::a00:1", "::127.0.0.1", "::10.0.0.1"])
def test_nat64_and_ipv4_compatible_addresses_are_judged_by_their_ipv4(address):
    """Attack round 16: 64:ff9b::7f00:1 (127.0.0.1 through a NAT64 gateway) counted as public."""
    assert not is_public(ipaddress.ip_address(address))
    assert is_public(ipaddress.ip_address("64:ff9b::808:808"))  # 8.8.8.8 that way is public


def test_a_url_with_a_space_is_refused_when_saved():
    with pytest.raises(OutboundRefused):
        outbound_url_check("https://qyapi.weixin.qq.com/x y", allowed_hosts=["qyapi.weixin.qq.com"])
