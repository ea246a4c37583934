"""Daily circulation housekeeping: expire unclaimed holds, then send due-soon, overdue and hold notices.

Safe to run any number of times a day (cron or a systemd timer): every notice is recorded under a
unique key and sent once; a notice that failed to send is retried by the next run.
"""

from django.core.management.base import BaseCommand

from library.circulation import holds_expire
from library.notices import send_notices


class Command(BaseCommand):
    help = "过期未取的预约顺延给下一位读者，并发送到期、逾期和预约通知（可重复运行）"

    def add_arguments(self, parser):
        parser.add_argument("--no-expire", action="store_true", help="只发通知，不处理过期预约")

    def handle(self, *args, no_expire: bool = False, **options):
        if not no_expire:
            expired = holds_expire()
            self.stdout.write(f"expired holds: {expired}")
        result = send_notices()
        self.stdout.write(" ".join(f"{kind}: {n}" for kind, n in result.items()))
