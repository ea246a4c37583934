#!/usr/bin/env python
"""Search benchmark: Whoosh (through search_index) against SQLite FTS5 on the same synthetic catalog.

    python bench/search_bench.py [--records 100000] [--queries 500] [--procs 2] [--workdir DIR]
                                 [--seed N] [--profile] [--breakdown] [--reuse] [--skip-fts5]

Everything happens inside the work directory (default /tmp/shuyuan-bench): a throwaway SQLite database,
the Whoosh index and the FTS5 database.  The project's var/ is never touched: DATABASE_URL,
SEARCH_INDEX_DIR and VAR_DIR are forced into the work directory before Django starts.

Steps: generate the catalog (bench/corpus.py) and bulk-insert it (no signals, the outbox is cleared);
rebuild the index with ``search_index.services.index_rebuild``; time the queries through
``search_index.services.search`` and through the HTTP API (in-process test client); time a single
record from commit to searchable (applied by a ``manage.py run_worker`` started beside this process, as
``make serve`` runs one: requests only queue index changes); build and query an FTS5 table over the same documents segmented by
the same analyzer; print the comparison and the targets.  ``--profile`` adds a cProfile run of the
Whoosh query loop; ``--breakdown`` times the parts of a Whoosh query (parse, matching and scoring,
count, facets, highlights, fewer fields) one by one.  ``--reuse`` skips generation and both builds and
re-measures the queries on the catalog and indexes of an earlier run in the same workdir (same --records
and --seed): for trying a change to the searcher without an 8-minute rebuild.  The machine should be
otherwise idle: the load average is printed at each step.

A script that prints figures; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import math
import multiprocessing
import os
import pstats
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import stop_process_group  # noqa: E402 - the path above first

MARKER = ".shuyuan-bench"
CATALOG_FILE = "catalog.json"
FTS5_DONE = "fts5.done"

TARGET_API_P95_MS = 100.0
TARGET_RATIO_FTS5 = 3.0
TARGET_UPDATE_S = 1.0
TARGET_BUILD_RATE = 600.0
#: No accepted query (the hostile shapes at the limits of search_index.searcher) may take longer than
#: this many times the ordinary queries' API p95.
TARGET_HOSTILE_RATIO = 5.0


# --------------------------------------------------------------------------------------------------------
# Arguments and environment (before Django starts)
# --------------------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=100_000, help="catalog records (95%% books, 5%% papers)")
    p.add_argument("--queries", type=int, default=500, help="timed queries per path")
    p.add_argument("--procs", type=int, default=2, help="writer processes for the rebuild (and FTS5 segmentation)")
    p.add_argument("--workdir", default="/tmp/shuyuan-bench", help="work directory (wiped of earlier bench files)")
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--warmup", type=int, default=20, help="warm-up queries per path, not counted")
    p.add_argument("--trials", type=int, default=10, help="single-record commit-to-searchable trials")
    p.add_argument("--profile", action="store_true", help="also run the Whoosh query loop under cProfile")
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--breakdown", action="store_true", help="also time the parts of a Whoosh query separately")
    p.add_argument("--breakdown-queries", type=int, default=100)
    p.add_argument("--skip-fts5", action="store_true", help="leave out the FTS5 reference")
    p.add_argument("--no-sidecars", action="store_true",
                   help="searches ignore the segments' sidecars and unpack Whoosh's posting blocks (the state before "
                        "sidecars); with --reuse none are built")
    p.add_argument("--hostile-runs", type=int, default=5, help="runs of each hostile query shape (the first is cold)")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the catalog, Whoosh index and FTS5 database of an earlier run in the same workdir with the same "
        "--records and --seed (no generation, no builds): to re-measure queries after a change to the searcher",
    )
    return p.parse_args(argv)


def prepare_workdir(workdir: Path, *, reuse: bool = False, records: int = 0, seed: int = 0) -> None:
    var = (ROOT / "var").resolve()
    if workdir == ROOT or workdir == var or var in workdir.parents or workdir in var.parents:
        sys.exit(f"refusing to use {workdir}: the benchmark must not touch the project's var/")
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / MARKER).exists():
        sys.exit(f"refusing to use {workdir}: it is not empty and was not made by this benchmark")
    if reuse:
        try:
            made = json.loads((workdir / CATALOG_FILE).read_text())
        except (OSError, ValueError):
            sys.exit(f"--reuse: no catalog of an earlier run in {workdir}; run once without --reuse")
        if (made.get("records"), made.get("seed")) != (records, seed):
            sys.exit(f"--reuse: {workdir} holds {made.get('records')} records with seed {made.get('seed')}, "
                     f"not {records} with seed {seed}")
        return
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by bench/search_bench.py; its contents are thrown away on each run\n")
    for name in ("index", "var"):
        shutil.rmtree(workdir / name, ignore_errors=True)
    for pattern in ("bench.sqlite3*", "fts5.sqlite3*", CATALOG_FILE, FTS5_DONE):
        for f in workdir.glob(pattern):
            f.unlink()


def configure_environment(workdir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "shuyuan.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["SEARCH_INDEX_DIR"] = str(workdir / "index")
    os.environ["VAR_DIR"] = str(workdir / "var")
    os.environ["MEDIA_ROOT"] = str(workdir / "var" / "media")
    os.environ["STATIC_ROOT"] = str(workdir / "var" / "static")
    # Production-like request handling: no DEBUG query log, the test client's host allowed.
    os.environ["DEBUG"] = "False"
    os.environ["SECRET_KEY"] = "bench-only-not-secret-" + "x" * 40
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["CATALOG_PUBLIC"] = "True"
    os.environ["LOG_LEVEL"] = "WARNING"
    # One client sends every query: the per-address search rate limit is off.
    os.environ["SEARCH_RATE_ANONYMOUS"] = "0"
    os.environ.pop("DB_CONN_MAX_AGE", None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "mean": statistics.fmean(ms) if ms else float("nan"),
        "max": max(ms) if ms else float("nan"),
    }


def dir_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (user + system).  On a machine shared with
    other work the wall time of a build or a query grows with the load; its CPU time much less so."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def code_version() -> str:
    """The commit of the tree and whether search_index/ has uncommitted changes (read-only git calls)."""
    import subprocess

    def git(*cmd):
        return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD") or "?"
        dirty = git("status", "--porcelain", "--", "search_index")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return f"{head}" + (" + uncommitted changes in search_index/" if dirty else ", search_index/ clean")


def say(*args) -> None:
    print(*args, flush=True)


def load() -> str:
    """The 1-minute load average, to spot other work on the machine skewing the figures."""
    try:
        return f"load {os.getloadavg()[0]:.2f}"
    except OSError:
        return "load n/a"


def fmt(x, unit="") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float):
        s = f"{x:,.1f}" if abs(x) < 1000 else f"{x:,.0f}"
    else:
        s = f"{x:,}"
    return s + unit


def chunks(iterable, n):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


# --------------------------------------------------------------------------------------------------------
# 1. Catalog
# --------------------------------------------------------------------------------------------------------


def load_catalog(corpus) -> dict:
    from django.db import transaction

    from library.models import Book, Contributor, Copy, Paper, PaperAuthor
    from search_index.models import IndexChange

    started = time.perf_counter()
    counts = Counter()
    with transaction.atomic():
        for batch in chunks(corpus.iter_books(), 2000):
            books = Book.objects.bulk_create(
                [
                    Book(
                        isbn=r["isbn"], title=r["title"], subtitle=r["subtitle"], publisher=r["publisher"],
                        year=r["year"], language=r["language"], clc=r["clc"], subjects=r["subjects"],
                        summary=r["summary"],
                    )
                    for r in batch
                ]
            )
            contributors, copies = [], []
            for book, r in zip(books, batch, strict=True):
                contributors += [Contributor(book_id=book.pk, name=n, position=i) for i, n in enumerate(r["authors"])]
                copies += [Copy(book_id=book.pk, barcode=b, status=s) for b, s in r["copies"]]
            Contributor.objects.bulk_create(contributors, batch_size=2000)
            Copy.objects.bulk_create(copies, batch_size=2000)
            counts["books"] += len(books)
            counts["contributors"] += len(contributors)
            counts["copies"] += len(copies)
        for batch in chunks(corpus.iter_papers(), 200):
            papers = Paper.objects.bulk_create(
                [
                    Paper(
                        title=r["title"], abstract=r["abstract"], keywords=r["keywords"], year=r["year"],
                        kind=r["kind"], awards=r["awards"], venue=r["venue"], visibility=r["visibility"],
                        full_text=r["full_text"],
                    )
                    for r in batch
                ]
            )
            authors = []
            for paper, r in zip(papers, batch, strict=True):
                authors += [PaperAuthor(paper_id=paper.pk, name=n, position=i) for i, n in enumerate(r["authors"])]
                counts["full_text_chars"] += len(r["full_text"])
            PaperAuthor.objects.bulk_create(authors, batch_size=2000)
            counts["papers"] += len(papers)
        IndexChange.objects.all().delete()
    counts["seconds"] = time.perf_counter() - started
    return counts


# --------------------------------------------------------------------------------------------------------
# 2. Whoosh build
# --------------------------------------------------------------------------------------------------------


def build_whoosh(procs: int, *, reuse: bool = False, sidecars: bool = True) -> dict:
    from django.conf import settings

    from search_index import documents, generations, postings_cache, services, sidecar, whoosh_private

    if reuse:
        records, wall, cpu = documents.count_documents(), float("nan"), float("nan")
    else:
        started, cpu_started = time.perf_counter(), cpu_seconds()
        records = services.index_rebuild(procs=procs).records
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    try:
        ix = generations.open_index()
    except generations.IndexMissing as exc:
        sys.exit(f"no usable index ({exc}); run once without --reuse")
    sidecar_seconds, sidecars_written = float("nan"), []
    if reuse and sidecars:
        # An index built before sidecars existed (or with segments merged since): written the way the worker
        # writes them after a merge.  A rebuild writes them itself, inside the build time.
        started = time.perf_counter()
        sidecars_written = postings_cache.build_sidecars(ix)
        sidecar_seconds = time.perf_counter() - started
    try:
        segments = len(whoosh_private.toc_segments(ix))
    except Exception:  # noqa: BLE001 - a private whoosh API, only informative
        segments = None
    generation = Path(settings.SEARCH_INDEX_DIR) / generations.current_generation()
    sidecar_size = sum(p.stat().st_size for p in generation.glob(f"*{sidecar.EXTENSION}"))
    files = sorted(p.name for p in (Path(settings.SEARCH_INDEX_DIR) / generations.current_generation()).iterdir())
    ix.close()
    size = dir_size(Path(settings.SEARCH_INDEX_DIR))
    return {
        "records": records,
        "seconds": wall,
        "cpu_seconds": cpu,
        "rate": records / wall if wall else float("nan"),
        "size": size,
        "segments": segments,
        "compound": any(f.endswith(".seg") for f in files),
        "files": len(files),
        "sidecar_size": sidecar_size,
        "sidecar_seconds": sidecar_seconds,
        "sidecars_written": len(sidecars_written),
    }


# --------------------------------------------------------------------------------------------------------
# 3. Query latency
# --------------------------------------------------------------------------------------------------------


def time_services(queries) -> tuple[list[float], list[dict]]:
    from search_index import services

    filters = services.Filters()
    times, info = [], []
    for _kind, text in queries:
        t, c = time.perf_counter(), time.process_time()
        result = services.search(text, filters=filters, limit=20)
        times.append((time.perf_counter() - t) * 1000)
        info.append({"count": result.count, "all": result.matched_all_terms, "items": len(result.items),
                     "cpu_ms": (time.process_time() - c) * 1000})
    return times, info


def time_api(queries) -> list[float]:
    from django.test import Client

    client = Client()
    times, cpu = [], []
    for _kind, text in queries:
        t, c = time.perf_counter(), time.process_time()
        response = client.get("/api/v1/search", {"q": text})
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"API answered {response.status_code} for {text!r}: {response.content[:300]!r}")
    time_api.cpu_ms = cpu
    return times


def homophone_chars(corpus) -> dict[str, list[str]]:
    """The characters of the corpus's words and names by their toneless reading (each read on its own)."""
    from pypinyin import lazy_pinyin

    chars = sorted({c for w in corpus.content for c in w} | {c for name in corpus.some_authors(300) for c in name})
    by_sound: dict[str, list[str]] = defaultdict(list)
    for c in chars:
        by_sound[lazy_pinyin(c)[0]].append(c)
    return by_sound


