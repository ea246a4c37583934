"""Reads of a reader's notices: the list of every notice ever recorded for them, and how many are unread."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from notices.models import Notice


def notice_list(*, patron: AbstractBaseUser, unread: bool | None = None) -> QuerySet[Notice]:
    """A reader's own notices, newest first (``unread`` narrows to the unread or the read ones)."""
    notices = Notice.objects.filter(patron=patron).order_by("-created_at", "-id")
    if unread is not None:
        notices = notices.filter(read_at__isnull=unread)
    return notices


def unread_count(*, patron: AbstractBaseUser) -> int:
    return Notice.objects.filter(patron=patron, read_at__isnull=True).count()
