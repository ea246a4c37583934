"""The notices and feed jobs in one process, on the database backend: the daily round by the clock (each
notice sent once however many ticks, workers or runs), delivery claims, and feed warming queued by changes.

The same jobs run under real workers on both backends in tests/jobs/test_notices_live.py.
"""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction

from accounts.models import Role
from events import services
from events.models import Event, FeedFragment
from jobs.models import Job
from jobs.schedule import schedule_tick
from library.circulation import hold_place, loan_checkout, loan_return
from library.models import Hold
from library.services import book_create, copy_create
from notices.models import Notice
from tests import clock as library_clock
from tests.clock import SH, judges_with_email
from tests.conftest import make_user
from tests.jobs.worker import run_queued_jobs

pytestmark = pytest.mark.django_db
clock = library_clock.clock  # autouse: time stands at NOW in every test of this module
@pytest.fixture
def judges(db):
    return judges_with_email(2)


@pytest.fixture
def loan(judges):
    book = book_create(title="民法典评注", clc="D923")
    copy_create(book=book, barcode="C1")
    return loan_checkout(patron=judges[0], actor=judges[0], book=book)


def daily_jobs():
    return Job.objects.filter(task_path="events.tasks.send_daily_notices").order_by("id")


def test_the_daily_round_is_scheduled_at_notices_at_and_sends_each_notice_once(settings, loan, clock):
    assert settings.JOBS_SCHEDULE[0] == {"task": "events.tasks.send_daily_notices", "at": "07:30"}
    settings.JOBS_SCHEDULE = settings.JOBS_SCHEDULE[:1]
    clock.move_to(datetime(2026, 12, 29, 7, 0, tzinfo=SH))
    assert schedule_tick() == []
    clock.move_to(datetime(2026, 12, 29, 7, 31, tzinfo=SH))

    first, again = schedule_tick(), schedule_tick()  # two workers' ticks the same morning
    run_queued_jobs()
    # Two workers that both enqueued before either saw the other's job (the race the job key cannot close):
    # the second round finds every notice recorded and sent.
    with transaction.atomic():
        Job.objects.create(kind="events.tasks.send_daily_notices", task_path="events.tasks.send_daily_notices")
    run_queued_jobs()
    assert schedule_tick() == []

    assert ([j.key for j in first], again) == (["schedule:events.tasks.send_daily_notices:2026-12-29"], [])
    assert [(j.state, j.summary["due_soon"], j.summary["sent"]) for j in daily_jobs()] == [
        ("done", 1, 1), ("done", 0, 0)]
    assert [m.subject for m in mail.outbox] == ["即将到期：《民法典评注》应于 2027-01-01 归还"]
    assert Notice.objects.get().sent_at is not None


def test_the_daily_round_expires_holds_before_it_sends(judges, loan, clock, librarian):
    hold_place(patron=judges[1], book=loan.book, actor=judges[1])
    loan_return(loan=loan, actor=librarian)  # judge2's, pickup by 2026-12-05
    clock.move_to(datetime(2026, 12, 6, 8, 0, tzinfo=SH))

    job = schedule_tick()[0]
    run_queued_jobs()

    job.refresh_from_db()
    assert (job.state, job.summary["expired_holds"], Hold.objects.get().status) == ("done", 1, "expired")
    assert sorted(n.kind for n in Notice.objects.filter(sent_at__isnull=False)) == ["hold_expired", "hold_ready"]
    assert sorted(m.subject[:5] for m in mail.outbox) == ["预约到书：", "预约已过期"]


def test_the_command_runs_the_same_round_inline(loan, clock, capsys):
    clock.move_to(datetime(2026, 12, 30, 7, 0, tzinfo=SH))

    call_command("send_notices")
    call_command("send_notices")

    assert len(mail.outbox) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["expired holds: 0", "due_soon: 1 overdue: 0 hold_ready: 0 hold_expired: 0 sent: 1 event_reminder: 0"]


# --- feeds --------------------------------------------------------------------------------------------------


def test_event_changes_queue_one_feed_warming_job_and_write_no_entry(judges, clock):
    organizer = make_user("org", Role.ORGANIZER)
    start = datetime(2026, 12, 10, 15, tzinfo=SH)
    with transaction.atomic():
        event = services.event_create(data=services.EventData(title="法官茶座", kind="tea_talk", start=start,
                                                               end=start + timedelta(hours=1)), actor=organizer)
        services.event_update(event=event, changes={"title": "法官茶座·新"}, actor=organizer)

    assert FeedFragment.objects.count() == 0
    assert list(Job.objects.filter(key="feeds.warm").values_list("state", flat=True)) == ["queued"]
    job = run_queued_jobs(key="feeds.warm")[0]
    assert (job.state, job.summary) == ("done", {"rebuilt": 1, "events": 1})
    assert "法官茶座·新" in FeedFragment.objects.get(event=event).body
    assert Event.objects.count() == 1
