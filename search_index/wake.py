"""Waking the index workers on commit, instead of leaving change-log entries to their next poll.

Each worker's index loop binds a Unix datagram socket in ``SEARCH_WAKE_DIR`` (one file per process) and
waits on it between looks at the log; a transaction that wrote the log sends one byte to every socket
there after it commits.  On PostgreSQL the loop also LISTENs on ``CHANNEL`` through a connection of its own
(psycopg 3), and the writing transaction sends a NOTIFY, which PostgreSQL delivers when it commits (and
drops with a rollback): a commit through one node wakes the loops of every node at once.  A lost or
refused wake-up costs nothing but latency: the loop still looks at the log every ``SEARCH_OUTBOX_POLL``
seconds, so polling stays the guarantee and the wake-up only makes it prompt.  Sockets of processes that
died are removed by the next sender that finds them refusing; a listening connection that broke is opened
again after ``RELISTEN_SECONDS``.
"""

import logging
import os
import select
import socket
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

#: A Unix socket path must fit in sun_path (108 bytes on Linux, 104 elsewhere).
MAX_PATH = 100
#: The PostgreSQL channel of the index loops (channels are per database: one installation's nodes share it).
CHANNEL = "shuyuan_index"
#: A listening connection that could not be opened, or broke, is tried again after this long.
RELISTEN_SECONDS = 30.0


def wake_dir() -> Path:
    return Path(settings.SEARCH_WAKE_DIR)


def wake_workers() -> int:
    """Send a wake-up to every index loop on this machine; returns how many were reached.  Never raises."""
    try:
        entries = list(os.scandir(wake_dir()))
    except OSError:
        return 0
    reached = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for entry in entries:
            if not entry.name.endswith(".sock"):
                continue
            try:
                sender.sendto(b"!", entry.path)
                reached += 1
            except BlockingIOError:
                reached += 1  # its queue is full: a wake-up is already waiting there
            except (ConnectionRefusedError, FileNotFoundError):
                _remove(entry.path)  # its process is gone
            except OSError as exc:
                logger.debug("wake-up to %s failed: %s", entry.path, exc)
    return reached


def wake_on_commit() -> None:
    """Wake the index loops after the current transaction commits (once per transaction): this machine's through
    their sockets, and on PostgreSQL every node's through a NOTIFY sent now, delivered on commit."""
    if any(callback is wake_workers for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(wake_workers)
    if connection.vendor == "postgresql":
        # Inside the writing transaction, not after it: a NOTIFY of its own would be one more commit to flush.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class Alarm:
    """An index loop's end of the wake-ups: ``sleep(seconds)`` returns early when woken."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.path = ""
        self.listener = None  # psycopg.Connection LISTENing on CHANNEL (PostgreSQL)
        self.listen_after = 0.0
        self._listen()
        try:
            directory = wake_dir()
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = str(directory / f"{os.getpid()}.sock")
            if len(path.encode()) > MAX_PATH:
                raise OSError(f"socket path too long ({len(path)} bytes): {path}")
            _remove(path)  # a previous process with this pid
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            sock.setblocking(False)
        except OSError as exc:
            logger.warning("index loop cannot be woken on commit (%s); it polls every %s s", exc,
                           settings.SEARCH_OUTBOX_POLL)
            return
        self.sock, self.path = sock, path

    def _listen(self) -> None:
        """On PostgreSQL, open the connection that LISTENs for other nodes' commits (not Django's: it waits here)."""
        if connection.vendor != "postgresql" or time.monotonic() < self.listen_after:
            return
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        try:
            listener = psycopg.connect(**params, autocommit=True)
            listener.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            self.listen_after = time.monotonic() + RELISTEN_SECONDS
            logger.warning("index loop cannot listen for other nodes' commits (%s); it polls every %s s", exc,
                           settings.SEARCH_OUTBOX_POLL)
            return
        self.listener = listener

    def sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True if woken.  Wake-ups that piled up meanwhile count as one."""
        if self.listener is None:
            self._listen()
        waiting = [f for f in (self.sock, self.listener) if f is not None]
        if not waiting:
            select.select([], [], [], seconds)
            return False
        ready, _, _ = select.select(waiting, [], [], seconds)
        woken = bool(ready)
        if self.sock is not None:
            while True:
                try:
                    self.sock.recv(16)
                    woken = True
                except (BlockingIOError, InterruptedError):
                    break
        if self.listener is not None and self.listener in ready:
            import psycopg

            try:
                for _ in self.listener.notifies(timeout=0):
                    woken = True
            except psycopg.Error as exc:
                logger.warning("index loop's listening connection broke (%s); listening again in %s s", exc,
                               RELISTEN_SECONDS)
                self._close_listener()
                self.listen_after = time.monotonic() + RELISTEN_SECONDS
        return woken

    def _close_listener(self) -> None:
        if self.listener is not None:
            try:
                self.listener.close()
            except Exception:  # noqa: BLE001 - already broken
                pass
            self.listener = None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            _remove(self.path)
            self.sock = None
        self._close_listener()
