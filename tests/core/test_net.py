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


def _dripping_server(lines: int, every: float):
    """A server that sends its status line, then one header line every ``every`` seconds, ``lines`` of them,
    then a complete answer: each read is quick, the whole answer is slow."""
    import socket
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    sent = []  # header lines the client took before it hung up

    def serve():
        conn, _address = listener.accept()
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for n in range(lines):
                time.sleep(every)
                conn.sendall(f"X-Drip-{n}: x\r\n".encode())
                sent.append(n)
            conn.sendall(b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError:
            pass  # the client hung up: what the test expects
        finally:
            conn.close()
            listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, sent


def test_a_server_dripping_its_headers_is_cut_off_at_the_deadline():
    from core.net import get_limited

    port, server, sent = _dripping_server(lines=40, every=0.2)  # each line well within the read timeout

    with pytest.raises(TimeoutError):
        get_limited(f"http://127.0.0.1:{port}/sru", allowed_hosts=["127.0.0.1"], trusted_endpoints=[f"127.0.0.1:{port}"],
                    connect_timeout=1, read_timeout=1, max_response=1000, deadline=1.0)
    server.join()

    # The client hung up mid-headers, at its deadline: it did not sit through the whole dripped answer.
    assert len(sent) < 40

def test_a_server_answering_in_time_is_read_whole():
    from core.net import get_limited

    port, _server, _sent = _dripping_server(lines=2, every=0.05)

    answer = get_limited(f"http://127.0.0.1:{port}/sru", allowed_hosts=["127.0.0.1"], trusted_endpoints=[f"127.0.0.1:{port}"],
                         connect_timeout=1, read_timeout=1, max_response=1000, deadline=30)

    assert (answer.status, answer.body) == (200, b"ok")


@pytest.mark.parametrize(("address", "never"), [
    ("169.254.169.254", True), ("fe80::1", True), ("0.0.0.0", True), ("::", True), ("0.1.2.3", True),
    ("224.0.0.1", True), ("ff02::1", True), ("::ffff:169.254.169.254", True), ("2002:a9fe:a9fe::", True),
    ("64:ff9b::a9fe:a9fe", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("::1", False), ("8.8.8.8", False),
])
def test_addresses_never_called_whatever_is_trusted(address, never):
    """Attack round 18: a trusted (listed) host may be private, never the metadata service or multicast."""
    from core.net import is_never_called

    assert is_never_called(ipaddress.ip_address(address)) is never


@pytest.mark.parametrize(("entry", "normal"), [
    ("Opac.Court.Internal.:8080", "opac.court.internal:8080"), ("10.1.2.3:80", "10.1.2.3:80"),
    ("[FD00::8]:210", "[fd00::8]:210"),
    ("opac.court.internal", None), ("10.1.2.3:", None), ("h:99999", None), ("http://h:80", None), ("h:80/x", None),
])
def test_allow_list_entries_are_host_and_port(entry, normal):
    from core.net import parse_endpoint

    if normal is None:
        with pytest.raises(ValueError):
            parse_endpoint(entry)
    else:
        assert parse_endpoint(entry) == normal


def test_a_listed_webhook_host_is_still_refused_at_a_link_local_address(monkeypatch):
    import socket

    monkeypatch.setattr("core.net.socket.getaddrinfo",
                        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))])

    with pytest.raises(OutboundRefused) as refused:
        post_json("http://zwwx.court.internal/hook", {"a": 1}, allowed_hosts=["zwwx.court.internal"], timeout=1)

    assert refused.value.code == "never_called"


def test_a_bad_sru_internal_hosts_entry_stops_the_start(settings):
    from shuyuan.checks import check_sru_internal_hosts

    settings.SRU_INTERNAL_HOSTS = ["opac.court.internal:8080", "10.1.2.3"]

    assert [e.id for e in check_sru_internal_hosts(None)] == ["shuyuan.E007"]
