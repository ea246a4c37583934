"""Bump the feed version after any change a calendar feed shows, and have the changed events' feed
entries serialised again by a job; remove a deleted material's file once its deletion commits.

The bump comes after the commit, as one UPDATE of one row: feeds read the version first, so a reader
either sees the old version (and its cached body) or the new one; never a new version with old data.
A registration is shown only in its reader's personal feed, so it bumps that reader's version
(``PersonalFeedState``), not the one every feed is cached under.
Serialising entries is a job (``events.tasks.warm_feeds``, one queued job for many changes), so the
request that changed an event only writes rows; a feed asked for before the job ran serialises the
few stale entries itself.
"""

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from core.media import delete_media
from events import listing
from events.models import Attachment, Event, FeedState, Override, PersonalFeedState, Registration, Speaker, Venue
from events.tasks import WARM_FEEDS_KEY, warm_feeds
from jobs.services import job_enqueue
from library.models import Book, Hold, Loan, Paper
from library.signals import circulation_changed


def bump_feeds() -> None:
    now = timezone.now()
    updated = FeedState.objects.filter(pk=1).update(version=F("version") + 1, changed_at=Greatest(F("changed_at"), now))
    if not updated:
        FeedState.objects.get_or_create(pk=1, defaults={"version": 1, "changed_at": now})


def _changed(**kwargs) -> None:
    transaction.on_commit(bump_feeds)


def bump_personal_feeds(user_ids) -> None:
    now = timezone.now()
    PersonalFeedState.objects.bulk_create([PersonalFeedState(user_id=pk, changed_at=now) for pk in user_ids],
                                          ignore_conflicts=True)
    PersonalFeedState.objects.filter(user_id__in=user_ids).update(version=F("version") + 1,
                                                                   changed_at=Greatest(F("changed_at"), now))


def _registration_changed(sender, instance, **kwargs) -> None:
    """A registration made, cancelled, promoted (``events.services._promote`` saves it) or deleted: only its
    reader's feed shows it (public feeds show no registrations, and nobody else's feed shows this one)."""
    user_id = instance.user_id
    transaction.on_commit(lambda: bump_personal_feeds([user_id]))


def _reading_list_title_changed(sender, instance, **kwargs) -> None:
    """A book or paper on reading lists was edited: those events' feed entries are stale."""
    related = {"books": instance} if sender is Book else {"papers": instance}
    ids = list(Event.objects.filter(**related).values_list("pk", flat=True))
    if ids:
        Event.objects.filter(pk__in=ids).update(updated_at=timezone.now(), revision=F("revision") + 1)
        _refresh_after_commit(ids)


def _refresh_after_commit(event_ids) -> None:
    # In the change's transaction: the job exists exactly when the change does.  The job rebuilds every
    # stale entry, so the ids need not travel with it.
    if event_ids:
        job_enqueue(warm_feeds, key=WARM_FEEDS_KEY)


def _event_saved(sender, instance, **kwargs) -> None:
    event_id = instance.pk if sender is Event else instance.event_id
    _refresh_after_commit([event_id])


def _schedule_touched(sender, instance, **kwargs) -> None:
    """An event or one of its exceptions was saved or deleted: its stored occurrences are not current
    until whoever changed it writes them again (the services and the admin do, in the same transaction;
    otherwise the hourly job)."""
    listing.invalidate(instance.pk if sender is Event else instance.event_id)


def _event_relation_changed(sender, instance, action, **kwargs) -> None:
    if action.startswith("post_") and isinstance(instance, Event):
        _refresh_after_commit([instance.pk])


def _attachment_deleted(sender, instance, **kwargs) -> None:
    """A material's row is gone — deleted on its own (API, admin inline) or with its event (API, admin,
    a cascade): its file leaves the disk once that commits, and stays if the deletion rolls back.  Hooked
    to the row, not to each view, so no way of deleting can strand files (finding F12)."""
    name, storage = instance.file.name, instance.file.storage
    if name:
        transaction.on_commit(lambda: _remove_material_file(storage, name), robust=True)


def _remove_material_file(storage, name: str) -> None:
    if Attachment.objects.filter(file=name).exists():
        return  # another row still refers to this file
    delete_media(storage, name, folder="events")


def connect() -> None:
    post_delete.connect(_attachment_deleted, sender=Attachment, dispatch_uid="events.attachment.file")
    post_save.connect(_schedule_touched, sender=Event, dispatch_uid="events.listing.event")
    for signal in (post_save, post_delete):
        signal.connect(_schedule_touched, sender=Override, dispatch_uid=f"events.listing.override.{signal is post_save}")
    # Serialise an event's feed entry when it changes, not when a calendar app asks.
    for model in (Event, Override, Speaker):
        post_save.connect(_event_saved, sender=model, dispatch_uid=f"events.fragment.{model.__name__}")
    for through in (Event.books.through, Event.papers.through):
        m2m_changed.connect(_event_relation_changed, sender=through, dispatch_uid=f"events.fragment.{through.__name__}")
    for model in (Book, Paper):
        post_save.connect(_reading_list_title_changed, sender=model, dispatch_uid=f"events.readinglist.{model.__name__}")
    for model in (Event, Override, Speaker, Attachment, Venue, Loan, Hold, Book, Paper):
        post_save.connect(_changed, sender=model, dispatch_uid=f"events.feeds.save.{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"events.feeds.delete.{model.__name__}")
    post_save.connect(_registration_changed, sender=Registration, dispatch_uid="events.feeds.save.Registration")
    post_delete.connect(_registration_changed, sender=Registration, dispatch_uid="events.feeds.delete.Registration")
    circulation_changed.connect(_changed, dispatch_uid="events.feeds.circulation")
    for through in (Event.books.through, Event.papers.through, Event.organizers.through):
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"events.feeds.m2m.{through.__name__}")
