"""Reports cannot hold every worker: at most REPORT_CONCURRENCY computed at once across processes, and at most
REPORT_RATE_USER a minute per person; both a 429 with Retry-After on the pages, the exports, the records and the
API (reports/throttle.py)."""

import time

import pytest
import time_machine
from django.test import Client, override_settings

from accounts.models import Role
from core import ratelimit
from reports import throttle
from tests.conftest import ApiClient, make_user


@pytest.fixture
def manager(db):
    return make_user("boss", Role.MANAGER, display_name="院长", division="院领导")


@pytest.fixture
def lib(db):
    return make_user("lib", Role.LIBRARIAN, display_name="馆员")


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


URLS = ["/reports/circulation", "/reports/circulation/months.csv", "/reports/circulation/months.xlsx",
        "/reports/annual", "/api/v1/reports/circulation",
        "/api/v1/reports/readers/records?figure=active", "/reports/readers/records?figure=active",
        # The records behind a figure as one file (walk 20): as costly as a report.
        "/reports/readers/records.xlsx?figure=active", "/reports/readers/records.csv?figure=active"]


def occupy() -> float:
    """Another process is computing a report (the one place of REPORT_CONCURRENCY=1 taken)."""
    now = time.time()
    assert ratelimit.take(throttle.RUNNING_KEY, throttle._running_limit(), now=now) == 0
    return now


@override_settings(REPORT_CONCURRENCY=1, REPORT_RATE_USER=0)
def test_a_report_asked_while_another_is_computed_is_refused_with_429(lib):
    c = client(lib)
    for url in URLS:
        assert c.get(url).status_code == 200, url
    held = occupy()
    for url in URLS:
        response = c.get(url)
        assert response.status_code == 429, url
        assert response["Retry-After"] == str(throttle.BUSY_RETRY_SECONDS), url
    assert "其他报表正在计算" in c.get("/reports/circulation").content.decode()
    assert c.get("/api/v1/reports/circulation").json()["code"] == "throttled"
    ratelimit.refund(throttle.RUNNING_KEY, throttle._running_limit(), now=held)
    assert c.get("/reports/circulation").status_code == 200


@override_settings(REPORT_CONCURRENCY=1, REPORT_RATE_USER=0)
def test_a_report_gives_its_place_back_when_done_and_when_it_fails(lib, monkeypatch):
    c = client(lib)
    for _ in range(3):  # each frees the one place for the next
        assert c.get("/api/v1/reports/circulation").status_code == 200
    from reports.library_reports import CirculationReport

    def broken(self, f):
        raise RuntimeError("database went away")

    monkeypatch.setattr(CirculationReport, "tables", broken)
    c.raise_request_exception = False
    assert c.get("/reports/circulation").status_code == 500
    monkeypatch.undo()
    assert c.get("/reports/circulation").status_code == 200


@override_settings(REPORT_CONCURRENCY=0, REPORT_RATE_USER=3)
def test_one_person_asks_for_at_most_report_rate_user_a_minute(manager, lib):
    # Within one minute's window (a fixed window: the clock stopped mid-minute).
    with time_machine.travel("2026-12-01 10:00:30 +0800", tick=False):
        _one_person_limited(manager, lib)


def _one_person_limited(manager, lib):
    c = client(manager)
    assert [c.get("/api/v1/reports/circulation").status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = c.get("/reports/circulation")
    assert refused.status_code == 429 and "报表查询过于频繁" in refused.content.decode()
    assert refused["Retry-After"] == "30"
    # Another person's allowance is their own.
    assert client(lib).get("/api/v1/reports/circulation").status_code == 200


@override_settings(REPORT_CONCURRENCY=1, REPORT_RATE_USER=30)
def test_the_defaults_allow_a_person_browsing_reports(lib):
    api = ApiClient(client=client(lib))
    slugs = [r["slug"] for r in api.get("/api/v1/reports").json()]
    assert len(slugs) == 15
    assert [api.get(f"/api/v1/reports/{slug}").status_code for slug in slugs] == [200] * 15
