"""notices.services: one way to write notices (templates, a unique key, delivery queued in the same
transaction) and to send them (claims, retries), for loans, holds and events alike."""

from datetime import datetime

import pytest
from django.core import mail
from django.db import transaction

from accounts.models import Profile, Role
from events import notices as event_notices
from events import services as event_services
from jobs.models import Job
from library import notices as library_notices
from library.circulation import loan_checkout
from library.models import Loan
from library.services import book_create, copy_create
from notices import channels, services
from notices.models import Notice, NoticeDelivery
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
    Profile.objects.update_or_create(user=judges[0], defaults={"display_name": "王法官"})
    book = book_create(title="民法典评注 & <担保>", clc="D923")
    copy_create(book=book, barcode="C1")
    return loan_checkout(patron=judges[0], actor=judges[0], book=book)


# --- writing ----------------------------------------------------------------------------------------------


def test_a_loan_notice_is_rendered_from_its_templates_as_plain_text(loan, settings):
    settings.SITE_URL = "https://shuyuan.court.test"
    loan = Loan.objects.select_related("patron__profile", "book", "copy").get(pk=loan.pk)  # as the daily round reads it
    with transaction.atomic():
        notice = library_notices._due_soon(loan)

    assert notice.subject == "即将到期：《民法典评注 & <担保>》应于 2027-01-01 归还"  # not HTML-escaped
    assert notice.body.startswith("王法官，您好：\n\n您借阅的《民法典评注 & <担保>》（条码 C1）应于 2027-01-01 归还。")
    assert "可以续借：https://shuyuan.court.test/me" in notice.body
    assert "Due on 2027-01-01" in notice.body
    assert notice.body.endswith("—— 法官书苑 https://shuyuan.court.test\n")
    assert (notice.kind, notice.about, notice.key) == ("due_soon", f"loan:{loan.pk}", f"due_soon:loan:{loan.pk}:2027-01-01")


def test_an_event_notice_goes_through_the_same_path(judges, settings):
    settings.SITE_URL = "https://shuyuan.court.test"
    venue = event_services.venue_create(name="二楼 书苑")
    data = event_services.EventData(title="读者沙龙", kind="salon", start=datetime(2026, 12, 9, 15, 0, tzinfo=SH),
                                    end=datetime(2026, 12, 9, 17, 0, tzinfo=SH), venue=venue.pk, capacity=10)
    event = event_services.event_create(data=data, actor=make_user("org", Role.ORGANIZER))
    registration = event_services.registration_create(event=event, user=judges[1])

    notice = Notice.objects.get(kind="registered")

    assert notice.subject == "报名成功：读者沙龙"
    assert "您已报名「读者沙龙」（读者沙龙），时间 2026-12-09 15:00，地点 二楼 书苑。" in notice.body
    assert f"https://shuyuan.court.test/events/{event.pk}" in notice.body
    assert (notice.patron, notice.about) == (judges[1], f"registration:{registration.pk}")
    assert event_notices.registered(registration) is None  # the same key is not written twice


def test_a_registration_for_a_moved_occurrence_is_told_its_new_time_title_and_place(judges, settings):
    """The notice (and its e-mail) gave the occurrence's original time and the series' venue: a judge registered
    for the tea talk moved a week later was told the old Friday (routine walk)."""
    settings.SITE_URL = "https://shuyuan.court.test"
    organizer = make_user("org", Role.ORGANIZER)
    room = event_services.venue_create(name="二楼 书苑")
    hall = event_services.venue_create(name="一楼 报告厅")
    first = datetime(2027, 2, 5, 15, 0, tzinfo=SH)
    data = event_services.EventData(title="法官茶座", kind="tea_talk", start=first, end=datetime(2027, 2, 5, 16, 30, tzinfo=SH),
                                    venue=room.pk, rrule="FREQ=MONTHLY;BYDAY=1FR;COUNT=3")
    event = event_services.event_create(data=data, actor=organizer)
    event_services.override_set(event=event, actor=organizer, recurrence_id=first, changes={
        "start": datetime(2027, 2, 12, 15, 0, tzinfo=SH), "venue": hall.pk, "title": "法官茶座（改期）"})

    event_services.registration_create(event=event, user=judges[1], occurrence=first)
    notice = Notice.objects.get(kind="registered")

    assert notice.subject == "报名成功：法官茶座（改期）"
    assert "您已报名「法官茶座（改期）」（法官茶座），时间 2027-02-12 15:00，地点 一楼 报告厅。" in notice.body


