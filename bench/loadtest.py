#!/usr/bin/env python
"""Load test: a throwaway production installation under gunicorn, driven at rising concurrency.

    python bench/loadtest.py [--database sqlite | postgres://USER@HOST:PORT/NAME] [--levels 1,4,16,64]
                             [--duration 20] [--warmup 5] [--workers 2] [--records 100000] [--fresh]
                             [--nodes 2 --redis redis://127.0.0.1:6379/9]

1. Prepare, in a child process (Django runs there, never in the load generator): a database and a
   Whoosh index in the work directory (default /tmp/shuyuan-loadtest/<database>/) holding the
   synthetic catalog of bench/corpus.py (100,000 records: books with 1–3 copies, 5% papers), a few
   hundred events from bench/feed_bench.py (series with moved and cancelled occurrences, a fifth of
   them internal, reading lists, registrations), one judge per virtual client with an API token and a
   calendar token.  The catalog, events and index are kept between runs and reused while their key
   (generator sources, sizes, seed, database; for the index also the search_index modules that decide
   what it holds) is unchanged: a first run costs 10–20 minutes per database (mostly the index
   build), a later one seconds.  Then what ``make serve`` runs: migrate, collectstatic,
   ``rebuild_index --if-missing``, ``warm_feeds``.
2. Start the production server as ``make serve`` does — ``gunicorn shuyuan.wsgi:application`` with
   ``--workers`` sync workers, ``--timeout 60``, DEBUG=False, SECRET_KEY, ALLOWED_HOSTS=127.0.0.1 and
   SITE_URL set — on a free port of 127.0.0.1, and beside it one ``manage.py run_worker`` (which applies
   the search index's outbox), and wait for /readyz.
3. Drive it from this process (threads, one ``http.client`` connection each, no think time) for
   ``--duration`` seconds per level of concurrency: 70% search (``/api/v1/search``, queries drawn from
   the corpus vocabulary: Chinese, traditional, pinyin, author names, English), 15% book pages
   (``/api/v1/books/{id}`` and the ``/books/{id}`` web page), 5% borrow then return (the client's own
   judge scans the barcode of one copy of each of 25 books no other client touches, so it is always free), 5% event listings
   (``/api/v1/events``, ``/api/v1/occurrences``), 5% calendar feeds polled with ``If-None-Match`` as a
   calendar app does (the public feed, one series and the judge's personal feed; the first fetch of
   each stores its ETag).
4. Print per level: requests, throughput, latency p50/p95/p99/max, errors, refusals and status codes,
   latency by kind of request, and where the machine's CPU went (gunicorn, the PostgreSQL cluster,
   this load generator, everything else — other work on the machine skews the figures, so it is
   shown); scan the server's log for 5xx answers, tracebacks, error lines and worker timeouts.
   Exit status 1 when anything failed.  ``--mix search=1`` and the like measure one kind alone.

``--nodes N`` (N ≥ 2; PostgreSQL only): the levels are run twice, first against one app node and then
against N, each time behind a load balancer — Debian's haproxy (``apt-get install haproxy``; round robin
per request, at most ``--workers`` requests at a time per node and the rest queued in haproxy, ``/readyz``
checked every 2 s) — so that the only difference between the two runs is the
number of nodes.  A node is what docs/deploy.md section 9 describes: gunicorn (``--workers``) and a
``run_worker`` with a ``VAR_DIR`` and search index directory of its own (node 1's is the prepared one;
node i's is ``<installation>/node-i/``, built by its worker from the database on its first start as a new
node's is, and kept current from the change log afterwards), the caches and rate limits on Redis
(``--redis``: a database of the load test's own, flushed at the start of each run, since cached feeds
are keyed by versions that a regenerated database starts again).  Both runs use the same balancer and
Redis.  The CPU of haproxy is counted with gunicorn's.  The two tables are printed side by side.

Errors are 5xx answers, connection errors, timeouts (``--timeout``), and any status a request of its
kind should never get (a 404 for an existing book, a 200 to ``If-None-Match`` with the current ETag).
A 409 to a borrow or a return is a business refusal and counted apart as "refused" (the
workload is designed so that none happen); a 422 is the load test's own fault (invalid input), an error.  A feed answered 200 with a new ETag changed legitimately
(the judge's personal feed after a borrow) and counts as a success.

Settings of the installation beyond ``make serve``'s required three: ``SELF_RETURN=True`` (the
judge returns at the self-service point, as the circulation API allows), ``EMAIL_BACKEND`` dummy
(no mail server here), ``PGAPPNAME=shuyuan-loadtest``.  ``DB_CONN_MAX_AGE`` and other settings are
taken from the caller's environment.  A PostgreSQL database is dropped and recreated when the
catalog must be regenerated, so its name must contain "loadtest".

A script that prints figures; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import stop_process_group  # noqa: E402 - the path above first

MARKER = ".shuyuan-loadtest"
STATE_FILE = "prepared.json"
WORKLOAD_FILE = "workload.json"
# Bump when the prepared data changes shape (not for changes to the driver).
SETUP_VERSION = "1"
JUDGE_PREFIX = "lt-judge-"
POOL_PER_JUDGE = 25
APP_NAME = "shuyuan-loadtest"

MIX = [("search", 70), ("book", 15), ("borrow", 5), ("events", 5), ("feed", 5)]
# What each kind of request must answer; anything else is an error (borrow/return 409: refused).
EXPECTED = {
    "search": {200}, "book_api": {200}, "book_page": {200}, "borrow": {201}, "return": {200},
    "events": {200}, "occurrences": {200}, "feed": {200, 304},
}
REFUSALS = {"borrow": {409}, "return": {409}}
KIND_ORDER = ["search", "book_api", "book_page", "borrow", "return", "events", "occurrences", "feed"]
SHANGHAI = timezone(timedelta(hours=8))


# --------------------------------------------------------------------------------------------------------
# Arguments, paths and the environment of the installation
# --------------------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database", default="sqlite",
                   help="sqlite (a file in the work directory) or postgres://USER@HOST:PORT/NAME (NAME must contain "
                        "'loadtest': it is dropped and recreated when the catalog is regenerated)")
    p.add_argument("--workdir", default="/tmp/shuyuan-loadtest", help="work directory, outside the project")
    p.add_argument("--levels", default="1,4,16,64", help="concurrent clients per level, comma-separated")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per level")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of uncounted load (2 clients) before the levels")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    p.add_argument("--timeout", type=float, default=30.0, help="client timeout per request, seconds (an error)")
    p.add_argument("--mix", default=",".join(f"{k}={w}" for k, w in MIX),
                   help="weights of the kinds of work (search, book, borrow, events, feed)")
    p.add_argument("--records", type=int, default=100_000, help="catalog records (95%% books, 5%% papers)")
    p.add_argument("--events", type=int, default=300, help="events, of which --series are recurring")
    p.add_argument("--series", type=int, default=30)
    p.add_argument("--judges", type=int, default=0, help="judge users (default: the highest level)")
    p.add_argument("--procs", type=int, default=2, help="writer processes for an index rebuild")
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--fresh", action="store_true", help="regenerate catalog, events and index even if reusable")
    p.add_argument("--nodes", type=int, default=1,
                   help="app nodes behind a load balancer (haproxy): with N ≥ 2 the levels run on 1 node, then on N")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/9",
                   help="with --nodes: the Redis database of CACHE_URL and RATELIMIT_URL (flushed at the start)")
    p.add_argument("--prepare-only", action="store_true", help="prepare the installation, start no server")
    p.add_argument("--prepare-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        args.levels = [int(x) for x in str(args.levels).split(",") if x.strip()]
    except ValueError:
        p.error("--levels takes integers, e.g. 1,4,16,64")
    if not args.levels or min(args.levels) < 1:
        p.error("--levels needs at least one level ≥ 1")
    try:
        args.mix = [(k.strip(), float(w)) for k, w in (part.split("=") for part in args.mix.split(",") if part.strip())]
    except ValueError:
        p.error("--mix takes kind=weight pairs, e.g. search=70,book=15,borrow=5,events=5,feed=5")
    unknown = {k for k, _w in args.mix} - {k for k, _w in MIX}
    if unknown or not any(w > 0 for _k, w in args.mix):
        p.error(f"--mix: unknown kinds {sorted(unknown)}" if unknown else "--mix: all weights are 0")
    args.judges = args.judges or max(args.levels)
    if args.judges < max(args.levels):
        p.error("--judges must be at least the highest level: each client borrows as its own judge")
    if args.database != "sqlite" and not args.database.startswith(("postgres://", "postgresql://")):
        p.error("--database is sqlite or a postgres:// URL")
    if args.database != "sqlite" and "loadtest" not in urllib.parse.urlsplit(args.database).path:
        p.error("the PostgreSQL database's name must contain 'loadtest' (it is dropped when regenerated)")
    if args.nodes < 1:
        p.error("--nodes is at least 1")
    if args.nodes > 1 and args.database == "sqlite":
        p.error("--nodes: several app nodes share a PostgreSQL database (--database postgres://…)")
    if args.nodes > 1 and not args.redis.startswith(("redis://", "rediss://", "unix://")):
        p.error("--redis takes a redis:// URL")
    return args


@dataclass
class Paths:
    top: Path
    home: Path  # this database's installation

    @property
    def sqlite(self) -> Path:
        return self.home / "db.sqlite3"

    @property
    def var(self) -> Path:
        return self.home / "var"

    @property
    def index(self) -> Path:
        return self.home / "index"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def worker_log(self) -> Path:
        return self.home / "worker.log"


def database_label(database: str) -> str:
    if database == "sqlite":
        return "sqlite"
    return "postgres-" + re.sub(r"[^A-Za-z0-9_.-]", "_", urllib.parse.urlsplit(database).path.strip("/"))


def make_paths(args) -> Paths:
    top = Path(args.workdir).expanduser().resolve()
    if top == ROOT or ROOT in top.parents or top in ROOT.parents:
        sys.exit(f"refusing to use {top}: the load test's installation must be outside the project")
    if top.exists() and any(top.iterdir()) and not (top / MARKER).exists():
        sys.exit(f"refusing to use {top}: it is not empty and was not made by this load test")
    top.mkdir(parents=True, exist_ok=True)
    (top / MARKER).write_text("made by bench/loadtest.py: throwaway installations, one per database\n")
    home = top / database_label(args.database)
    home.mkdir(exist_ok=True)
    return Paths(top=top, home=home)


def database_url(args, paths: Paths) -> str:
    return f"sqlite:///{paths.sqlite}" if args.database == "sqlite" else args.database


def server_env(args, paths: Paths, port: int, secret_key: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "shuyuan.settings",
        "DEBUG": "False",
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": database_url(args, paths),
        "VAR_DIR": str(paths.var),
        "SEARCH_INDEX_DIR": str(paths.index),
        "MEDIA_ROOT": str(paths.var / "media"),
        "STATIC_ROOT": str(paths.var / "static"),
        "CACHE_DIR": str(paths.var / "cache"),
        "SELF_RETURN": "True",
        # The clients all come from 127.0.0.1: the per-address search rate limit would refuse most searches.
        "SEARCH_RATE_ANONYMOUS": "0",
        "SEARCH_RATE_USER": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "PGAPPNAME": APP_NAME,
        "PYTHONUNBUFFERED": "1",
    })
    return env


def file_hash(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def data_key(args) -> str:
    parts = [SETUP_VERSION, args.records, args.seed, args.events, args.series, database_label(args.database),
             file_hash(ROOT / "bench" / "corpus.py", ROOT / "bench" / "feed_bench.py")]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


#: The modules that decide what the index holds (not how it is searched).
INDEX_SOURCES = ("index_schema.py", "analysis.py", "documents.py", "indexer.py", "whoosh_codec.py")


def index_key(args) -> str:
    sources = [ROOT / "search_index" / name for name in INDEX_SOURCES]
    sources += [p for p in (ROOT / "search_index" / "data").glob("*") if p.is_file()]
    return data_key(args) + "-" + file_hash(*sources)


def say(*args) -> None:
    print(*args, flush=True)


# --------------------------------------------------------------------------------------------------------
# 1. Preparation (in a child process with Django)
# --------------------------------------------------------------------------------------------------------


def _pg_admin(url: str):
    """A connection to the server's maintenance database, and the name of the load-test database."""
    import dj_database_url
    import psycopg

    conf = dj_database_url.parse(url)
    conn = psycopg.connect(
        dbname="postgres", user=conf["USER"] or None, password=conf["PASSWORD"] or None,
        host=conf["HOST"] or "127.0.0.1", port=conf["PORT"] or 5432, autocommit=True, application_name=APP_NAME,
    )
    return conn, conf["NAME"]


