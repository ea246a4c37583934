"""Settings for 法官书苑.

Every value that differs between a laptop and a server comes from the
environment.  The defaults give a working development setup on SQLite with no
configuration at all; production sets ``DEBUG=False``, ``SECRET_KEY``,
``ALLOWED_HOSTS``, ``SITE_URL`` and ``DATABASE_URL`` (see README.md).

Bad values stop the process at start-up with a clear message: malformed
booleans and URLs raise ``ImproperlyConfigured`` here, and the semantic checks
(a missing secret key with DEBUG off, a relative SITE_URL, …) are Django system
checks in ``shuyuan/checks.py``.
"""

import email.utils
import os
import re
import warnings
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    """Read a boolean strictly: only ``True`` or ``False`` (any case) are allowed."""
    value = os.environ.get(name, default).strip()
    if value.lower() == "true":
        return True
    if value.lower() == "false":
        return False
    raise ImproperlyConfigured(f"Environment variable {name} must be True or False, not {value!r}.")


def envint(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name} must be an integer, not {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"Environment variable {name} must be at least {minimum}, not {number}.")
    return number


def envpath(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envaddress(*names: str) -> str:
    """The address (no display name) of the first of these environment variables that is set."""
    for name in names:
        address = email.utils.parseaddr(os.environ.get(name, "").strip())[1]
        if address:
            return address
    return ""


def envurl(name: str, schemes: tuple[str, ...]) -> str:
    """An optional URL whose scheme must be one of ``schemes`` ("" when unset)."""
    value = os.environ.get(name, "").strip()
    parts = urlsplit(value)
    if value and (parts.scheme not in schemes or not (parts.netloc or parts.path)):
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a {' or '.join(s + '://' for s in schemes)} URL, not {value!r}.")
    return value


DEBUG = envbool("DEBUG", "True")

# The secret key has a development default only while DEBUG is on.  With DEBUG
# off and no SECRET_KEY, the system check shuyuan.E001 refuses to start
# (checks.py; wsgi.py runs the checks too).  The placeholder is random per
# process so that nothing signed with it could ever be trusted.
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
SECRET_KEY_MISSING = not SECRET_KEY and not DEBUG
if not SECRET_KEY:
    SECRET_KEY = (
        "django-insecure-dev-only-faguan-shuyuan-do-not-use-in-production"
        if DEBUG
        else "unset-" + __import__("secrets").token_urlsafe(50)
    )

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_site = urlsplit(SITE_URL)
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"] if _site.scheme in ("http", "https") and _site.netloc else []

VAR_DIR = envpath("VAR_DIR", BASE_DIR / "var")
SEARCH_INDEX_DIR = envpath("SEARCH_INDEX_DIR", VAR_DIR / "index")
MEDIA_ROOT = envpath("MEDIA_ROOT", VAR_DIR / "media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = envpath("STATIC_ROOT", VAR_DIR / "static")
CACHE_DIR = envpath("CACHE_DIR", VAR_DIR / "cache")

# The caches: "default" holds the related-works lists of book and paper pages (library/related.py), "feeds"
# the rendered calendar feeds (events/feeds.py), each keyed by versions the database holds or deleted when a
# change commits.  One machine: files under CACHE_DIR, shared by every process there.  Several app nodes:
# CACHE_URL=redis://host:6379/1 puts both on Redis (Django's own Redis backend; a Redis that is away makes
# pages compute without the cache, core/cache.py), so a change committed through one node is seen by every
# node at once (a related-works list forgotten on one node would otherwise stay on the others for
# RELATED_CACHE_SECONDS; docs/design.md, "State that several nodes share").
# Feeds have a cache of their own: a full file cache deletes a third of its entries at random, and anyone
# can ask for many different feeds.
CACHE_URL = envurl("CACHE_URL", ("redis", "rediss", "unix"))
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "core.cache.TolerantRedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": "shuyuan"},
        "feeds": {"BACKEND": "core.cache.TolerantRedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": "shuyuan-feeds"},
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(CACHE_DIR),
            "OPTIONS": {"MAX_ENTRIES": 200_000},
        },
        "feeds": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(CACHE_DIR / "feeds"),
            "OPTIONS": {"MAX_ENTRIES": 2000},
        },
    }

# Rate-limit counters (search per address or account, papers per judge a day) live apart from the caches,
# which evict entries when full (core/ratelimit.py): a SQLite file by default, Redis on several machines
# (RATELIMIT_URL=redis://host:6379/2: a Redis without maxmemory eviction, docs/deploy.md).
RATELIMIT_URL = os.environ.get("RATELIMIT_URL", "").strip() or f"sqlite:///{CACHE_DIR / 'ratelimits.sqlite3'}"

