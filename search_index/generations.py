"""Where the index lives on disk, and swapping a rebuilt index in atomically.

Layout under ``SEARCH_INDEX_DIR``::

    current -> gen-20261125T164000-ab12cd     (a symlink; replaced atomically)
    gen-20261125T164000-ab12cd/               (a complete Whoosh index)

Readers and writers always go through ``current``.  A rebuild writes a new
``gen-*`` directory and then renames a fresh symlink over ``current``
(``os.replace`` is atomic), so searches never see a half-built index; files of
the old generation that a process still has open stay readable until closed.
"""

import fcntl
import os
import pickle
import secrets
import shutil
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from search_index.index_schema import INDEX_NAME, SCHEMA_VERSION, build_schema


class IndexMissing(Exception):
    """There is no built index (never built, deleted, or unreadable)."""


#: What reading a damaged index directory raises (truncated or overwritten files, a half-deleted
#: generation): whoosh's own errors, unpickling the table of contents, decompressing postings.
UNREADABLE = (whoosh_index.EmptyIndexError, whoosh_index.IndexError, OSError, ValueError, EOFError, KeyError,
              struct.error, zlib.error, pickle.UnpicklingError)


#: Attempts at reading the newest table of contents when other processes' commits keep deleting the one listed.
TOC_ATTEMPTS = 10


def root() -> Path:
    return Path(settings.SEARCH_INDEX_DIR)


def current_link() -> Path:
    return root() / "current"


def current_generation() -> str | None:
    """The name of the generation ``current`` points at, or None."""
    try:
        return os.readlink(current_link())
    except OSError:
        return None


def new_generation_dir() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = root() / f"gen-{stamp}-{secrets.token_hex(3)}"
    path.mkdir(parents=True)
    return path


def create_index(path: Path):
    storage = FileStorage(str(path))
    return storage.create_index(build_schema(), indexname=INDEX_NAME)


def open_index():
    """Open the current index; raise IndexMissing when there is none or it cannot be read."""
    return open_current()[0]


def open_current():
    """(the current index, the name of its generation); raises IndexMissing as ``open_index``."""
    generation = current_generation()
    if generation is None:
        raise IndexMissing(_("全文索引尚未建立，请运行 manage.py rebuild_index"))
    path = root() / generation
    for attempt in range(1, TOC_ATTEMPTS + 1):
        try:
            ix = whoosh_index.open_dir(str(path), indexname=INDEX_NAME)
            # Reads the table of contents again (Whoosh reads the newest one each time).
            names = ix.schema.names()
            break
        except FileNotFoundError as exc:
            # Whoosh lists the newest table of contents, then reads it: a commit in another process between the
            # two deleted it, after writing a newer one, which the next attempt reads.  (The segments' files are
            # not read here; a generation directory that is gone was swapped out by a rebuild.)
            if attempt < TOC_ATTEMPTS and path.is_dir():
                continue
            raise IndexMissing(_("全文索引无法读取，请运行 manage.py rebuild_index（%(error)s）") % {"error": exc}) from exc
        # TypeError: whoosh reads an empty (zero-length) table of contents as ord(b"") rather than raising.
        except (*UNREADABLE, TypeError) as exc:
            raise IndexMissing(_("全文索引无法读取，请运行 manage.py rebuild_index（%(error)s）") % {"error": exc}) from exc
    if names != build_schema().names() or _schema_version(path) != SCHEMA_VERSION:
        raise IndexMissing(_("全文索引版本过旧，请运行 manage.py rebuild_index"))
    return ix, generation


def _schema_version(path: Path) -> str:
    try:
        return (path / "SCHEMA_VERSION").read_text().strip()
    except OSError:
        return ""


def mark_schema_version(path: Path) -> None:
    (path / "SCHEMA_VERSION").write_text(SCHEMA_VERSION)


#: Written into a generation when it is made: every change-log entry up to this id is in it (changelog.py).
LOG_POSITION_FILE = "LOG_POSITION"


def mark_log_position(path: Path, position: int) -> None:
    (path / LOG_POSITION_FILE).write_text(f"{position}\n")


def log_position(generation: str) -> int | None:
    """The change-log position a generation was made at, or None (made before the change log existed)."""
    try:
        return int((root() / generation / LOG_POSITION_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def swap_in(path: Path) -> None:
    """Point ``current`` at ``path`` atomically and delete generations no longer current."""
    link = current_link()
    tmp = root() / f".current-{secrets.token_hex(4)}"
    os.symlink(path.name, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)  # e.g. ``current`` is a directory: a rename cannot replace it by a link
        raise
    for other in root().glob("gen-*"):
        if other.name != path.name:
            shutil.rmtree(other, ignore_errors=True)


def index_opens() -> bool:
    """Whether the current index opens, readable and of this schema."""
    try:
        open_index().close()
    except IndexMissing:
        return False
    return True


def index_exists() -> bool:
    """Whether ``current`` points at a generation directory (readable or not)."""
    generation = current_generation()
    return generation is not None and (root() / generation).exists()


def ensure_index(*, log_position: int) -> bool:
    """Create an empty index when none exists, made at change-log position ``log_position``; True if one was
    created.

    Only right when the change log alone can fill it (``indexer.create_if_fillable``): otherwise a
    rebuild is needed so that the index holds every record.
    """
    root().mkdir(parents=True, exist_ok=True)
    # Two workers answering their first request at once: one creates, the other finds it made (swap_in
    # would otherwise delete the generation the first one just swapped in).
    with open(root() / ".create.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if index_exists():
            return False
        path = new_generation_dir()
        try:
            create_index(path)
            mark_schema_version(path)
            mark_log_position(path, log_position)
            swap_in(path)
        except BaseException:
            if current_generation() != path.name:  # as indexer.rebuild: no generation left per failed attempt
                shutil.rmtree(path, ignore_errors=True)
            raise
        return True