def _database_exists(args, paths: Paths) -> bool:
    if args.database == "sqlite":
        return paths.sqlite.exists()
    conn, name = _pg_admin(args.database)
    with conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _reset_database(args, paths: Paths) -> None:
    """An empty database and no index, cache or media of an earlier catalog."""
    if args.database == "sqlite":
        for f in paths.home.glob("db.sqlite3*"):
            f.unlink()
    else:
        from psycopg import sql

        conn, name = _pg_admin(args.database)
        with conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    for d in (paths.index, paths.var, *paths.home.glob("node-*")):  # node-i: the other app nodes (--nodes)
        shutil.rmtree(d, ignore_errors=True)
    (paths.home / STATE_FILE).unlink(missing_ok=True)


def _load_events(args, judges) -> dict:
    """Events from the feed benchmark's generator, a fifth internal, reading lists and registrations."""
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.utils import timezone as dj_timezone

    from bench.feed_bench import generate
    from core.errors import DomainError
    from events import services as event_services
    from events.models import Event
    from library.models import Book

    rng = random.Random(args.seed + 3)
    generate(args.events, args.series, args.seed)
    ids = list(Event.objects.order_by("pk").values_list("pk", flat=True))
    Event.objects.filter(pk__in=ids[::5]).update(visibility=Event.Visibility.INTERNAL)
    book_ids = list(Book.objects.order_by("pk").values_list("pk", flat=True)[:20000])
    through = Event.books.through
    through.objects.bulk_create(
        [through(event_id=e, book_id=b) for e in rng.sample(ids, min(100, len(ids)))
         for b in rng.sample(book_ids, rng.randint(1, 3))],
        ignore_conflicts=True,
    )
    upcoming = list(
        Event.objects.filter(rrule="", visibility=Event.Visibility.PUBLIC, start__gt=dj_timezone.now())
        .order_by("start")[:60]
    )
    registered = refused = 0
    for judge in judges:
        for event in rng.sample(upcoming, min(2, len(upcoming))):
            try:
                with transaction.atomic():
                    event_services.registration_create(event=event, user=judge)
                registered += 1
            except (DomainError, ValidationError):
                refused += 1
    return {"events": len(ids), "registrations": registered, "registrations_refused": refused}


