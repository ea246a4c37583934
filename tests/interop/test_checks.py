"""The contact address of the outside interfaces: where it comes from, and the start-up warning while it is
still a localhost address in production."""

import pytest
from django.test import Client

from interop import checks
from shuyuan.settings import envaddress
from tests.interop.conftest import SRW, xml
from tests.shuyuan.test_security_headers import PRODUCTION
from tests.shuyuan.test_settings import _manage

ADDRESS_SOURCES = ("OAI_ADMIN_EMAIL", "DEFAULT_FROM_EMAIL", "SERVER_EMAIL")


@pytest.mark.parametrize(("env", "expected"), [
    ({}, ""),
    ({"SERVER_EMAIL": "errors@court.example"}, "errors@court.example"),
    ({"DEFAULT_FROM_EMAIL": "法官书苑 <library@court.example>", "SERVER_EMAIL": "errors@court.example"},
     "library@court.example"),
    ({"OAI_ADMIN_EMAIL": " opendata@court.example ", "DEFAULT_FROM_EMAIL": "library@court.example"},
     "opendata@court.example"),
    ({"OAI_ADMIN_EMAIL": "", "DEFAULT_FROM_EMAIL": "library@court.example"}, "library@court.example"),
])
def test_the_address_is_oai_admin_email_else_the_from_or_server_address(monkeypatch, env, expected):
    for name in ADDRESS_SOURCES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert envaddress(*ADDRESS_SOURCES) == expected


@pytest.mark.parametrize(("address", "local"), [
    ("library@localhost", True), ("library@LOCALHOST.", True), ("root@localhost.localdomain", True),
    ("lib@shuyuan.localhost", True), ("lib@[127.0.0.1]", True), ("lib@[IPv6:::1]", True), ("library", True),
    ("", True), ("library@court.example", False), ("library@localhost.court.example", False),
    ("lib@[10.0.0.8]", False),
])
def test_what_counts_as_a_local_address(address, local):
    assert checks.is_local_address(address) is local


def test_a_localhost_address_with_debug_off_is_a_warning(settings):
    settings.OAI_ADMIN_EMAIL = "library@localhost"
    settings.DEBUG = True
    assert checks.check_oai_admin_email(None) == []

    settings.DEBUG = False
    assert [w.id for w in checks.check_oai_admin_email(None)] == ["interop.W001"]

    settings.OAI_ADMIN_EMAIL = "library@court.example"
    assert checks.check_oai_admin_email(None) == []


def test_the_check_runs_at_start_up_and_the_set_address_silences_it():
    production = {k: v for k, v in PRODUCTION.items() if k not in ADDRESS_SOURCES}

    warned = _manage("check", **production)
    silent = _manage("check", OAI_ADMIN_EMAIL="opendata@court.example", **production)

    assert warned.returncode == 0, warned.stderr  # a warning: the server still starts
    assert "interop.W001" in warned.stderr and "library@localhost" in warned.stderr
    assert silent.returncode == 0 and "interop.W001" not in silent.stderr + silent.stdout


@pytest.mark.django_db
def test_identify_and_explain_give_the_setting(settings):
    settings.OAI_ADMIN_EMAIL = "opendata@court.example"

    identify = xml(Client().get("/oai", {"verb": "Identify"}))
    explain = xml(Client().get("/sru"))

    assert identify.findtext("oai:Identify/oai:adminEmail", namespaces=SRW) == "opendata@court.example"
    assert explain.findtext(".//zr:databaseInfo/zr:contact", namespaces=SRW) == "opendata@court.example"
