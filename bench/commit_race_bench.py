#!/usr/bin/env python
"""Searches beside another process that commits and merges the same index (idx503; prints figures, asserts nothing).

    python bench/commit_race_bench.py [--records 5000] [--queries 200] [--seconds 60] [--workdir DIR]

A throwaway installation under ``--workdir`` (default /tmp/shuyuan-commit-race) holding the search
benchmark's synthetic catalogue (bench/corpus.py), indexed once.  Then:

1. **Opening a searcher** after a commit, the cost every search process pays once per commit: the searcher
   as it opens now (every column file opened, the sort column included: ``postings_cache.open_columns``)
   against the reference measured in the same run, the open without the value columns (as before idx503),
   alternating, on an index of ``--segments`` segments.
2. **Search latency** of ``--queries`` queries in five shapes (relevance with highlights and facets, shelf
   order, year order, the second page, the availability filter) through ``services.search``, against the
   same searches through ``searcher._search`` on the cached searcher (no retry loop: the reference).
3. **The stress run**: a second process rewrites records in small commits and merges every fourth commit
   (Whoosh's MERGE_SMALL; it deletes the merged segments' files at once) for ``--seconds`` while this one searches in every
   shape; prints searches, errors (none expected), the searches repeated on a fresh searcher and the opens
   that met a vanished file, and the other process's commits.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import search_bench  # noqa: E402 - the path above first
from bench.common import throwaway_django  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=5000, help="catalogue records (95%% books, 5%% papers)")
    p.add_argument("--queries", type=int, default=200, help="query texts (each searched in five shapes)")
    p.add_argument("--opens", type=int, default=200, help="searcher opens timed per variant")
    p.add_argument("--segments", type=int, default=8, help="segments of the index while opens are timed")
    p.add_argument("--seconds", type=float, default=60, help="length of the stress run")
    p.add_argument("--workdir", default="/tmp/shuyuan-commit-race")
    p.add_argument("--seed", type=int, default=20250101)
    return p.parse_args(argv)


def shapes(texts: list[str]) -> list[dict]:
    from search_index.services import Filters

    out = []
    for i, text in enumerate(texts):
        out += [
            {"text": text, "filters": Filters()},
            {"text": text, "filters": Filters(), "sort": "call_number"},
            {"text": text, "filters": Filters(), "sort": "year"},
            {"text": text, "filters": Filters(), "offset": 20},
            {"text": text if i % 2 else "", "filters": Filters(available=True)},
        ]
    return out


def _churn(index_dir: str, seconds: float, conn) -> None:
    """The other process: rewrite 3 stored records per commit, merge the small segments every fourth commit."""
    from whoosh import index as whoosh_index

    from search_index import indexer
    from search_index.index_schema import INDEX_NAME

    ix = whoosh_index.open_dir(index_dir, indexname=INDEX_NAME)
    with ix.searcher() as s:
        stored = [dict(f) for _n, f in zip(range(2000), s.all_stored_fields(), strict=False)]
    rnd = random.Random(5)
    commits, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        writer = indexer._writer(ix)
        for fields in rnd.sample(stored, 3):
            writer.update_document(**fields)
        writer.commit(merge=commits % 4 == 3)  # Whoosh's MERGE_SMALL: the small segments into one
        commits += 1
    conn.send(commits)


def time_opens(n: int) -> tuple[list[float], list[float]]:
    from search_index import generations, postings_cache, searcher

    ix = generations.open_index()
    real = postings_cache._value_columns
    now, before = [], []
    for i in range(2 * n):
        searcher.clear_caches()
        old = i % 2 == 1
        if old:
            postings_cache._value_columns = lambda schema: []
        t = time.perf_counter()
        searcher._open_searcher(ix).close()
        (before if old else now).append((time.perf_counter() - t) * 1000)
        postings_cache._value_columns = real
    return now, before


def time_searches(queries: list[dict]) -> tuple[list[float], list[float]]:
    from search_index import laws, searcher, services

    now, before = [], []

    def new(text, kwargs):
        services.search(text, **kwargs)

    def old(text, kwargs):
        searcher._search(searcher.normalize_query_text(text), searcher._searcher(), laws.current(),
                         sort=kwargs.get("sort", "relevance"), limit=20, offset=kwargs.get("offset", 0),
                         filters=kwargs["filters"], highlight=True, as_typed=False,
                         deadline=searcher._Deadline(60.0))

    for i, query in enumerate(queries):
        kwargs = dict(query)
        text = kwargs.pop("text")
        # Each query twice, the variants' order alternating (the second run of a query finds warmer caches).
        for variant, times in ((new, now), (old, before)) if i % 2 else ((old, before), (new, now)):
            t = time.perf_counter()
            variant(text, kwargs)
            times.append((time.perf_counter() - t) * 1000)
    return now, before


class Counting(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.repeated = 0

    def emit(self, record):
        if record.getMessage().startswith("search repeated"):
            self.repeated += 1


def stress(queries: list[dict], seconds: float) -> dict:
    from search_index import generations, postings_cache, services

    opens = {"false": 0}
    real_open = postings_cache.open_columns

    def counted(*args, **kwargs):
        ok = real_open(*args, **kwargs)
        opens["false"] += not ok
        return ok

    postings_cache.open_columns = counted
    handler = Counting()
    logging.getLogger("search_index.searcher").addHandler(handler)
    logging.getLogger("search_index.searcher").setLevel(logging.INFO)
    ctx = multiprocessing.get_context("fork")
    mine, theirs = ctx.Pipe()
    path = str(generations.root() / generations.current_generation())
    other = ctx.Process(target=_churn, args=(path, seconds, theirs))
    other.start()
    searches, errors, end = 0, [], time.monotonic() + seconds
    while time.monotonic() < end:
        for query in queries:
            kwargs = dict(query)
            try:
                services.search(kwargs.pop("text"), **kwargs)
            except Exception as exc:  # noqa: BLE001 - counted and printed
                errors.append(repr(exc))
            searches += 1
            if time.monotonic() >= end:
                break
    commits = mine.recv() if mine.poll(600) else None
    other.join(60)
    postings_cache.open_columns = real_open
    return {"searches": searches, "errors": errors, "repeated": handler.repeated, "reopened": opens["false"],
            "commits": commits}


def main(argv=None) -> int:
    args = parse_args(argv)
    throwaway_django(Path(args.workdir))
    from bench.corpus import Corpus
    from search_index import indexer, services

    say = search_bench.say
    say(f"commit race bench: {args.records} records, code {search_bench.code_version()}, {search_bench.load()}")
    corpus = Corpus(args.records, seed=args.seed)
    search_bench.load_catalog(corpus)
    started = time.perf_counter()
    services.index_rebuild()
    say(f"[1] index built in {time.perf_counter() - started:.1f} s")
    from search_index import generations

    ix = generations.open_index()
    with ix.searcher() as s:
        stored = [dict(f) for _n, f in zip(range(args.segments * 5), s.all_stored_fields(), strict=False)]
    for i in range(args.segments - 1):  # small segments beside the rebuild's one
        writer = indexer._writer(ix)
        for fields in stored[i * 5:(i + 1) * 5]:
            writer.update_document(**fields)
        writer.commit(merge=False)
    texts = [text for _kind, text in corpus.queries(args.queries)]
    queries = shapes(texts)
    now, before = time_opens(args.opens)
    a, b = search_bench.summary(now), search_bench.summary(before)
    say(f"[2] opening a searcher ({args.segments} segments, {args.opens} each, {search_bench.load()}): "
        f"now p50 {a['p50']:.2f} ms p95 {a['p95']:.2f} ms; without the value columns p50 {b['p50']:.2f} ms "
        f"p95 {b['p95']:.2f} ms; ratio p50 {a['p50'] / b['p50']:.2f}×")
    for query in queries[:50]:  # warm-up, not counted
        kwargs = dict(query)
        services.search(kwargs.pop("text"), **kwargs)
    now, before = time_searches(queries)
    a, b = search_bench.summary(now), search_bench.summary(before)
    say(f"[3] {len(queries)} searches ({search_bench.load()}): services.search p50 {a['p50']:.2f} ms p95 "
        f"{a['p95']:.2f} ms; searcher._search without the retry loop p50 {b['p50']:.2f} ms p95 {b['p95']:.2f} ms; "
        f"ratio p50 {a['p50'] / b['p50']:.2f}×")
    result = stress(queries, args.seconds)
    say(f"[4] stress {args.seconds:.0f} s ({search_bench.load()}): {result['searches']} searches, "
        f"{len(result['errors'])} errors, {result['repeated']} repeated on a fresh searcher, "
        f"{result['reopened']} opens that met a vanished file and opened again; the other process committed "
        f"{result['commits']} times (every fourth merging the small segments)")
    for error in sorted(set(result["errors"]))[:10]:
        say(f"    error: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
