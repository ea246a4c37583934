#!/usr/bin/env python
"""The judged query set: recall@10 and MRR per kind on the fixed corpus, and the ablation.

    python bench/judged_bench.py [--workdir DIR] [--write-expected] [--failures]

Builds tests/fixtures/search_judged/corpus.json into a throwaway SQLite database and index in the work
directory (default /tmp/shuyuan-judged; the project's var/ is never touched), runs queries.tsv through
``search_index.services.search`` as ``search_index.evaluation`` judges them (the same code the test
tests/search_index/test_judged_queries.py runs), and prints:

* the table per kind (n, recall@10, MRR) and overall, with the changes against expected.json (the figures
  the test asserts);
* the ablation: the overall figures with each part of the query pipeline turned off in turn (law names,
  citations, did-you-mean, pinyin, bigrams, traditional → simplified), next to the full system's.

``--write-expected`` writes the full system's figures to expected.json (after a change that moves them:
the test fails until then, and its message lists the queries that moved).  ``--failures`` lists every query
that misses a relevant record.  About a minute; ``make bench-search`` runs it before the 100,000-record
benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JUDGED = ROOT / "tests" / "fixtures" / "search_judged"
MARKER = ".shuyuan-judged"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", default="/tmp/shuyuan-judged", help="work directory (wiped on each run)")
    p.add_argument("--write-expected", action="store_true", help=f"write the figures to {JUDGED / 'expected.json'}")
    p.add_argument("--failures", action="store_true", help="list every query that misses a relevant record")
    p.add_argument("--no-ablation", action="store_true", help="only the full system's table")
    return p.parse_args(argv)


def prepare(workdir: Path) -> None:
    var = (ROOT / "var").resolve()
    if workdir == ROOT or workdir == var or var in workdir.parents or workdir in var.parents:
        sys.exit(f"refusing to use {workdir}: the benchmark must not touch the project's var/")
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / MARKER).exists():
        sys.exit(f"refusing to use {workdir}: it is not empty and was not made by this benchmark")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("made by bench/judged_bench.py; thrown away on each run\n")
    os.environ["DJANGO_SETTINGS_MODULE"] = "shuyuan.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'judged.sqlite3'}"
    os.environ["SEARCH_INDEX_DIR"] = str(workdir / "index")
    os.environ["VAR_DIR"] = str(workdir / "var")
    os.environ["MEDIA_ROOT"] = str(workdir / "var" / "media")
    os.environ["DEBUG"] = "True"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.pop("DB_CONN_MAX_AGE", None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    args = parse_args(argv)
    prepare(Path(args.workdir).resolve())
    import django

    django.setup()
    from django.core.management import call_command

    from search_index import evaluation, services

    started = time.perf_counter()
    call_command("migrate", verbosity=0)  # the law names come with the migrations
    records = evaluation.read_corpus(JUDGED / "corpus.json")
    queries = evaluation.read_queries(JUDGED / "queries.tsv")
    keys = evaluation.load_corpus(records)
    services.index_rebuild()
    built = time.perf_counter() - started
    rows = evaluation.ablation(queries, keys) if not args.no_ablation else [
        ("full system", evaluation.evaluate(queries, keys))]
    full = rows[0][1]
    print(f"Judged queries: {len(queries)} queries, {len(records)} records "
          f"({sum(r['source'] == 'written' for r in records)} written, "
          f"{sum(r['source'].startswith('realdata') for r in records)} real, "
          f"{sum(r['source'] == 'generated' for r in records)} generated); built in {built:.0f} s, "
          f"judged in {time.perf_counter() - started - built:.0f} s\n")
    print(evaluation.kind_table(full))
    expected_path = JUDGED / "expected.json"
    expected = json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else {}
    moved = evaluation.changes(expected, full.figures())
    print("\nAgainst expected.json: " + ("no change" if not moved else f"{len(moved)} changes"))
    for line in moved:
        print("  " + line)
    if len(rows) > 1:
        print("\nAblation (query side; the index is built with everything on):\n")
        print(evaluation.ablation_table(rows))
    if args.failures:
        print("\nQueries missing a relevant record in the first 10:")
        for line in evaluation.failures(full):
            print("  " + line)
    if args.write_expected:
        expected_path.write_text(json.dumps(full.figures(), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                 encoding="utf-8")
        print(f"\nwrote {expected_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
