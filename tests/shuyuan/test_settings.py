"""Configuration: strict environment parsing, start-up checks, the SQLite connection setup."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections, connection

from shuyuan import checks
from shuyuan.settings import envbool, envint

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "expected"), [("True", True), ("true", True), (" FALSE ", False), ("False", False)])
def test_envbool_accepts_only_true_and_false(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert envbool("X_FLAG", "False") is expected


@pytest.mark.parametrize("raw", ["1", "yes", "on", "", "Treu"])
def test_envbool_rejects_anything_else(monkeypatch, raw):
    monkeypatch.setenv("X_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be True or False"):
        envbool("X_FLAG", "False")


def test_envint_rejects_text(monkeypatch):
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be an integer"):
        envint("X_NUM", 1)


def test_missing_secret_key_with_debug_off_is_an_error(settings):
    settings.DEBUG = False
    settings.SECRET_KEY_MISSING = True
    assert [e.id for e in checks.check_secret_key(None)] == ["shuyuan.E001"]
    settings.SECRET_KEY_MISSING = False
    settings.SECRET_KEY = "django-insecure-dev-only-faguan-shuyuan-do-not-use-in-production"
    assert [e.id for e in checks.check_secret_key(None)] == ["shuyuan.E002"]
    settings.SECRET_KEY = "a-real-secret-" * 4
    assert checks.check_secret_key(None) == []


@pytest.mark.parametrize(("url", "ids"), [("http://127.0.0.1:8000", []), ("library.court", ["shuyuan.E003"]),
                                          ("ftp://x", ["shuyuan.E003"])])
def test_site_url_must_be_absolute(settings, url, ids):
    settings.DEBUG = True
    settings.SITE_URL = url
    assert [e.id for e in checks.check_site_url(None)] == ids


def test_data_dir_that_is_a_file_is_an_error(settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings.MEDIA_ROOT = str(blocker)
    assert [e.id for e in checks.check_data_dirs(None)] == ["shuyuan.E005"]


def _manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL")}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=120)


def test_process_refuses_to_start_without_secret_key_when_debug_off():
    result = _manage("check", DEBUG="False", ALLOWED_HOSTS="library.court")
    assert result.returncode != 0
    assert "shuyuan.E001" in result.stderr and "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_boolean_stops_with_a_clear_message():
    result = _manage("check", DEBUG="yes")
    assert result.returncode != 0
    assert "DEBUG must be True or False, not 'yes'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_database_url_stops_with_a_clear_message():
    result = _manage("check", DATABASE_URL="nosuchdb://x")
    assert result.returncode != 0
    assert "DATABASE_URL is not a usable database URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["LOGIN_MAX_FAILURES", "LOGIN_LOCKOUT_SECONDS", "PAPER_MAX_UPLOAD_BYTES"])
def test_limits_below_one_stop_with_a_clear_message(name):
    result = _manage("check", **{name: "0"})
    assert result.returncode != 0
    assert f"{name} must be at least 1, not 0" in result.stderr


def test_notices_at_sets_the_daily_round_or_turns_it_off():
    show = ("shell", "-c", "from django.conf import settings; print(settings.JOBS_SCHEDULE)")
    hourly = "{'task': 'events.tasks.refresh_listed_occurrences', 'every': 3600}"
    # The hour-before reminders every 10 minutes go with the daily round (issue 17), and off with it.
    reminders = "{'task': 'events.tasks.send_hour_reminders_job', 'every': 600}"
    # Old dry runs' files are deleted every six hours whatever NOTICES_AT says (issue 18).
    dry_runs = "{'task': 'library.tasks.discard_stale_dry_runs', 'every': 21600}"
    assert _manage(*show, NOTICES_AT="06:45").stdout.strip().splitlines()[-1] == (
        f"[{{'task': 'events.tasks.send_daily_notices', 'at': '06:45'}}, {hourly}, {reminders}, {dry_runs}]")
    assert _manage(*show, NOTICES_AT="off").stdout.strip().splitlines()[-1] == f"[{hourly}, {dry_runs}]"
    result = _manage("check", NOTICES_AT="7:30pm")
    assert result.returncode != 0
    assert "NOTICES_AT must be HH:MM (00:00-23:59) or off, not '7:30pm'" in result.stderr


def test_production_settings_pass_the_checks():
    result = _manage("check", DEBUG="False", SECRET_KEY="s" * 60, ALLOWED_HOSTS="library.court",
                     SITE_URL="https://library.court")
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite connection settings; PostgreSQL has its own locking")
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] == 20000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_wait_instead_of_failing():
    """Parallel read-then-write transactions all succeed (no "database is locked")."""
    from library.models import Book
    from library.services import book_create, copy_create

    book = book_create(title="并发")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                copy_create(book=Book.objects.get(pk=book.pk), barcode=f"C{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert book.copies.count() == 40


def test_notice_channels_come_from_the_environment(monkeypatch):
    from shuyuan.settings import _channel

    monkeypatch.setenv("X_CHANNEL", " courtsms.channels.ProviderSms ")
    assert _channel("X_CHANNEL", "notices.channels.FileSmsChannel") == "courtsms.channels.ProviderSms"
    monkeypatch.setenv("X_CHANNEL", "off")
    assert _channel("X_CHANNEL", "notices.channels.FileSmsChannel") == "off"
    for bad in ("courtsms", "courtsms.channels.ProviderSms()", "/srv/sms.py", "OFF "):
        monkeypatch.setenv("X_CHANNEL", bad)
        with pytest.raises(ImproperlyConfigured, match="X_CHANNEL must be a dotted path to a class or off"):
            _channel("X_CHANNEL", "notices.channels.FileSmsChannel")


def test_without_debug_text_messages_are_off_until_a_backend_is_named():
    def channels(**env) -> list[str]:
        show = "from django.conf import settings; print(' '.join(settings.NOTICE_CHANNELS))"
        return _manage("shell", "--no-imports", "-c", show, **env).stdout.split()

    assert channels(DEBUG="False") == ["email", "webhook"]
    assert channels(DEBUG="True") == ["email", "sms", "webhook"]
    assert channels(DEBUG="False", NOTICE_SMS_CHANNEL="notices.channels.FileSmsChannel",
                    NOTICE_WEBHOOK_CHANNEL="off") == ["email", "sms"]


def test_several_nodes_share_caches_and_uploads_only_when_configured():
    """Unset, the caches are files and uploads stay in MEDIA_ROOT (one machine); CACHE_URL puts both caches on
    Redis and MEDIA_S3_BUCKET the uploads in the object store (docs/deploy.md, section 9)."""
    show = ("shell", "--no-imports", "-c", "from django.conf import settings as s; print(s.CACHES['default']['BACKEND'], "
            "s.CACHES['feeds']['BACKEND'], s.CACHES['feeds'].get('KEY_PREFIX'), s.STORAGES['default']['BACKEND'], "
            "sorted((k, v) for k, v in s.STORAGES['default'].get('OPTIONS', {}).items() if v))")
    clean = {"CACHE_URL": "", "MEDIA_S3_BUCKET": ""}

    assert _manage(*show, **clean).stdout.split()[:4] == [
        "django.core.cache.backends.filebased.FileBasedCache", "django.core.cache.backends.filebased.FileBasedCache",
        "None", "django.core.files.storage.FileSystemStorage"]
    configured = _manage(*show, CACHE_URL="redis://10.0.0.5:6379/1", MEDIA_S3_BUCKET="court-media",
                         AWS_S3_ENDPOINT_URL="https://s3.court.internal:9000", AWS_S3_ADDRESSING_STYLE="path",
                         MEDIA_S3_PREFIX="/court-a/", AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="",
                         AWS_S3_REGION_NAME="").stdout
    assert configured.split(" ", 4) == [
        "core.cache.TolerantRedisCache", "core.cache.TolerantRedisCache", "shuyuan-feeds",
        "core.s3storage.MediaS3Storage",
        "[('addressing_style', 'path'), ('bucket_name', 'court-media'), ('endpoint_url', "
        "'https://s3.court.internal:9000'), ('location', 'court-a')]\n"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("CACHE_URL", "memcached://10.0.0.5:11211", "CACHE_URL must be a redis:// or rediss:// or unix:// URL"),
    ("AWS_S3_ENDPOINT_URL", "s3.court.internal:9000", "AWS_S3_ENDPOINT_URL must be a https:// or http:// URL"),
    ("AWS_S3_ADDRESSING_STYLE", "dns", "AWS_S3_ADDRESSING_STYLE must be path, virtual or auto"),
])
def test_a_bad_shared_state_setting_stops_with_a_clear_message(name, value, message):
    result = _manage("check", MEDIA_S3_BUCKET="court-media", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_uploads_in_an_object_store_need_no_media_root(settings, tmp_path):
    from tests.s3 import Bucket, storage_settings

    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings.MEDIA_ROOT = str(blocker)
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings(Bucket("http://127.0.0.1:9", "media"))}
    assert checks.check_data_dirs(None) == []


def test_the_documented_server_unit_gives_its_index_build_the_time_it_takes():
    """docs/deploy.md's shuyuan.service runs `make serve-prepare` before gunicorn, and serve-prepare builds a missing
    index (about 3 minutes per 100,000 records).  Without TimeoutStartSec systemd kills the ExecStartPre after its
    default 90 s and, with Restart=always, starts the build again for ever (review of issue 21)."""
    import re

    deploy = (ROOT / "docs" / "deploy.md").read_text()
    unit = next(block for block in re.findall(r"```ini\n(.*?)```", deploy, re.S)
                if "ExecStartPre=/usr/bin/make serve-prepare" in block)
    prepare = re.search(r"^serve-prepare:.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)

    assert "rebuild_index --if-missing" in prepare
    assert re.search(r"^TimeoutStartSec=infinity$", unit, re.M)
