"""Daily notices: expire unclaimed holds, then send due-soon, overdue and hold notices and the reminders of
tomorrow's events.

The workers run the same round every day at NOTICES_AT (``events.tasks.send_daily_notices`` in
settings.JOBS_SCHEDULE), so no cron is needed; this command runs it now, inline.  Safe to run any number
of times a day: every notice is recorded under a unique key and sent once; a notice that failed to send
is retried by the next run.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from events.notices import send_daily


class Command(BaseCommand):
    help = gettext_lazy("过期未取的预约顺延给下一位读者，发送到期、逾期、预约通知和明日活动提醒（可重复运行）")

    def add_arguments(self, parser):
        parser.add_argument("--no-expire", action="store_true", help=_("只发通知，不处理过期预约"))

    def handle(self, *args, no_expire: bool = False, **options):
        result = send_daily(expire=not no_expire)
        if "expired_holds" in result:
            self.stdout.write(f"expired holds: {result.pop('expired_holds')}")
        self.stdout.write(" ".join(f"{kind}: {n}" for kind, n in result.items()))
