"""The notices and feed jobs under real workers (``manage.py run_worker``), on the database backend and, when
Redis answers at 127.0.0.1:6379, on RQ: the day's round by the clock with two workers (each notice mailed and
texted once, by the channels each reader chose), a hold-ready notice a return only recorded, and the feed
entry of a changed event.

Workers mail with Django's file backend and text with the file SMS backend into the test's directory, so the
test counts what really went out.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Role
from events import services as event_services
from events.models import FeedFragment
from jobs.models import Job
from library.circulation import hold_place, loan_checkout, loan_return
from library.models import Loan
from library.policy import library_today
from library.services import book_create, copy_create
from notices.models import Notice, NoticeDelivery
from notices.services import preference_update
from tests.conftest import make_user
from tests.jobs import test_worker_live as live
from tests.jobs.test_worker_live import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
# The worker fixtures of the job machinery's live tests: a test per backend (db, and redis when Redis answers).
backend = live.backend
workers = live.workers


def mail_env(tmp_path: Path, **env) -> dict:
    return {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(tmp_path / "mail"), "NOTICE_SMS_CHANNEL": "notices.channels.FileSmsChannel",
            "NOTICE_SMS_FILE_PATH": str(tmp_path / "sms"), **env}


def texted(tmp_path: Path) -> list[str]:
    """The number each text message the workers wrote went to, sorted (one texted twice appears twice)."""
    return sorted(path.read_text(encoding="utf-8").splitlines()[0].removeprefix("To: ")
                  for path in (tmp_path / "sms").glob("*.txt"))


def recipients(tmp_path: Path) -> list[str]:
    """Every recipient of every message the workers wrote, sorted (a notice mailed twice appears twice)."""
    found = []
    for path in sorted((tmp_path / "mail").glob("*.log")):
        found += [line.removeprefix("To: ").strip() for line in path.read_text().splitlines() if line.startswith("To: ")]
    return sorted(found)


def a_book(title: str, barcode: str):
    book = book_create(title=title, clc="D923")
    copy_create(book=book, barcode=barcode)
    return book


def test_two_workers_on_the_schedule_mail_each_of_the_days_notices_once(workers, tmp_path):
    judges = [make_user(f"judge{i}", Role.JUDGE, email=f"judge{i}@court.test", phone=f"1390000000{i}")
              for i in (1, 2)]
    # The first reader keeps the default (e-mail); the second wants overdue books by text message only.
    preference_update(user=judges[1], channels={"overdue": ["sms"]})
    today = library_today(timezone.now())
    due_soon = loan_checkout(patron=judges[0], actor=judges[0], book=a_book("民法典评注", "C1"))
    overdue = loan_checkout(patron=judges[1], actor=judges[1], book=a_book("担保物权研究", "C2"))
    Loan.objects.filter(pk=due_soon.pk).update(due_date=today + timedelta(days=2))
    Loan.objects.filter(pk=overdue.pk).update(due_date=today - timedelta(days=1))

    # The round is due since midnight: both workers' clocks find it at their first tick.
    env = mail_env(tmp_path, NOTICES_AT="00:00")
    first, second = workers("first", **env), workers("second", **env)
    wait_for(lambda: Notice.objects.filter(sent_at__isnull=False).count() == 2, timeout=90,
             what="the two notices to be mailed", logs=[first.log, second.log])
    # Let both workers tick the schedule many more times (every 0.5 s) before counting.
    wait_for(lambda: not Job.objects.filter(state__in=Job.OPEN).exists(), timeout=30, what="the jobs to end",
             logs=[first.log, second.log])
    first.stop()
    second.stop()

    assert recipients(tmp_path) == ["judge1@court.test"]
    assert texted(tmp_path) == ["13900000002"]
    assert sorted(Notice.objects.values_list("kind", flat=True)) == ["due_soon", "overdue"]
    assert sorted(NoticeDelivery.objects.values_list("channel", "status", "attempts")) == [
        ("email", "sent", 1), ("sms", "sent", 1)]
    daily = Job.objects.filter(task_path="events.tasks.send_daily_notices")
    assert set(daily.values_list("state", flat=True)) == {"done"}
    assert daily.first().key == f"schedule:events.tasks.send_daily_notices:{today.isoformat()}"


def test_a_worker_mails_the_hold_ready_notice_that_a_return_only_recorded(workers, tmp_path):
    reader, waiting, desk = (make_user("judge1", Role.JUDGE, email="judge1@court.test"),
                             make_user("judge2", Role.JUDGE, email="judge2@court.test"),
                             make_user("desk", Role.LIBRARIAN))
    book = a_book("民法典评注", "C1")
    loan = loan_checkout(patron=reader, actor=reader, book=book)
    hold_place(patron=waiting, book=book, actor=waiting)
    worker = workers("a", **mail_env(tmp_path, NOTICES_AT="off"))

    loan_return(loan=loan, actor=desk)  # commits; the delivery job is handed to the backend

    notice = wait_for(lambda: Notice.objects.filter(kind="hold_ready", sent_at__isnull=False).first(), timeout=60,
                      what="the hold-ready notice to be mailed", logs=[worker.log])
    assert notice.patron == waiting
    # The job's row is marked done just after its work returns (the notice is already sent by then).
    wait_for(lambda: Job.objects.filter(key="notices.send", state="done").exists(), timeout=30,
             what="the delivery job to be marked done", logs=[worker.log])
    assert list(Job.objects.filter(key="notices.send").values_list("state", flat=True)) == ["done"]
    assert recipients(tmp_path) == ["judge2@court.test"]


def test_a_worker_serialises_the_feed_entry_of_a_changed_event(workers, tmp_path):
    organizer = make_user("org", Role.ORGANIZER)
    worker = workers("a", NOTICES_AT="off")
    start = timezone.now() + timedelta(days=7)

    event = event_services.event_create(
        data=event_services.EventData(title="法官茶座", kind="tea_talk", start=start, end=start + timedelta(hours=1)),
        actor=organizer)
    wait_for(lambda: "SUMMARY:法官茶座" in getattr(FeedFragment.objects.filter(event=event).first(), "body", ""),
             timeout=60, what="the new event's feed entry", logs=[worker.log])
    event_services.event_update(event=event, changes={"title": "法官茶座·新"}, actor=organizer)

    fragment = wait_for(lambda: FeedFragment.objects.filter(event=event, body__contains="法官茶座·新").first(),
                        timeout=60, what="the changed event's feed entry", logs=[worker.log])
    assert "SUMMARY:法官茶座·新" in fragment.body
    # A job's row is marked done just after its work returns.
    wait_for(lambda: not Job.objects.filter(key="feeds.warm", state__in=Job.OPEN).exists(), timeout=30,
             what="the feed jobs to be marked done", logs=[worker.log])
    assert set(Job.objects.filter(key="feeds.warm").values_list("state", flat=True)) == {"done"}


@pytest.mark.django_db(transaction=False)
def test_redis_answers_where_ci_requires_it():
    """Fails instead of skipping the RQ tests when CI expects Redis (.ci/run sets CI_REQUIRE_REDIS where
    redis-server is installed) and it does not answer."""
    if os.environ.get("CI_REQUIRE_REDIS", "False") != "True":
        pytest.skip("CI_REQUIRE_REDIS is not set: the RQ tests run only when Redis happens to answer")
    assert live.redis_answers(), "CI_REQUIRE_REDIS=True but no Redis answers at 127.0.0.1:6379"