# Uploaded files (papers' full texts, event materials, catalogue files waiting for their import): on local
# disk in MEDIA_ROOT by default; in an S3-compatible object store when MEDIA_S3_BUCKET is set (django-storages),
# which every app node and worker then shares.  They are read and written through Django's storage API only
# (core/media.py) and go out through the application, which checks who may read them: the bucket stays
# private.  AWS_S3_ENDPOINT_URL names a store other than Amazon's (MinIO, Ceph, a cloud's OSS); without
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY boto3 finds credentials its usual way (an instance role).
MEDIA_S3_BUCKET = os.environ.get("MEDIA_S3_BUCKET", "").strip()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if MEDIA_S3_BUCKET:
    _endpoint = envurl("AWS_S3_ENDPOINT_URL", ("https", "http"))
    _addressing = os.environ.get("AWS_S3_ADDRESSING_STYLE", "").strip().lower() or None
    if _addressing not in (None, "path", "virtual", "auto"):
        raise ImproperlyConfigured(
            f"Environment variable AWS_S3_ADDRESSING_STYLE must be path, virtual or auto, not {_addressing!r}.")
    STORAGES["default"] = {
        "BACKEND": "core.s3storage.MediaS3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            # Keys below this prefix (several installations may share one bucket).
            "location": os.environ.get("MEDIA_S3_PREFIX", "").strip().strip("/"),
            "endpoint_url": _endpoint or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME", "").strip() or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID", "").strip() or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip() or None,
            "addressing_style": _addressing,
        },
    }
# Seconds to connect to the object store and to wait for each read (core/s3storage.py), one retry.
MEDIA_S3_TIMEOUT = envint("MEDIA_S3_TIMEOUT", 10, minimum=1)

# Background jobs through Django's Tasks API (the django-tasks backport on Django 5.2).  One machine: the
# database backend (django-tasks-db), its queue in the same database, worker `manage.py run_worker`.
# Several machines: TASKS_URL=redis://host:6379/0 selects RQ on Redis (django-tasks-rq).
TASKS_URL = os.environ.get("TASKS_URL", "").strip()
#: Seconds to connect to TASKS_URL's Redis and to wait for each answer.  django-rq passes a URL's query to
#: redis-py (its SOCKET_TIMEOUT applies only to Sentinel), so they go there: without them redis-py's default
#: applied (5 s in redis-py 8, none before), and a Redis that accepts and never answers cost each request that
#: hands a job over that long.  RQ's worker raises the read timeout of its own connection above its blocking
#: dequeue (rq Worker._set_connection: 10 s more than the BLPOP's wait).
TASKS_REDIS_SECONDS = 2


def rq_queues(url: str) -> dict:
    """RQ_QUEUES for the Redis at ``url``, with connect and read timeouts unless the URL sets its own."""
    split = urlsplit(url)
    query = dict(parse_qsl(split.query))
    for name in ("socket_connect_timeout", "socket_timeout"):
        query.setdefault(name, str(TASKS_REDIS_SECONDS))
    return {"default": {"URL": urlunsplit(split._replace(query=urlencode(query))), "DEFAULT_TIMEOUT": 6 * 3600}}


if TASKS_URL:
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = rq_queues(TASKS_URL)
    # django-rq's dashboard in the admin would show every staff member the queues: the jobs page is ours.
    RQ = {"SHOW_ADMIN_LINK": False}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A running job's heartbeat is written this often; one silent for JOBS_STALE_SECONDS belonged to a dead
# worker and is queued again (up to its max_attempts).
JOBS_HEARTBEAT_SECONDS = envint("JOBS_HEARTBEAT_SECONDS", 10, minimum=1)
JOBS_STALE_SECONDS = envint("JOBS_STALE_SECONDS", 60, minimum=2)
JOBS_RETRY_SECONDS = envint("JOBS_RETRY_SECONDS", 30)
# A job handed to the backend this long ago and never started is checked with the backend (Redis restarts).
JOBS_LOST_SECONDS = envint("JOBS_LOST_SECONDS", 600, minimum=10)
# /readyz answers 503 when jobs have waited this long and no worker was seen for as long.
JOBS_WORKER_GRACE_SECONDS = envint("JOBS_WORKER_GRACE_SECONDS", 300, minimum=10)
# Jobs started by the clock (jobs/schedule.py): "at" a library time once a day, or "every" N seconds.
# NOTICES_AT (library time, HH:MM; "off" when cron runs `manage.py send_notices` instead): the daily job
# that expires unclaimed holds, then records and sends due-soon, overdue and hold notices and tomorrow's
# event reminders.  Each notice has a unique key, so a second run the same day sends nothing again.
NOTICES_AT = os.environ.get("NOTICES_AT", "07:30").strip().lower()
if NOTICES_AT != "off" and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", NOTICES_AT):
    raise ImproperlyConfigured(f"Environment variable NOTICES_AT must be HH:MM (00:00-23:59) or off, not {NOTICES_AT!r}.")
