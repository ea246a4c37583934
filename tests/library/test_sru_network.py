"""Which addresses copy cataloguing may reach (attack round 18, F4): only a superuser marks an SRU target as on
the court's network (API and admin), the mark counts only at a host:port listed in SRU_INTERNAL_HOSTS, and
link-local, multicast and unspecified addresses are refused always, when a target is saved and again when each
request is made (a name that resolves elsewhere by then, as in DNS rebinding)."""

import socket

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client

from core import net
from library import copycat
from library.models import SruTarget
from library.sru import SruError
from tests.conftest import api_for
from tests.library.sru_server import marc21_record, search_response

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="secret-pass-1")


@pytest.fixture
def resolve(monkeypatch):
    """Make names resolve to chosen addresses (as a DNS server an attacker controls would answer): returns the
    mapping to fill; other names resolve as usual."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(net.socket, "getaddrinfo", getaddrinfo)
    return answers


# --- who may mark a target as on the court's network -------------------------------------------------------------


def test_a_librarian_cannot_mark_a_target_as_on_the_court_network_through_the_api(librarian, settings):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    settings.SRU_INTERNAL_HOSTS = ["169.254.169.254:80", "127.0.0.1:8000"]

    answers = [api_for(librarian).post("/api/v1/sru-targets", {"name": "元数据", "base_url": url, "internal_network": True})
               for url in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.1:8000/admin")]

    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json()["code"] == "superuser_only"
    assert [(e["field"], e["msg"]) for e in answers[0].json()["detail"]] == [
        ("internal_network", "只有超级管理员可以设置或取消“位于法院内网”（internal_network）")]
    assert not SruTarget.objects.exists()


def test_a_librarian_cannot_clear_the_mark_or_move_a_marked_target_but_may_edit_the_rest(librarian, sru_server):
    target = copycat.sru_target_create(name="内网图书馆", base_url=sru_server.url, internal_network=True)
    api = api_for(librarian)

    cleared = api.patch(f"/api/v1/sru-targets/{target.pk}", {"internal_network": False})
    moved = api.patch(f"/api/v1/sru-targets/{target.pk}", {"base_url": "http://127.0.0.1:22/"})
    renamed = api.patch(f"/api/v1/sru-targets/{target.pk}", {"name": "院内图书馆", "internal_network": True})

    assert (cleared.status_code, cleared.json()["detail"][0]["field"]) == (403, "internal_network")
    assert (moved.status_code, moved.json()["detail"][0]["field"]) == (403, "base_url")
    assert renamed.status_code == 200
    target.refresh_from_db()
    assert (target.name, target.base_url, target.internal_network) == ("院内图书馆", sru_server.url, True)


def test_a_superuser_marks_a_listed_server_only(superuser, settings):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    settings.SRU_INTERNAL_HOSTS = ["10.1.2.3:8080"]
    api = api_for(superuser)

    listed = api.post("/api/v1/sru-targets", {"name": "院内", "base_url": "http://10.1.2.3:8080/sru",
                                              "internal_network": True})
    other_port = api.post("/api/v1/sru-targets", {"name": "院内二", "base_url": "http://10.1.2.3:22/",
                                                  "internal_network": True})

    assert (listed.status_code, listed.json()["internal_network"]) == (201, True)
    assert other_port.status_code == 422
    assert [e["field"] for e in other_port.json()["detail"]] == ["internal_network"]
    assert other_port.json()["detail"][0]["msg"].startswith("10.1.2.3:22 不在设置 SRU_INTERNAL_HOSTS 中")


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://0.0.0.0:8000/", "http://224.0.0.1/",
    "http://[::ffff:169.254.169.254]/",
])
def test_link_local_multicast_and_unspecified_addresses_are_refused_even_listed_and_marked(superuser, settings, url):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    target = SruTarget(name="x", base_url=url, internal_network=True)
    settings.SRU_INTERNAL_HOSTS = [target.endpoint]

    answer = api_for(superuser).post("/api/v1/sru-targets", {"name": "x", "base_url": url, "internal_network": True})

    assert answer.status_code == 422
    assert [(e["field"], e["msg"]) for e in answer.json()["detail"]] == [
        ("base_url", "地址不能指向链路本地、组播或未指定地址（如 169.254.169.254）")]


def test_this_machine_is_refused_unless_listed(settings):
    settings.SRU_ALLOWED_HOSTS = ["*"]

    with pytest.raises(ValidationError) as unmarked:
        copycat.sru_target_create(name="本机", base_url="http://127.0.0.1:8000/admin")
    settings.SRU_INTERNAL_HOSTS = ["127.0.0.1:8000"]
    target = copycat.sru_target_create(name="本机", base_url="http://127.0.0.1:8000/sru", internal_network=True)

    assert list(unmarked.value.message_dict) == ["base_url"]
    assert target.internal_network


def test_the_admin_shows_the_mark_read_only_to_a_librarian(librarian, superuser, sru_server):
    target = copycat.sru_target_create(name="内网图书馆", base_url=sru_server.url, internal_network=True)
    outside = copycat.sru_target_create(name="外网图书馆", base_url="http://localhost/sru")
    client = Client()
    client.force_login(librarian)

    form = client.get(f"/admin/library/srutarget/{outside.pk}/change/").content.decode()
    posted = client.post(f"/admin/library/srutarget/{outside.pk}/change/", {
        "name": "外网图书馆", "base_url": "http://localhost/sru", "version": "1.2", "record_schema": "marcxml",
        "isbn_index": "bath.isbn", "title_index": "dc.title", "author_index": "dc.creator", "enabled": "on",
        "position": "0", "internal_network": "on"})
    marked_form = client.get(f"/admin/library/srutarget/{target.pk}/change/").content.decode()

    assert 'name="internal_network"' not in form and 'name="base_url"' in form
    assert posted.status_code == 302
    outside.refresh_from_db()
    assert outside.internal_network is False
    assert 'name="base_url"' not in marked_form  # a marked target's address is the superuser's too
    client.force_login(superuser)
    assert 'name="internal_network"' in client.get(f"/admin/library/srutarget/{outside.pk}/change/").content.decode()


def test_a_superuser_marks_a_listed_target_in_the_admin_and_an_unlisted_one_is_a_field_error(superuser, sru_server,
                                                                                            settings):
    client = Client()
    client.force_login(superuser)
    form = {"name": "内网", "version": "1.2", "record_schema": "marcxml", "isbn_index": "bath.isbn",
            "title_index": "dc.title", "author_index": "dc.creator", "enabled": "on", "position": "0",
            "internal_network": "on"}

    refused = client.post("/admin/library/srutarget/add/", {**form, "base_url": "http://127.0.0.1:22/sru"})
    added = client.post("/admin/library/srutarget/add/", {**form, "base_url": sru_server.url})

    assert refused.status_code == 200
    assert list(refused.context["adminform"].form.errors) == ["internal_network"]
    assert added.status_code == 302
    assert list(SruTarget.objects.values_list("base_url", "internal_network")) == [(sru_server.url, True)]


# --- when a request is made --------------------------------------------------------------------------------------


def test_a_name_that_resolves_to_the_metadata_service_at_request_time_is_refused(settings, resolve, sru_server):
    """DNS rebinding: the name was public when saved; when the search is made it resolves to 169.254.169.254."""
    settings.SRU_ALLOWED_HOSTS = ["*"]
    resolve["sru.example.org"] = "93.184.216.34"
    target = copycat.sru_target_create(name="外网图书馆", base_url="http://sru.example.org/sru")
    resolve["sru.example.org"] = "169.254.169.254"

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=target, by="title", term="x")

    assert refused.value.code == "sru_refused"
    assert refused.value.detail == "不能访问 外网图书馆 的地址：地址不能指向链路本地、组播或未指定地址（如 169.254.169.254）"


def test_a_listed_internal_name_that_resolves_to_the_metadata_service_is_refused_too(settings, resolve):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    settings.SRU_INTERNAL_HOSTS = ["opac.court.internal:80"]
    resolve["opac.court.internal"] = "10.1.2.3"
    target = copycat.sru_target_create(name="院内", base_url="http://opac.court.internal/sru", internal_network=True)
    resolve["opac.court.internal"] = "169.254.169.254"

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=target, by="title", term="x")

    assert refused.value.code == "sru_refused"
    assert "169.254.169.254" in refused.value.detail


def test_a_name_that_resolves_to_this_machine_is_refused_unless_its_host_and_port_are_listed(settings, resolve,
                                                                                            sru_server):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    port = sru_server.endpoint.rsplit(":", 1)[1]
    resolve["sru.example.org"] = "127.0.0.1"
    sru_server.answer('dc.title all "x"', search_response([marc21_record(title="院内的书")]))
    outside = SruTarget.objects.create(name="外网", base_url=f"http://sru.example.org:{port}/sru")
    marked = SruTarget.objects.create(name="院内", base_url=f"http://sru.example.org:{port}/sru", internal_network=True)

    for target in (outside, marked):
        with pytest.raises(SruError) as refused:
            copycat.copycat_search(target=target, by="title", term="x")
        assert refused.value.code == "sru_refused"
    settings.SRU_INTERNAL_HOSTS = [f"sru.example.org:{port}"]
    page = copycat.copycat_search(target=marked, by="title", term="x")

    assert [c.fields["title"] for c in page.candidates] == ["院内的书"]
    assert len(sru_server.requests) == 1


def test_a_public_address_of_this_machine_is_refused(settings, resolve, monkeypatch):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    monkeypatch.setattr(net, "own_addresses", lambda: frozenset({net.ipaddress.ip_address("93.184.216.34")}))
    resolve["library.court.example"] = "93.184.216.34"
    target = SruTarget.objects.create(name="自己", base_url="http://library.court.example/sru")

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=target, by="title", term="x")

    assert refused.value.detail == "不能访问 自己 的地址：地址不能指向内部网络"


def test_a_target_marked_in_the_database_but_not_listed_sends_nothing(sru_server, settings):
    settings.SRU_INTERNAL_HOSTS = []  # the operator took the server off the list
    target = SruTarget.objects.create(name="旧目标", base_url=sru_server.url, internal_network=True)

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=target, by="title", term="x")

    assert refused.value.code == "sru_refused"
    assert refused.value.detail == (f"旧目标 标为“位于法院内网”，但 {sru_server.endpoint} 不在设置 SRU_INTERNAL_HOSTS 中，"
                                    "未发出请求；请系统管理员核实")
    assert sru_server.requests == []


def test_trust_is_per_host_and_port_so_a_redirect_to_another_port_is_refused(sru_server):
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        sru_server.answer('dc.title all "x"', "", status=302,
                          location=f"http://127.0.0.1:{other.getsockname()[1]}/private")
        target = copycat.sru_target_create(name="院内", base_url=sru_server.url, internal_network=True)

        with pytest.raises(SruError) as refused:
            copycat.copycat_search(target=target, by="title", term="x")
    finally:
        other.close()

    assert refused.value.code == "sru_refused"
    assert refused.value.detail.endswith("地址不能指向内部网络")
