"""A catalogue import through the background-job path, at 100,000 records (prints figures).

Builds a throwaway installation (SQLite) in /tmp, writes a CSV of N generated books (title, author,
ISBN-less, year, CLC), starts the import the way the API does (``catalog_import_start``: the file stored,
a job queued), then runs the job as a worker runs it and prints the wall time, records per second, the
job's final counts and how many progress updates a watcher saw.  The reference measured in the same run
is the command line's inline import of the same file (``import_catalog``), so the job path's overhead
(batch claims, per-record report rows, progress) is the figure that matters.

    .venv/bin/python bench/import_bench.py [--records 100000] [--workdir /tmp/shuyuan-import-bench]
"""

import argparse
import csv
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import throwaway_django  # noqa: E402


def make_csv(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "authors", "year", "clc", "publisher"])
    for i in range(n):
        writer.writerow([f"担保物权实现程序研究 第{i}卷", f"作者{i % 997}", 1990 + i % 35, f"D9{i % 10}", "法律出版社"])
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/shuyuan-import-bench"))
    args = parser.parse_args()

    throwaway_django(args.workdir)
    from django.db import connection

    from jobs.models import Job
    from library.importers import import_catalog
    from library.models import Book
    from library.tasks import catalog_import_start, import_catalog_file

    data = make_csv(args.records)
    print(f"{args.records:,} records, {len(data) / 1e6:.1f} MB CSV, SQLite {connection.Database.sqlite_version}")

    started = time.perf_counter()
    catalog_import = catalog_import_start(data=data, filename="bench.csv", format="csv", location=None,
                                          started_by=None)
    queued = time.perf_counter() - started
    job = Job.objects.get(pk=catalog_import.job_id)
    started = time.perf_counter()
    import_catalog_file.call(job.pk)  # what a worker does with the backend's task
    job_seconds = time.perf_counter() - started
    job.refresh_from_db()
    catalog_import.refresh_from_db()
    print(f"job path   : queued in {queued * 1000:.0f} ms (the request's part); ran {job_seconds:.1f} s, "
          f"{args.records / job_seconds:,.0f} records/s; state {job.state}, progress {job.progress_done}/"
          f"{job.progress_total}; summary {job.summary}")
    books_after_job = Book.objects.count()

    Book.objects.all().delete()
    started = time.perf_counter()
    summary = import_catalog(data=data, filename="bench.csv", format="csv")
    inline_seconds = time.perf_counter() - started
    print(f"inline ref : import_catalog ran {inline_seconds:.1f} s, {args.records / inline_seconds:,.0f} records/s; "
          f"created {summary.created}")
    print(f"books after the job: {books_after_job:,}; job ÷ inline time: {job_seconds / inline_seconds:.2f}×")


if __name__ == "__main__":
    main()
