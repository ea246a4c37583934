"""Write the stored occurrences that listings read (events.listing) for every event that needs it, now.

The services write them with every change, and the worker's hourly job writes those of events changed by
other means and rolls open series forward; run this after changing events with SQL by hand (``--all``:
rewrite every event's), or to see how many are due.
"""

import time

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from events import listing
from events.models import Event


class Command(BaseCommand):
    help = gettext_lazy("写入活动列表所用的场次索引（--all 全部重写；可重复运行）")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help=_("先将所有活动标记为需要重写（用 SQL 修改活动之后）"))
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, all: bool = False, quiet: bool = False, **options):
        started = time.monotonic()
        if all:
            Event.objects.update(listed_from=listing.EMPTY, listed_until=listing.EMPTY)
        totals = {"written": 0, "extended": 0, "rows": 0}
        while True:
            done = listing.refresh_due()
            for key in totals:
                totals[key] += done[key]
            if not done["more"]:
                break
        if not quiet:
            self.stdout.write(f"{totals['written']} events written, {totals['extended']} extended, "
                              f"{totals['rows']} occurrences, in {time.monotonic() - started:.1f} s")
