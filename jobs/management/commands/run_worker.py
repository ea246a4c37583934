"""``manage.py run_worker``: a background worker for the configured Tasks backend.

It runs the backend's own worker (django-tasks-db's ``db_worker``, or RQ's worker with its scheduler for
``TASKS_URL=redis://…``) and, beside it, a housekeeping thread that every few seconds records that this
worker is alive (``/readyz``), queues again the jobs of dead workers (``jobs_recover``) and enqueues the
jobs that are due by the clock (``settings.JOBS_SCHEDULE``).  ``settings.WORKER_LOOPS`` name functions that
run continuously in threads of their own (applying the search index's outbox).  Start as many workers
as cores allow, on one machine or several.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from jobs.schedule import schedule_tick
from jobs.services import WORKER_ID, jobs_recover, worker_beat

logger = logging.getLogger("jobs.worker")


class Housekeeping(threading.Thread):
    def __init__(self, *, backend: str, every: float) -> None:
        super().__init__(daemon=True, name="jobs-housekeeping")
        self.backend = backend
        self.every = every
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                close_old_connections()
                worker_beat(started_at=self.started_at, backend=self.backend)
                counts = jobs_recover()
                if any(counts.values()):
                    logger.warning("recovered jobs: %s", counts)
                schedule_tick()
            except Exception:  # noqa: BLE001 - a busy or unreachable database: try again next round
                logger.exception("worker housekeeping failed; retrying")
            finally:
                connection.close()
            if self.stopped.wait(self.every):
                return


class Loop(threading.Thread):
    """Calls ``function()`` over and over; it returns how long to sleep before the next call, and may say
    how to sleep (``function.sleep``, e.g. a sleep that a commit interrupts)."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True, name=f"loop-{path}")
        self.function = import_string(path)
        self.sleep = getattr(self.function, "sleep", time.sleep)
        self.path = path

    def run(self) -> None:
        while True:
            try:
                pause = self.function()
            except Exception:  # noqa: BLE001 - keep the loop alive; the next call retries
                logger.exception("worker loop %s failed; retrying", self.path)
                connection.close()
                pause = 5.0
            self.sleep(pause)


class Command(BaseCommand):
    help = gettext_lazy("运行后台任务工作进程")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.5,
                            help="database backend: seconds between polls when idle (default 0.5)")
        parser.add_argument("--housekeeping", type=float, default=5.0,
                            help="seconds between heartbeats, recovery and schedule checks (default 5)")
        parser.add_argument("--no-loops", action="store_true", help="do not run settings.WORKER_LOOPS")

    def handle(self, *args, interval: float, housekeeping: float, no_loops: bool, **options):
        backend = settings.TASKS["default"]["BACKEND"]
        logger.info("worker %s starting (%s)", WORKER_ID, backend)
        self.stdout.write(_("后台任务工作进程 %(worker)s 已启动（%(backend)s）") % {"worker": WORKER_ID, "backend": backend})
        Housekeeping(backend=backend, every=housekeeping).start()
        if not no_loops:
            for path in settings.WORKER_LOOPS:
                Loop(path).start()
        backoff = 1.0
        while True:
            started = time.monotonic()
            try:
                self.run_backend(backend, interval, options["verbosity"])
                return  # stopped on a signal (SIGTERM, Ctrl+C): the backend's worker finished its job and returned
            except Exception:  # noqa: BLE001 - a locked or unreachable database or queue: start again
                # django-tasks-db's worker ends on "database is locked" when SQLite's write lock is held past
                # its busy timeout (seen in the seventh attack: nothing restarted it and every job stopped).
                # Its job, if any, is recovered by jobs_recover like a dead worker's.
                backoff = 1.0 if time.monotonic() - started > 60 else min(backoff * 2, 30.0)
                logger.exception("the job worker stopped on an error; starting it again in %.0f s", backoff)
                close_old_connections()
                connection.close()
                time.sleep(backoff)

    def run_backend(self, backend: str, interval: float, verbosity: int) -> None:
        """Run the configured backend's own worker until it returns (on a signal) or raises."""
        if backend == "django_tasks_rq.RQBackend":
            import django_rq

            # RQ's worker with django-tasks-rq's job class (which calls the Tasks API task), and RQ's
            # scheduler for retries that wait (run_after).  SimpleWorker runs each job in this process:
            # RQ's default forks a "work horse" per job, and a fork taken while another thread of this
            # process (housekeeping, the index loop, a heartbeat) holds a lock leaves the child waiting
            # on that lock for ever (seen: an import's horse asleep on a futex).  A job that crashes the
            # process is recovered like any worker's death.
            worker = django_rq.get_worker(*settings.TASKS["default"]["QUEUES"], job_class="django_tasks_rq.backend.Job",
                                          worker_class="rq.worker.SimpleWorker", name=WORKER_ID.replace(":", "-")[:64])
            worker.work(with_scheduler=True)
        else:
            call_command("db_worker", queue_name=",".join(settings.TASKS["default"]["QUEUES"]), interval=interval,
                         reload=False, startup_delay=False, worker_id=WORKER_ID[:64], verbosity=verbosity)
