"""Event materials uploaded at the same moment: the per-event caps hold when uploads race (attack round 9:
eight uploads at once stored 119.5 MB against a 100 MB cap)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import DomainError
from events import services
from events.models import Attachment, Event

pytestmark = pytest.mark.django_db(transaction=True)


def test_uploads_racing_for_one_event_never_pass_its_size_cap_together(settings, monkeypatch):
    settings.EVENTS_ATTACHMENTS_MAX_BYTES = 1000

    start = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    event = Event.objects.create(title="法学研讨会", kind="seminar", start=start, end=start + timedelta(hours=2))
    # Widen the window between the count and the write, as a slow disk or a large file does.
    real_save = Attachment.save
    monkeypatch.setattr(Attachment, "save", lambda self, *a, **k: time.sleep(0.3) or real_save(self, *a, **k))
    barrier, outcomes = threading.Barrier(4), []

    def upload(i: int) -> None:
        barrier.wait()
        try:
            services.attachment_add(event=event, data=b"%PDF-1.4 " + b"0" * 391, filename=f"s{i}.pdf")
            outcomes.append("stored")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["attachments_too_large", "attachments_too_large", "stored", "stored"]
    assert sum(Attachment.objects.filter(event=event).values_list("size", flat=True)) == 800
