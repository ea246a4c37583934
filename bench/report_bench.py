"""Report benchmark: each report's ORM path against hand-written SQL for the same figures (prints figures).

    .venv/bin/python bench/report_bench.py [--database sqlite | postgres://USER@HOST:PORT/NAME]
                                           [--loans 1000000] [--registrations 100000] [--downloads 100000]
                                           [--repeat 3] [--reuse] [--only SLUG …]
                                           [--workdir /tmp/shuyuan-report-bench]

Generates a throwaway library (SQLite under ``--workdir``; or the PostgreSQL database NAME, dropped and created
again — it must contain "bench"): 2,000 readers in 20 divisions, 20,000 books with 40,000 copies at three
locations, ``--loans`` loans over three years (the last 20,000 still out), 500 events over the same years with
``--registrations`` registrations and check-ins at 60% of the confirmed ones, 1,000 papers with ``--downloads``
full-text downloads (one in ten anonymous).  The bulk rows are written by the
database itself (``generate_series`` on PostgreSQL, a recursive CTE on SQLite) into tables whose secondary indexes
(and, on PostgreSQL, foreign keys) are dropped first and made again after the insert: building an index once over
sorted rows is many times cheaper than keeping ten of them up row by row.

Then, for twelve months of it, times each report's ``tables()`` — exactly what its page, export and API call —
against the fastest SQL written by hand for the same figures, checks that both give the same numbers, and
prints the median of ``--repeat`` runs (after one warm-up; the two sides' runs alternate) and the ratio (issue
20's target: within 2×), with the machine's load average.

Django sets itself up once per process, so one run measures one database; ``make bench-reports`` runs SQLite,
then PostgreSQL when one answers.  Figures: docs/performance.md ("Reports").
"""

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import check_database_arg, throwaway_django  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
#: The generated history: three years of loans and events ending 2026-11-30; the reports read its last twelve
#: months (and, for the trend columns, the twelve before), "today" being 2026-12-01.
T0 = datetime(2023, 12, 1, 8, 0, tzinfo=SH)
SPAN = 3 * 365 * 86400
START, END, TODAY = date(2025, 12, 1), date(2026, 11, 30), date(2026, 12, 20)
READERS, DIVISIONS, BOOKS, COPIES, OUT, EVENTS, CAPACITY, PAPERS = 2000, 20, 20000, 40000, 20000, 500, 150, 1000
#: Copies lent: the others (2,000) never were, for the weeding report.
LENT = 38000
LOCATIONS = ("院本部", "棋盘井法庭", "乌兰木伦法庭")
CLASSES = ("D9", "D92", "D923", "D924", "D922", "F8", "TP3", "B1", "K2", "C9")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database", default="sqlite", help="sqlite, or postgres://USER@HOST:PORT/NAME")
    p.add_argument("--loans", type=int, default=1_000_000)
    p.add_argument("--registrations", type=int, default=100_000)
    p.add_argument("--downloads", type=int, default=100_000, help="papers' full-text downloads")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workdir", default="/tmp/shuyuan-report-bench")
    p.add_argument("--reuse", action="store_true",
                   help="time the library a previous run generated (same --database and --workdir) instead of a new one")
    p.add_argument("--only", nargs="*", default=(), help="time only these reports (slugs)")
    args = p.parse_args(argv)
    check_database_arg(p, args)
    if args.loans < OUT or args.registrations < EVENTS:
        p.error(f"at least {OUT} loans and {EVENTS} registrations")
    return args


def recreate_pg(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    conf = dj_database_url.parse(url)
    with psycopg.connect(dbname="postgres", user=conf["USER"] or None, password=conf["PASSWORD"] or None,
                         host=conf["HOST"] or "127.0.0.1", port=conf["PORT"] or 5432, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(conf["NAME"])))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(conf["NAME"])))


# --- the data ----------------------------------------------------------------------------------------------------