JOBS_SCHEDULE: list[dict] = [] if NOTICES_AT == "off" else [{"task": "events.tasks.send_daily_notices", "at": NOTICES_AT}]
# Hourly: write the listed occurrences of events changed outside the services and roll open series forward.
JOBS_SCHEDULE.append({"task": "events.tasks.refresh_listed_occurrences", "every": 3600})
# Every 10 minutes: the reminders of events starting within the hour, for readers who chose them (off with NOTICES_AT).
EVENTS_HOUR_REMINDER_EVERY = envint("EVENTS_HOUR_REMINDER_EVERY", 600, minimum=60)
if NOTICES_AT != "off":
    JOBS_SCHEDULE.append({"task": "events.tasks.send_hour_reminders_job", "every": EVENTS_HOUR_REMINDER_EVERY})
# Functions every worker runs continuously in threads of their own (each returns its pause in seconds).
WORKER_LOOPS: list[str] = ["search_index.worker.apply_outbox"]
# A long job (a catalogue import) makes way for waiting jobs after this many seconds, then goes on.
JOBS_SLICE_SECONDS = envint("JOBS_SLICE_SECONDS", 30, minimum=0)

# Registering for a whole series takes a seat in every coming occurrence: refused past this many
# (register per occurrence instead), so one registration's write stays small.
EVENTS_SERIES_REGISTRATION_MAX = envint("EVENTS_SERIES_REGISTRATION_MAX", 60, minimum=1)

# Reports: a division with fewer active members than this is merged into "其他部门" in the figures shown to
# anyone but librarians (the leadership, organizers), so a division of one or two people does not show their
# reading (docs/reports.md).  1 turns the merging off.
REPORT_MIN_GROUP = envint("REPORT_MIN_GROUP", 3, minimum=1)
# Reports computed at once across every process (0: no limit), and reports one person may ask for a minute (0: no
# limit): a report reads a range's loans in the database, seconds at a million loans, and several at once held every
# sync worker (reports/throttle.py; docs/reports.md, "Limits").  Keep REPORT_CONCURRENCY below WORKERS (3 in
# `make serve`: two people may read reports at once and one worker stays free for everyone else).
REPORT_CONCURRENCY = envint("REPORT_CONCURRENCY", 2, minimum=0)
REPORT_RATE_USER = envint("REPORT_RATE_USER", 30, minimum=0)
# Registrations one reader may make in a rolling hour, cancelled ones included: each writes a row and may queue
# a mail, and a register/cancel loop made 485 of each in 30 seconds.  No reader registers 30 times an hour.
EVENTS_REGISTRATIONS_PER_HOUR = envint("EVENTS_REGISTRATIONS_PER_HOUR", 30, minimum=1)
# New events one organizer may create in 24 hours (superusers exempt): each writes its listed occurrences
# (up to ~1,200 rows), so one account cannot write hundreds of series in seconds.
EVENTS_CREATED_PER_DAY = envint("EVENTS_CREATED_PER_DAY", 50, minimum=1)
# Research papers a judge may enter in 24 hours (librarians and superusers exempt).
PAPERS_CREATED_PER_DAY = envint("PAPERS_CREATED_PER_DAY", 20, minimum=1)
# Saves of changes to papers a judge may make in 24 hours (librarians and superusers exempt): each re-indexes the paper.
PAPER_EDITS_PER_DAY = envint("PAPER_EDITS_PER_DAY", 100, minimum=1)
# Holds a reader places in a rolling hour, cancelled ones included (a librarian placing one for a reader is exempt).
HOLDS_PLACED_PER_HOUR = envint("HOLDS_PLACED_PER_HOUR", 30, minimum=1)
# Event materials: files per event, their total size, and uploads per organizer an hour (the API's limit).
EVENTS_ATTACHMENTS_MAX = envint("EVENTS_ATTACHMENTS_MAX", 30, minimum=1)
EVENTS_ATTACHMENTS_MAX_BYTES = envint("EVENTS_ATTACHMENTS_MAX_MB", 100, minimum=1) * 2**20
EVENTS_ATTACHMENTS_PER_HOUR = envint("EVENTS_ATTACHMENTS_PER_HOUR", 30, minimum=1)

