"""Two senders at the same moment (two workers, or a worker and ``manage.py send_notices``), each on its own
database connection: every notice still goes once by each channel, and each delivery records one try."""

import threading
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection

from notices import services
from notices.models import Notice, NoticeDelivery
from tests.conftest import make_user
from tests.notices.common import choose, record
from tests.notices.robot import start_robot, stop_robot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def robot(settings):
    settings.NOTICE_WEBHOOK_HOSTS = ["127.0.0.1"]
    server = start_robot()
    yield server
    stop_robot(server)


def test_two_senders_at_once_deliver_each_notice_once_by_each_channel(robot, settings):
    readers = [make_user(f"judge{i}", "judge", email=f"judge{i}@court.test", phone=f"1390000000{i}")
               for i in range(1, 4)]
    for reader in readers:
        choose(reader, robot.url(key=reader.username), hold_ready=["email", "sms", "webhook"])
    notices = [record(reader, key=f"hold_ready:hold:{n}:{reader.pk}", title=f"书{n}")
               for reader in readers for n in range(3)]
    barrier, completed = threading.Barrier(2), []

    def sender() -> None:
        try:
            barrier.wait()
            completed.append(services.send_pending())
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(completed) == 9  # each notice completed by one of them
    posted = sorted(r.body["text"]["content"].split("\n")[0] + " → " + r.path for r in robot.received)
    assert posted == sorted(f"{n.subject} → /cgi-bin/webhook/send?key={n.patron.username}" for n in notices)
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == sorted((n.patron.email, n.subject) for n in notices)
    sms = sorted(Path(settings.NOTICE_SMS_FILE_PATH).glob("*.txt"))
    assert sorted(p.read_text(encoding="utf-8").split("\n")[1] for p in sms) == sorted(f"Notice: {n.key}" for n in notices)
    assert set(NoticeDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert NoticeDelivery.objects.count() == 27
    assert not Notice.objects.filter(sent_at__isnull=True).exists()