def generate(args) -> dict:
    """Readers, books, copies and events through the ORM (bulk_create; thousands of rows), loans, registrations
    and check-ins by the database (millions).  Returns what the hand-written SQL needs to know."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from accounts.models import Profile, Role
    from events.models import Attendance, Event, ListedOccurrence, Registration
    from library.models import Book, Copy, Loan, Location, Paper, PaperDownload

    User = get_user_model()  # noqa: N806 - the model, named as the model
    pg = connection.vendor == "postgresql"
    with transaction.atomic():
        for i, name in enumerate(LOCATIONS):
            Location.objects.update_or_create(name=name, defaults={"code": f"loc{i}", "pickup": True, "position": i})
        users = User.objects.bulk_create([User(username=f"reader{i:04d}", password="!") for i in range(READERS)])
        # Division 19 has two people: the smallest group a privacy rule must deal with.
        Profile.objects.bulk_create([Profile(user=u, display_name=f"读者{i}", division=f"第{i % (DIVISIONS - 1) + 1:02d}庭"
                                             if i >= 2 else "第20庭") for i, u in enumerate(users)])
        judge = Group.objects.get(name=Role.JUDGE)
        User.groups.through.objects.bulk_create([User.groups.through(user_id=u.pk, group_id=judge.pk) for u in users])
        books = Book.objects.bulk_create([Book(title=f"书{i:05d}", clc=CLASSES[i % len(CLASSES)],
                                               call_number=f"{CLASSES[i % len(CLASSES)]}/{i}") for i in range(BOOKS)])
        copies = Copy.objects.bulk_create([Copy(book=books[i // 2], barcode=f"B{i:06d}", location=LOCATIONS[i % 3],
                                                acquired_on=date(2015, 1, 1)) for i in range(COPIES)])
        kinds = list(Event.Kind.values)
        step = SPAN // EVENTS
        events = Event.objects.bulk_create([
            Event(kind=kinds[k % len(kinds)], title=f"活动{k:03d}", start=T0 + timedelta(seconds=k * step + 6 * 3600),
                  end=T0 + timedelta(seconds=k * step + 8 * 3600), capacity=CAPACITY,
                  status=Event.Status.CANCELLED if k % 25 == 0 else Event.Status.SCHEDULED)
            for k in range(EVENTS)])
        ListedOccurrence.objects.bulk_create([
            ListedOccurrence(event=e, recurrence_id=e.start, start=e.start, end=e.end, title=e.title, status=e.status,
                             kind=e.kind, visibility=e.visibility) for e in events])
        papers = Paper.objects.bulk_create([
            Paper(title=f"调研{i:04d}", kind=Paper.Kind.values[i % len(Paper.Kind.values)], year=2015 + i % 12)
            for i in range(PAPERS)])
    ids = {"u0": users[0].pk, "b0": books[0].pk, "c0": copies[0].pk, "e0": events[0].pk, "p0": papers[0].pk}
    assert users[-1].pk - ids["u0"] == READERS - 1 and copies[-1].pk - ids["c0"] == COPIES - 1
    assert books[-1].pk - ids["b0"] == BOOKS - 1 and events[-1].pk - ids["e0"] == EVENTS - 1
    assert papers[-1].pk - ids["p0"] == PAPERS - 1

    n, r, d = args.loans, args.registrations, args.downloads
    step = SPAN / n
    loan, reg, att, occ, dl = (Loan._meta.db_table, Registration._meta.db_table, Attendance._meta.db_table,
                               ListedOccurrence._meta.db_table, PaperDownload._meta.db_table)

    def numbers(count: int) -> str:
        """0 … count − 1 as rows of one column ``i``."""
        if pg:
            return f"generate_series(0, {count - 1}) AS s(i)"
        return (f"(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {count - 1}) "
                "SELECT i FROM s)")

    series, reg_series, dl_series = numbers(n), numbers(r), numbers(d)
    if pg:
        t0 = f"'{T0.isoformat()}'::timestamptz"
        day, false = "({})::date", "false"
    else:  # datetimes are text in UTC ('YYYY-MM-DD HH:MM:SS'), as Django writes them
        t0 = f"'{T0.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M:%S}'"
        day, false = "date({})", "0"

    def shift(expr: str, seconds: str) -> str:
        if pg:
            return f"({expr} + make_interval(secs => {seconds}))"
        return f"datetime({expr}, printf('%+d seconds', {seconds}))"

    offset = f"CAST(i * {step!r} AS INTEGER)"
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        rebuild = [statement for table in (loan, reg, att, dl) for statement in drop_indexes(cur, table, pg)]
        # Loan i: copy i mod 38,000 (book = copy's), reader 7i mod 2,000, due 7-56 days later; the last 20,000 are
        # still out (each copy and each reader-book pair at most once), overdue 1-35 days on TODAY.
        cur.execute(f"""
            INSERT INTO {loan} (copy_id, book_id, patron_id, borrowed_at, due_date, renewals, status, returned_at,
                                channel)
            SELECT {ids['c0']} + i % {LENT}, {ids['b0']} + (i % {LENT}) / 2, {ids['u0']} + (i * 7) % {READERS},
                   {shift(t0, offset)}, {day.format(shift(t0, f"{offset} + (7 + i % 50) * 86400"))}, 0,
                   CASE WHEN i >= {n - OUT} THEN 'active' ELSE 'returned' END,
                   CASE WHEN i >= {n - OUT} THEN NULL ELSE {shift(t0, f"{offset} + (5 + i % 40) * 86400")} END, 'api'
            FROM {series}""")
        # Registration i: event i mod 500, its (i div 500)-th registration: the first 150 confirmed (every 20th
        # cancelled), the rest waitlisted; those from the 140th on went through the waitlist, 140-149 promoted.
        k = f"(i / {EVENTS})"
        cur.execute(f"""
            INSERT INTO {reg} (event_id, occurrence, user_id, status, created_at, was_waitlisted, promoted_at,
                               cancelled_at, checked_in_at)
            SELECT o.event_id, NULL, {ids['u0']} + ({k} * 10 + i % {EVENTS}) % {READERS},
                   CASE WHEN {k} >= {CAPACITY} THEN 'waitlisted' WHEN {k} % 20 = 19 THEN 'cancelled'
                        ELSE 'confirmed' END,
                   {shift("o.start", f"{k} * 60 - 10 * 86400")}, {k} >= 140,
                   CASE WHEN {k} >= 140 AND {k} < {CAPACITY} THEN {shift("o.start", "-2 * 86400")} END,
                   CASE WHEN {k} < {CAPACITY} AND {k} % 20 = 19 THEN {shift("o.start", "-86400")} END, NULL
            FROM {reg_series} JOIN {occ} o ON o.event_id = {ids['e0']} + i % {EVENTS}""")
        cur.execute(f"""
            INSERT INTO {att} (event_id, occurrence, user_id, registration_id, checked_in_at, method, walk_in)
            SELECT r.event_id, o.recurrence_id, r.user_id, r.id, {shift("o.start", "300")}, 'desk', {false}
            FROM {reg} r JOIN {occ} o ON o.event_id = r.event_id
            WHERE r.status = 'confirmed' AND r.id % 5 < 3""")
        # Download i: paper i² mod 1,000 (some papers far more read than others; squared after the modulo, within
        # PostgreSQL's integer), every tenth anonymous.
        cur.execute(f"""
            INSERT INTO {dl} (paper_id, reader_id, at)
            SELECT {ids['p0']} + (i % {PAPERS}) * (i % {PAPERS}) % {PAPERS}, CASE WHEN i % 10 = 0 THEN NULL ELSE {ids['u0']} + (i * 11) % {READERS} END,
                   {shift(t0, f"CAST(i * {SPAN / d!r} AS INTEGER)")}
            FROM {dl_series}""")
        inserted = time.perf_counter()
        for statement in rebuild:
            cur.execute(statement)
    print(f"inserted in {inserted - started:.1f} s, indexes and keys made again in "
          f"{time.perf_counter() - inserted:.1f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE" if pg else "ANALYZE")
    print(f"generated {Loan.objects.count():,} loans, {Registration.objects.count():,} registrations, "
          f"{Attendance.objects.count():,} check-ins, {PaperDownload.objects.count():,} paper downloads in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return ids




def drop_indexes(cur, table: str, pg: bool) -> list[str]:
    """Drop ``table``'s secondary indexes (those behind conditional unique constraints included: the generated
    rows keep them) and, on PostgreSQL, its foreign keys; return the statements that make them again."""
    if pg:
        cur.execute("""SELECT i.indexname, i.indexdef FROM pg_indexes i
                       WHERE i.tablename = %s AND NOT EXISTS (
                           SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""", [table])
        indexes = cur.fetchall()
        cur.execute("""SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                       WHERE conrelid = %s::regclass AND contype = 'f'""", [table])
        keys = cur.fetchall()
    else:
        cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                    [table])
        indexes, keys = cur.fetchall(), []
    quote = cur.db.ops.quote_name
    for name, _definition in keys:
        cur.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    for name, _definition in indexes:
        cur.execute(f"DROP INDEX {quote(name)}")
    return ([definition for _name, definition in indexes]
            + [f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}" for name, definition in keys])


# --- the figures: each report's ORM path and the hand-written SQL --------------------------------------------------


class Sql:
    """Hand-written SQL in the database's dialect: literals for the range (constants of this benchmark), the
    month of an instant in library time."""

    def __init__(self):
        from django.db import connection

        from accounts.models import Profile
        from events.models import Attendance, Event, ListedOccurrence, Registration, Venue
        from library.models import Book, CirculationEvent, Copy, Hold, Loan, Location, Paper, PaperDownload

        self.connection = connection
        self.pg = connection.vendor == "postgresql"
        self.t = {name: model._meta.db_table for name, model in {
            "loan": Loan, "copy": Copy, "book": Book, "hold": Hold, "circ": CirculationEvent, "loc": Location,
            "paper": Paper, "dl": PaperDownload,
            "profile": Profile, "user": Profile._meta.get_field("user").related_model, "event": Event,
            "occ": ListedOccurrence, "reg": Registration, "att": Attendance, "venue": Venue}.items()}
        self.gone = ", ".join(f"'{s}'" for s in Copy.GONE)

    def at(self, value: datetime) -> str:
        if self.pg:
            return f"'{value.isoformat()}'::timestamptz"
        return f"'{value.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M:%S}'"

    def day(self, value: date) -> str:
        return f"'{value.isoformat()}'::date" if self.pg else f"'{value.isoformat()}'"

    def month(self, column: str) -> str:
        if self.pg:
            return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
        return f"strftime('%Y-%m', {column}, '+8 hours')"  # Beijing: UTC+8, no daylight saving since 1991

    def rows(self, query: str) -> list[tuple]:
        with self.connection.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()

    def between(self, column: str, f) -> str:
        return f"{column} >= {self.at(f.since)} AND {column} < {self.at(f.until)}"

    def held(self, f) -> str:
        """The FROM/WHERE of check-ins at the sessions held in ``f``'s range (as reports.event_reports)."""
        t = self.t
        return (f"{t['att']} a JOIN {t['occ']} o ON o.event_id = a.event_id AND o.recurrence_id = a.occurrence "
                f"JOIN {t['event']} e ON e.id = o.event_id "
                f"WHERE {self.between('a.occurrence', f)} AND {self.between('o.start', f)} "
                "AND o.status = 'scheduled' AND e.status = 'scheduled'")


def circulation(f, sql: Sql):
    from reports.filters import add_months
    from reports.library_reports import CirculationReport, month_key

    def orm():
        months, groups = CirculationReport().tables(f)
        return [tuple(r) for r in months.rows], sorted(tuple(r) for r in groups.rows)

    t = sql.t
    measures = (
        ("borrowed_at", f"{t['loan']} x JOIN {t['copy']} c ON c.id = x.copy_id", "c.location", "1 = 1"),
        ("returned_at", f"{t['loan']} x JOIN {t['copy']} c ON c.id = x.copy_id", "c.location",
         "x.returned_at IS NOT NULL"),
        ("at", f"{t['circ']} x LEFT JOIN {t['copy']} c ON c.id = x.copy_id", "COALESCE(c.location, '')",
         "x.action = 'renew'"),
        ("created_at", f"{t['hold']} x JOIN {t['loc']} c ON c.id = x.pickup_location_id", "c.name", "1 = 1"),
        ("closed_at", f"{t['hold']} x JOIN {t['loc']} c ON c.id = x.pickup_location_id", "c.name",
         "x.status = 'fulfilled'"),
    )

    def hand():
        counts = []
        for scope in (f, f.last_year()):
            for when, source, group, condition in measures:
                found = sql.rows(f"SELECT {sql.month('x.' + when)}, {group}, COUNT(*) FROM {source} "
                                 f"WHERE {condition} AND {sql.between('x.' + when, scope)} GROUP BY 1, 2")
                counts.append({(m, g): n for m, g, n in found})
        months, groups = [], []
        for first in f.months():
            key, ly = month_key(first), month_key(add_months(first, -12))
            months.append((key, *(sum(n for (m, _g), n in c.items() if m == key) for c in counts[:5]),
                           *(sum(n for (m, _g), n in c.items() if m == ly) for c in counts[5:])))
            present = {g for c in counts[:5] for (m, g) in c if m == key} | {g for (m, g) in counts[5] if m == ly}
            groups.extend((key, g or "（未知）", *(c.get((key, g), 0) for c in counts[:5]), counts[5].get((ly, g), 0))
                          for g in present)
        return months, sorted(groups)

    return orm, hand


def top_books(f, sql: Sql):
    from reports.library_reports import TopBooksReport, class_label

    def orm():
        books, classes = TopBooksReport().tables(f)
        return [tuple(r) for r in books.rows], [tuple(r) for r in classes.rows]

    t = sql.t

    def hand():
        ranked = sql.rows(f"""
            SELECT b.title, b.call_number, b.clc, top.n, top.readers FROM (
                SELECT book_id, COUNT(*) AS n, COUNT(DISTINCT patron_id) AS readers FROM {t['loan']}
                WHERE {sql.between('borrowed_at', f)} GROUP BY book_id ORDER BY n DESC, book_id LIMIT {f.top}) top
            JOIN {t['book']} b ON b.id = top.book_id ORDER BY top.n DESC, top.book_id""")
        classes = sql.rows(f"""
            SELECT substr(b.clc, 1, 1), COUNT(*), COUNT(DISTINCT l.book_id), COUNT(DISTINCT l.patron_id)
            FROM {t['loan']} l JOIN {t['book']} b ON b.id = l.book_id WHERE {sql.between('l.borrowed_at', f)}
            GROUP BY 1 ORDER BY 1""")
        return ([(rank, *row) for rank, row in enumerate(ranked, start=1)],
                [(class_label(c), n, titles, readers) for c, n, titles, readers in classes])

    return orm, hand


def top_papers(f, sql: Sql):
    from library.models import Paper
    from reports.library_reports import TopPapersReport

    def orm():
        papers, kinds = TopPapersReport().tables(f)
        return [tuple(r) for r in papers.rows], [tuple(r) for r in kinds.rows]

    t = sql.t
    labels = {kind.value: str(kind.label) for kind in Paper.Kind}
    order = list(labels)

    def hand():
        ranked = sql.rows(f"""
            SELECT p.title, p.kind, p.year, top.n, top.readers FROM (
                SELECT paper_id, COUNT(*) AS n, COUNT(DISTINCT reader_id) AS readers FROM {t['dl']}
                WHERE {sql.between('at', f)} GROUP BY paper_id ORDER BY n DESC, paper_id LIMIT {f.top}) top
            JOIN {t['paper']} p ON p.id = top.paper_id ORDER BY top.n DESC, top.paper_id""")
        kinds = sql.rows(f"""
            SELECT p.kind, COUNT(*), COUNT(DISTINCT d.paper_id), COUNT(DISTINCT d.reader_id)
            FROM {t['dl']} d JOIN {t['paper']} p ON p.id = d.paper_id WHERE {sql.between('d.at', f)} GROUP BY 1""")
        return ([(rank, title, labels[kind], year, n, readers)
                 for rank, (title, kind, year, n, readers) in enumerate(ranked, start=1)],
                [(labels[kind], *rest) for kind, *rest in sorted(kinds, key=lambda r: order.index(r[0]))])

    return orm, hand


def never_borrowed(f, sql: Sql):
    from reports.library_reports import NeverBorrowedReport, class_label, percent

    def orm():
        return [tuple(r) for r in NeverBorrowedReport().tables(f)[0].rows]

    t = sql.t
    created = ("(c.created_at AT TIME ZONE 'Asia/Shanghai')::date" if sql.pg
               else "date(c.created_at, '+8 hours')")

    def hand():
        found = sql.rows(f"""
            SELECT substr(b.clc, 1, 1), COUNT(*),
                   SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM {t['loan']} l WHERE l.copy_id = c.id) THEN 1 ELSE 0 END)
            FROM {t['copy']} c JOIN {t['book']} b ON b.id = c.book_id
            WHERE c.status NOT IN ({sql.gone}) AND COALESCE(c.acquired_on, {created}) <= {sql.day(f.end)}
            GROUP BY 1 ORDER BY 1""")
        return [(class_label(c), n, never, percent(never, n)) for c, n, never in found]

    return orm, hand


def overdue(f, sql: Sql):
    from reports.library_reports import BUCKETS, OverdueReport

    def orm():
        buckets, groups = OverdueReport().tables(f)
        return [tuple(r) for r in buckets.rows], [tuple(r) for r in groups.rows]

    t = sql.t

    def when(low, high):
        q = f"l.due_date <= {sql.day(f.today - timedelta(days=low))}"
        return q + (f" AND l.due_date >= {sql.day(f.today - timedelta(days=high))}" if high is not None else "")

    def hand():
        source = (f"{t['loan']} l JOIN {t['copy']} c ON c.id = l.copy_id "
                  f"WHERE l.status = 'active' AND l.due_date < {sql.day(f.today)}")
        figures = ", ".join(f"SUM(CASE WHEN {when(low, high)} THEN 1 ELSE 0 END), "
                            f"COUNT(DISTINCT CASE WHEN {when(low, high)} THEN l.patron_id END)"
                            for _k, _l, low, high in BUCKETS)
        found = sql.rows(f"SELECT {figures} FROM {source}")[0]
        buckets = [(str(label), found[2 * i] or 0, found[2 * i + 1]) for i, (_k, label, _l, _h) in enumerate(BUCKETS)]
        per = ", ".join(f"SUM(CASE WHEN {when(low, high)} THEN 1 ELSE 0 END)" for _k, _l, low, high in BUCKETS)
        groups = sql.rows(f"SELECT c.location, {per}, COUNT(*) FROM {source} GROUP BY c.location ORDER BY c.location")
        return buckets, [tuple(r) for r in groups]

    return orm, hand


def readers(f, sql: Sql):
    from reports.filters import division_label
    from reports.reader_reports import ActiveReadersReport

    def orm():
        return [tuple(r[:5]) for r in ActiveReadersReport().tables(f)[0].rows]

    t = sql.t

    def hand():
        found = sql.rows(f"""
            WITH b AS (SELECT DISTINCT patron_id AS id FROM {t['loan']} WHERE {sql.between('borrowed_at', f)}),
                 a AS (SELECT DISTINCT a.user_id AS id FROM {sql.held(f)})
            SELECT COALESCE(p.division, ''), COUNT(*), COUNT(b.id), COUNT(a.id),
                   SUM(CASE WHEN b.id IS NOT NULL OR a.id IS NOT NULL THEN 1 ELSE 0 END)
            FROM {t['user']} u LEFT JOIN {t['profile']} p ON p.user_id = u.id LEFT JOIN b ON b.id = u.id
                 LEFT JOIN a ON a.id = u.id
            WHERE u.is_active GROUP BY 1""")
        rows = sorted(((division_label(d), *rest) for d, *rest in found), key=lambda r: r[0])
        return [*rows, ("全院", *(sum(r[i] for r in rows) for i in range(1, 5)))]

    return orm, hand


def event_attendance(f, sql: Sql):
    from reports.event_reports import KINDS, AttendanceReport

    def orm():
        sessions, kinds = AttendanceReport().tables(f)
        return [tuple(r[1:2] + r[3:7]) for r in sessions.rows], [tuple(r[:5]) for r in kinds.rows]

    t = sql.t

    def hand():
        registered = (f"SELECT COUNT(*) FROM {t['reg']} r WHERE r.event_id = o.event_id AND r.status = '{{}}' "
                      "AND (r.occurrence = o.recurrence_id OR r.occurrence IS NULL)")
        found = sql.rows(f"""
            SELECT o.title, o.kind, COALESCE(e.capacity, v.capacity), ({registered.format('confirmed')}),
                   ({registered.format('waitlisted')}),
                   (SELECT COUNT(*) FROM {t['att']} a WHERE a.event_id = o.event_id AND a.occurrence = o.recurrence_id)
            FROM {t['occ']} o JOIN {t['event']} e ON e.id = o.event_id LEFT JOIN {t['venue']} v ON v.id = o.venue_id
            WHERE {sql.between('o.start', f)} AND o.status = 'scheduled' AND e.status = 'scheduled'
            ORDER BY o.start, o.event_id""")
        kinds = []
        for kind in KINDS:  # the kinds table from the same rows, in Python: no second query
            mine = [r for r in found if r[1] == kind.value]
            if mine:
                kinds.append((str(kind.label), len(mine), sum(r[2] or 0 for r in mine), sum(r[3] for r in mine),
                              sum(r[5] for r in mine)))
        return [(title, cap, conf, wait, att) for title, _kind, cap, conf, wait, att in found], kinds

    return orm, hand


def event_divisions(f, sql: Sql):
    from reports.event_reports import KINDS, DivisionAttendanceReport, kind_label
    from reports.filters import division_label

    def orm():
        divisions, kinds = DivisionAttendanceReport().tables(f)
        return [tuple(r) for r in divisions.rows], [tuple(r) for r in kinds.rows]

    t = sql.t
    order = {kind.value: i for i, kind in enumerate(KINDS)}

    def hand():
        source = f"{sql.held(f)}".replace("WHERE", f"LEFT JOIN {t['profile']} p ON p.user_id = a.user_id WHERE", 1)
        divisions = sql.rows(f"SELECT COALESCE(p.division, ''), COUNT(*), COUNT(DISTINCT a.user_id) FROM {source} "
                             "GROUP BY 1")
        kinds = sql.rows(f"SELECT COALESCE(p.division, ''), e.kind, COUNT(*), COUNT(DISTINCT a.user_id) "
                         f"FROM {source} GROUP BY 1, 2")
        return (sorted((division_label(d), n, people) for d, n, people in divisions),
                [(division_label(d), kind_label(k), n, people) for d, k, n, people in
                 sorted(kinds, key=lambda r: (division_label(r[0]), order[r[1]]))])

    return orm, hand


CASES = (("circulation", circulation), ("top-books", top_books), ("top-papers", top_papers),
         ("never-borrowed", never_borrowed),
         ("overdue", overdue), ("readers", readers), ("event-attendance", event_attendance),
         ("event-divisions", event_divisions))


def timed(orm, hand, repeat: int) -> tuple[float, float, object, object]:
    """The median ms of ``orm`` and of ``hand`` over ``repeat`` runs each, after a warm-up of each (caches, and
    the results to compare).  The runs alternate, so a load that comes and goes on a shared machine weighs on
    both sides alike."""
    results = orm(), hand()
    runs: tuple[list, list] = ([], [])
    for _ in range(repeat):
        for function, times in zip((orm, hand), runs, strict=True):
            started = time.perf_counter()
            function()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs[0]), statistics.median(runs[1]), *results


