"""Shared fixtures: one user per role, each with an API token, and a JSON client for each."""

import hashlib
import json
import shutil
import tempfile

import pytest
from django.db.models.signals import post_migrate
from django.test import Client
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from accounts.models import Role
from accounts.services import token_issue, user_upsert
from core import cache as core_cache
from core import ratelimit
from search_index import changelog, laws
from search_index.worker import apply_outbox
from tests.live import server  # noqa: F401 - a fixture: the live multi-process server
from tests.s3 import s3_endpoint, s3_media  # noqa: F401 - fixtures: a local S3 server and a bucket of the test's own

# The suite must be deterministic: property tests draw the same examples on every run.
hypothesis_settings.register_profile("shuyuan", derandomize=True, print_blob=True)
hypothesis_settings.load_profile("shuyuan")


def wake_dir_for(tmp_path) -> str:
    """A test's own directory of index-loop wake-up sockets: short, as a socket path must be (search_index.wake)."""
    return f"/tmp/sy-wake-{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]}"


@pytest.fixture(scope="session", autouse=True)
def _session_rate_limits(tmp_path_factory):
    """Rate-limit counters of this run's own, for fixtures wider than one test (a module's judges entering
    papers): the default store under CACHE_DIR outlives the run, and its counts would carry over."""
    from django.conf import settings as django_settings

    before = django_settings.RATELIMIT_URL
    django_settings.RATELIMIT_URL = f"sqlite:///{tmp_path_factory.mktemp('rates') / 'ratelimits.sqlite3'}"
    yield
    ratelimit.close_stores()
    django_settings.RATELIMIT_URL = before


