"""Waking the index workers on commit, instead of leaving queued index work to their next poll.

Each worker's index loop binds a Unix datagram socket in ``SEARCH_WAKE_DIR`` (one file per process) and
waits on it between looks at the outbox; a transaction that queued index work sends one byte to every
socket there after it commits.  A lost or refused wake-up costs nothing but latency: the loop still
looks at the outbox every ``SEARCH_OUTBOX_POLL`` seconds, so polling stays the guarantee and the wake-up
only makes it prompt.  Sockets of processes that died are removed by the next sender that finds them
refusing.  Only processes on the same machine are woken (a worker on another node polls).
"""

import logging
import os
import select
import socket
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

#: A Unix socket path must fit in sun_path (108 bytes on Linux, 104 elsewhere).
MAX_PATH = 100


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
    """Wake the index loops after the current transaction commits (once per transaction)."""
    if not any(callback is wake_workers for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(wake_workers)


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

    def sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True if woken.  Wake-ups that piled up meanwhile count as one."""
        if self.sock is None:
            select.select([], [], [], seconds)
            return False
        ready, _, _ = select.select([self.sock], [], [], seconds)
        woken = bool(ready)
        while True:
            try:
                self.sock.recv(16)
                woken = True
            except (BlockingIOError, InterruptedError):
                return woken

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            _remove(self.path)
            self.sock = None
