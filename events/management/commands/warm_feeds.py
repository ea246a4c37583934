"""Serialise and store every event's feed entry now, so no calendar request has to.

Entries are normally written by a job (``feeds.warm``) after an event changes; run this once after installing
or upgrading (``make run`` and the deployment steps do), or after importing events without the services.
"""

import time

from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from events.feeds import refresh_all_fragments


class Command(BaseCommand):
    help = gettext_lazy("预先生成所有活动的日历条目（安装或升级后运行一次；可重复运行）")

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, quiet: bool = False, **options):
        started = time.monotonic()
        built, events = refresh_all_fragments()
        if not quiet:
            self.stdout.write(f"{built} of {events} events serialised in {time.monotonic() - started:.1f} s")
