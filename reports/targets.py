"""The pages a report's titles and sessions link to: a book's title to its catalogue page, a paper's to its page, a
session to its event's page (``Table.targets``) — each only when the viewer may see it, asked of the same rules the
pages themselves apply (``library.selectors.paper_visible_q``, ``events.selectors.event_queryset``), so a report
never links to, or confirms, a record its reader may not open.  One query per kind of record per page.

Nothing here names a reader: the leadership's tables hold titles and counts, and a title's page is the catalogue's.
"""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse

from reports.base import Table

#: The page of each kind of record.
URL_NAMES = {"book": "book-detail", "paper": "paper-detail", "event": "event-detail"}


def visible(user: AbstractBaseUser | AnonymousUser, kind: str, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` (of ``kind``) that ``user`` may open."""
    ids = set(ids)
    if not ids:
        return set()
    if kind == "book":
        from library.models import Book

        rows = Book.objects.filter(pk__in=ids)
    elif kind == "paper":
        from library.models import Paper
        from library.selectors import paper_visible_q

        rows = Paper.objects.filter(paper_visible_q(user), pk__in=ids)
    elif kind == "event":
        from events.selectors import event_queryset

        rows = event_queryset(viewer=user).prefetch_related(None).filter(pk__in=ids)
    else:
        raise ValueError(kind)
    return set(rows.values_list("pk", flat=True))


def hrefs_for(user: AbstractBaseUser | AnonymousUser, tables: list[Table]) -> list[list[dict[str, str]]]:
    """Per table, per row: column key → the URL of the page the cell names (only pages ``user`` may open)."""
    wanted: dict[str, set[int]] = {}
    for table in tables:
        for row in table.targets:
            for kind, pk in row.values():
                wanted.setdefault(kind, set()).add(pk)
    allowed = {kind: visible(user, kind, ids) for kind, ids in wanted.items()}
    return [[{key: reverse(URL_NAMES[kind], args=[pk]) for key, (kind, pk) in row.items() if pk in allowed[kind]}
             for row in table.targets] for table in tables]