def _misheard(text: str, by_sound: dict[str, list[str]], *, every: bool = False) -> str | None:
    """``text`` with its first Han character that has a homophone in ``by_sound`` (or every such character)
    replaced by that homophone: what an input method makes of a slip."""
    from pypinyin import lazy_pinyin

    out = list(text)
    changed = False
    for i, c in enumerate(text):
        if not "\u4e00" <= c <= "\u9fff":
            continue
        same = [o for o in by_sound.get(lazy_pinyin(c)[0], []) if o != c]
        if same:
            out[i] = same[i % len(same)]
            changed = True
            if not every:
                break
    return "".join(out) if changed else None


def misheard_runs(corpus, frequent: list[str], n_words: int) -> str:
    """Runs of two frequent words with every character replaced by one that sounds the same, as many runs as
    the word limit allows: each run is unknown, its syllables are common (many records to read) and
    nothing sounds like it whole, so each lookup runs both passes and reads the most records it may."""
    from search_index import searcher

    by_sound = homophone_chars(corpus)
    pairs = [w for w in frequent if len(w) == 2]
    runs: list[str] = []
    for a, b in zip(pairs[::2], pairs[1::2], strict=False):
        run = _misheard(a + b, by_sound, every=True)
        if run is None:
            continue
        if searcher._word_count(" ".join([*runs, run])) > n_words:
            break
        runs.append(run)
    return " ".join(runs)