def main(argv=None) -> None:
    args = parse_args(argv)
    workdir = Path(args.workdir)
    env = {}
    if args.database != "sqlite":
        if not args.reuse:
            recreate_pg(args.database)
        env["DATABASE_URL"] = args.database
        workdir = workdir.with_name(workdir.name + "-pg")
    throwaway_django(workdir, keep=args.reuse, **env)
    from django.db import connection

    from library.models import Loan
    from reports.filters import ReportFilter

    if args.reuse and Loan.objects.exists():
        print(f"# report benchmark: {connection.vendor}, the library generated before: {Loan.objects.count():,} loans",
              flush=True)
    else:
        print(f"# report benchmark: {connection.vendor}, {args.loans:,} loans, {args.registrations:,} registrations",
              flush=True)
        generate(args)
    sql = Sql()
    f = ReportFilter(start=START, end=END, today=TODAY)
    print(f"range {START} – {END} (today {TODAY}), median of {args.repeat} after a warm-up\n")
    print(f"{'report':<18} {'ORM ms':>10} {'SQL ms':>10} {'ratio':>7}  same figures  load (1 min)")
    worst = 0.0
    for name, case in CASES:
        if args.only and name not in args.only:
            continue
        orm, hand = case(f, sql)
        orm_ms, sql_ms, orm_result, sql_result = timed(orm, hand, args.repeat)
        same = orm_result == sql_result
        ratio = orm_ms / sql_ms if sql_ms else float("inf")
        worst = max(worst, ratio)
        # The machine may be shared: the load average says how much the figures can be trusted.
        print(f"{name:<18} {orm_ms:>10.1f} {sql_ms:>10.1f} {ratio:>6.2f}×  {'yes' if same else 'NO':<12}  "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        if not same:
            print(f"  ORM: {str(orm_result)[:600]}\n  SQL: {str(sql_result)[:600]}")
    print(f"\nworst ratio {worst:.2f}× (target ≤ 2×)")


if __name__ == "__main__":
    main()
