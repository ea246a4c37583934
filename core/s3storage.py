"""Uploaded files in an S3-compatible object store (``MEDIA_S3_BUCKET``): django-storages' S3 storage, with the
store's failures raised as a disk's are.

Imported only when the store is configured (``settings.STORAGES``), so a one-machine installation never loads
boto3.  What this adds to ``storages.backends.s3.S3Storage``:

* **Errors as ``OSError``.**  An unreachable store, refused credentials or a missing bucket raise ``OSError``
  (a missing object ``FileNotFoundError``), as a full or read-only disk does: the API's handler answers 503
  for both (``shuyuan/api.py``) and the callers' ``except FileNotFoundError`` mean the same thing on both
  backends.  Left alone, botocore's exceptions were 500s.
* **Bounded waits.**  Connecting and each read give up after ``MEDIA_S3_TIMEOUT`` seconds, with one retry: a
  store that does not answer must not hold a web worker for boto3's default minutes.
* **Bounded memory.**  A file opened for reading is downloaded into a temporary file that stays in memory up
  to 2 MiB and spills to disk beyond (django-storages keeps it all in memory by default: a 20 MiB paper per
  download).  The download happens at ``open``, so its failure is the open's.
* **Private objects, never overwritten.**  No ACL is sent (the bucket's own policy: private), and a name that
  exists gets another (names are random already: ``papers/<uuid>.pdf``).
"""

from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from storages.backends.s3 import S3Storage

_STORE_ERRORS = (BotoCoreError, ClientError, Boto3Error)


class MediaUnavailable(OSError):
    """The object store did not do what was asked (unreachable, refused, failed)."""


def _status(exc: Exception) -> int | None:
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def _as_os_error(exc: Exception, name: str) -> OSError:
    if _status(exc) == 404:
        return FileNotFoundError(f"no object {name!r} in the media store")
    return MediaUnavailable(f"media store: {exc.__class__.__name__}: {exc}")


class MediaS3Storage(S3Storage):
    def get_default_settings(self):
        defaults = super().get_default_settings()
        timeout = getattr(settings, "MEDIA_S3_TIMEOUT", 10)
        defaults.update(
            default_acl=None,
            file_overwrite=False,
            max_memory_size=2 * 1024 * 1024,
            client_config=Config(connect_timeout=timeout, read_timeout=timeout,
                                 retries={"max_attempts": 2, "mode": "standard"}, signature_version="s3v4"),
        )
        return defaults

    def _open(self, name, mode="rb"):
        try:
            opened = super()._open(name, mode)
            if "r" in mode:
                opened.file  # noqa: B018 - downloads now: a failure is the open's, not a later read's
            return opened
        except _STORE_ERRORS as exc:
            raise _as_os_error(exc, name) from exc

    def _save(self, name, content):
        try:
            return super()._save(name, content)
        except _STORE_ERRORS as exc:
            raise _as_os_error(exc, name) from exc

    def delete(self, name):
        try:
            super().delete(name)
        except _STORE_ERRORS as exc:
            raise _as_os_error(exc, name) from exc

    def exists(self, name):
        try:
            return super().exists(name)
        except _STORE_ERRORS as exc:
            raise _as_os_error(exc, name) from exc

    def size(self, name):
        try:
            return super().size(name)
        except _STORE_ERRORS as exc:
            raise _as_os_error(exc, name) from exc
