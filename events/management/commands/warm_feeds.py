"""Serialise and store every event's feed entry now, so no calendar request has to.

Entries are normally written when an event changes; run this once after installing or upgrading (``make run``
and the deployment steps do), or after importing events without the services.
"""

import time

from django.core.management.base import BaseCommand

from events.feeds import refresh_fragments
from events.models import Event


class Command(BaseCommand):
    help = "预先生成所有活动的日历条目（安装或升级后运行一次；可重复运行）"

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, quiet: bool = False, **options):
        started = time.monotonic()
        ids = list(Event.objects.values_list("pk", flat=True))
        built = 0
        for i in range(0, len(ids), 500):
            built += refresh_fragments(ids[i : i + 500])
        if not quiet:
            self.stdout.write(f"{built} of {len(ids)} events serialised in {time.monotonic() - started:.1f} s")
