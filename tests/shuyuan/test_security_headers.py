"""Production hardening: `check --deploy`, security headers and the structured request log."""

import json
import logging
import re
from pathlib import Path

import pytest
from django.test import Client

from shuyuan.requestlog import JsonFormatter, RequestIdFilter, loggable_path
from tests.shuyuan.test_settings import _manage

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"DEBUG": "False", "SECRET_KEY": "Zq3vT8-kP1wX9mR4sL7yB2nC6dF0gH5jK8aE3uW1oI4tY7rV2xQ9", "ALLOWED_HOSTS": "library.court",
              "SITE_URL": "https://library.court", "DEFAULT_FROM_EMAIL": "法官书苑 <library@library.court>"}


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_https_hardening_is_turned_off():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", SECURE_HSTS_SECONDS="0",
                     SECURE_SSL_REDIRECT="False", **PRODUCTION)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_production_settings_turn_on_secure_cookies_hsts_and_redirects():
    result = _manage("shell", "--verbosity", "0", "-c", "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
                     "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.LOG_FORMAT)", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "31536000", "json"]


@pytest.mark.django_db
def test_pages_carry_the_security_headers(client):
    response = client.get("/events")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_hsts_is_sent_on_https_requests(settings):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = Client().get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


@pytest.mark.django_db
def test_plain_http_is_redirected_but_the_health_probes_are_not(settings):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/events")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert Client().get("/healthz").status_code == 200


def test_templates_have_no_inline_scripts_or_style_attributes():
    """The CSP allows scripts and styles from this site only; an inline one would be blocked in the browser."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"\sstyle=|\son[a-z]+=|javascript:", text) or re.search(r"<script(?![^>]*\ssrc=)", text):
            offenders.append(path.name)
    assert offenders == []


@pytest.mark.django_db
def test_every_response_names_its_request_id(client):
    mine = client.get("/healthz", headers={"X-Request-ID": "nginx-4f2a9c11"})
    assert mine["X-Request-ID"] == "nginx-4f2a9c11"
    fresh = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert re.fullmatch(r"[0-9a-f]{32}", fresh["X-Request-ID"])
    assert client.get("/healthz")["X-Request-ID"] != fresh["X-Request-ID"]


@pytest.mark.django_db
def test_each_request_is_logged_once_with_its_fields(client, judge, caplog):
    client.force_login(judge)
    with caplog.at_level(logging.INFO, logger="shuyuan.request"):
        response = client.get("/events?kind=salon", headers={"X-Request-ID": "req-12345678"})
    records = [r for r in caplog.records if r.name == "shuyuan.request"]
    assert len(records) == 1
    fields = records[0].fields
    assert fields["method"] == "GET" and fields["path"] == "/events" and fields["status"] == 200
    assert fields["user"] == "judge1" and fields["ip"] == "127.0.0.1"
    assert fields["bytes"] == len(response.content) and fields["duration_ms"] >= 0
    line = json.loads(JsonFormatter().format(_with_request_id(records[0], "req-12345678")))
    assert line["request_id"] == "req-12345678" and line["status"] == 200 and line["logger"] == "shuyuan.request"


def _with_request_id(record, request_id):
    record.request_id = request_id
    return record


@pytest.mark.django_db
def test_log_lines_written_during_a_request_carry_its_id(client, caplog):
    seen = []

    class Capture(logging.Handler):
        def emit(self, record):
            seen.append(getattr(record, "request_id", None))

    handler = Capture()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("shuyuan.request")
    logger.addHandler(handler)
    try:
        client.get("/healthz", headers={"X-Request-ID": "trace-abcdef12"})
    finally:
        logger.removeHandler(handler)
    assert seen == ["trace-abcdef12"]


def test_personal_feed_secrets_never_reach_the_log():
    assert loggable_path("/calendar/u/fgcal_ab12CD_s3cr3tPart-xyz.ics") == "/calendar/u/fgcal_ab12CD_….ics"
    assert loggable_path("/calendar/events.ics") == "/calendar/events.ics"
    # The twelfth attack's variants were logged whole: a trailing slash, no suffix, upper case.
    assert loggable_path("/calendar/u/fgcal_ab12CD_s3_cr3t-x.ics/") == "/calendar/u/fgcal_ab12CD_….ics/"
    assert loggable_path("/calendar/u/fgcal_ab12CD_s3_cr3t-x") == "/calendar/u/fgcal_ab12CD_…"
    assert loggable_path("/calendar/u/FGCAL_ab12CD_s3_cr3t-x.ICS") == "/calendar/u/FGCAL_ab12CD_….ICS"
    assert loggable_path("/calendar//u//fgcal_ab12CD_s3_cr3t-x.ics") == "/calendar//u//fgcal_ab12CD_….ics"


def test_server_errors_are_logged_as_json_with_the_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s",
                                   ("/x",), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR" and line["message"] == "Internal Server Error: /x"
    assert "ValueError: boom" in line["exception"]


@pytest.mark.django_db
def test_no_stack_trace_or_sql_ever_reaches_a_client(monkeypatch):
    """An unexpected exception answers a plain 500 (JSON under /api/, the 500 page elsewhere); an
    unreachable database a 503 with Retry-After — never the exception's text."""
    from django.db import OperationalError

    from library import selectors

    def broken(**kwargs):
        raise ZeroDivisionError("SELECT secret FROM library_book")

    client = Client(raise_request_exception=False)
    monkeypatch.setattr(selectors, "book_get", broken)
    api = client.get("/api/v1/books/1")
    assert api.status_code == 500 and api.json() == {"detail": "服务器内部错误",
                                                     "code": "server_error"}
    page = client.get("/books/1")
    assert page.status_code == 500 and b"SELECT" not in page.content and b"ZeroDivision" not in page.content

    def down(**kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: SELECT 1")

    monkeypatch.setattr(selectors, "book_get", down)
    api = client.get("/api/v1/books/1")
    assert api.status_code == 503 and api.json()["code"] == "unavailable" and api["Retry-After"]
    assert b"127.0.0.1" not in api.content
    page = client.get("/books/1")
    assert page.status_code == 503 and b"127.0.0.1" not in page.content and page["Retry-After"]
