"""A fresh installation searches without rebuild_index: the README's production path, then a book (applied by
the workers' loop)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
from django.test import Client
from library.services import book_create
from search_index.worker import apply_outbox

client = Client()
empty = client.get("/api/v1/search", {"q": "担保物权"})
book = book_create(title="担保物权新论", contributors=["王某"])
apply_outbox()  # what every run_worker does continuously
found = client.get("/api/v1/search", {"q": "担保物权"})
print(json.dumps({"empty": [empty.status_code, empty.json().get("count")],
                  "found": [found.status_code, [(i["type"], i["id"]) for i in found.json().get("items", [])]],
                  "book": book.pk}))
"""


def _manage(env, *args) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_fresh_migrate_then_a_book_is_found_without_rebuild_index(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "SEARCH_", "VAR_"))}
    env.update({
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path / "var"),
        "DEBUG": "True",
        "LOG_LEVEL": "WARNING",
    })
    _manage(env, "migrate", "--noinput", "-v", "0")

    answer = json.loads(_manage(env, "shell", "-c", SCRIPT).strip().splitlines()[-1])

    assert answer["empty"] == [200, 0]
    assert answer["found"] == [200, [["book", answer["book"]]]]
    assert (tmp_path / "var" / "index" / "current").is_symlink()
