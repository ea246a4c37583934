#!/usr/bin/env python
"""Commit to searchable on one search node, and on a second node on the same database (issue 21 §1).

    python bench/node_lag_bench.py [--records 5000] [--trials 30] [--database sqlite | postgres://…/NAME]
                                   [--workdir DIR]

A throwaway installation under ``--workdir`` (default /tmp/shuyuan-nodes): the search benchmark's synthetic
catalogue (bench/corpus.py), on SQLite or on the PostgreSQL database NAME (dropped and created again: its
name must contain "bench").  Node A is a ``manage.py run_worker`` with its own index directory and the
wake-up directory of this process (the machine the writes are made on: woken through its socket); node B is
another ``run_worker`` with its own index directory and its own wake-up directory (another machine: woken by
PostgreSQL's NOTIFY, or its poll every SEARCH_OUTBOX_POLL_MS on SQLite).  Node B starts with an empty
directory and rebuilds from the database.

Three measurements of ``--trials`` books (after WARM_UP not counted), each created with ``library.services.book_create`` in its own
transaction and searched for at once and again every millisecond until found:

1. node A alone, searched on A (one node: the reference);
2. nodes A and B, searched on B (the second node);
3. nodes A and B, searched on A (does the second node slow the first?).

Prints median, p95 and max per measurement and the second node's median as a multiple of the reference
(goal: within 2×).  A script that prints figures; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import search_bench  # noqa: E402 - the path above first
from bench.common import check_database_arg, stop_process_group, throwaway_django  # noqa: E402

#: Books created and searched for before each measurement, not counted.
WARM_UP = 3


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=5000, help="catalogue records (95%% books, 5%% papers)")
    p.add_argument("--trials", type=int, default=30, help="books timed per measurement")
    p.add_argument("--database", default="sqlite", help="sqlite, or postgres://USER@HOST:PORT/NAME (NAME with 'bench')")
    p.add_argument("--workdir", default="/tmp/shuyuan-nodes")
    p.add_argument("--seed", type=int, default=20250101)
    args = p.parse_args(argv)
    check_database_arg(p, args)
    return args


def start_node(workdir: Path, name: str, *, wake_dir: str, log: Path) -> subprocess.Popen:
    """``manage.py run_worker`` as the search node ``name``; returns once its node row says it applied the log."""
    from search_index.models import IndexNode

    env = {**os.environ, "SEARCH_NODE": name, "SEARCH_INDEX_DIR": str(workdir / f"index-{name}"),
           "SEARCH_WAKE_DIR": wake_dir}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "manage.py", "run_worker"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 1800
    while not IndexNode.objects.filter(name=name).exclude(generation="").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process_group(proc)
            sys.exit(f"node {name} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    time.sleep(1)
    return proc


def measure(workdir: Path, node: str, trials: int, seed: int) -> dict:
    """Commit to searchable on ``node``'s index (this process searches that directory)."""
    from django.conf import settings

    from search_index import searcher

    settings.SEARCH_INDEX_DIR = str(workdir / f"index-{node}")
    searcher.reset()
    # Not counted: the first drains of a worker load its analyzers, and this process's first searches its own.
    search_bench.commit_to_searchable(WARM_UP, seed + 1000)
    result = search_bench.commit_to_searchable(trials, seed)
    ms = sorted(result["all_ms"])
    result["p95_ms"] = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))] if ms else float("nan")
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir).resolve()
    env = {"SEARCH_RATE_ANONYMOUS": "0", "CATALOG_PUBLIC": "True"}
    if args.database != "sqlite":
        from bench.report_bench import recreate_pg

        recreate_pg(args.database)
        env["DATABASE_URL"] = args.database
    throwaway_django(workdir, **env)
    from django.conf import settings
    from django.db import connection

    from bench.corpus import Corpus
    from search_index import services

    say = search_bench.say
    say(f"node lag bench: {args.records} records, {args.trials} trials, {connection.vendor}, workdir {workdir}, "
        f"{search_bench.code_version()}")
    counts = search_bench.load_catalog(Corpus(args.records, seed=args.seed))
    say(f"[1] catalogue: {counts['books']} books, {counts['papers']} papers ({counts['seconds']:.1f} s)")
    # This process's own wake-up directory is node A's: the writes are made on node A's machine.
    os.environ["SEARCH_WAKE_DIR"] = settings.SEARCH_WAKE_DIR = str(workdir / "wake-a")
    settings.SEARCH_INDEX_DIR, settings.SEARCH_NODE = str(workdir / "index-a"), "a"
    started = time.perf_counter()
    services.index_rebuild()  # node A's index, built here (the first node of an installation: rebuild_index)
    say(f"[2] node A's index built ({time.perf_counter() - started:.1f} s, {search_bench.load()})")
    procs = []
    try:
        procs.append(start_node(workdir, "a", wake_dir=str(workdir / "wake-a"), log=workdir / "node-a.log"))
        one = measure(workdir, "a", args.trials, args.seed + 1)
        say(f"[3] one node (A alone, searched on A): median {one['median_ms']:.1f} ms ({search_bench.load()})")
        started = time.perf_counter()
        procs.append(start_node(workdir, "b", wake_dir=str(workdir / "wake-b"), log=workdir / "node-b.log"))
        say(f"[4] node B started empty and rebuilt in {time.perf_counter() - started:.1f} s")
        second = measure(workdir, "b", args.trials, args.seed + 2)
        say(f"[5] two nodes, searched on B: median {second['median_ms']:.1f} ms ({search_bench.load()})")
        first = measure(workdir, "a", args.trials, args.seed + 3)
        say(f"[6] two nodes, searched on A: median {first['median_ms']:.1f} ms ({search_bench.load()})")
    finally:
        for proc in procs:
            stop_process_group(proc)
    rows = [["one node (A), on A", one], ["two nodes, on B (the second node)", second],
            ["two nodes, on A", first]]
    say("\n| commit → searchable | median ms | p95 ms | max ms | not found in 30 s | ÷ one node (median) |")
    say("|---|---|---|---|---|---|")
    for label, r in rows:
        say(f"| {label} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} | {r['failures']} | "
            f"{r['median_ms'] / one['median_ms']:.2f}× |")
    ratio = second["median_ms"] / one["median_ms"]
    poll = round(settings.SEARCH_OUTBOX_POLL * 1000)
    woken = "NOTIFY" if connection.vendor == "postgresql" else f"its poll every {poll} ms"
    say(f"\nsecond node within 2× of one node: {'yes' if ratio <= 2 else 'NO'} ({ratio:.2f}×); node B woken by {woken}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