def _judges(args) -> list:
    from accounts.services import user_upsert

    divisions = ["民事审判庭", "刑事审判庭", "行政审判庭", "执行局", "立案庭", "棋盘井法庭"]
    return [
        user_upsert(username=f"{JUDGE_PREFIX}{i:03d}", roles=["judge"], display_name=f"压测法官{i:03d}",
                    division=divisions[i % len(divisions)])[0]
        for i in range(1, args.judges + 1)
    ]


def _return_leftover_loans() -> int:
    """Loans an interrupted earlier run left open: returned, so every pool starts free."""
    from library import circulation
    from library.models import Channel, Loan

    leftover = list(Loan.objects.filter(patron__username__startswith=JUDGE_PREFIX, status=Loan.Status.ACTIVE))
    for loan in leftover:
        circulation.loan_return(loan=loan, actor=None, channel=Channel.COMMAND)
    return len(leftover)


def _workload(args, judges, corpus) -> dict:
    from accounts.models import ApiToken
    from accounts.services import calendar_token_rotate, token_issue
    from events.models import Event
    from library.models import Book, Copy, Hold, Loan

    rng = random.Random(args.seed + 5)
    busy = set(Loan.objects.filter(status=Loan.Status.ACTIVE).values_list("book_id", flat=True))
    busy |= set(Hold.objects.filter(status__in=Hold.OPEN).values_list("book_id", flat=True))
    free = sorted(set(Copy.objects.filter(status=Copy.Status.AVAILABLE).values_list("book_id", flat=True)) - busy)
    if len(free) < len(judges) * POOL_PER_JUDGE:
        raise SystemExit(f"only {len(free)} books with a free copy for {len(judges)} judges × {POOL_PER_JUDGE}")
    pools = rng.sample(free, len(judges) * POOL_PER_JUDGE)
    # A loan is made by scanning a copy's barcode (POST /api/v1/loans takes no book id): one available copy of
    # each pooled book, which only its client borrows and returns.
    barcodes = dict(Copy.objects.filter(book_id__in=pools, status=Copy.Status.AVAILABLE).order_by("-id")
                    .values_list("book_id", "barcode"))
    pools = [barcodes[book_id] for book_id in pools]
    ApiToken.objects.filter(user__in=judges).delete()
    people = []
    for i, judge in enumerate(judges):
        people.append({
            "username": judge.username,
            "token": token_issue(user=judge, name="loadtest").raw,
            "calendar": calendar_token_rotate(user=judge),
            "pool": pools[i * POOL_PER_JUDGE:(i + 1) * POOL_PER_JUDGE],
        })
    book_ids = list(Book.objects.values_list("pk", flat=True))
    public = Event.objects.filter(visibility=Event.Visibility.PUBLIC, status=Event.Status.SCHEDULED)
    return {
        "judges": people,
        "books": rng.sample(book_ids, min(5000, len(book_ids))),
        "events": sorted(public.values_list("pk", flat=True)),
        "event_count": Event.objects.count(),
        "queries": [text for _kind, text in corpus.queries(2000, seed_offset=17)],
    }


