"""Calendar feed benchmark: build time of a large feed and the cost of a 304 (prints figures; asserts nothing).

    .venv/bin/python bench/feed_bench.py [--events 1000] [--series 50] [--repeat 20] [--workdir /tmp/shuyuan-feed-bench]

Generates a deterministic schedule — ``--events`` events of which ``--series`` are recurring series
spread over two years (weekly and monthly rules, with moved and cancelled occurrences) — in a
throwaway SQLite database, then measures:

1. a cold build: every event serialised by icalendar (``events.ical.build_calendar``), as on the very
   first request after installation; afterwards each event's serialised entry is kept
   (``FeedFragment``) until the event changes;
2. ``GET /calendar/events.ics`` after one event changed (its title): one light query for the stamps,
   the stored entries of the other 999 events, the changed one serialised again, then hash, gzip and
   cache write — what every feed generation costs in normal operation;
3. a conditional ``GET`` answered 304 (``If-None-Match``), the request calendar apps repeat every hour.

Targets of the calendar-feed issue: generation ≤ 200 ms; 304 < 5 ms.
"""

import argparse
import os
import random
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
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--series", type=int, default=50)
    p.add_argument("--repeat", type=int, default=20, help="timed builds / full GETs")
    p.add_argument("--repeat-304", type=int, default=300, help="timed 304 answers")
    p.add_argument("--workdir", default="/tmp/shuyuan-feed-bench")
    p.add_argument("--seed", type=int, default=20261125)
    return p.parse_args(argv)


def setup_django(workdir: Path) -> None:
    throwaway_django(workdir, SITE_URL="https://library.example")


def generate(events: int, series: int, seed: int) -> None:
    from zoneinfo import ZoneInfo

    from django.contrib.auth.models import User

    from events.models import Event, Override, Speaker, Venue
    from events.recurrence import normalize_rrule, original_starts

    rng = random.Random(seed)
    tz = ZoneInfo("Asia/Shanghai")
    organizer = User.objects.create(username="organizer")
    venues = [Venue.objects.create(name=f"会议室{i}", location=f"院本部{i}楼", capacity=30) for i in range(10)]
    kinds = ["salon", "seminar", "tea_talk", "reading", "lecture"]
    base = datetime(2026, 1, 5, 9, 0, tzinfo=tz)
    rules = ["FREQ=WEEKLY;BYDAY={day};COUNT=100", "FREQ=MONTHLY;BYDAY=1{day};COUNT=24", "FREQ=WEEKLY;INTERVAL=2;BYDAY={day}"]
    days = ["MO", "TU", "WE", "TH", "FR"]
    rows = []
    for i in range(events):
        start = base + timedelta(days=rng.randint(0, 729), hours=rng.randint(0, 9))
        rule = ""
        if i < series:
            day = days[i % 5]
            start = base + timedelta(days=i % 5, hours=rng.randint(0, 9))  # a Monday…Friday
            rule = rules[i % 3].format(day=day)
            start = _first(rule, start)
            rule = normalize_rrule(rule, start=start)
        rows.append(Event(
            kind=kinds[i % 5], title=f"{['读者沙龙', '法学研讨会', '法官茶座', '读书活动', '讲座'][i % 5]}第{i}期：担保物权与执行",
            description="围绕民法典物权编，交流审判实践中的新问题；欢迎各庭室法官参加。" * 2,
            start=start, end=start + timedelta(minutes=rng.choice([60, 90, 120])), venue=rng.choice(venues),
            rrule=rule, created_by=organizer,
        ))
    Event.objects.bulk_create(rows, batch_size=500)
    speakers = []
    for event in Event.objects.all():
        speakers.append(Speaker(event=event, name=rng.choice(["张明", "巴特尔", "李娜"]), role="主讲人"))
        if event.rrule:
            originals = original_starts(event, event.start, event.start + timedelta(days=730))
            for k, rid in enumerate(originals[2:6]):
                status = "cancelled" if k % 2 else "scheduled"
                Override.objects.create(event=event, recurrence_id=rid, start=rid + timedelta(days=1),
                                        end=rid + timedelta(days=1) + (event.end - event.start), status=status)
    Speaker.objects.bulk_create(speakers)


def _first(rule: str, start: datetime) -> datetime:
    from dateutil.rrule import rrulestr

    return rrulestr(rule, dtstart=start).after(start, inc=True)


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   min {ms[0]:7.1f} ms"


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django(Path(args.workdir))
    from django.core.cache import cache
    from django.test import Client

    from events.feeds import _events
    from events.ical import build_calendar
    from events.models import Event, Override
    from events.receivers import bump_feeds

    t = time.perf_counter()
    generate(args.events, args.series, args.seed)
    print(f"feed benchmark: {Event.objects.count()} events ({Event.objects.exclude(rrule='').count()} series, "
          f"{Override.objects.count()} overrides) generated in {time.perf_counter() - t:.1f} s; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")

    body = build_calendar(_events().all(), name="法官书苑活动")
    print(f"feed size: {len(body) / 1024:.0f} KiB, {body.count(b'BEGIN:VEVENT')} VEVENTs")
    build = timed(lambda: build_calendar(_events().all(), name="法官书苑活动"), args.repeat)
    print(f"[1] cold build, every event serialised (queries + icalendar): {summary(build)}")

    client = Client()
    client.get("/calendar/events.ics")  # stores every event's entry
    victims = list(Event.objects.order_by("?")[: args.repeat])

    def full_get():
        event = victims.pop()
        event.title += "（改）"
        event.save()
        bump_feeds()  # what the commit of that change does
        response = client.get("/calendar/events.ics")
        assert response.status_code == 200 and "（改）".encode() in response.content

    full = timed(full_get, args.repeat)
    print(f"[2] GET /calendar/events.ics after one event changed:     {summary(full)}")

    etag = client.get("/calendar/events.ics")["ETag"]

    def conditional():
        response = client.get("/calendar/events.ics", headers={"If-None-Match": etag})
        assert response.status_code == 304

    conditional()
    not_modified = timed(conditional, args.repeat_304)
    print(f"[3] conditional GET answered 304:                           {summary(not_modified)}")
    cache.clear()

    p50_cold, p50_full, p50_304 = statistics.median(build), statistics.median(full), statistics.median(not_modified)
    verdict = {True: "PASS", False: "FAIL"}
    print(f"\ntargets: generation after a change ≤ 200 ms: {verdict[p50_full <= 200]} ({p50_full:.0f} ms p50); "
          f"cold first build ≤ 200 ms: {verdict[p50_cold <= 200]} ({p50_cold:.0f} ms p50); "
          f"304 < 5 ms: {verdict[p50_304 < 5]} ({p50_304:.1f} ms p50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
