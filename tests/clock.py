"""Stopped clocks for tests, and the library clock of the circulation and notice tests: Wednesday 2026-12-02,
10:00 in Inner Mongolia (a loan made then is due 2027-01-01; on 2026-12-29 it is "due soon"), and judges with
e-mail.

Import ``clock`` into a test module to stop time there for every test (it is autouse), and
``judges_with_email`` to make readers whose notices are mailed; ``stopped_at`` makes a clock fixture stopped
at another moment (tests/events/common.py)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Role
from tests.conftest import make_user

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SH)


def stopped_at(moment: datetime, *, autouse: bool = True):
    """A ``clock`` fixture: time stands at ``moment`` (``clock.shift(seconds)`` moves it)."""

    @pytest.fixture(autouse=autouse, name="clock")
    def stopped_clock():
        with time_machine.travel(moment, tick=False) as traveller:
            yield traveller

    return stopped_clock


clock = stopped_at(NOW)


def judges_with_email(count: int) -> list:
    return [make_user(f"judge{i}", Role.JUDGE, email=f"judge{i}@court.test") for i in range(1, count + 1)]
