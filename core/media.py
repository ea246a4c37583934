"""Opening stored files for download, confined to MEDIA_ROOT."""

import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation


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
