"""System checks for configuration that would otherwise fail at request time."""

from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register

from core.net import parse_endpoint


@register()
def check_secret_key(app_configs, **kwargs):
    if getattr(settings, "SECRET_KEY_MISSING", False):
        return [
            Error(
                "SECRET_KEY is not set and DEBUG is off.",
                hint="Set the SECRET_KEY environment variable to a long random string "
                "(python -c 'import secrets; print(secrets.token_urlsafe(50))').",
                id="shuyuan.E001",
            )
        ]
    if not settings.DEBUG and settings.SECRET_KEY.startswith("django-insecure-"):
        return [Error("SECRET_KEY is the development default while DEBUG is off.", id="shuyuan.E002")]
    return []


@register()
def check_site_url(app_configs, **kwargs):
    parts = urlsplit(settings.SITE_URL)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [
            Error(
                f"SITE_URL must be an absolute http(s) URL, not {settings.SITE_URL!r}.",
                hint="For example SITE_URL=https://library.court.example",
                id="shuyuan.E003",
            )
        ]
    if not settings.DEBUG and parts.scheme != "https":
        return [Warning("SITE_URL is not https while DEBUG is off.", id="shuyuan.W001")]
    return []


@register()
def check_allowed_hosts(app_configs, **kwargs):
    if not settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [
            Error(
                "ALLOWED_HOSTS is empty and DEBUG is off: every request would be refused.",
                hint="Set ALLOWED_HOSTS to a comma-separated list of host names.",
                id="shuyuan.E004",
            )
        ]
    return []


@register()
def check_data_dirs(app_configs, **kwargs):
    from core.media import media_is_local

    errors = []
    # Uploads in an object store (MEDIA_S3_BUCKET) need no MEDIA_ROOT.
    for name in ("MEDIA_ROOT", "SEARCH_INDEX_DIR", "CACHE_DIR") if media_is_local() else ("SEARCH_INDEX_DIR", "CACHE_DIR"):
        path = Path(getattr(settings, name))
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if existing.exists() and not existing.is_dir():
            errors.append(Error(f"{name} ({path}) is not a directory.", id="shuyuan.E005"))
        elif not _writable(existing):
            errors.append(Error(f"{name} ({path}) cannot be created or written.", id="shuyuan.E006"))
    return errors


def _writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK | os.X_OK)


@register()
def check_sru_internal_hosts(app_configs, **kwargs):
    errors = []
    for entry in settings.SRU_INTERNAL_HOSTS:
        try:
            parse_endpoint(entry)
        except ValueError:
            errors.append(Error(
                f"SRU_INTERNAL_HOSTS entry {entry!r} is not host:port.",
                hint="For example SRU_INTERNAL_HOSTS=opac.court.internal:8080,10.1.2.3:80 (the port is required).",
                id="shuyuan.E007",
            ))
    return errors
