"""Health endpoints."""

import pytest
from django.test import Client

from search_index import services

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_dependencies():
    response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_says_why_it_is_not_ready_then_ready(settings, tmp_path):
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready" and body["database"] == "ok" and body["search_index"].startswith("unavailable")
    assert "rebuild_index" in body["search_index"]
    services.index_rebuild()
    response = Client().get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready", "database": "ok", "search_index": "ok"})


def test_readyz_reports_a_corrupt_index():
    import shutil
    from pathlib import Path

    from django.conf import settings

    services.index_rebuild()
    current = (Path(settings.SEARCH_INDEX_DIR) / "current").resolve()
    for f in current.iterdir():
        if f.suffix in (".toc", ".seg") or f.name.endswith(".toc"):
            f.write_bytes(b"garbage")
    response = Client().get("/readyz")
    assert response.status_code == 503 and response.json()["search_index"].startswith("unavailable")
    shutil.rmtree(current)
    assert Client().get("/readyz").status_code == 503
