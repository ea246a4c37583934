#!/usr/bin/env python
"""Index upkeep under a stream of paper saves (attack round 12): segments, index size, and how long a
librarian's new book takes to become searchable meanwhile.

    python bench/index_flood_bench.py [--records 5000] [--seconds 120] [--writers 3] [--workdir DIR]

Builds the search benchmark's synthetic catalog (bench/search_bench.py, same seed) in a throwaway SQLite
database under the work directory (default /tmp/shuyuan-flood) and indexes it, starts one ``manage.py
run_worker`` beside this process (the worker's loop applies the outbox, as in production), enters 20 papers
with 20,000-character abstracts and 50 keywords, and then, for ``--seconds``, has ``--writers`` threads save
them again and again with new abstracts through ``library.services.paper_update`` (no rate limit: no actor),
as the attack's judge did through the API.  Meanwhile it samples the index once a second (segments, bytes
on disk, rows queued) and every 10 s creates a book and times it from commit to searchable.  After the
stream it times how long the worker takes to empty the outbox and creates one more book.

A script that prints figures; it is not part of the test suite.  The machine should be otherwise idle.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import search_bench  # noqa: E402 - the path above first

PAPERS = 20
ABSTRACT_CHARS = 20_000
KEYWORDS = 50


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=5000, help="catalog records (95%% books, 5%% papers)")
    p.add_argument("--seconds", type=float, default=120, help="how long the saves go on")
    p.add_argument("--writers", type=int, default=3, help="threads saving papers at once")
    p.add_argument("--probe-every", type=float, default=10, help="seconds between timed new books")
    p.add_argument("--papers", type=int, default=PAPERS, help="papers saved again and again")
    p.add_argument("--text", choices=["corpus", "random"], default="corpus",
                   help="abstracts of the corpus's words, or of random Chinese characters with 50 keywords of 100 "
                        "random characters (the fourteenth attack's text: a new term at nearly every character)")
    p.add_argument("--settle", type=float, default=60, help="seconds to watch the index after the outbox empties")
    p.add_argument("--workdir", default="/tmp/shuyuan-flood")
    p.add_argument("--seed", type=int, default=20250101)
    return p.parse_args(argv)


def index_state() -> tuple[int, int]:
    """(segments, bytes on disk) of the current index generation."""
    from search_index import generations, whoosh_private

    ix = generations.open_index()
    try:
        segments = len(whoosh_private.toc_segments(ix))
    finally:
        ix.close()
    return segments, search_bench.dir_size(generations.root() / generations.current_generation())


def time_new_book(nonce: str, timeout: float = 900) -> float:
    """Seconds from a book's commit until a search finds it (nan if not within ``timeout``)."""
    from django.db import transaction

    from library import services as library_services
    from search_index import services

    marks = {}
    with transaction.atomic():
        transaction.on_commit(lambda: marks.__setitem__("commit", time.perf_counter()))
        book = library_services.book_create(title=f"馆员新书 {nonce} 民法典合同编理解与适用", year=2026)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if any(h.type == "book" and h.id == book.pk for h in services.search(nonce, filters=services.Filters()).items):
            return time.perf_counter() - marks["commit"]
        time.sleep(0.01)
    return float("nan")


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir).expanduser().resolve()
    search_bench.prepare_workdir(workdir)
    search_bench.configure_environment(workdir)
    os.environ["SEARCH_WAKE_DIR"] = str(workdir / "wake")  # only this run's worker is woken by its commits

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.corpus import Corpus
    from library import services as library_services
    from search_index import services
    from search_index.changelog import waiting_here

    say = search_bench.say
    say(f"index flood: {args.records:,} records, {args.papers} papers ({args.text} text) saved by {args.writers} threads for {args.seconds:.0f} s")
    say(f"code: {search_bench.code_version()}; {search_bench.load()}")
    call_command("migrate", verbosity=0, interactive=False)
    corpus = Corpus(args.records, seed=args.seed)
    search_bench.load_catalog(corpus)
    services.index_rebuild(procs=2)
    rng = random.Random(args.seed)
    words = corpus.content

    def abstract() -> str:
        parts, length = [], 0
        while length < ABSTRACT_CHARS:
            word = rng.choice(words)
            parts.append(word)
            length += len(word)
        return "".join(parts)[:ABSTRACT_CHARS]

    def han(n: int) -> str:
        return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(n))

    if args.text == "random":
        abstracts = [han(ABSTRACT_CHARS) for _ in range(64)]

        def keywords(i: int) -> list[str]:
            return [han(100) for _ in range(KEYWORDS)]
    else:
        abstracts = [abstract() for _ in range(64)]

        def keywords(i: int) -> list[str]:
            return [f"{rng.choice(words)}{k}" for k in range(KEYWORDS)]

    papers = [library_services.paper_create(title=f"洪水测试调研{i}", abstract=abstracts[i % len(abstracts)],
                                            visibility="public", keywords=keywords(i))
              for i in range(args.papers)]
    services.index_drain()
    segments, size = index_state()
    say(f"before: {segments} segments, {size / 2**20:.1f} MB ({search_bench.load()})")

    worker = search_bench.start_index_worker(workdir / "worker.log")
    stop, saves, samples = threading.Event(), [0] * args.writers, []

    def writer(n: int) -> None:
        own = random.Random(n)
        try:
            while not stop.is_set():
                paper = papers[own.randrange(len(papers))]
                library_services.paper_update(paper=paper, changes={"abstract": own.choice(abstracts)})
                saves[n] += 1
        finally:
            connection.close()

    def sampler() -> None:
        started = time.monotonic()
        try:
            while not stop.is_set() or waiting_here():
                segments, size = index_state()
                samples.append((time.monotonic() - started, segments, size, waiting_here()))
                time.sleep(1)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(args.writers)]
    watch = threading.Thread(target=sampler, daemon=True)
    probes = []
    try:
        started = time.monotonic()
        for thread in [*threads, watch]:
            thread.start()
        while time.monotonic() - started < args.seconds:
            time.sleep(args.probe_every)
            probes.append(time_new_book(f"zqf{len(probes)}probe"))
            say(f"  {time.monotonic() - started:6.1f} s: {sum(saves):,} saves, new book searchable after "
                f"{probes[-1]:.2f} s; {samples[-1][1] if samples else '?'} segments, "
                f"{samples[-1][2] / 2**20 if samples else 0:.0f} MB, {samples[-1][3] if samples else '?'} rows queued")
        stop.set()
        for thread in threads:
            thread.join()
        stream_end, total_saves = time.monotonic(), sum(saves)
        while waiting_here() and time.monotonic() - stream_end < 1800:
            time.sleep(0.2)
        drained_after = time.monotonic() - stream_end
        after = time_new_book("zqfafterprobe")
        watch.join(timeout=5)
        settle_end = time.monotonic() + args.settle  # the worker's upkeep after the stream (merges, evacuations)
        while time.monotonic() < settle_end:
            time.sleep(1)
        settled_queue = waiting_here()
    finally:
        stop.set()
        search_bench.stop_index_worker(worker)
    segments, size = index_state()
    say(f"\nsaves: {total_saves:,} in {args.seconds:.0f} s ({total_saves / args.seconds:.0f}/s)")
    say(f"during the stream: segments max {max(s[1] for s in samples)}, median {statistics.median(s[1] for s in samples)}; "
        f"index max {max(s[2] for s in samples) / 2**20:.0f} MB; rows queued max {max(s[3] for s in samples):,}")
    say(f"new book from commit to searchable during the stream (s): median {statistics.median(probes):.2f}, "
        f"max {max(probes):.2f}; all: {', '.join(f'{p:.2f}' for p in probes)}")
    say(f"outbox empty {drained_after:.1f} s after the stream; then a new book searchable after {after:.2f} s")
    say(f"after {args.settle:.0f} s more: {segments} segments, {size / 2**20:.1f} MB, {settled_queue} rows queued "
        f"({search_bench.load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