def test_a_subject_is_one_line_of_at_most_200_characters(judges):
    subject, _ = services.render("library/notices/hold_ready", {"hold": _Hold("长" * 300 + "\n第二行")},
                                 patron=judges[0])

    assert "\n" not in subject and len(subject) == 200


class _Hold:
    """What the hold templates read."""

    def __init__(self, title):
        self.book = type("B", (), {"title": title})()
        self.copy = type("C", (), {"barcode": "C9"})()
        self.pickup_by = datetime(2026, 12, 6, tzinfo=SH).date()


def test_recording_many_notices_queues_one_delivery(judges):
    with transaction.atomic():
        for judge in judges:
            services.record(key=f"test:{judge.pk}", kind=Notice.Kind.HOLD_READY, patron=judge,
                            template="library/notices/hold_ready", context={"hold": _Hold("民法典")})

    assert mail.outbox == []
    assert list(Job.objects.filter(key="notices.send").values_list("state", flat=True)) == ["queued"]
    assert run_queued_jobs(key="notices.send")[0].summary == {"sent": 2}
    assert sorted(m.to[0] for m in mail.outbox) == ["judge1@court.test", "judge2@court.test"]


# --- sending ----------------------------------------------------------------------------------------------


def test_a_notice_another_sender_is_mailing_is_left_to_it_until_its_claim_is_stale(loan, clock):
    clock.move_to(datetime(2026, 12, 30, 7, 0, tzinfo=SH))
    with transaction.atomic():
        library_notices._due_soon(loan)
    Notice.objects.update(sending_since=datetime(2026, 12, 30, 6, 55, tzinfo=SH))  # another worker, 5 minutes ago

    assert services.send_pending() == 0
    clock.move_to(datetime(2026, 12, 30, 7, 6, tzinfo=SH))  # its claim is 11 minutes old: that sender died
    assert services.send_pending() == 1
    assert services.send_pending() == 0

    assert len(mail.outbox) == 1
    notice = Notice.objects.get()
    assert (notice.sent_at is not None, notice.sending_since) == (True, None)


def test_a_failed_send_releases_its_claim_for_the_next_try(loan, clock, monkeypatch):
    clock.move_to(datetime(2026, 12, 30, 7, 0, tzinfo=SH))
    with transaction.atomic():
        library_notices._due_soon(loan)
    monkeypatch.setattr(channels, "send_mail", lambda *a, **k: (_ for _ in ()).throw(OSError("mail server down")))

    job = run_queued_jobs(key="notices.send")[0]

    assert (job.state, job.summary, Notice.objects.get().sending_since) == ("done", {"sent": 0}, None)
    monkeypatch.undo()
    clock.move_to(datetime(2026, 12, 30, 7, 5, tzinfo=SH))  # the next try's time (NOTICE_RETRY_SECONDS)
    assert services.send_pending() == 1


def test_a_reader_without_an_email_address_has_the_notice_kept_as_sent(judges):
    judges[0].email = ""
    judges[0].save()
    with transaction.atomic():
        services.record(key="no-mail", kind=Notice.Kind.HOLD_READY, patron=judges[0],
                        template="library/notices/hold_ready", context={"hold": _Hold("民法典")})

    assert services.send_pending() == 1
    assert mail.outbox == [] and Notice.objects.get().sent_at is not None
    assert list(NoticeDelivery.objects.values_list("channel", "status")) == [("email", "skipped")]