def misheard_queries(corpus, queries, n: int) -> list[tuple[str, str]]:
    """Up to ``n`` of the ordinary Chinese queries (kinds zh and author) as ``(original, misheard)``: one
    character replaced by a homophone."""
    by_sound = homophone_chars(corpus)
    out = []
    for kind, text in queries:
        if kind in ("zh", "author"):
            misheard = _misheard(text, by_sound)
            if misheard is not None:
                out.append((text, misheard))
        if len(out) >= n:
            break
    return out


def time_misheard(queries) -> dict:
    """Each misheard query through services.search (its did-you-mean included when it runs), and the
    did-you-mean alone (``searcher._suggest`` on the searcher and filters of the search)."""
    from search_index import searcher, services

    filters = services.Filters()
    search_ms, suggest_ms, suggested, restored = [], [], [], 0
    for original, text in queries:
        t = time.perf_counter()
        result = services.search(text, filters=filters, limit=20)
        search_ms.append((time.perf_counter() - t) * 1000)
        if result.count and result.matched_all_terms:
            continue  # the trigger did not fire: no did-you-mean ran
        run = searcher._Run(searcher._searcher(), filters, "relevance", 20, 0, searcher._Deadline(searcher.TIME_LIMIT))
        t = time.perf_counter()
        searcher._suggest(run, result.query)
        suggest_ms.append((time.perf_counter() - t) * 1000)
        suggested.append(result.suggestion)
        restored += result.suggestion == original
    return {"search": summary(search_ms), "suggest": summary(suggest_ms) if suggest_ms else None,
            "triggered": len(suggest_ms), "suggested": sum(1 for s in suggested if s), "restored": restored}


