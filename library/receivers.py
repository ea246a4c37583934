"""Keep what is derived from the catalogue in step with every save, whatever path made it (the services, the
admin, imports, the demo loader): the subject index that related works read, and their cached lists.

Signals rather than calls in each service, as the search index does (search_index.receivers): the admin saves
books and papers itself.  ``bulk_create`` and queryset ``update`` send none; a bulk load of books rebuilds the
subject index with ``services.subject_index_rebuild``.
"""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from library import related, services
from library.models import Book, Loan, Paper


def _changed(update_fields, *names: str) -> bool:
    return update_fields is None or bool(set(names) & set(update_fields))


def _book_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    if raw:  # loaddata: the fixture's rows as they are
        return
    if _changed(update_fields, "subjects", "year"):
        services.subject_index_sync(book=instance, created=created)
    if not created and _changed(update_fields, "subjects", "clc"):
        transaction.on_commit(partial(related.forget, books=[instance.pk]))


def _paper_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    if raw:
        return
    if _changed(update_fields, "keywords"):
        services.subject_index_sync(paper=instance, created=created)
    if not created and _changed(update_fields, "keywords"):
        transaction.on_commit(partial(related.forget, papers=[instance.pk]))


def _paper_visibility(sender, instance, raw=False, update_fields=None, **kwargs):
    # A paper anonymous readers could see, saved internal: their cached related lists must not name it any more
    # (one query, only for saves of internal papers that existed).
    if raw or instance.pk is None or instance.visibility == Paper.Visibility.PUBLIC:
        return
    if not _changed(update_fields, "visibility"):
        return
    if Paper.objects.filter(pk=instance.pk, visibility=Paper.Visibility.PUBLIC).exists():
        transaction.on_commit(related.forget_public)


def _paper_deleted(sender, instance, **kwargs):
    if instance.visibility == Paper.Visibility.PUBLIC:
        transaction.on_commit(related.forget_public)


def _loan_changed(sender, instance, created=True, raw=False, **kwargs):
    # A loan's later saves (renewal, return) change no reader's set of books; its creation and deletion do.
    if created and not raw:
        transaction.on_commit(partial(related.forget_reader, patron_id=instance.patron_id))


def connect() -> None:
    post_save.connect(_book_saved, sender=Book, dispatch_uid="library.book_saved")
    post_save.connect(_paper_saved, sender=Paper, dispatch_uid="library.paper_saved")
    pre_save.connect(_paper_visibility, sender=Paper, dispatch_uid="library.paper_visibility")
    post_delete.connect(_paper_deleted, sender=Paper, dispatch_uid="library.paper_deleted")
    post_save.connect(_loan_changed, sender=Loan, dispatch_uid="library.loan_saved")
    post_delete.connect(_loan_changed, sender=Loan, dispatch_uid="library.loan_deleted")