@pytest.fixture(scope="session", autouse=True)
def _static_files_listed_once():
    """WhiteNoise lists every static file (and stats it) when its middleware is built, which Django's test
    Client does for every new client: thousands of times a run.  The files do not change during a run, so
    the list is made once per process and copied into each new middleware."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    original = WhiteNoiseMiddleware.add_files_from_finders
    listed: dict[tuple, dict] = {}

    def add_files_from_finders(self):
        key = (self.static_prefix, self.max_age, self.allow_all_origins, self.charset)
        if key not in listed:
            before = set(self.files)
            original(self)
            listed[key] = {url: found for url, found in self.files.items() if url not in before}
        for url, found in listed[key].items():
            self.files.setdefault(url, found)

    WhiteNoiseMiddleware.add_files_from_finders = add_files_from_finders
    yield
    WhiteNoiseMiddleware.add_files_from_finders = original


def isolated_settings(root) -> dict:
    """The settings every test runs under (``_fast_and_isolated``), with its files, caches and index under
    ``root``; also for a fixture wider than one test, which makes its rows under these settings too."""
    from django.conf import settings as django_settings

    values = {
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        "MEDIA_ROOT": str(root / "media"),
        "SEARCH_INDEX_DIR": str(root / "index"),
        # Commits wake only this test's workers, never a `make run` worker's loop on the same machine.
        "SEARCH_WAKE_DIR": wake_dir_for(root),
        # The file cache outlives a test (feeds, throttles): every test gets its own, empty one, so tests running
        # at once in other processes (pytest-xdist) never clear or fill each other's.
        # Files even when the environment names a Redis (CACHE_URL): the Redis tests configure their own database.
        "CACHES": {
            "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                        "LOCATION": str(root / "cache"), "OPTIONS": {"MAX_ENTRIES": 200_000}},
            "feeds": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": str(root / "cache" / "feeds"), "OPTIONS": {"MAX_ENTRIES": 2000}},
        },
        "RATELIMIT_URL": f"sqlite:///{root / 'cache' / 'ratelimits.sqlite3'}",
        # Every notice channel offered, whatever DEBUG the run started with (SMS is off by default without it);
        # text messages are written into the test's own directory.
        "NOTICE_CHANNELS": {"email": "notices.channels.EmailChannel", "sms": "notices.channels.FileSmsChannel",
                            "webhook": "notices.channels.WebhookChannel"},
        "NOTICE_SMS_FILE_PATH": str(root / "sms"),
        # SRU targets (copy cataloguing) reach the tests' own local server only: any other host is refused
        # before a name is looked up, whatever a test or schemathesis configures.
        "SRU_ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
        # No server is on the court's network unless a test lists it (the sru_server fixture lists itself).
        "SRU_INTERNAL_HOSTS": [],
    }
    # Uploads on the test's own disk even when the environment names an object store (MEDIA_S3_BUCKET): a test
    # run must never write into a real bucket.  The S3 tests configure the local one they start (tests/s3.py).
    if django_settings.STORAGES["default"]["BACKEND"] != "django.core.files.storage.FileSystemStorage":
        values["STORAGES"] = {**django_settings.STORAGES,
                              "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return values


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path, monkeypatch):
    for name, value in isolated_settings(tmp_path).items():
        setattr(settings, name, value)
    # Whoosh's in-memory indexes spill their pools to <tempdir>/MAIN.tmp, a fixed name: give each test its
    # own temp directory so two runs on one machine never delete each other's files.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # LocaleMiddleware leaves the language of a request active in its thread: a test that asked in English
    # must not make the next test's services, commands and jobs speak English.
    translation.deactivate()
    # The law-name dictionary outlives a test, and a test's edits are rolled back without a signal: the first
    # search of each test asks the table's version again (a rebuild only when it differs).
    laws.expire()
    # A drain prunes the index change log once a minute of the process's clock: in a test that would depend on
    # how long the tests before it took.  Tests prune by calling changelog.prune() (worker processes prune).
    monkeypatch.setattr(changelog, "PRUNE_SECONDS", float("inf"))
    # A test that made the Redis cache fail leaves this process skipping Redis for a few seconds (core/cache.py).
    core_cache.away.reset()
    yield
    translation.deactivate()
    ratelimit.close_stores()
    shutil.rmtree(settings.SEARCH_WAKE_DIR, ignore_errors=True)


class ApiClient:
    """django.test.Client (the full middleware stack) speaking JSON, optionally with a bearer token."""

    def __init__(self, token: str | None = None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.token = token

    def _headers(self, headers):
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        return h

    def get(self, path, data=None, headers=None):
        return self.client.get(path, data, headers=self._headers(headers))

    def post(self, path, data=None, headers=None):
        return self.client.post(path, json.dumps(data), content_type="application/json", headers=self._headers(headers))

    def post_raw(self, path, body, content_type="application/json", headers=None):
        return self.client.generic("POST", path, body, content_type=content_type, headers=self._headers(headers))

    def upload(self, path, files: dict, data=None, headers=None):
        return self.client.post(path, {**(data or {}), **files}, headers=self._headers(headers))

    def patch(self, path, data=None, headers=None):
        return self.client.patch(path, json.dumps(data), content_type="application/json", headers=self._headers(headers))

    def put(self, path, data=None, headers=None):
        return self.client.put(path, json.dumps(data), content_type="application/json", headers=self._headers(headers))

    def delete(self, path, headers=None):
        return self.client.delete(path, headers=self._headers(headers))


def apply_index_outbox() -> None:
    """Apply the search index's outbox as a worker's loop does: a request only queues its index changes
    (``SEARCH_DRAIN_IN_REQUEST`` is off), so a test that searches for what it just wrote calls this first."""
    apply_outbox()


def api_for(user) -> "ApiClient":
    """A JSON client carrying a fresh API token of ``user``."""
    return ApiClient(token_issue(user=user, name="test").raw)


def copy_barcode(book) -> str:
    """The barcode of the first copy of ``book``: what a reader scans to borrow it."""
    return book.copies.order_by("id").values_list("barcode", flat=True)[0]


def make_user(username: str, *roles: str, password: str = "secret-pass-1", **profile):
    user, _ = user_upsert(username=username, roles=list(roles), password=password, validate=False, **profile)
    return user


@pytest.fixture
def judge(db):
    return make_user("judge1", Role.JUDGE, display_name="张法官", division="民事审判庭")


@pytest.fixture
def librarian(db):
    return make_user("librarian1", Role.LIBRARIAN, display_name="李馆员")


@pytest.fixture
def organizer(db):
    return make_user("organizer1", Role.ORGANIZER, display_name="王组织")


@pytest.fixture
def anon_api(db):
    return ApiClient()


@pytest.fixture
def judge_api(judge):
    return ApiClient(token_issue(user=judge).raw)


@pytest.fixture
def librarian_api(librarian):
    return ApiClient(token_issue(user=librarian).raw)


@pytest.fixture
def organizer_api(organizer):
    return ApiClient(token_issue(user=organizer).raw)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (the browser tests screenshot a failure)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)



def _rows_the_migrations_make(sender, using="default", **kwargs) -> None:
    """What the data migrations put in a new database (library 0010: the pickup place 院本部; search_index 0004:
    the law names of data/laws.csv), put back after a test on a real transaction flushes the tables.  Django
    sends post_migrate after a flush as after a migrate (the role groups come back through accounts' own
    receiver); without this, a test that runs in a process after such a test would find a database no
    installation has."""
    if sender.label == "library":
        from library.models import Location

        Location.objects.using(using).get_or_create(name="院本部", defaults={"code": "main", "pickup": True,
                                                                              "position": 0})
    elif sender.label == "search_index":
        from search_index.laws import read_csv
        from search_index.models import LawName

        if not LawName.objects.using(using).exists():
            LawName.objects.using(using).bulk_create([LawName(**row) for row in read_csv()], batch_size=500)


post_migrate.connect(_rows_the_migrations_make, dispatch_uid="tests.rows_the_migrations_make")


def _runs_long(item) -> bool:
    """Tests on a real database transaction: live servers, browsers, workers killed and restarted."""
    marker = item.get_closest_marker("django_db")
    return marker is not None and marker.kwargs.get("transaction", False)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """The long tests first, in their usual order, then the rest: pytest-xdist hands tests out in this order,
    two at a time (--maxschedchunk in pyproject.toml), so the long ones are spread over the processes and the
    many short ones fill their last minutes instead of a few long ones running alone at the end (pytest-django
    puts them last: trylast, so this order is the final one)."""
    items[:] = [item for item in items if _runs_long(item)] + [item for item in items if not _runs_long(item)]