# "Readers who borrowed this also borrowed" on book pages: a book is shown only when at least this many distinct
# readers borrowed both, so nobody can infer one reader's loans (2 is the least allowed).
RELATED_MIN_READERS = envint("RELATED_MIN_READERS", 3, minimum=2)
# Related works are cached per book or paper this many seconds; a loan starts fresh entries at once for the books
# its reader borrowed, a save of a work for that work (library/related.py).
RELATED_CACHE_SECONDS = envint("RELATED_CACHE_SECONDS", 300, minimum=0)

# Reading the catalog (books, public papers) without logging in.
CATALOG_PUBLIC = envbool("CATALOG_PUBLIC", "True")

# Research-paper uploads: at most this many bytes; PDF, DOCX or plain text.
PAPER_MAX_UPLOAD_BYTES = envint("PAPER_MAX_UPLOAD_BYTES", 20 * 1024 * 1024, minimum=1)
# Uploads of full-text files (API), per user and hour.
PAPER_UPLOADS_PER_HOUR = envint("PAPER_UPLOADS_PER_HOUR", 20, minimum=1)
# Creating calendar links (API and /me together), and how many one person holds at once.
CALENDAR_TOKEN_ROTATIONS_PER_HOUR = envint("CALENDAR_TOKEN_ROTATIONS_PER_HOUR", 20, minimum=1)
CALENDAR_LINKS_PER_USER = envint("CALENDAR_LINKS_PER_USER", 20, minimum=1)
# A link's "last fetched" time is written at most this often (calendar apps poll every few minutes).
CALENDAR_LINK_TOUCH_SECONDS = envint("CALENDAR_LINK_TOUCH_SECONDS", 300, minimum=0)
# The text of an uploaded PDF or DOCX is read in a child process under these limits
# (library/fulltext.py); a file over any of them is kept without text, and the paper says why.
PAPER_EXTRACT_CPU_SECONDS = envint("PAPER_EXTRACT_CPU_SECONDS", 10, minimum=1)
PAPER_EXTRACT_MEMORY_BYTES = envint("PAPER_EXTRACT_MEMORY_BYTES", 512 * 1024 * 1024, minimum=128 * 1024 * 1024)
PAPER_EXTRACT_WALL_SECONDS = envint("PAPER_EXTRACT_WALL_SECONDS", 20, minimum=1)
# Content-stream bytes handed to the PDF parser, counting a stream again on every page that uses it.
PAPER_EXTRACT_MAX_DECODED_BYTES = envint("PAPER_EXTRACT_MAX_DECODED_BYTES", 50 * 1024 * 1024, minimum=1)
PAPER_EXTRACT_MAX_PAGES = envint("PAPER_EXTRACT_MAX_PAGES", 3000, minimum=1)
# Unpacked size of the XML parts of a DOCX, checked before any is parsed.
PAPER_EXTRACT_MAX_DOCX_XML_BYTES = envint("PAPER_EXTRACT_MAX_DOCX_XML_BYTES", 20 * 1024 * 1024, minimum=1)
# Catalog imports through the API: at most this many bytes.
IMPORT_MAX_UPLOAD_BYTES = envint("IMPORT_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1)
# Rows or records in one import file: a 50 MB file of one-word rows is 25 million records (gigabytes of
# memory for the job, hours of writes); a court library's largest real exports are far below this.
IMPORT_MAX_RECORDS = envint("IMPORT_MAX_RECORDS", 200_000, minimum=1)
# Records of an import committed together (each in its own savepoint): larger batches write faster, smaller
# ones hold SQLite's write lock for less time and leave less to redo after a worker is killed.
IMPORT_BATCH_SIZE = envint("IMPORT_BATCH_SIZE", 200, minimum=1)
# XML imports (MARCXML, UNIMARC/CNMARC XML, SRU and OAI-PMH responses): at most this many bytes and elements,
# checked by counting before the document is parsed.  A real 50 MB MARCXML export holds about 0.8 million
# elements; 47 MB padded with 9.5 million empty elements took 105 s and 1.5 GB to parse (attack round 18).
IMPORT_XML_MAX_BYTES = envint("IMPORT_XML_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
IMPORT_XML_MAX_ELEMENTS = envint("IMPORT_XML_MAX_ELEMENTS", 2_000_000, minimum=1)
# A dry run keeps its uploaded file for a real import (正式导入) this many days; then the file is deleted (the
# report stays) by the worker's six-hourly housekeeping job.
IMPORT_DRY_RUN_KEEP_DAYS = envint("IMPORT_DRY_RUN_KEEP_DAYS", 7, minimum=1)
JOBS_SCHEDULE.append({"task": "library.tasks.discard_stale_dry_runs", "every": 6 * 3600})
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Password logins on POST /api/v1/auth/token: after LOGIN_MAX_FAILURES failed
# attempts for one username, or LOGIN_MAX_FAILURES_PER_ADDRESS from one client
# address, within LOGIN_LOCKOUT_SECONDS, further attempts are answered 429
# until the window has passed.  The per-address limit is looser because a
# whole court may share one address behind its proxy.
LOGIN_MAX_FAILURES = envint("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_MAX_FAILURES_PER_ADDRESS = envint("LOGIN_MAX_FAILURES_PER_ADDRESS", 30, minimum=1)
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", 15 * 60, minimum=1)
# Every password check (successful or not) in the same window: per username, and per client address (an
# IPv6 client by its /64).  Each check costs a worker about half a second.
LOGIN_ATTEMPTS_PER_USERNAME = envint("LOGIN_ATTEMPTS_PER_USERNAME", 30, minimum=1)
LOGIN_ATTEMPTS_PER_ADDRESS = envint("LOGIN_ATTEMPTS_PER_ADDRESS", 300, minimum=1)
# Live API tokens a person may hold; a new one revokes the least recently used beyond this.
API_TOKENS_PER_USER = envint("API_TOKENS_PER_USER", 20, minimum=1)

# Search: each client may search this many times a minute (anonymous: per address, see
# TRUSTED_PROXY_COUNT; logged in: per user); 0 turns the limit off.  A search running past
# SEARCH_TIME_LIMIT_MS is abandoned with a 503 (docs/search.md, "Limits").
SEARCH_RATE_ANONYMOUS = envint("SEARCH_RATE_ANONYMOUS", 60)
SEARCH_RATE_USER = envint("SEARCH_RATE_USER", 300)
SEARCH_TIME_LIMIT = envint("SEARCH_TIME_LIMIT_MS", 2000, minimum=1) / 1000
# Index upkeep is the workers' (search_index/worker.py): a request only writes the change log.  Every worker
# polls the log every SEARCH_OUTBOX_POLL_MS while it is idle and, idle, merges the index's small
# segments once more than SEARCH_MERGE_SEGMENTS of them pile up.  SEARCH_DRAIN_IN_REQUEST=True makes
# the writing process apply its changes after each commit instead (a bare runserver without
# run_worker); production leaves it False.
SEARCH_DRAIN_IN_REQUEST = envbool("SEARCH_DRAIN_IN_REQUEST", "False")
SEARCH_OUTBOX_POLL = envint("SEARCH_OUTBOX_POLL_MS", 20, minimum=1) / 1000
# The workers' index loops are also woken on commit through Unix sockets in this directory, and on
# PostgreSQL by LISTEN/NOTIFY from every node (search_index/wake.py); polling stays the guarantee.
SEARCH_WAKE_DIR = envpath("SEARCH_WAKE_DIR", VAR_DIR / "run" / "wake")
SEARCH_MERGE_SEGMENTS = envint("SEARCH_MERGE_SEGMENTS", 3, minimum=1)
# Several app nodes on one database (docs/design.md, "The index change log"): each keeps its own index
# current from the change log in the database.  SEARCH_NODE names this node (default: this machine's name and
# SEARCH_INDEX_DIR, so one machine needs nothing).  Entries every node seen within SEARCH_NODE_LIVE_SECONDS
# has applied are pruned, and any older than SEARCH_LOG_KEEP_SECONDS; a node away longer rebuilds its index.
# SEARCH_LOG_GAP_SECONDS: the longest transaction that writes the catalogue (PostgreSQL may commit a lower
# entry after a higher one was read: a node waits this long at most for it).
SEARCH_NODE = os.environ.get("SEARCH_NODE", "").strip()
SEARCH_NODE_LIVE_SECONDS = envint("SEARCH_NODE_LIVE_SECONDS", 3600, minimum=30)
SEARCH_LOG_KEEP_SECONDS = envint("SEARCH_LOG_KEEP_SECONDS", 7 * 24 * 3600, minimum=60)
SEARCH_LOG_GAP_SECONDS = envint("SEARCH_LOG_GAP_SECONDS", 300, minimum=1)
# A node whose index loop has not been heard from for this long while changes wait for it is stalled (its
# worker stopped): /readyz takes it out of the load balancer while another node is current (shuyuan/health.py).
SEARCH_NODE_STALE_SECONDS = envint("SEARCH_NODE_STALE_SECONDS", 300, minimum=30)
if len(SEARCH_NODE) > 255:
    raise ImproperlyConfigured("Environment variable SEARCH_NODE must be at most 255 characters.")
if SEARCH_LOG_GAP_SECONDS >= SEARCH_LOG_KEEP_SECONDS:
    raise ImproperlyConfigured("SEARCH_LOG_GAP_SECONDS must be shorter than SEARCH_LOG_KEEP_SECONDS.")
# Each process asks the law-name dictionary's table whether it changed at most once every this many seconds
# (0: on every search): a librarian's admin edit reaches the other worker processes within that bound, the
# process that saved it at once (search_index/laws.py).
LAW_DICTIONARY_CHECK_SECONDS = envint("LAW_DICTIONARY_CHECK_SECONDS", 5)

# The outside interfaces (/sru, /oai; docs/api.md, "SRU and OAI-PMH"): requests a minute per client address
# (0: no limit); SRU's default and largest page, and the most records one search clause of a boolean query
# contributes; OAI-PMH's page size, how long a resumption token stays valid, the repository identifier in
# item identifiers (oai:<it>:book/1, by default SITE_URL's host) and its contact address.
INTEROP_RATE = envint("INTEROP_RATE", 120)
SRU_DEFAULT_RECORDS = envint("SRU_DEFAULT_RECORDS", 10, minimum=1)
SRU_MAX_RECORDS = envint("SRU_MAX_RECORDS", 50, minimum=1)
SRU_MAX_SEARCH_HITS = envint("SRU_MAX_SEARCH_HITS", 5000, minimum=1)
# Searches one SRU query may make (each clause, each distinct word of an any/all clause): past it, diagnostic 38.
SRU_MAX_QUERY_TERMS = envint("SRU_MAX_QUERY_TERMS", 32, minimum=1)
OAI_PAGE_SIZE = envint("OAI_PAGE_SIZE", 100, minimum=1)
OAI_TOKEN_SECONDS = envint("OAI_TOKEN_SECONDS", 24 * 3600, minimum=60)
OAI_REPOSITORY_IDENTIFIER = os.environ.get("OAI_REPOSITORY_IDENTIFIER", "").strip() or (_site.hostname or "localhost")

# Call numbers (索书号), assigned when a book with a CLC class gets its first copy (docs/design.md,
# "Call numbers"): "accession" gives 种次号 (D923/1, D923/2 … in the order of cataloguing), "author" an
# author mark from the pinyin initials of the first author (D923/ZM, D923/ZM2 …).
CALL_NUMBER_SCHEME = os.environ.get("CALL_NUMBER_SCHEME", "accession").strip().lower()
if CALL_NUMBER_SCHEME not in ("accession", "author"):
    raise ImproperlyConfigured(
        f"Environment variable CALL_NUMBER_SCHEME must be accession or author, not {CALL_NUMBER_SCHEME!r}."
    )
# The library's name on reader cards and labels.
LIBRARY_NAME = os.environ.get("LIBRARY_NAME", "法官书苑").strip() or "法官书苑"
# Labels (spine and barcode) and reader cards in one PDF: a request for more is refused (422).  A sheet is
# drawn in the request; a few hundred labels take well under a second.
LABELS_MAX_PER_REQUEST = envint("LABELS_MAX_PER_REQUEST", 400, minimum=1)
CARDS_MAX_PER_REQUEST = envint("CARDS_MAX_PER_REQUEST", 200, minimum=1)

# Circulation.  SELF_RETURN lets a patron return their own loan through the
# API (the court's 24-hour self-service point); otherwise returns are the
# librarian's.
SELF_RETURN = envbool("SELF_RETURN", "False")
# RETURN_TO_HOME: a copy returned (or left over) at another location goes home by the van (Koha's
# "return to home branch"); off, it stays where it was returned.
RETURN_TO_HOME = envbool("RETURN_TO_HOME", "True")

# E-mail for notices (due soon, overdue, hold ready/expired).  Development
# prints them to the console; production sets the SMTP variables below.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "False")
# Seconds an SMTP connection may stall before the send fails (and the notice waits for the next try);
# without it a hung mail server would hold a worker for ever.
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30, minimum=1)
# EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend writes each message to a file here.
EMAIL_FILE_PATH = str(envpath("EMAIL_FILE_PATH", VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "法官书苑 <library@localhost>")
# Where Django's error mails come from (Django's default, unless set).
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", "").strip() or "root@localhost"
# The contact address that OAI-PMH's Identify and SRU's explain give other libraries (an address only):
# OAI_ADMIN_EMAIL, else DEFAULT_FROM_EMAIL or SERVER_EMAIL when set.  A localhost address with DEBUG off is a
# system check warning (interop.W001): a harvester's operator would have no one to write to.
OAI_ADMIN_EMAIL = (envaddress("OAI_ADMIN_EMAIL", "DEFAULT_FROM_EMAIL", "SERVER_EMAIL")
                   or email.utils.parseaddr(DEFAULT_FROM_EMAIL)[1])


def _channel(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip()
    if value != "off" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+", value):
        raise ImproperlyConfigured(f"Environment variable {name} must be a dotted path to a class or off, not {value!r}.")
    return value


# How notices reach readers besides their notice list (/me/notices), each a backend class like
# EMAIL_BACKEND (notices/channels.py): channel name -> dotted path; a channel set to "off" is not offered.
# E-mail goes through Django's mail (EMAIL_BACKEND above).  SMS has no provider by default: with DEBUG
# each message is written to a file in NOTICE_SMS_FILE_PATH; without DEBUG it is off until an adapter
# for the court's SMS provider is named (docs/deploy.md, "SMS and chat robots").  The webhook posts to
# the chat robot (企业微信/政务微信) whose URL the reader gives, on a host of NOTICE_WEBHOOK_HOSTS.
NOTICE_CHANNELS = {
    name: path for name, path in (
        ("email", _channel("NOTICE_EMAIL_CHANNEL", "notices.channels.EmailChannel")),
        ("sms", _channel("NOTICE_SMS_CHANNEL", "notices.channels.FileSmsChannel" if DEBUG else "off")),
        ("webhook", _channel("NOTICE_WEBHOOK_CHANNEL", "notices.channels.WebhookChannel")),
    ) if path != "off"
}
NOTICE_SMS_FILE_PATH = str(envpath("NOTICE_SMS_FILE_PATH", VAR_DIR / "sms"))
# Hosts a reader's robot URL may name: WeCom's by default; add a 政务微信 server's name (it may stand on
# the court's network: a listed host is trusted wherever it resolves).  "*" also admits any other host,
# but only at public addresses, checked when each message is sent (no request reaches the internal network).
NOTICE_WEBHOOK_HOSTS = [h.lower() for h in envlist("NOTICE_WEBHOOK_HOSTS", "qyapi.weixin.qq.com")]
# Seconds a robot's server may take to connect or answer before the try fails (and is retried).
NOTICE_WEBHOOK_TIMEOUT = envint("NOTICE_WEBHOOK_TIMEOUT", 10, minimum=1)

# Copy cataloguing (library/sru.py): hosts an SRU target's address may name.  "*" admits any host at public
# addresses only (checked when the target is saved and again when each request is made, so a name that later
# resolves inside is refused then).  A list without "*" admits only the hosts named (the tests: the local
# test server); a named host too must resolve to public addresses unless it is listed below.
SRU_ALLOWED_HOSTS = [h.lower() for h in envlist("SRU_ALLOWED_HOSTS", "*")]
# SRU servers on the court's network, as "host:port" entries (the port the URL reaches: 80 for http, 443 for
# https when it names none; "[fd00::8]:210" for an IPv6 address).  Only there may a target that a superuser
# marked 位于法院内网 reach a private address or this machine itself; trust goes to the host and port listed,
# not to the host's other ports.  Empty by default: every target must be on the internet.  Link-local
# (169.254.0.0/16, the cloud metadata service; fe80::/10), multicast and unspecified addresses are refused
# whatever is listed.
SRU_INTERNAL_HOSTS = envlist("SRU_INTERNAL_HOSTS", "")
# Seconds to connect to an SRU server and to wait for each read; answers larger than SRU_MAX_RESPONSE bytes
# are refused while they are read.
SRU_CONNECT_TIMEOUT = envint("SRU_CONNECT_TIMEOUT", 5, minimum=1)
SRU_READ_TIMEOUT = envint("SRU_READ_TIMEOUT", 15, minimum=1)
SRU_MAX_RESPONSE = envint("SRU_MAX_RESPONSE", 5 * 1024 * 1024, minimum=1024)
# Candidates asked for per page of a search.
SRU_PAGE_SIZE = envint("SRU_PAGE_SIZE", 10, minimum=1)
# A channel that failed is tried again after NOTICE_RETRY_SECONDS, then twice as long each time, up to
# NOTICE_DELIVERY_ATTEMPTS tries in all (5 and 300: over about 75 minutes); then it is recorded as failed.
NOTICE_DELIVERY_ATTEMPTS = envint("NOTICE_DELIVERY_ATTEMPTS", 5, minimum=1)
NOTICE_RETRY_SECONDS = envint("NOTICE_RETRY_SECONDS", 300, minimum=1)

# How many reverse proxies (nginx …) stand in front and append to
# X-Forwarded-For; 0 trusts only REMOTE_ADDR.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "csp",
    "core.apps.CoreConfig",
    "shuyuan.apps.ShuyuanConfig",
    "accounts.apps.AccountsConfig",
    "notices.apps.NoticesConfig",
    "library.apps.LibraryConfig",
    "events.apps.EventsConfig",
    "search_index.apps.SearchIndexConfig",
    "reports.apps.ReportsConfig",
    "web.apps.WebConfig",
    "interop.apps.InteropConfig",
    "django_tasks",
    "django_tasks_db",
    "jobs.apps.JobsConfig",  # after django_tasks_db: its admin takes the database backend's rows out
]
if TASKS_URL:
    INSTALLED_APPS.append("django_rq")

MIDDLEWARE = [
    "shuyuan.requestlog.RequestLogMiddleware",
    "shuyuan.middleware.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Static files from any process (gunicorn included), compressed, with far-future caching.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shuyuan.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shuyuan.context_processors.roles",
                "shuyuan.context_processors.notices",
            ],
        },
    },
]