def prepare_child(args) -> None:
    """Runs in the child process: the environment is the server's (set by the parent)."""
    paths = make_paths(args)
    started = time.monotonic()
    state_path = paths.home / STATE_FILE
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        state = {}
    key, ikey = data_key(args), index_key(args)
    fresh = args.fresh or state.get("data_key") != key or not _database_exists(args, paths)

    import django

    from bench.corpus import Corpus

    corpus = Corpus(args.records, seed=args.seed)
    if fresh:
        say(f"    new installation in {paths.home} (key {key})")
        _reset_database(args, paths)
        state = {}
    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from library.models import Book

    call_command("migrate", interactive=False, verbosity=0)
    if not fresh and Book.objects.count() != corpus.books:
        say(f"    the database holds {Book.objects.count():,} books, not {corpus.books:,}: regenerating")
        connections.close_all()
        _reset_database(args, paths)
        state, fresh = {}, True
        call_command("migrate", interactive=False, verbosity=0)

    from bench.search_bench import load_catalog

    if fresh:
        say(f"    catalog: {corpus.books:,} books + {corpus.papers:,} papers …")
        t = time.monotonic()
        counts = load_catalog(corpus)
        say(f"    {counts['books']:,} books ({counts['copies']:,} copies), {counts['papers']:,} papers "
            f"in {time.monotonic() - t:.0f} s")
        judges = _judges(args)
        made = _load_events(args, judges)
        say(f"    {made['events']} events ({args.series} series), {made['registrations']} registrations")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        state = {"data_key": key, "catalog_seconds": round(time.monotonic() - t), **counts, **made}
        state_path.write_text(json.dumps(state, indent=1))
    else:
        say(f"    reusing the catalog and events in {paths.home} (key {key})")
        judges = _judges(args)
    returned = _return_leftover_loans()
    if returned:
        say(f"    returned {returned} loans left open by an interrupted run")

    from search_index import generations
    from search_index import services as search_services

    try:
        generations.open_index().close()
        index_ok = state.get("index_key") == ikey
    except generations.IndexMissing:
        index_ok = False
    if index_ok:
        search_services.index_drain()
        say("    search index: reused")
    else:
        say(f"    search index: rebuilding {args.records:,} records with procs={args.procs} …")
        result = search_services.index_rebuild(procs=args.procs)
        say(f"    {result.records:,} records in {result.seconds:.0f} s")
        state.update(index_key=ikey, index_seconds=round(result.seconds))
        state_path.write_text(json.dumps(state, indent=1))
    # What make serve runs before gunicorn (migrate above).
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("rebuild_index", if_missing=True, quiet=True, verbosity=0)
    call_command("warm_feeds", quiet=True)
    workload = _workload(args, judges, corpus)
    workload["vendor"] = connection.vendor
    workload["db_version"] = ".".join(map(str, connection.Database.sqlite_version_info)) \
        if connection.vendor == "sqlite" else str(connection.pg_version)
    target = paths.home / WORKLOAD_FILE
    target.unlink(missing_ok=True)
    # API tokens of throwaway users, still not for others to read.
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(json.dumps(workload, ensure_ascii=False))
    say(f"    prepared in {time.monotonic() - started:.0f} s")


