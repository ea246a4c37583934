"""Queue index updates for every saved or deleted catalog row, in the writing transaction; have this process
read the law-name dictionary again after a ``LawName`` changed.

Signals rather than calls in each library service, so that every path — the
API, the admin, imports, the demo loader — reaches the index, and library never
imports search_index.  Circulation writes with conditional ``UPDATE``s, which
send no model signals, and says so with ``library.signals.circulation_changed``.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from library.models import Book, Contributor, Copy, Hold, Loan, Paper, PaperAuthor
from library.signals import circulation_changed
from search_index import laws
from search_index.indexer import enqueue
from search_index.models import LawName


def _book(sender, instance, **kwargs):
    enqueue("book", instance.pk)


def _book_child(sender, instance, **kwargs):
    enqueue("book", instance.book_id)


def _paper(sender, instance, **kwargs):
    enqueue("paper", instance.pk)


def _paper_child(sender, instance, **kwargs):
    enqueue("paper", instance.paper_id)


def _circulation(sender, book_id, **kwargs):
    enqueue("book", book_id)


def _law_name(sender, instance, **kwargs):
    # At once, so this connection's next search reads the edit, and again on commit: another thread of the
    # process may have checked the version in between and seen the table as it was before the commit.
    laws.expire()
    transaction.on_commit(laws.expire)


def connect() -> None:
    circulation_changed.connect(_circulation, dispatch_uid="search_index.circulation")
    for signal in (post_save, post_delete):
        signal.connect(_book, sender=Book, dispatch_uid=f"search_index.book.{signal}")
        signal.connect(_book_child, sender=Copy, dispatch_uid=f"search_index.copy.{signal}")
        signal.connect(_book_child, sender=Contributor, dispatch_uid=f"search_index.contributor.{signal}")
        # Availability, the earliest due date and the queue length are in the index.
        signal.connect(_book_child, sender=Loan, dispatch_uid=f"search_index.loan.{signal}")
        signal.connect(_book_child, sender=Hold, dispatch_uid=f"search_index.hold.{signal}")
        signal.connect(_paper, sender=Paper, dispatch_uid=f"search_index.paper.{signal}")
        signal.connect(_paper_child, sender=PaperAuthor, dispatch_uid=f"search_index.paperauthor.{signal}")
        # The law-name dictionary of this process (laws.current) is read again on its next search.
        signal.connect(_law_name, sender=LawName, dispatch_uid=f"search_index.lawname.{signal}")
