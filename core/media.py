"""Opening and deleting stored files, confined to MEDIA_ROOT."""

import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation

logger = logging.getLogger(__name__)


class OutsideMediaRoot(Exception):
    """The stored name leads outside MEDIA_ROOT (a tampered row, a symlink planted in the folder)."""


def open_media(field_file):
    """Open a FileField's file for reading, refusing anything whose real path — symlinks resolved —
    is not inside MEDIA_ROOT.  Raises FileNotFoundError when it is missing."""
    root = Path(os.path.realpath(settings.MEDIA_ROOT))
    try:
        path = Path(os.path.realpath(field_file.storage.path(field_file.name)))
    except SuspiciousFileOperation:  # Django's own check: "../" in the name
        raise OutsideMediaRoot(field_file.name) from None
    if root not in path.parents:
        raise OutsideMediaRoot(field_file.name)
    return path.open("rb")


def delete_media(storage, name: str, *, folder: str) -> bool:
    """Delete the stored file ``name`` if it lies directly in ``MEDIA_ROOT/<folder>/`` (the folder itself no
    symlink); returns whether a file was removed.  A name that leads anywhere else — ``../``, another folder
    (another kind of file), a folder replaced by a symlink — is refused and logged, never followed: a
    tampered row must not delete what is not its own.  A symlink in the folder is removed as a link (its
    target is untouched).  Errors of the disk are logged, not raised: this runs after a commit, when the
    rows are gone whatever happens to the file."""
    if not name:
        return False
    try:
        path = storage.path(name)
    except NotImplementedError:  # a remote storage: its names cannot leave it
        storage.delete(name)
        return True
    except SuspiciousFileOperation:
        logger.warning("not deleting %r: outside MEDIA_ROOT", name)
        return False
    root = Path(os.path.realpath(settings.MEDIA_ROOT))
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