def hostile_queries(corpus) -> list[tuple[str, str]]:
    """Query shapes that make the engine work hardest, each at the limit searcher accepts (docs/search.md).

    Built from the corpus's most frequent words (the longest posting lists).  Each is checked against
    ``searcher.check_limits``, so a change of limits that refuses one shows up as an error, not a fast 400.
    """
    from pypinyin import lazy_pinyin

    from search_index import searcher

    frequent = [w for w in corpus.text_vocab.words[: len(corpus.content)] if searcher._word_count(w) == 1]
    pinyin = ["".join(lazy_pinyin(w)) for w in frequent if len(w) >= 2]
    n_phrase, n_words, depth = searcher.MAX_PHRASE_WORDS, searcher.MAX_QUERY_WORDS, searcher.MAX_NESTING
    nested = frequent[depth]
    for w in reversed(frequent[:depth]):
        nested = f"({w} OR {nested})"
    shapes = [
        (f"phrase of {n_phrase} frequent words", '"' + " ".join(frequent[:n_phrase]) + '"'),
        (f"phrase of one word x{n_phrase}", '"' + " ".join([frequent[0]] * n_phrase) + '"'),
        (f"{n_words} frequent words", " ".join(frequent[:n_words])),
        (f"{n_words} words, OR", " OR ".join(frequent[:n_words])),
        (f"{depth} levels of brackets, OR", nested),
        (f"{n_words} pinyin prefixes with *", " ".join(p[:3] + "*" for p in pinyin[:n_words])),
        (f"{n_words} misspelled pinyin (did-you-mean)", " ".join(p[:-1] + ("q" if p[-1] != "q" else "x") for p in pinyin[:n_words])),
        (f"{searcher.MAX_SUGGEST_RUNS}+ misheard Chinese runs (did-you-mean)", misheard_runs(corpus, frequent, n_words)),
        (f"{n_words} words in {n_phrase // 2}-word phrases",
         " ".join('"' + " ".join(frequent[i : min(i + n_phrase // 2, n_words)]) + '"'
                  for i in range(0, n_words, n_phrase // 2))),
    ]
    # Law names and citations (docs/search.md, "Law names"): the most names expanded, each adding its longest
    # forms, and the most articles cited, filled up to the word limit with frequent words.
    names = "民诉解释 刑诉解释 行诉解释 担保制度解释 民诉法 刑诉法"
    cites = "民法典第1条至第16条"
    for label, start in ((f"{searcher.MAX_LAW_EXPANSIONS}+ law names expanded", names),
                         (f"{searcher.MAX_QUERY_CITATIONS} articles cited", cites)):
        text = start
        for word in frequent:
            if searcher._word_count(f"{text} {word}") > n_words:
                break
            text = f"{text} {word}"
        shapes.append((f"{label} + frequent words", text))
    for label, text in shapes:
        if len(text) > searcher.MAX_QUERY_LENGTH:
            raise RuntimeError(f"hostile shape {label!r} is longer than {searcher.MAX_QUERY_LENGTH} characters")
        searcher.check_limits(text)
    return shapes


def time_hostile(shapes, runs: int) -> list[dict]:
    """Each shape through the HTTP API ``runs`` times in a row (the first run pays for cold caches)."""
    from django.test import Client

    client = Client()
    out = []
    for label, text in shapes:
        ms, statuses = [], set()
        for _ in range(runs):
            t = time.perf_counter()
            response = client.get("/api/v1/search", {"q": text})
            ms.append((time.perf_counter() - t) * 1000)
            statuses.add(response.status_code)
        body = response.json()
        out.append({"label": label, "first": ms[0], "median": statistics.median(ms), "max": max(ms),
                    "status": "/".join(map(str, sorted(statuses))), "count": body.get("count")})
    return out


def process_memory(pid: int) -> dict[str, float]:
    """A process's memory from /proc, in MB: resident (VmRSS), its peak (VmHWM), and of the resident memory the
    private part (RssAnon) and the mapped files (RssFile: the index's sidecars and libraries, shared through the
    page cache with every other process that maps them)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0]) / 1024
    return out


def time_gunicorn(workdir: Path, queries, warmup) -> dict:
    """The API through gunicorn with one sync worker, as ``make serve`` runs it (``bench.loadtest``'s command):
    the queries over HTTP, then the worker process's memory after them."""
    import http.client
    import urllib.parse

    from bench.loadtest import free_port, gunicorn_command

    port = free_port()
    env = dict(os.environ, ALLOWED_HOSTS="127.0.0.1,testserver")
    log = workdir / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(gunicorn_command(1, port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def get(text: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": text}))
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if get("法院") == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"gunicorn did not answer:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        worker = int(children[0])
        started = process_memory(worker)
        for _kind, text in warmup:
            get(text)
        warm = process_memory(worker)
        times = []
        for _kind, text in queries:
            t = time.perf_counter()
            status = get(text)
            times.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise RuntimeError(f"gunicorn answered {status} for {text!r}")
        return {"latency": summary(times), "memory_started": started, "memory_warm": warm,
                "memory": process_memory(worker), "worker_pid": worker}
    finally:
        stop_process_group(proc)


# --------------------------------------------------------------------------------------------------------
# 4. Commit to searchable
# --------------------------------------------------------------------------------------------------------


def start_index_worker(log: Path) -> subprocess.Popen:
    """``manage.py run_worker`` on the benchmark's database and index (its loop applies the index's outbox);
    returns once it has written its first heartbeat."""
    from jobs.models import WorkerBeat

    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "manage.py", "run_worker"], cwd=ROOT, env=dict(os.environ), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not WorkerBeat.objects.filter(pid=proc.pid).exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_index_worker(proc)
            sys.exit(f"the worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    time.sleep(1)  # its loop thread starts right after the heartbeat
    return proc


stop_index_worker = stop_process_group


def commit_to_searchable(trials: int, seed: int) -> dict:
    from django.db import transaction

    from library import services as library_services
    from search_index import services
    from search_index.changelog import waiting_here

    filters = services.Filters()
    found_ms, drain_ms = [], []
    failures = 0
    created = []
    for trial in range(trials):
        nonce = f"zqx{seed % 1000}t{trial}bench"
        marks = {}
        with transaction.atomic():
            # Registered before the book's own on-commit work, so it runs first, right after COMMIT.
            transaction.on_commit(lambda marks=marks: marks.__setitem__("commit", time.perf_counter()))
            book = library_services.book_create(
                title=f"基准测试新书 {nonce} 担保物权实务研究",
                contributors=["测试员"],
                year=2025,
                clc="D923.2",
                subjects=["担保物权"],
                summary="单条记录从提交到可检索的时间测量。",
            )
        drained = time.perf_counter()
        created.append(book.pk)
        deadline = drained + 30
        found = None
        while time.perf_counter() < deadline:
            result = services.search(nonce, filters=filters, limit=20)
            if any(h.type == "book" and h.id == book.pk for h in result.items):
                found = time.perf_counter()
                break
            # Look again at once (a search takes a few ms): a longer pause would add up to its own length to
            # the worker path only (the in-request drain is done before the first look).
            time.sleep(0.001)
        if found is None:
            failures += 1
            continue
        found_ms.append((found - marks["commit"]) * 1000)
        drain_ms.append((drained - marks["commit"]) * 1000)
    return {
        "median_ms": statistics.median(found_ms) if found_ms else float("nan"),
        "max_ms": max(found_ms) if found_ms else float("nan"),
        "drain_median_ms": statistics.median(drain_ms) if drain_ms else float("nan"),
        "all_ms": found_ms,
        "failures": failures,
        "queued_left": waiting_here(),
        "created": created,
    }


def remove_trial_books(ids: list[int]) -> None:
    """Delete the books made by commit_to_searchable (through the service, so the index follows)."""
    from library import services as library_services
    from library.models import Book
    from search_index import services as search_services

    for book in Book.objects.filter(pk__in=ids):
        library_services.book_delete(book=book)
    search_services.index_drain()  # no worker runs any more: this process applies the deletions


# --------------------------------------------------------------------------------------------------------
# 5. FTS5 reference
# --------------------------------------------------------------------------------------------------------

_fts_analyzer = None


def _fts_tokens(text: str) -> str:
    global _fts_analyzer
    if not text:
        return ""
    if _fts_analyzer is None:
        from search_index.analysis import text_analyzer

        _fts_analyzer = text_analyzer()
    return " ".join(t.text for t in _fts_analyzer(text))


def _fts_rows(batch: list[tuple]) -> list[tuple]:
    """Segment a batch of (title, people, subjects+summary, text, key, clc_facet, visibility) in a worker."""
    return [(_fts_tokens(a), _fts_tokens(b), _fts_tokens(c), _fts_tokens(d), k, f, v) for a, b, c, d, k, f, v in batch]


FTS5_SELECT = (
    "SELECT key, highlight(docs, 0, '<mark>', '</mark>'), "
    "snippet(docs, 2, '<mark>', '</mark>', '…', 24), snippet(docs, 3, '<mark>', '</mark>', '…', 24), rank "
    "FROM docs WHERE docs MATCH ? AND visibility != 'internal' ORDER BY rank LIMIT 20"
)
FTS5_FACET = (
    "SELECT clc_facet, count(*) FROM docs WHERE docs MATCH ? AND visibility != 'internal' "
    "GROUP BY clc_facet ORDER BY 2 DESC"
)


def build_fts5(path: Path, procs: int) -> dict:
    from search_index import documents

    started, cpu_started = time.perf_counter(), cpu_seconds()
    conn = sqlite3.connect(path, isolation_level=None)  # autocommit; transactions are explicit below
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, authors, summary, text, key UNINDEXED, "
        "clc_facet UNINDEXED, visibility UNINDEXED, tokenize='unicode61 remove_diacritics 2')"
    )
    # ORDER BY rank = bm25 with the same weights as the Whoosh fields (title 4, people 2, summary 1, text 0.5).
    conn.execute("INSERT INTO docs(docs, rank) VALUES('rank', 'bm25(4.0, 2.0, 1.0, 0.5)')")

    def source():
        for doc in documents.all_documents():
            yield (
                doc["title"], doc["people"], " ".join(filter(None, [doc["subjects"], doc["summary"]])), doc["text"],
                doc["key"], doc["clc_facet"], doc["visibility"],
            )

    count = 0
    insert = "INSERT INTO docs(title, authors, summary, text, key, clc_facet, visibility) VALUES (?,?,?,?,?,?,?)"
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(procs)
    try:
        conn.execute("BEGIN")
        for rows in pool.imap(_fts_rows, chunks(source(), 100), chunksize=1):
            conn.executemany(insert, rows)
            count += len(rows)
        conn.execute("COMMIT")
        pool.close()
        pool.join()  # the workers' CPU time is counted once they are waited for
    finally:
        pool.terminate()
    conn.execute("INSERT INTO docs(docs) VALUES('optimize')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    size = sum(f.stat().st_size for f in path.parent.glob(path.name + "*"))
    return {"records": count, "seconds": wall, "cpu_seconds": cpu, "rate": count / wall if wall else float("nan"),
            "size": size}


def fts5_match(text: str) -> str | None:
    from search_index.analysis import normalize_query_text, text_analyzer

    global _fts_analyzer
    if _fts_analyzer is None:
        _fts_analyzer = text_analyzer()
    tokens = list(dict.fromkeys(t.text for t in _fts_analyzer(normalize_query_text(text), mode="query")))
    if not tokens:
        return None
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in tokens)


def time_fts5(path: Path, queries) -> tuple[list[float], list[int]]:
    conn = sqlite3.connect(path)
    times, counts, cpu = [], [], []
    for _kind, text in queries:
        t, c = time.perf_counter(), time.process_time()
        match = fts5_match(text)
        n = 0
        if match is not None:
            conn.execute(FTS5_SELECT, (match,)).fetchall()
            n = sum(c for _f, c in conn.execute(FTS5_FACET, (match,)).fetchall())
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        counts.append(n)
    conn.close()
    time_fts5.cpu_ms = cpu
    return times, counts


# --------------------------------------------------------------------------------------------------------
# Profile and breakdown
# --------------------------------------------------------------------------------------------------------


def profile_whoosh(queries, top: int) -> None:
    from search_index import services

    filters = services.Filters()
    prof = cProfile.Profile()
    prof.enable()
    for _kind, text in queries:
        services.search(text, filters=filters, limit=20)
    prof.disable()
    for key, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(top)
        say(f"\n--- cProfile of {len(queries)} services.search() calls, top {top} by {title} ---")
        lines = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        head = [line for line in lines[:start] if "function calls" in line]
        say("\n".join(head + lines[start:]).rstrip())


def breakdown_whoosh(queries) -> list[tuple[str, dict]]:
    """Time the stages of a query one by one, the way search_index.searcher runs them.

    Uses searcher's private helpers (parse, _searcher, _segments, _allowed, _facet_counts,
    _query_terms, _highlights); the Whoosh-only rows are the former design, for reference.
    """
    import numpy as np
    from whoosh import query as wq

    from search_index import searcher as s_mod
    from search_index.analysis import normalize_query_text

    s = s_mod._searcher()
    schema = s.schema
    filters = s_mod.Filters()
    mask_q = wq.Term("visibility", "internal")
    parsed = []
    parse_ms = []
    for _kind, text in queries:
        t = time.perf_counter()
        norm = normalize_query_text(text)
        q = s_mod.parse(norm, schema, fields=s_mod._fields_for(norm, with_bigrams=False))
        parse_ms.append((time.perf_counter() - t) * 1000)
        if q is not None:
            parsed.append((text, q))

    def matched(q):
        out = []
        for seg in s_mod._segments(s):
            docs = seg.docs(q)
            mask = s_mod._allowed(seg, filters)
            if mask is not None:
                docs = docs[mask[docs]]
            out.append((seg, docs))
        return out

    def match(text, q):
        for seg in s_mod._segments(s):
            seg.docs(q)

    def match_and_mask(text, q):
        matched(q)

    def facets(text, q):
        s_mod._facet_counts(matched(q))

    def score_all(text, q):
        for seg, docs in matched(q):
            if len(docs):
                try:
                    scores = seg.scores(q, docs, s)
                except s_mod._Unscorable:
                    return
                np.argpartition(-scores, min(20, len(scores) - 1))

    tops: dict[str, list[int]] = {}

    def page(text, q) -> list[int]:
        if text not in tops:
            run = s_mod._Run(s, filters, "relevance", 20, 0, s_mod._Deadline(s_mod.TIME_LIMIT))
            try:
                tops[text] = [d for d, _ in run._by_score(q, matched(q), 20)]
            except (s_mod._Unscorable, ValueError):
                tops[text] = []
        return tops[text]

    def highlights(text, q):
        terms = s_mod._query_terms(q)
        for docnum in page(text, q):
            s_mod._highlights(s.stored_fields(docnum), terms)

    def whoosh_top20(text, q):
        s.search(q, mask=mask_q, limit=20).scored_length()

    def whoosh_unscored(text, q):
        set(s.docs_for_query(wq.AndNot(q, mask_q)))

    def suggest(text, q):
        s_mod._suggest(s_mod._Run(s, filters, "relevance", 20, 0, s_mod._Deadline(s_mod.TIME_LIMIT)),
                       normalize_query_text(text))

    def full(text, q):
        s_mod.search(text, filters=filters, limit=20)

    interleaved = [
        ("match: array set operations over the query tree", match),
        ("match + filter/visibility masks", match_and_mask),
        ("match + masks + 5 facet counts (bincount)", facets),
        ("match + masks + BM25F of every match + top 20", score_all),
        ("stored fields + highlights of 20 hits", highlights),
        ("full searcher.search() (for reference)", full),
        ("former design: Whoosh scored top 20 (TopCollector)", whoosh_top20),
        ("former design: Whoosh unscored pass over all matches", whoosh_unscored),
    ]
    # Every part runs on a query before the next query starts, so that a change of load on the machine
    # during the loop skews all parts alike.
    times: dict[str, list[float]] = {label: [] for label, _fn in interleaved}
    for text, q in parsed:
        full(text, q)  # untimed: the first search of a query pays for cold caches
        page(text, q)
        for label, fn in interleaved:
            t = time.perf_counter()
            fn(text, q)
            times[label].append((time.perf_counter() - t) * 1000)

    def timed(fn, subset):
        ms = []
        for text, q in subset:
            t = time.perf_counter()
            fn(text, q)
            ms.append((time.perf_counter() - t) * 1000)
        return summary(ms)

    rows = [("parse (normalize + qparser)", summary(parse_ms))]
    rows += [(label, summary(times[label])) for label, _fn in interleaved]
    latin = [(t, q) for t, q in parsed if any(c.isascii() and c.isalpha() for c in t)]
    if latin:
        rows.append((f"_suggest() alone, {len(latin)} q with Latin letters", timed(suggest, latin)))
    return rows


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    out = [line, _row(header, widths), line]
    out += [_row(r, widths) for r in rows]
    out.append(line)
    return "\n".join(out)


def _width(s: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _row(cells, widths) -> str:
    parts = []
    for i, (c, w) in enumerate(zip(cells, widths, strict=True)):
        pad = " " * (w - _width(c))
        parts.append(c + pad if i == 0 else pad + c)
    return "| " + " | ".join(parts) + " |"


def ratio(a, b) -> str:
    if a is None or b is None or not b or (isinstance(a, float) and math.isnan(a)) or math.isnan(b):
        return "n/a"
    return f"{a / b:.2f}×"


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir).expanduser().resolve()
    prepare_workdir(workdir, reuse=args.reuse, records=args.records, seed=args.seed)
    configure_environment(workdir)

    import django

    django.setup()
    from django.core.management import call_command

    from bench.corpus import Corpus

    # Load the whole search layer now, so the run measures one version of it even if the tree changes meanwhile.
    importlib.import_module("search_index.indexer")
    importlib.import_module("search_index.searcher")
    importlib.import_module("search_index.services")

    say(f"search benchmark: {args.records:,} records, {args.queries} queries, procs={args.procs}, seed={args.seed}")
    say(f"workdir {workdir}  (DATABASE_URL={os.environ['DATABASE_URL']}, SEARCH_INDEX_DIR={os.environ['SEARCH_INDEX_DIR']})")
    say(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, {load()} at start")
    say(f"code: {code_version()}")
    call_command("migrate", verbosity=0, interactive=False)

    corpus = Corpus(args.records, seed=args.seed)
    if args.reuse:
        cat = json.loads((workdir / CATALOG_FILE).read_text())
        say(f"\n[1] catalog: reusing {cat['books']:,} books + {cat['papers']:,} papers of an earlier run")
    else:
        say(f"\n[1] catalog: generating and inserting {corpus.books:,} books + {corpus.papers:,} papers …")
        cat = load_catalog(corpus)
        say(
            f"    {cat['books']:,} books ({cat['contributors']:,} contributors, {cat['copies']:,} copies), "
            f"{cat['papers']:,} papers ({cat['full_text_chars'] / max(1, cat['papers']):,.0f} chars of full text each) "
            f"in {cat['seconds']:.1f} s; DB {(workdir / 'bench.sqlite3').stat().st_size / 2**20:,.0f} MB"
        )
        (workdir / CATALOG_FILE).write_text(json.dumps({"records": args.records, "seed": args.seed, **cat}))

    if args.reuse:
        say(f"\n[2] Whoosh: reusing the index of an earlier run ({load()})")
    else:
        say(f"\n[2] Whoosh: index_rebuild(procs={args.procs}) … ({load()})")
    if args.no_sidecars:
        from search_index import postings_cache

        postings_cache.READ_SIDECARS = False
    wb = build_whoosh(args.procs, reuse=args.reuse, sidecars=not args.no_sidecars)
    say(
        f"    {wb['records']:,} records in {wb['seconds']:.1f} s = {wb['rate']:,.0f} records/s ({wb['cpu_seconds']:,.1f} s of CPU); "
        f"index {wb['size'] / 2**20:,.1f} MB on disk, {wb['segments']} segment(s), {wb['files']} files, "
        f"compound={'yes' if wb['compound'] else 'no'}; peak RSS self {rss_mb():,.0f} MB, "
        f"children {rss_mb(resource.RUSAGE_CHILDREN):,.0f} MB"
    )
    say(
        f"    sidecars: {wb['sidecar_size'] / 2**20:,.1f} MB of the index"
        + (f"; {wb['sidecars_written']} written for the reused index in {wb['sidecar_seconds']:.1f} s"
           if args.reuse and not args.no_sidecars else "")
        + ("; IGNORED by searches (--no-sidecars)" if args.no_sidecars else "")
    )

    queries = corpus.queries(args.queries)
    warmup = corpus.queries(args.warmup, seed_offset=1)
    kinds = Counter(k for k, _ in queries)
    say(f"\n[3] queries: {args.queries} timed ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}), "
        f"{args.warmup} warm-up ({load()})")
    time_services(warmup)
    svc_ms, svc_info = time_services(queries)
    svc = summary(svc_ms)
    svc_cpu = summary([i["cpu_ms"] for i in svc_info])
    counts = [i["count"] for i in svc_info]
    fallback = sum(1 for i in svc_info if not i["all"])
    zero = sum(1 for c in counts if c == 0)
    say(
        f"    services.search(): p50 {svc['p50']:.1f} ms, p95 {svc['p95']:.1f}, p99 {svc['p99']:.1f}, mean {svc['mean']:.1f}, "
        f"max {svc['max']:.1f}; hits median {statistics.median(counts):,.0f}, p90 {percentile(counts, 90):,.0f}; "
        f"{fallback} fell back to any-term, {zero} found nothing; CPU p50 {svc_cpu['p50']:.1f} ms, p95 {svc_cpu['p95']:.1f}"
    )
    time_api(warmup)
    api_ms = time_api(queries)
    api = summary(api_ms)
    api_cpu = summary(time_api.cpu_ms)
    say(f"    GET /api/v1/search:  p50 {api['p50']:.1f} ms, p95 {api['p95']:.1f}, p99 {api['p99']:.1f}, mean {api['mean']:.1f}, "
        f"max {api['max']:.1f}; CPU p50 {api_cpu['p50']:.1f} ms, p95 {api_cpu['p95']:.1f}")
    by_kind = defaultdict(list)
    for (kind, _t), ms, info in zip(queries, api_ms, svc_info, strict=True):
        by_kind[kind].append((ms, info["count"]))
    say("    API latency by query kind:")
    for kind, vals in sorted(by_kind.items()):
        ms = [v[0] for v in vals]
        say(f"      {kind:7s} n={len(ms):3d}  p50 {percentile(ms, 50):7.1f}  p95 {percentile(ms, 95):7.1f} ms  "
            f"hits median {statistics.median(v[1] for v in vals):,.0f}")
    slow = sorted(zip(api_ms, queries, counts, strict=True), reverse=True)[:8]
    say("    slowest (API): " + "; ".join(f"{q[1]!r} {ms:.0f} ms/{n:,} hits" for ms, q, n in slow))

    hostile_limit = TARGET_HOSTILE_RATIO * api["p95"]
    say(f"\n[3b] hostile queries at the limits, {args.hostile_runs} runs each through the API ({load()}); "
        f"ordinary API p95 {api['p95']:.1f} ms, {TARGET_HOSTILE_RATIO:.0f}× = {hostile_limit:.1f} ms")
    hostile = time_hostile(hostile_queries(corpus), args.hostile_runs)
    say(table(
        [[h["label"], h["status"], fmt(h["count"]) if h["count"] is not None else "-", fmt(h["first"]),
          fmt(h["median"]), fmt(h["max"]), ratio(h["first"], api["p95"]), ratio(h["max"], api["p95"]),
          "PASS" if h["max"] <= hostile_limit else "FAIL"]
         for h in hostile]
        + [["ordinary queries, API p95", "200", "", "", "", fmt(api["p95"]), "", "1.00×", ""],
           [f"{TARGET_HOSTILE_RATIO:.0f}× ordinary p95 (the line)", "", "", "", "", fmt(hostile_limit), "",
            f"{TARGET_HOSTILE_RATIO:.2f}×", ""]],
        ["shape", "status", "hits", "first ms", "median ms", "max ms", "first / p95", "max / p95", "verdict"],
    ))

    misheard = misheard_queries(corpus, queries, 100)
    say(f"\n[3c] Chinese did-you-mean: {len(misheard)} of the Chinese queries above with one character misheard "
        f"(a homophone from the corpus), through services.search ({load()})")
    if misheard:
        time_misheard(misheard[:10])  # untimed: the first lookups of a syllable read its lists
        mh = time_misheard(misheard)
        say(f"    services.search(): p50 {mh['search']['p50']:.1f} ms, p95 {mh['search']['p95']:.1f}, max "
            f"{mh['search']['max']:.1f} (the ordinary queries of [3]: p50 {svc['p50']:.1f}, p95 {svc['p95']:.1f}); "
            f"did-you-mean ran for {mh['triggered']}, suggested something for {mh['suggested']}, the query as "
            f"first written for {mh['restored']}")
        if mh["suggest"]:
            say(f"    _suggest() alone: p50 {mh['suggest']['p50']:.1f} ms, p95 {mh['suggest']['p95']:.1f}, "
                f"max {mh['suggest']['max']:.1f}")

    say(f"\n[3d] the API through gunicorn, one sync worker (make serve's command), {len(queries)} queries over HTTP; "
        f"the worker's memory after them ({load()})")
    gw = time_gunicorn(workdir, queries, warmup)
    mem, mem0, memw = gw["memory"], gw["memory_started"], gw["memory_warm"]
    say(f"    p50 {gw['latency']['p50']:.1f} ms, p95 {gw['latency']['p95']:.1f}, p99 {gw['latency']['p99']:.1f}; worker "
        f"resident {mem['VmRSS']:,.0f} MB (peak {mem['VmHWM']:,.0f}): private {mem['RssAnon']:,.0f} MB, mapped files "
        f"{mem['RssFile']:,.0f} MB (the sidecars among them, shared through the page cache); after its first query "
        f"{mem0['VmRSS']:,.0f} MB (private {mem0['RssAnon']:,.0f}), after the {len(warmup)} warm-up queries "
        f"{memw['VmRSS']:,.0f} MB (private {memw['RssAnon']:,.0f})")

    say(f"\n[4] commit to searchable: {args.trials} × library.services.book_create() in transaction.atomic(); "
        f"reference: this process drains after its commit (SEARCH_DRAIN_IN_REQUEST) … ({load()})")
    from django.conf import settings as django_settings

    django_settings.SEARCH_DRAIN_IN_REQUEST = True
    try:
        ref = commit_to_searchable(args.trials, args.seed + 1)
    finally:
        django_settings.SEARCH_DRAIN_IN_REQUEST = False
    remove_trial_books(ref.pop("created"))
    say(f"    in the request: median {ref['median_ms']:.0f} ms, max {ref['max_ms']:.0f} ms; all: "
        f"{', '.join(f'{x:.0f}' for x in ref['all_ms'])}")
    say(f"    applied by manage.py run_worker … ({load()})")
    worker = start_index_worker(workdir / "worker.log")
    try:
        cs = commit_to_searchable(args.trials, args.seed)
    finally:
        stop_index_worker(worker)
    cs["reference_median_ms"] = ref["median_ms"]
    say(f"    median {cs['median_ms']:.0f} ms, max {cs['max_ms']:.0f} ms (the writer's on-commit work: median "
        f"{cs['drain_median_ms']:.0f} ms); all: {', '.join(f'{x:.0f}' for x in cs['all_ms'])}; "
        f"not found within 30 s: {cs['failures']}; outbox rows left: {cs['queued_left']}; "
        f"÷ in-request median: {cs['median_ms'] / ref['median_ms']:.2f}×")
    after_ms, _ = time_services(queries[:100])
    after = summary(after_ms)
    before_100 = summary(svc_ms[:100])
    say(f"    the same first 100 queries after those {args.trials} commits: p50 {after['p50']:.1f} ms, p95 {after['p95']:.1f} "
        f"(before: p50 {before_100['p50']:.1f}, p95 {before_100['p95']:.1f})")
    remove_trial_books(cs.pop("created"))

    fb = fts = fts_cpu = None
    fts_counts = None
    if not args.skip_fts5:
        fts_path = workdir / "fts5.sqlite3"
        say(f"\n[5] FTS5 reference: same documents, segmented with search_index.analysis.text_analyzer, {args.procs} procs … "
            f"({load()})")
        if args.reuse and (workdir / FTS5_DONE).exists():
            fb = json.loads((workdir / FTS5_DONE).read_text())
            fb["seconds"] = fb["rate"] = fb["cpu_seconds"] = float("nan")
            say(f"    reusing the FTS5 database of an earlier run ({fb['records']:,} records)")
        else:
            for f in workdir.glob("fts5.sqlite3*"):
                f.unlink()
            fb = build_fts5(fts_path, args.procs)
            (workdir / FTS5_DONE).write_text(json.dumps(fb))
        say(f"    {fb['records']:,} records in {fb['seconds']:.1f} s = {fb['rate']:,.0f} records/s "
            f"({fb['cpu_seconds']:,.1f} s of CPU); "
            f"database {fb['size'] / 2**20:,.1f} MB")
        time_fts5(fts_path, warmup)
        fts_ms, fts_counts = time_fts5(fts_path, queries)
        fts = summary(fts_ms)
        fts_cpu = summary(time_fts5.cpu_ms)
        say(f"    MATCH + bm25 top 20 + highlight/snippets + clc facet: p50 {fts['p50']:.1f} ms, p95 {fts['p95']:.1f}, "
            f"p99 {fts['p99']:.1f}, mean {fts['mean']:.1f}; hits median {statistics.median(fts_counts):,.0f}; "
            f"CPU p50 {fts_cpu['p50']:.1f} ms, p95 {fts_cpu['p95']:.1f}")

    if args.breakdown:
        sub = queries[: args.breakdown_queries]
        say(f"\n[+] breakdown of a Whoosh query over {len(sub)} queries (AND query only, no fallback; {load()}):")
        rows = [[label, fmt(r["p50"]), fmt(r["p95"]), fmt(r["mean"])] for label, r in breakdown_whoosh(sub)]
        say(table(rows, ["part", "p50 ms", "p95 ms", "mean ms"]))

    if args.profile:
        profile_whoosh(queries, args.profile_top)

    # --- the table ---------------------------------------------------------------------------------
    fts_s = fts or {}
    rows = [
        ["records", f"{wb['records']:,}", f"{fb['records']:,}" if fb else "n/a", ""],
        ["full build (s)", fmt(wb["seconds"]), fmt(fb["seconds"]) if fb else "n/a", ratio(wb["seconds"], fb and fb["seconds"])],
        ["full build, CPU of all processes (s)", fmt(wb["cpu_seconds"]), fmt(fb["cpu_seconds"]) if fb else "n/a",
         ratio(wb["cpu_seconds"], fb and fb["cpu_seconds"])],
        ["build rate (records/s)", fmt(wb["rate"]), fmt(fb["rate"]) if fb else "n/a", ratio(wb["rate"], fb and fb["rate"])],
        ["index size (MB)", fmt(wb["size"] / 2**20), fmt(fb["size"] / 2**20) if fb else "n/a",
         ratio(wb["size"], fb and fb["size"])],
        ["query p50, services (ms)", fmt(svc["p50"]), fmt(fts_s.get("p50")), ratio(svc["p50"], fts_s.get("p50"))],
        ["query p95, services (ms)", fmt(svc["p95"]), fmt(fts_s.get("p95")), ratio(svc["p95"], fts_s.get("p95"))],
        ["query p99, services (ms)", fmt(svc["p99"]), fmt(fts_s.get("p99")), ratio(svc["p99"], fts_s.get("p99"))],
        ["query mean, services (ms)", fmt(svc["mean"]), fmt(fts_s.get("mean")), ratio(svc["mean"], fts_s.get("mean"))],
        ["query p50, API (ms)", fmt(api["p50"]), fmt(fts_s.get("p50")), ratio(api["p50"], fts_s.get("p50"))],
        ["query p95, API (ms)", fmt(api["p95"]), fmt(fts_s.get("p95")), ratio(api["p95"], fts_s.get("p95"))],
        ["query p99, API (ms)", fmt(api["p99"]), fmt(fts_s.get("p99")), ratio(api["p99"], fts_s.get("p99"))],
        ["query mean, API (ms)", fmt(api["mean"]), fmt(fts_s.get("mean")), ratio(api["mean"], fts_s.get("mean"))],
        ["query p50, API, CPU (ms)", fmt(api_cpu["p50"]), fmt((fts_cpu or {}).get("p50")),
         ratio(api_cpu["p50"], (fts_cpu or {}).get("p50"))],
        ["query p95, API, CPU (ms)", fmt(api_cpu["p95"]), fmt((fts_cpu or {}).get("p95")),
         ratio(api_cpu["p95"], (fts_cpu or {}).get("p95"))],
        ["hits per query, median", fmt(statistics.median(counts)),
         fmt(statistics.median(fts_counts)) if fts_counts else "n/a", ""],
        ["query p95, API through gunicorn (ms)", fmt(gw["latency"]["p95"]), fmt(fts_s.get("p95")),
         ratio(gw["latency"]["p95"], fts_s.get("p95"))],
        ["web worker resident after the warm-up (MB)", fmt(gw["memory_warm"]["VmRSS"]), "", ""],
        ["  of it private (MB)", fmt(gw["memory_warm"]["RssAnon"]), "", ""],
        [f"web worker resident after {len(queries)} queries (MB)", fmt(gw["memory"]["VmRSS"]), "", ""],
        ["  of it private (MB)", fmt(gw["memory"]["RssAnon"]), "", ""],
        ["commit → searchable, median (ms)", fmt(cs["median_ms"]), "n/a", ""],
        ["  the same, drained in the request (reference)", fmt(cs["reference_median_ms"]), "n/a",
         ratio(cs["median_ms"], cs["reference_median_ms"])],
    ]
    say(f"\n=== results: {args.records:,} records, {args.queries} queries, procs={args.procs} ===")
    say(table(rows, ["metric", "Whoosh", "FTS5", "ratio"]))

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    api_ratio = api["p95"] / fts_s["p95"] if fts_s.get("p95") else float("nan")
    targets = [
        [f"API query p95 ≤ {TARGET_API_P95_MS:.0f} ms" + (" (target is set at 100,000 records)" if args.records != 100_000 else ""),
         f"{api['p95']:.1f} ms", verdict(api["p95"] <= TARGET_API_P95_MS)],
        [f"API p95 within {TARGET_RATIO_FTS5:.0f}× of FTS5 p95", f"{api_ratio:.2f}×" if fts_s else "n/a",
         verdict(api_ratio <= TARGET_RATIO_FTS5) if fts_s else "n/a"],
        [f"single-record update searchable ≤ {TARGET_UPDATE_S:.0f} s",
         f"{cs['median_ms']:.0f} ms", verdict(cs["median_ms"] <= TARGET_UPDATE_S * 1000 and not cs["failures"])],
        [f"full rebuild ≥ {TARGET_BUILD_RATE:.0f} records/s", f"{wb['rate']:.0f}/s",
         "n/a (reused)" if args.reuse else verdict(wb["rate"] >= TARGET_BUILD_RATE)],
        [f"hostile queries ≤ {TARGET_HOSTILE_RATIO:.0f}× ordinary API p95 ({hostile_limit:.1f} ms)",
         f"slowest {max(h['max'] for h in hostile):.1f} ms",
         verdict(all(h["max"] <= hostile_limit and h["status"] == "200" for h in hostile))],
    ]
    say(table(targets, ["target", "measured", "verdict"]))
    (workdir / "last-result.json").write_text(
        json.dumps(
            {"args": vars(args), "catalog": cat, "whoosh_build": wb, "services": svc, "services_cpu": svc_cpu, "api": api,
             "api_cpu": api_cpu, "gunicorn": gw, "hostile": hostile, "fts5_build": fb, "fts5": fts, "fts5_cpu": fts_cpu,
             "commit_to_searchable": cs},
            indent=2, default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
