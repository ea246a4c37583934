"""What the events tests share: the events clock (Wednesday 2026-11-25, 09:00 in Inner Mongolia, 01:00 UTC,
stopped), an organizer's API client, committing with the on-commit work and the feed-warming job a worker
would run, and an event made through the services.

A module imports the fixtures it uses by name (``clock`` is autouse once imported)."""

import contextlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from events import services
from events.models import Event
from tests.clock import stopped_at
from tests.conftest import api_for
from tests.jobs.worker import run_queued_jobs

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=SH)

clock = stopped_at(NOW)


@pytest.fixture
def org(organizer):
    """The organizer's API client."""
    return api_for(organizer)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a change's on-commit work (the feed version bump) as a real commit would, then the feed-warming
    job it queued, as a worker would."""

    @contextlib.contextmanager
    def commit():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        run_queued_jobs(key="feeds.warm")

    return commit


def make_event(organizer, venue=None, **kw) -> Event:
    """A 90-minute tea talk on Friday 2026-12-04 at 15:00 unless told otherwise, conflicts allowed."""
    start = kw.pop("start", datetime(2026, 12, 4, 15, 0, tzinfo=SH))
    data = services.EventData(
        title=kw.pop("title", "法官茶座"), kind=kw.pop("kind", "tea_talk"), start=start,
        end=kw.pop("end", start + timedelta(minutes=90)), venue=venue.pk if venue else None, **kw,
    )
    return services.event_create(data=data, actor=organizer, force=True)