def prepare(args, paths: Paths, env: dict[str, str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--prepare-child", "--database", args.database,
           "--workdir", str(paths.top), "--records", str(args.records), "--events", str(args.events),
           "--series", str(args.series), "--judges", str(args.judges), "--procs", str(args.procs),
           "--seed", str(args.seed), "--levels", ",".join(map(str, args.levels))]
    if args.fresh:
        cmd.append("--fresh")
    child_env = {**env, "LOG_LEVEL": "WARNING"}
    if subprocess.run(cmd, cwd=ROOT, env=child_env).returncode != 0:
        sys.exit("preparation failed")
    return json.loads((paths.home / WORKLOAD_FILE).read_text())


# --------------------------------------------------------------------------------------------------------
# 2. The server
# --------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_command(workers: int, port: int) -> list[str]:
    """The command of ``make serve``, with this run's worker count and port."""
    exe = Path(sys.executable).with_name("gunicorn")
    head = [str(exe)] if exe.exists() else [sys.executable, "-m", "gunicorn"]
    return [*head, "shuyuan.wsgi:application", "--preload", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
            "--error-logfile", "-", "--timeout", "60"]


def wait_ready(port: int, proc: subprocess.Popen, log: Path, *, timeout: float = 120, caught_up: bool = False,
               what: str = "the server") -> None:
    """Until ``GET /readyz`` answers 200 (and, with ``caught_up``, the node's index has applied the whole
    change log: a new node fills or rebuilds its index first)."""
    deadline = time.monotonic() + timeout
    status, body = None, {}
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            response = conn.getresponse()
            status, body = response.status, json.loads(response.read() or b"{}")
            conn.close()
        except (OSError, ValueError, http.client.HTTPException):
            pass
        if status == 200 and (not caught_up or (body.get("search_node") or {}).get("waiting") == 0):
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            tail = log.read_text(errors="replace")[-3000:]
            sys.exit(f"{what} did not become ready (last /readyz: {status} {body}):\n{tail}")
        time.sleep(0.3)


def start_server(args, log: Path, env: dict[str, str], port: int, timeout: float = 120) -> subprocess.Popen:
    with log.open("wb") as out:
        proc = subprocess.Popen(gunicorn_command(args.workers, port), cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    wait_ready(port, proc, log, timeout=timeout)
    return proc


def start_worker(log: Path, env: dict[str, str]) -> subprocess.Popen:
    """``manage.py run_worker``, as ``make serve`` starts it beside gunicorn."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "manage.py", "run_worker"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


# --------------------------------------------------------------------------------------------------------
# Several app nodes behind a load balancer (--nodes)
# --------------------------------------------------------------------------------------------------------


@dataclass
class Node:
    """An app node: gunicorn and a job worker, with its own VAR_DIR and search index directory."""

    number: int
    port: int
    env: dict[str, str]
    log: Path
    worker_log: Path
    server: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None


@dataclass
class Cluster:
    """What the clients drive: one node (``port`` is its own), or nodes behind haproxy (``port`` is its)."""

    port: int
    nodes: list[Node]
    balancer: subprocess.Popen | None = None
    balancer_log: Path | None = None

    def masters(self) -> list[int]:
        return [n.server.pid for n in self.nodes]

    def also(self) -> tuple[int, ...]:
        """The processes whose CPU is counted with gunicorn's: the job workers and the balancer."""
        return (*(n.worker.pid for n in self.nodes), *((self.balancer.pid,) if self.balancer else ()))

    def down(self) -> str | None:
        for n in self.nodes:
            if n.server.poll() is not None:
                return f"node {n.number}'s server has exited"
            if n.worker.poll() is not None:
                return f"node {n.number}'s job worker has exited"
        if self.balancer is not None and self.balancer.poll() is not None:
            return "the load balancer has exited"
        return None

    def stop(self) -> None:
        if self.balancer is not None:
            stop_process_group(self.balancer)
        for n in self.nodes:
            if n.server is not None:
                stop_server(n.server)
            if n.worker is not None:
                stop_worker(n.worker)


def node_env(args, paths: Paths, number: int, site_port: int, secret_key: str) -> tuple[dict[str, str], Path]:
    """Node ``number``'s environment and home.  Node 1 is the prepared installation; node i ≥ 2 has its own
    ``VAR_DIR`` and index under ``<installation>/node-i`` (its ``SEARCH_NODE`` is the default: this machine's
    name and that directory).  The collected static files and the media directory are node 1's on every node
    (one machine: the same release's files, and a stand-in for the object store; the load uploads nothing)."""
    env = server_env(args, paths, site_port, secret_key)
    home = paths.home
    if number > 1:
        home = paths.home / f"node-{number}"
        (home / "var").mkdir(parents=True, exist_ok=True)
        env.update({"VAR_DIR": str(home / "var"), "SEARCH_INDEX_DIR": str(home / "index"),
                    "CACHE_DIR": str(home / "var" / "cache")})
    if args.nodes > 1:
        env.update({"CACHE_URL": args.redis, "RATELIMIT_URL": args.redis})
    return env, home


def haproxy_config(port: int, nodes: list[Node], workers: int) -> str:
    """Round robin per request (the server side is closed after each answer, as gunicorn's sync workers do);
    a node whose ``/readyz`` fails twice is taken out, as docs/deploy.md section 9 says.

    Each node gets at most as many requests at a time as it has gunicorn workers (``maxconn``): the rest wait
    in haproxy's queue, not in gunicorn's listen backlog.  Without it, a saturated node's health check waited
    behind the backlog and timed out, and at 64 clients haproxy took every node out at once and answered
    thousands of 503s (the first run of ``--nodes 2``, docs/performance.md)."""
    servers = "\n".join(f"    server node{n.number} 127.0.0.1:{n.port} maxconn {workers} check inter 2s fall 2 rise 1"
                         for n in nodes)
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout queue 120s
    timeout check 5s
    option http-server-close

frontend loadtest
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
{servers}
"""


def haproxy_path() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None)


def start_balancer(paths: Paths, nodes: list[Node], port: int, workers: int) -> tuple[subprocess.Popen, Path]:
    config, log = paths.home / "haproxy.cfg", paths.home / "haproxy.log"
    config.write_text(haproxy_config(port, nodes, workers))
    exe = haproxy_path()
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    wait_ready(port, proc, log, what="haproxy")  # the nodes are ready already: it routes
    return proc, log


def start_cluster(args, paths: Paths, count: int, secret_key: str) -> Cluster:
    """``count`` nodes (each gunicorn + run_worker), behind haproxy when ``--nodes`` ≥ 2."""
    balanced = args.nodes > 1
    front = free_port() if balanced else None
    cluster = Cluster(port=0, nodes=[])
    try:
        for number in range(1, count + 1):
            port = free_port()
            env, home = node_env(args, paths, number, front or port, secret_key)
            suffix = "" if number == 1 else f"-{number}"
            node = Node(number, port, env, paths.home / f"server{suffix}.log", paths.home / f"worker{suffix}.log")
            cluster.nodes.append(node)
            new = number > 1 and not (home / "index").exists()
            say(f"[node {number}] {' '.join(gunicorn_command(args.workers, port)[1:])} (log {node.log}); "
                f"manage.py run_worker (log {node.worker_log}); index {env['SEARCH_INDEX_DIR']}"
                + ("  (a new node: its worker builds the index first)" if new else ""))
            node.worker = start_worker(node.worker_log, env)
            # A new node answers /readyz once its index exists; then its worker brings it up to the log's end.
            node.server = start_server(args, node.log, env, port, timeout=7200)
            wait_ready(port, node.server, node.worker_log, timeout=7200, caught_up=True, what=f"node {number}")
        if balanced:
            cluster.balancer, cluster.balancer_log = start_balancer(paths, cluster.nodes, front, args.workers)
            cluster.port = front
            say(f"[balancer] haproxy on 127.0.0.1:{front}, round robin over {count} node(s)  "
                f"(config {paths.home / 'haproxy.cfg'})")
        else:
            cluster.port = cluster.nodes[0].port
    except BaseException:
        cluster.stop()
        raise
    return cluster


def flush_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=5).flushdb()
    except redis.RedisError as exc:
        sys.exit(f"--nodes: the Redis at {url} does not answer ({exc}); start one (apt-get install redis-server)")


stop_worker = stop_process_group


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop; its workers follow
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _proc_ticks(pid: int, *, reaped: bool = False) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime + cstime: children that have exited
    return ticks


def postmaster_pid() -> int | None:
    """The local PostgreSQL server's main process (a "postgres" process whose parent is not one)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if name == "postgres":
            try:
                parent = Path(f"/proc/{rest[1]}/stat").read_text()
            except OSError:
                continue
            if "(postgres)" not in parent:
                return int(stat.parent.name)
    return None


def cluster_cpu_seconds(pid: int | None) -> float:
    """CPU seconds of the PostgreSQL cluster so far: its live processes, and the backends that have exited
    (accounted to the postmaster when it reaps them).  Other users of the same cluster count too."""
    if pid is None:
        return 0.0
    total = _proc_ticks(pid, reaped=True) or 0
    for child in _children(pid):
        total += _proc_ticks(child) or 0
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def server_cpu_ticks(masters: list[int], also: tuple[int, ...] = ()) -> dict[int, int]:
    """CPU ticks so far of the gunicorn masters and each of their workers (and of the processes ``also``), by pid."""
    out = {}
    for p in [*masters, *(child for pid in masters for child in _children(pid)), *also]:
        ticks = _proc_ticks(p)
        if ticks is not None:
            out[p] = ticks
    return out


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used so far (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def scan_log(path: Path, since: int = 0) -> dict[str, int]:
    """Error signs in the server's log after byte ``since``: 5xx request lines, tracebacks, errors, timeouts."""
    with path.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    return {
        "5xx": len(re.findall(r'"status": 5\d\d', text)),
        "traceback": text.count("Traceback"),
        "error lines": len(re.findall(r'"level": "(?:ERROR|CRITICAL)"|\[ERROR\]|\[CRITICAL\]', text)),
        "worker timeouts": text.count("WORKER TIMEOUT"),
    }


# --------------------------------------------------------------------------------------------------------
# 3. The load generator
# --------------------------------------------------------------------------------------------------------


@dataclass
class Record:
    kind: str
    status: int | str  # an HTTP status, or "timeout" / the exception's name
    ms: float
    outcome: str  # ok, refused, error
    note: str = ""


@dataclass
class Client:
    """One virtual client: its own judge, connection, books and the ETags of the feeds it fetched."""

    number: int
    port: int
    judge: dict
    work: dict
    timeout: float
    rng: random.Random
    mix: list[tuple[str, float]]
    etags: dict[str, str] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    conn: http.client.HTTPConnection | None = None
    next_book: int = 0

    def request(self, kind: str, method: str, path: str, *, body: dict | None = None, auth: bool = True,
                headers: dict | None = None) -> tuple[Record, dict, bytes]:
        hdrs = {"User-Agent": "shuyuan-loadtest", **(headers or {})}
        if auth:
            hdrs["Authorization"] = f"Bearer {self.judge['token']}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=hdrs)
            response = self.conn.getresponse()
            payload = response.read()
        except TimeoutError:
            self._drop()
            return self._record(kind, "timeout", started, "error", path), {}, b""
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            return self._record(kind, type(exc).__name__, started, "error", path), {}, b""
        status = response.status
        if status in EXPECTED[kind]:
            outcome = "ok"
        elif status in REFUSALS.get(kind, ()):
            outcome = "refused"
        else:
            outcome = "error"
        note = "" if outcome == "ok" else f"{path} → {payload[:200].decode(errors='replace')}"
        return self._record(kind, status, started, outcome, note), dict(response.getheaders()), payload

    def _record(self, kind, status, started, outcome, note="") -> Record:
        rec = Record(kind, status, (time.perf_counter() - started) * 1000, outcome, note)
        self.records.append(rec)
        return rec

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    # --- the kinds of work ----------------------------------------------------------------------------

    def search(self) -> None:
        params = {"q": self.rng.choice(self.work["queries"])}
        r = self.rng.random()
        if r < 0.10:
            params["available"] = "true"
        elif r < 0.20:
            params["type"] = "book"
        elif r < 0.25:
            params["offset"] = "20"
        self.request("search", "GET", "/api/v1/search?" + urllib.parse.urlencode(params))

    def book(self) -> None:
        book_id = self.rng.choice(self.work["books"])
        if self.rng.random() < 0.5:
            self.request("book_api", "GET", f"/api/v1/books/{book_id}")
        else:
            self.request("book_page", "GET", f"/books/{book_id}", auth=False)

    def borrow(self) -> None:
        pool = self.judge["pool"]
        barcode = pool[self.next_book % len(pool)]
        self.next_book += 1
        rec, _headers, payload = self.request("borrow", "POST", "/api/v1/loans", body={"barcode": barcode})
        if rec.status != 201:
            return
        try:
            loan_id = json.loads(payload)["id"]
        except (ValueError, KeyError, TypeError):
            rec.outcome, rec.note = "error", f"loan without id: {payload[:200]!r}"
            return
        self.request("return", "POST", f"/api/v1/loans/{loan_id}/return")

    def events(self) -> None:
        if self.rng.random() < 0.5:
            params = {"limit": 20, "offset": 20 * self.rng.randrange(max(1, self.work["event_count"] // 20))}
            if self.rng.random() < 0.3:
                params["kind"] = self.rng.choice(["salon", "seminar", "tea_talk", "reading", "lecture"])
            self.request("events", "GET", "/api/v1/events?" + urllib.parse.urlencode(params))
        else:
            start = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
            start += timedelta(days=self.rng.randint(-30, 300))
            end = start + timedelta(days=self.rng.choice([7, 30, 90]))
            params = {"from": start.isoformat(), "to": end.isoformat()}
            self.request("occurrences", "GET", "/api/v1/occurrences?" + urllib.parse.urlencode(params))

    def feed(self) -> None:
        # A calendar app polls the few feeds its judge subscribed to: all public events, one series, their own.
        r = self.rng.random()
        if r < 0.4:
            path = "/calendar/events.ics"
        elif r < 0.7:
            events = self.work["events"]
            path = f"/calendar/events/{events[self.number * 7 % len(events)]}.ics"
        else:
            path = f"/calendar/u/{self.judge['calendar']}.ics"
        headers = {"Accept-Encoding": "gzip"}
        sent = self.etags.get(path)
        if sent:
            headers["If-None-Match"] = sent
        rec, got, _payload = self.request("feed", "GET", path, auth=False, headers=headers)
        if rec.outcome != "ok":
            return
        etag = got.get("ETag")
        if rec.status == 200 and sent and etag == sent:
            rec.outcome, rec.note = "error", f"{path}: 200 to If-None-Match with the current ETag"
        elif rec.status == 304:
            rec.note = "not modified"
        elif sent:
            rec.note = "changed"
        if etag:
            self.etags[path] = etag

    def run(self, duration: float, barrier: threading.Barrier) -> None:
        ops = [getattr(self, name) for name, _w in self.mix]
        weights = [w for _n, w in self.mix]
        barrier.wait()
        deadline = time.perf_counter() + duration
        while time.perf_counter() < deadline:
            op = self.rng.choices(ops, weights)[0]
            try:
                op()
            except Exception as exc:  # noqa: BLE001 - a fault of the load generator must show, not end the thread
                self._drop()
                self.records.append(Record(op.__name__, "client fault", 0.0, "error", repr(exc)[:200]))
        self._drop()


@dataclass
class LevelResult:
    clients: int
    seconds: float
    records: list[Record]
    server_cpu: float  # CPU seconds of the gunicorn processes and the job worker
    client_cpu: float  # CPU seconds of this process
    db_cpu: float  # CPU seconds of the PostgreSQL cluster (0 on SQLite, which runs inside the workers)
    other_cpu: float  # CPU seconds of everything else on the machine (other people's work skews the figures)
    server_restarts: int

    def latencies(self, kind: str | None = None) -> list[float]:
        return [r.ms for r in self.records if kind is None or r.kind == kind]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.records if r.outcome == outcome)


def run_level(clients: list[Client], duration: float, masters: list[int], db_pid: int | None,
              also: tuple[int, ...] = ()) -> LevelResult:
    for c in clients:
        c.records = []
    cpu_before = server_cpu_ticks(masters, also)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    busy_before = machine_busy_seconds()
    db_before = cluster_cpu_seconds(db_pid)
    barrier = threading.Barrier(len(clients) + 1)
    threads = [threading.Thread(target=c.run, args=(duration, barrier), daemon=True) for c in clients]
    for t in threads:
        t.start()
    barrier.wait()  # all clients begin together
    started = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    cpu_after = server_cpu_ticks(masters, also)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    hz = os.sysconf("SC_CLK_TCK")
    server_cpu = sum(cpu_after[p] - cpu_before.get(p, 0) for p in cpu_after) / hz
    restarts = len(set(cpu_after) - set(cpu_before))
    client_cpu = (self_after.ru_utime + self_after.ru_stime) - (self_before.ru_utime + self_before.ru_stime)
    db_cpu = cluster_cpu_seconds(db_pid) - db_before
    other_cpu = max(0.0, machine_busy_seconds() - busy_before - server_cpu - client_cpu - db_cpu)
    return LevelResult(len(clients), seconds, [r for c in clients for r in c.records], server_cpu, client_cpu,
                       db_cpu, other_cpu, restarts)


# --------------------------------------------------------------------------------------------------------
# 4. Report
# --------------------------------------------------------------------------------------------------------


def ms(x: float) -> str:
    return "n/a" if x != x else (f"{x:,.0f}" if x >= 100 else f"{x:.1f}")


def statuses(result: LevelResult) -> str:
    counts = Counter(str(r.status) for r in result.records)
    return " ".join(f"{k}×{counts[k]:,}" for k in sorted(counts))


def level_row(result: LevelResult) -> list[str]:
    from bench.search_bench import percentile

    lat = result.latencies()
    return [
        str(result.clients), f"{len(lat):,}", f"{len(lat) / result.seconds:,.1f}",
        ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(percentile(lat, 99)), ms(max(lat, default=float("nan"))),
        str(result.count("error")), str(result.count("refused")), statuses(result),
        f"{1000 * (result.server_cpu + result.db_cpu) / max(1, len(lat)):.0f}",
        *(f"{100 * cpu / result.seconds:.0f}%" for cpu in (result.server_cpu, result.db_cpu, result.client_cpu,
                                                            result.other_cpu)),
    ]


LEVEL_HEADER = ["clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "refused",
                "status codes", "server CPU ms/req", "CPU: gunicorn + worker", "PostgreSQL", "load generator", "others"]


def kind_rows(result: LevelResult) -> list[list[str]]:
    from bench.search_bench import percentile

    rows = []
    for kind in KIND_ORDER:
        recs = [r for r in result.records if r.kind == kind]
        if not recs:
            continue
        lat = [r.ms for r in recs]
        extra = ""
        if kind == "feed":
            notes = Counter(r.note for r in recs if r.outcome == "ok")
            extra = f"304 {notes['not modified']}, changed {notes['changed']}, first {notes['']}"
        rows.append([kind, f"{len(recs):,}", ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(percentile(lat, 99)),
                     str(sum(r.outcome == "error" for r in recs)), str(sum(r.outcome == "refused" for r in recs)),
                     extra])
    return rows


KIND_HEADER = ["kind", "n", "p50 ms", "p95 ms", "p99 ms", "errors", "refused", ""]


def markdown(rows: list[list[str]], header: list[str]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def code_version() -> str:
    def git(*cmd):
        return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD") or "?"
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return head + (" + uncommitted changes" if dirty else "")


# --------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------


def drive(args, work: dict, cluster: Cluster) -> tuple[list[LevelResult], dict]:
    from bench.search_bench import table

    judges = work["judges"]
    db_pid = postmaster_pid() if work["vendor"] == "postgresql" else None
    clients = [
        Client(number=i, port=cluster.port, judge=judges[i], work=work, timeout=args.timeout,
               rng=random.Random(args.seed * 1000 + i), mix=args.mix)
        for i in range(max(args.levels))
    ]
    masters, also = cluster.masters(), cluster.also()
    if args.warmup > 0:
        warm = run_level(clients[:2], args.warmup, masters, db_pid, also)
        say(f"\nwarm-up: {len(warm.records)} requests in {warm.seconds:.0f} s with 2 clients, "
            f"{warm.count('error')} errors (not counted)")
        for c in clients:
            c.etags.clear()
    logs = [(f"node {n.number} ", n.log, n.worker_log) for n in cluster.nodes]
    starts = {path: path.stat().st_size for _name, log, worker_log in logs for path in (log, worker_log)}
    results = []
    for level in args.levels:
        say(f"\n[{level} client{'s' if level > 1 else ''}] {args.duration:.0f} s … (load {os.getloadavg()[0]:.2f})")
        result = run_level(clients[:level], args.duration, masters, db_pid, also)
        results.append(result)
        say(table([level_row(result)], level_header(cluster)))
        say(table(kind_rows(result), KIND_HEADER))
        errors = Counter(f"{r.kind} {r.status}: {r.note[:160]}" for r in result.records if r.outcome != "ok")
        for line, n in errors.most_common(8):
            say(f"    {n}× {line}")
        if result.server_restarts:
            say(f"    {result.server_restarts} new server process(es) during this level (worker restarts)")
        down = cluster.down()
        if down:
            say(f"    {down}")
            break
    found: dict[str, int] = {}
    for name, log, worker_log in logs:
        prefix = name if len(logs) > 1 else ""
        for key, value in scan_log(log, starts[log]).items():
            found[prefix + key] = value
        worker_errors = scan_log(worker_log, starts[worker_log])
        found[f"{prefix}worker log: traceback"] = worker_errors["traceback"]
        found[f"{prefix}worker log: error lines"] = worker_errors["error lines"]
    return results, found


def level_header(cluster: Cluster) -> list[str]:
    if cluster.balancer is None:
        return LEVEL_HEADER
    return [h if h != "CPU: gunicorn + worker" else "CPU: gunicorn + worker + haproxy" for h in LEVEL_HEADER]


def compare_rows(phases: list[tuple[int, list[LevelResult]]]) -> tuple[list[str], list[list[str]]]:
    """One row per level: each phase's req/s, p50 / p95 / p99 ms, errors and CPU (server, PostgreSQL)."""
    from bench.search_bench import percentile

    header = ["clients"]
    for count, _results in phases:
        label = f"{count} node{'s' if count > 1 else ''}"
        header += [f"{label}: req/s", "p50 / p95 / p99 ms", "errors", "CPU: server + PostgreSQL"]
    header.append(f"req/s {phases[-1][0]} ÷ {phases[0][0]}")
    rows = []
    for i, level in enumerate(r.clients for r in phases[0][1]):
        row, rates = [str(level)], []
        for _count, results in phases:
            if i >= len(results):
                row += ["n/a"] * 4
                rates.append(float("nan"))
                continue
            r = results[i]
            lat = r.latencies()
            rates.append(len(lat) / r.seconds)
            row += [f"{rates[-1]:,.1f}",
                    " / ".join(ms(percentile(lat, q)) for q in (50, 95, 99)),
                    str(r.count("error")),
                    f"{100 * r.server_cpu / r.seconds:.0f}% + {100 * r.db_cpu / r.seconds:.0f}%"]
        row.append(f"{rates[-1] / rates[0]:.2f}×" if rates[0] else "n/a")
        rows.append(row)
    return header, rows


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.prepare_child:
        prepare_child(args)
        return 0
    if args.nodes > 1 and not args.prepare_only and haproxy_path() is None:
        sys.exit("--nodes needs haproxy as the load balancer: apt-get install haproxy (Debian's package)")
    paths = make_paths(args)
    secret_key = secrets.token_urlsafe(50)
    env = server_env(args, paths, free_port(), secret_key=secret_key)
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)  # this process never runs Django
    started = time.monotonic()
    topology = (f"1 node, then {args.nodes} nodes behind haproxy (Redis {args.redis})" if args.nodes > 1
                else "1 node")
    say(f"load test: {database_label(args.database)}, {args.records:,} records, levels {args.levels} × "
        f"{args.duration:.0f} s, {topology}, gunicorn --workers {args.workers} per node, mix "
        + ", ".join(f"{k} {w:g}" for k, w in args.mix))
    say(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
        f"code {code_version()}; {datetime.now(SHANGHAI):%Y-%m-%d %H:%M} Asia/Shanghai")
    say(f"\n[prepare] {paths.home}")
    work = prepare(args, paths, env)
    say(f"    {work['vendor']} {work['db_version']}; {len(work['judges'])} judges, {len(work['events'])} public "
        f"events of {work['event_count']}, {len(work['queries'])} queries")
    if args.prepare_only:
        return 0
    phases: list[tuple[int, list[LevelResult]]] = []
    log_errors: dict[str, int] = {}
    for count in ([1, args.nodes] if args.nodes > 1 else [1]):
        if args.nodes > 1:
            flush_redis(args.redis)
            say(f"\n===== {count} node{'s' if count > 1 else ''} =====")
        cluster = start_cluster(args, paths, count, secret_key)
        try:
            results, found = drive(args, work, cluster)
        finally:
            cluster.stop()
        phases.append((count, results))
        prefix = f"{count} node{'s' if count > 1 else ''}: " if args.nodes > 1 else ""
        log_errors.update({prefix + k: v for k, v in found.items()})
        say(f"\n=== {database_label(args.database)} ({work['vendor']} {work['db_version']}), {count} "
            f"node{'s' if count > 1 else ''}{' behind haproxy' if args.nodes > 1 else ''}, {args.workers} gunicorn "
            f"workers per node, {args.duration:.0f} s per level ===")
        say(markdown([level_row(r) for r in results], level_header(cluster)))
        by_kind = defaultdict(list)
        for r in results:
            for row in kind_rows(r):
                by_kind[row[0]].append(f"{row[2]} / {row[3]}")
        say("\np50 / p95 ms by kind and level:")
        say(markdown([[k, *by_kind[k]] for k in KIND_ORDER if k in by_kind],
                     ["kind", *[str(r.clients) for r in results]]))
    if len(phases) > 1:
        header, rows = compare_rows(phases)
        say(f"\n=== 1 node against {args.nodes}, behind the same haproxy, on this machine "
            f"({os.cpu_count()} CPUs) ===")
        say(markdown(rows, header))
    say(f"\nserver logs: {', '.join(f'{k} {v}' for k, v in log_errors.items())}")
    say(f"total {time.monotonic() - started:.0f} s")
    (paths.home / f"results-{datetime.now(SHANGHAI):%Y%m%dT%H%M%S}.json").write_text(json.dumps({
        "phases": [{"nodes": count, "levels": [{"clients": r.clients, "seconds": r.seconds, "row": level_row(r),
                                                 "kinds": kind_rows(r)} for r in results]}
                   for count, results in phases],
        "server_log": log_errors,
    }, ensure_ascii=False, indent=1))
    errors = sum(r.count("error") for _count, results in phases for r in results)
    failed = errors or any(log_errors.values()) or any(len(results) < len(args.levels) for _c, results in phases)
    if failed:
        say(f"FAILED: {errors} request errors; server logs {log_errors}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
