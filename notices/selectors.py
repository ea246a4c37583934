"""Reads of a reader's notices (the list of every notice ever recorded for them, how many are unread) and of
their notice preference (which channels deliver each kind)."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet

from notices.channels import channels
from notices.models import (
    DEFAULT_REMINDER,
    KIND_GROUPS,
    Notice,
    NoticeDelivery,
    NoticePreference,
    Reminder,
    chosen_channels,
)


def notice_list(*, patron: AbstractBaseUser, unread: bool | None = None) -> QuerySet[Notice]:
    """A reader's own notices, newest first, with their deliveries (``unread`` narrows to the unread or the
    read ones)."""
    notices = Notice.objects.filter(patron=patron).order_by("-created_at", "-id").prefetch_related(
        Prefetch("deliveries", queryset=NoticeDelivery.objects.order_by("id")))
    if unread is not None:
        notices = notices.filter(read_at__isnull=unread)
    return notices


def unread_count(*, patron: AbstractBaseUser) -> int:
    return Notice.objects.filter(patron=patron, read_at__isnull=True).count()


@dataclass(frozen=True)
class Preferences:
    """A reader's preference as it applies now: the channels of every kind (defaults filled in, channels no
    longer configured left out) and their robot URL."""

    channels: dict[str, list[str]]
    webhook_url: str
    #: When registered events are announced ahead (``notices.models.Reminder``).
    remind_before: str = DEFAULT_REMINDER


def preferences_get(*, user: AbstractBaseUser) -> Preferences:
    preference = NoticePreference.objects.filter(user=user).first()
    return Preferences(channels={kind: chosen_channels(preference, kind) for kind in Notice.Kind.values},
                       webhook_url=preference.webhook_url if preference is not None else "",
                       remind_before=preference.remind_before if preference is not None else DEFAULT_REMINDER)


def preference_options() -> dict:
    """What a reader chooses from: the configured channels, and the kinds in their groups (labels in the
    active language)."""
    return {
        "available": [{"name": name, "label": str(channel.label)} for name, channel in channels().items()],
        "kinds": [{"kind": str(kind), "label": str(kind.label), "group": group, "group_label": str(group_label)}
                  for group, group_label, kinds in KIND_GROUPS for kind in kinds],
        "remind_before_choices": [{"name": str(choice), "label": str(choice.label)} for choice in Reminder],
    }
