"""What every benchmark shares: a throwaway production-like installation outside the project."""

import os
import shutil
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def throwaway_django(workdir: Path, *, keep: bool = False, **env: str) -> None:
    """Empty ``workdir`` (unless ``keep``: reuse what a previous run left there), point a DEBUG-off installation
    (SQLite, VAR_DIR) at it, set Django up, migrate.

    ``env`` overrides or adds settings; plain-http test clients are never redirected to https."""
    workdir = workdir.resolve()
    if workdir == ROOT or ROOT in workdir.parents:
        raise SystemExit("the benchmark's workdir must be outside the project")
    if workdir.exists() and not keep:
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "shuyuan.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "VAR_DIR": str(workdir / "var"),
        "DEBUG": "False",
        "SECRET_KEY": "bench-only-not-secret-" + "x7Qz" * 12,
        "ALLOWED_HOSTS": "testserver",
        "SITE_URL": "http://testserver",
        "SECURE_SSL_REDIRECT": "False",
        "LOG_LEVEL": "WARNING",
        **env,
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def stop_process_group(proc: subprocess.Popen) -> None:
    """Stop a process started with ``start_new_session=True`` and all it started: TERM, then KILL after 30 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def check_database_arg(parser, args) -> None:
    """``--database``: ``sqlite``, or a PostgreSQL URL whose database name contains "bench" (the benchmark drops it
    and creates it again): else ``parser.error``."""
    if args.database != "sqlite":
        if not args.database.startswith(("postgres://", "postgresql://")):
            parser.error("--database is sqlite or a postgres:// URL")
        if "bench" not in args.database.rsplit("/", 1)[-1]:
            parser.error("the PostgreSQL database is dropped and created again: its name must contain 'bench'")
