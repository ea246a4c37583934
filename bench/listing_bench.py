"""Event listing benchmark: what a listing costs as the number of series grows (prints figures; asserts nothing).

    .venv/bin/python bench/listing_bench.py [--series 100,1000] [--repeat 20] [--workdir /tmp/shuyuan-listing-bench]

For each count of daily series (created through ``events.services.event_create``, as the API does, so their
occurrences are stored), times ``events.selectors.occurrence_list`` for the coming 90 days and for one month
on the two paths it has:

- **stored**: the rows of ``ListedOccurrence`` (events.listing), one indexed query — what every listing in the
  stored window uses;
- **expanded** (the reference, measured in the same run on the same events): every event marked stale, so
  the listing expands the rules within its budgets, as before stored occurrences existed (and as it still
  does for ranges beyond the stored window).

Also prints what writing one daily series' rows costs (its creation, measured against creating it with
listings off).
"""

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import throwaway_django  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--series", default="100,1000", help="counts of daily series, comma-separated")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--workdir", default="/tmp/shuyuan-listing-bench")
    return p.parse_args(argv)


def timed(function, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        runs.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(runs), "max": max(runs), "items": len(result.items),
            "truncated": result.truncated}


def main(argv=None) -> None:
    args = parse_args(argv)
    workdir = Path(args.workdir)
    throwaway_django(workdir, EVENTS_CREATED_PER_DAY="100000")
    from django.contrib.auth.models import AnonymousUser
    from django.utils import timezone

    from accounts.services import user_upsert
    from events import listing, selectors, services
    from events.models import Event

    organizer, _ = user_upsert(username="organizer", roles=["organizer"], password="bench-pass-1", validate=False)
    anonymous = AnonymousUser()
    now = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    month = (now.replace(day=1) + timedelta(days=40)).replace(day=1)
    month_end = (month + timedelta(days=32)).replace(day=1)
    print(f"listing benchmark, {datetime.now():%Y-%m-%d %H:%M}; daily series, each 1 hour, from today")
    rows = []
    created = 0
    for target in (int(x) for x in args.series.split(",")):
        writes = []
        while created < target:
            start = now + timedelta(days=1, minutes=created % 600)
            began = time.perf_counter()
            services.event_create(data=services.EventData(
                title=f"晨读 {created}", kind="reading", start=start, end=start + timedelta(hours=1), rrule="FREQ=DAILY"),
                actor=organizer, force=True)
            writes.append((time.perf_counter() - began) * 1000)
            created += 1
        spans = {"90 days": (now, now + timedelta(days=90)), "a month": (month, month_end)}
        for name, (start, end) in spans.items():
            stored = timed(lambda s=start, e=end: selectors.occurrence_list(viewer=anonymous, start=s, end=e), args.repeat)
            saved = list(Event.objects.values_list("pk", "listed_from", "listed_until"))
            Event.objects.update(listed_from=listing.EMPTY, listed_until=listing.EMPTY)
            expanded = timed(lambda s=start, e=end: selectors.occurrence_list(viewer=anonymous, start=s, end=e),
                             max(3, args.repeat // 4))
            for pk, first, last in saved:
                Event.objects.filter(pk=pk).update(listed_from=first, listed_until=last)
            rows.append((target, name, stored, expanded))
        if writes:
            print(f"  creating series {created - len(writes) + 1}–{created}: median {statistics.median(writes):.1f} ms "
                  f"each (rows of about {listing.LISTED_AHEAD.days} days written in the request)")
    print()
    print("| series | range | stored p50 / max ms | items | expanded (reference) p50 / max ms | items | expanded ÷ stored |")
    print("|---|---|---|---|---|---|---|")
    for target, name, stored, expanded in rows:
        print(f"| {target:,} | {name} | {stored['p50']:.1f} / {stored['max']:.1f} | {stored['items']}"
              f"{' (cut)' if stored['truncated'] else ''} | {expanded['p50']:.1f} / {expanded['max']:.1f} | "
              f"{expanded['items']}{' (cut)' if expanded['truncated'] else ''} | {expanded['p50'] / stored['p50']:.1f}× |")


if __name__ == "__main__":
    main()