WSGI_APPLICATION = "shuyuan.wsgi.application"

# --- Database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{VAR_DIR / 'shuyuan.sqlite3'}"
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 0), conn_health_checks=True)
except (ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL ({exc}).") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # A fresh checkout has no var/ yet; SQLite creates the file but not its folder.
    if _db["NAME"] and _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside one writer; IMMEDIATE transactions take the
    # write lock at BEGIN, so two writers queue on busy_timeout instead of one
    # failing with "database is locked" when it upgrades a read lock.
    # SQLITE_BUSY_SECONDS: how long a writer waits for the lock before "database is locked".
    _busy = envint("SQLITE_BUSY_SECONDS", 20, minimum=1)
    _db["OPTIONS"] = {
        "timeout": _busy,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            f"PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout={_busy * 1000};PRAGMA foreign_keys=ON;"
        ),
    }
    # Tests use a file, not ":memory:", so that they run with the same WAL and
    # locking behaviour as production and can open parallel connections.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test_shuyuan.sqlite3")}
DATABASES = {"default": _db}
# A long background job that writes in batches (catalogue imports) pauses this long after each batch's
# commit.  SQLite has one writer at a time, and its busy handler polls a waiting writer only every
# 100 ms: back-to-back batch transactions starved the requests' writes until their 20 s timeout (a
# 150,000-row import made logins answer 503 for three minutes).  PostgreSQL locks rows, not the
# database, so it needs no pause.
BACKGROUND_WRITE_PAUSE_MS = envint(
    "BACKGROUND_WRITE_PAUSE_MS", 250 if _db["ENGINE"] == "django.db.backends.sqlite3" else 0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/me"
LOGOUT_REDIRECT_URL = "/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Without collectstatic (development, tests) whitenoise serves files straight from the finders,
# and STATIC_ROOT not existing yet is normal, not worth a warning on every start.
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

# --- Language and time ----------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- API ------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 20
NINJA_PAGINATION_MAX_LIMIT = 200

# --- Security ---------------------------------------------------------------
# `manage.py check --deploy` is clean with DEBUG off and an https SITE_URL (tests/shuyuan/test_security.py).
HTTPS = _site.scheme == "https"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Behind nginx (TRUSTED_PROXY_COUNT ≥ 1) the proxy terminates TLS and says so in X-Forwarded-Proto.
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# With an https SITE_URL plain-http requests are redirected, except the health probes a supervisor
# sends to 127.0.0.1 directly.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(HTTPS and not DEBUG))
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# HSTS: one year by default on https; SECURE_HSTS_SECONDS=0 turns it off (e.g. while trying https out).
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS and not DEBUG else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "True")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
# Preloading commits the court's whole domain to https in every browser for months: a decision for the
# court's IT (hstspreload.org), not a default of one application, so its reminder is silenced while off.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Content-Security-Policy (django-csp): the pages load scripts, styles, images and fonts from this
# site only — no inline scripts or style attributes (the templates have none), nothing framed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Logs -------------------------------------------------------------------
# One line per request (shuyuan.requestlog) and the request id on every line.  LOG_FORMAT=json (the
# default with DEBUG off) writes one JSON object per line for a log collector; "plain" is for people.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "shuyuan.requestlog.RequestIdFilter"},
                "secret_paths": {"()": "shuyuan.requestlog.SecretPathFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "shuyuan.requestlog.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Each request is logged once, by shuyuan.request; runserver's own line would repeat it.
        "django.server": {"level": "WARNING", "filters": ["secret_paths"]},
        # Its 4xx warnings ("Not Found: …") repeat the request line too; server errors stay, with traceback,
        # and with a personal feed's secret cut out of the path ("Internal Server Error: /calendar/u/…").
        "django.request": {"level": "ERROR", "filters": ["secret_paths"]},
    },
}
