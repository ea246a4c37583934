"""What the real-browser tests share: Debian's Chromium driven by Playwright, screenshots under
var/screenshots/, users whose passwords the live server can check.  The fixtures are in conftest.py;
a browser test module sets ``pytestmark = BROWSER_TEST``."""

import os
from pathlib import Path

import pytest

from tests.conftest import make_user

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

BROWSER_TEST = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (.ci/run installs it)"),
]


def browser_user(username: str, role: str | tuple[str, ...], password: str, **profile):
    """A user who signs in to the live server with ``password`` (hashed as the test process and the live
    server's settings both hash: tests/live_settings.py)."""
    return make_user(username, *((role,) if isinstance(role, str) else role), password=password, **profile)


def login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
