"""Related works benchmark: what a book page's uncached "same subjects" and "same class" lists cost (prints
figures; asserts nothing).

    .venv/bin/python bench/related_bench.py [--records 100000] [--queries 200] [--workdir /tmp/shuyuan-related-bench]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shuyuan_related_bench .venv/bin/python bench/related_bench.py

Loads the search benchmark's synthetic catalog (``bench/corpus.py``: 95% books with 1–4 subjects drawn from a
Zipf-like vocabulary, 5% papers with 3–5 keywords, 60% of them public) with ``bulk_create`` into a throwaway
database (SQLite under ``--workdir``, or the PostgreSQL database ``DATABASE_URL`` names, which is emptied by
``flush``), fills the subject index if the code has one (``library.services.subject_index_rebuild``), then
times ``library.related._by_subjects`` and ``_by_class`` for ``--queries`` books drawn at random, as a
logged-in reader and anonymously (the papers' visibility rule), each call uncached.  Runs on any commit that
has ``library/related.py``, so the same script measures before and after a change.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import throwaway_django  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=200, help="books whose lists are timed (each list once per viewer)")
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--workdir", default="/tmp/shuyuan-related-bench")
    return p.parse_args(argv)


def load(records: int, seed: int) -> dict:
    from django.db import transaction

    from bench.corpus import Corpus
    from library.models import Book, Paper

    corpus = Corpus(records, seed)
    started = time.perf_counter()
    books = papers = 0
    with transaction.atomic():
        batch = []
        for r in corpus.iter_books():
            batch.append(Book(title=r["title"], year=r["year"], language=r["language"], clc=r["clc"],
                              subjects=r["subjects"]))
            if len(batch) == 5000:
                books += len(Book.objects.bulk_create(batch))
                batch = []
        books += len(Book.objects.bulk_create(batch))
        batch = [Paper(title=r["title"], keywords=r["keywords"], year=r["year"], kind=r["kind"],
                       visibility=r["visibility"]) for r in corpus.iter_papers()]
        papers = len(Paper.objects.bulk_create(batch, batch_size=2000))
    return {"books": books, "papers": papers, "seconds": time.perf_counter() - started}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(function, arguments: list) -> dict:
    times = []
    for args in arguments:
        started = time.perf_counter()
        function(*args)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(times), "p95": percentile(times, 0.95), "max": max(times)}


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir)
    database = os.environ.get("DATABASE_URL", "")
    throwaway_django(workdir, **({"DATABASE_URL": database} if database else {}))
    from django.contrib.auth.models import AnonymousUser
    from django.core.management import call_command
    from django.db import connection

    from library import related, services
    from library.models import Book

    if connection.vendor != "sqlite":
        call_command("flush", verbosity=0, interactive=False)
    import sqlite3

    version = connection.pg_version if connection.vendor == "postgresql" else sqlite3.sqlite_version
    print(f"related works benchmark: {args.records:,} records, {connection.vendor} {version}, "
          f"load {os.getloadavg()[0]:.2f}")
    loaded = load(args.records, args.seed)
    print(f"  loaded {loaded['books']:,} books, {loaded['papers']:,} papers in {loaded['seconds']:.1f} s")
    rebuild = getattr(services, "subject_index_rebuild", None)
    if rebuild is not None:
        started = time.perf_counter()
        rows = rebuild()
        print(f"  subject index: {rows:,} rows written in {time.perf_counter() - started:.1f} s")
    else:
        print("  subject index: none in this code (the lists are scanned)")
    with connection.cursor() as cursor:  # the planner's statistics, as a database in use has them
        cursor.execute("ANALYZE")

    rng = random.Random(args.seed)
    ids = list(Book.objects.values_list("id", flat=True))
    books = list(Book.objects.filter(pk__in=rng.sample(ids, args.queries)).only("id", "clc", "subjects"))
    user = type("Reader", (), {"is_authenticated": True})()
    anonymous = AnonymousUser()
    by_subjects = [(related._terms(b.subjects), viewer, b.pk) for b in books for viewer in (user, anonymous)]
    # Warm the database's caches (and this process) with a few books that are not timed.
    for b in Book.objects.filter(pk__in=rng.sample(ids, 10)):
        related._by_subjects(related._terms(b.subjects), user=user, exclude_book=b.pk)
        related._by_class(b)
    rows = [
        ("same subjects (books and papers)",
         timed(lambda terms, viewer, pk: related._by_subjects(terms, user=viewer, exclude_book=pk), by_subjects)),
        ("same class (one query per class level)", timed(related._by_class, [(b,) for b in books])),
    ]
    print(f"\n  {len(by_subjects)} calls (same subjects: {args.queries} books × logged in / anonymous), ms, load "
          f"{os.getloadavg()[0]:.2f}")
    print(f"  {'list':<44} {'p50':>8} {'p95':>8} {'max':>8}")
    for name, t in rows:
        print(f"  {name:<44} {t['p50']:8.2f} {t['p95']:8.2f} {t['max']:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
