"""Opening and deleting uploaded files through Django's storage API, confined to where uploads are kept.

Uploads live in ``settings.STORAGES["default"]``: local disk under ``MEDIA_ROOT`` by default, an S3-compatible
object store with ``MEDIA_S3_BUCKET`` (core/s3storage.py).  Code that reads or removes an upload goes through
``open_media`` and ``delete_media`` and nothing else (no filesystem path is ever built from a stored name), so
both backends behave the same:

* a stored name that leads outside the uploads (``../``, an absolute path, on disk a symlink planted in the
  folder) is refused: ``OutsideMediaRoot`` when reading, a logged refusal when deleting;
* a missing file is ``FileNotFoundError``; a store that fails (a full disk, an unreachable object store) is
  ``OSError``, which the API answers 503.
"""

import logging
import os
import posixpath
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, SuspiciousOperation
from django.core.files.storage import FileSystemStorage

logger = logging.getLogger(__name__)


class OutsideMediaRoot(Exception):
    """The stored name leads outside the uploads (a tampered row, a symlink planted in the folder)."""


def _plain_name(name: str) -> bool:
    """A relative name without ``..``, ``.``, empty parts or backslashes: what ``upload_to`` makes."""
    parts = name.split("/")
    return bool(name) and "\\" not in name and "\x00" not in name and all(p not in ("", ".", "..") for p in parts)


def _in_folder(name: str, folder: str) -> bool:
    return _plain_name(name) and posixpath.dirname(name) == folder


def open_media(field_file):
    """Open a FileField's file for reading (binary).  Raises ``OutsideMediaRoot`` for a name that leads
    outside the uploads (on disk: whose real path, symlinks resolved, is not inside MEDIA_ROOT),
    ``FileNotFoundError`` when it is missing and ``OSError`` when the store fails."""
    storage, name = field_file.storage, field_file.name
    if not _plain_name(name or ""):
        raise OutsideMediaRoot(name)
    if isinstance(storage, FileSystemStorage):
        root = Path(os.path.realpath(storage.location))
        try:
            path = Path(os.path.realpath(storage.path(name)))
        except SuspiciousFileOperation:  # Django's own check
            raise OutsideMediaRoot(name) from None
        if root not in path.parents:
            raise OutsideMediaRoot(name)
        return path.open("rb")
    try:
        return storage.open(name, "rb")
    except SuspiciousOperation:  # the storage's own check (django-storages: outside its prefix)
        raise OutsideMediaRoot(name) from None


def delete_media(storage, name: str, *, folder: str) -> bool:
    """Delete the stored file ``name`` if it lies directly in the uploads' ``<folder>/`` (on disk: in
    ``MEDIA_ROOT/<folder>/``, the folder itself no symlink); returns whether a file was removed (in an object
    store, whether the deletion was accepted).

    A name that leads anywhere else — ``../``, another folder (another kind of file), on disk a folder replaced
    by a symlink — is refused and logged, never followed: a tampered row must not delete what is not its own.
    On disk, a symlink in the folder is removed as a link (its target is untouched).  Failures of the disk or
    the store are logged, not raised: this runs after a commit, when the rows are gone whatever happens to the
    file (the object is then left behind, and the log names it)."""
    if not name:
        return False
    if not _in_folder(name, folder):
        logger.warning("not deleting %r: not a file of the uploads' %s/", name, folder)
        return False
    if not isinstance(storage, FileSystemStorage):
        try:
            storage.delete(name)
        except (OSError, SuspiciousOperation) as exc:
            logger.warning("could not delete %r from the media store: %s", name, exc)
            return False
        return True
    try:
        path = storage.path(name)
    except SuspiciousFileOperation:
        logger.warning("not deleting %r: outside MEDIA_ROOT", name)
        return False
    root = Path(os.path.realpath(storage.location))
    if Path(os.path.realpath(os.path.dirname(path))) != root / folder:
        logger.warning("not deleting %r: not a file of MEDIA_ROOT/%s/", name, folder)
        return False
    try:
        if not os.path.lexists(path) or (os.path.isdir(path) and not os.path.islink(path)):
            return False
        os.remove(path)
    except OSError as exc:
        logger.warning("could not delete %r: %s", name, exc)
        return False
    return True


def media_is_local() -> bool:
    """Whether uploads are kept on this machine's disk (``MEDIA_ROOT``) rather than in an object store."""
    return settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
