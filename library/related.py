"""Reads for the related works of a book or paper page (and ``GET /books/{id}/related``,
``/papers/{id}/related``), and for browsing the catalogue by class (``clc_tree``).

Related works, each list at most ``RELATED_LIMIT`` long:

* **same subjects** — books whose subjects, and papers whose keywords, share a subject or keyword with this
  work (the most shared first), counted in the database over the subject index (``BookSubject``,
  ``PaperKeyword``: one row per record and term, kept in step by library.receivers);
* **same class** — books of the same CLC class, the deepest shared class first (D923.2, then D923, D92, D9;
  never the main class alone: all of D is politics and law);
* **borrowed together** — books that at least ``settings.RELATED_MIN_READERS`` distinct readers borrowed as
  well as this one, the most readers first.  Only books and their order come out: never a reader, never a
  count, so nobody learns who borrowed what (a pair borrowed by fewer readers than that is not shown at all).

A book is listed once, in the first section it belongs to (same subjects, then same class, then borrowed
together); each later section leaves out the books already listed before it is cut to its length.

The work is bounded per page: at most ``RELATED_TERMS`` subjects are compared, at most one query per class
level, and the co-borrowing counts read the loans of the ``RELATED_READERS`` readers who borrowed this book
most recently.

The lists are cached per work and viewer scope for ``RELATED_CACHE_SECONDS``, under the work's own version
token (:func:`forget` deletes it, so the next read starts a fresh entry on every process):

* a loan made (or deleted) forgets every book its reader ever borrowed, this one included: the only books
  whose "borrowed together" list it can change (a new reader of this book, or a reader of it borrowing
  another);
* a save of the work itself forgets it (its subjects, its class);
* a paper made internal or deleted forgets every anonymous reader's lists at once (:func:`forget_public`):
  visibility is not a freshness to wait for;
* any other change elsewhere that enters this work's lists (another book given this subject or class, a title
  edited) shows when the entry expires: lists of similar works, not a fact a reader waits for.
"""

import uuid
from collections.abc import Iterable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import Count, Max
from django.urls import reverse
from django.utils.translation import gettext

from library.classification import MAIN_CLASSES, class_name, class_names, class_path, class_prefixes
from library.models import Book, BookSubject, Contributor, Loan, Paper, PaperAuthor, subject_key
from library.selectors import paper_visible_q

#: Works in each list.
RELATED_LIMIT = 6
#: Subjects (or keywords) of this work compared with the others'.
RELATED_TERMS = 8
#: Readers of this book whose loans are read to find the books borrowed together.
RELATED_READERS = 200
#: Bump when the cached shape changes (3: each book in one section only; 4: first author and edition).
CACHE_VERSION = 4


def _terms(values) -> list[str]:
    """The first ``RELATED_TERMS`` distinct non-empty strings of a subject or keyword list."""
    if not isinstance(values, list):
        return []
    return list(dict.fromkeys(v.strip() for v in values if isinstance(v, str) and v.strip()))[:RELATED_TERMS]


def _book_item(row: dict, **extra) -> dict:
    return {"type": "book", "id": row["id"], "title": row["title"], "year": row["year"], "clc": row["clc"],
            "edition": row.get("edition", ""), "url": reverse("book-detail", args=[row["id"]]), **extra}


def _paper_item(row: dict, **extra) -> dict:
    return {"type": "paper", "id": row["id"], "title": row["title"], "year": row["year"], "clc": "",
            "url": reverse("paper-detail", args=[row["id"]]), **extra}


def _by_subjects(terms: list[str], *, user, exclude_book: int | None = None,
                 exclude_paper: int | None = None) -> list[dict]:
    """Books sharing a subject and papers sharing a keyword with ``terms``, the most shared first (books before
    papers at equal counts), each with the ``shared`` terms.  Three queries (two when no book shares one)."""
    if not terms:
        return []
    keys = [subject_key(term) for term in terms]
    # One row per record and term: the rows of a record are the terms it shares.  The books are ranked from the
    # index's own columns (term, book, year), then the six are read.
    top = list(BookSubject.objects.filter(term__in=keys).exclude(book_id=exclude_book).values("book_id", "year")
               .annotate(shared=Count("*")).order_by("-shared", "-year", "book_id")[:RELATED_LIMIT])
    found = Book.objects.only("id", "title", "year", "clc", "edition", "subjects").in_bulk(
        [row["book_id"] for row in top])
    books = [{"id": book.pk, "title": book.title, "year": book.year, "clc": book.clc, "edition": book.edition,
              "subjects": book.subjects, "shared": row["shared"]} for row in top if (book := found.get(row["book_id"])) is not None]
    papers = (Paper.objects.filter(paper_visible_q(user)).exclude(pk=exclude_paper)
              .filter(keyword_terms__term__in=keys).values("id", "title", "year", "keywords")
              .annotate(shared=Count("keyword_terms")).order_by("-shared", "-year", "id")[:RELATED_LIMIT])
    wanted = set(terms)
    items = [(row["shared"], 0, _book_item(row, shared=[s for s in _terms(row["subjects"]) if s in wanted]))
             for row in books]
    items += [(row["shared"], 1, _paper_item(row, shared=[s for s in _terms(row["keywords"]) if s in wanted]))
              for row in papers]
    items.sort(key=lambda item: (-item[0], item[1]))
    return [item for _shared, _kind, item in items[:RELATED_LIMIT]]


def _by_class(book: Book, *, shown: Iterable[int] = ()) -> list[dict]:
    """Books of the same class, the deepest shared class first: one query per class level below the main class,
    each asking only for the books still wanted; books in ``shown`` (listed in an earlier section) left out."""
    found: list[dict] = []
    seen = {book.pk, *shown}
    for prefix in class_prefixes(book.clc)[:-1]:  # never the main class alone
        rows = (Book.objects.filter(clc__startswith=prefix).exclude(pk__in=seen).order_by("clc", "id")
                .values("id", "title", "year", "clc", "edition")[:RELATED_LIMIT - len(found)])
        for row in rows:
            seen.add(row["id"])
            found.append(_book_item(row, shared=[prefix], class_name=class_name(prefix)))
        if len(found) >= RELATED_LIMIT:
            break
    return found


def _borrowed_together(book: Book, *, shown: Iterable[int] = ()) -> list[dict]:
    """Books that at least ``RELATED_MIN_READERS`` distinct readers borrowed besides this one, the most readers
    first; read from the loans of this book's ``RELATED_READERS`` most recent readers; books in ``shown`` (listed
    in an earlier section) left out before the list is cut, so the next ones that pass the minimum take their
    places.  Two queries."""
    readers = (Loan.objects.filter(book=book).values("patron").annotate(last=Max("borrowed_at"))
               .order_by("-last", "patron").values("patron")[:RELATED_READERS])
    ids = list(Loan.objects.filter(patron__in=readers).exclude(book=book).exclude(book__in=list(shown)).values("book")
               .annotate(readers=Count("patron", distinct=True)).filter(readers__gte=settings.RELATED_MIN_READERS)
               .order_by("-readers", "book").values_list("book", flat=True)[:RELATED_LIMIT])
    rows = {row["id"]: row for row in Book.objects.filter(pk__in=ids).values("id", "title", "year", "clc", "edition")}
    return [_book_item(rows[pk]) for pk in ids if pk in rows]


def first_names(rows) -> dict[int, str]:
    """``(record id, name)`` pairs in the records' order of names → the first name of each record, "王利明 等" when
    it has more."""
    names: dict[int, list[str]] = {}
    for pk, name in rows:
        names.setdefault(pk, []).append(name)
    return {pk: found[0] if len(found) == 1 else gettext("%(name)s 等") % {"name": found[0]}
            for pk, found in names.items()}


def book_first_authors(book_ids: Iterable[int]) -> dict[int, str]:
    """The first contributor of each book ("张文显 等" when there are more): one query."""
    return first_names(Contributor.objects.filter(book_id__in=list(book_ids)).order_by("book_id", "position", "pk")
                       .values_list("book_id", "name"))


def _with_authors(lists: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Each work with its first author (``author``) and a book with its edition (``edition``), so that two works
    of one title (物权法 of 2021 and of 2020, by different authors) are told apart, as the rankings name them
    (walk 20); the edition was read with the book.  One query per kind of work listed (books, papers)."""
    items = [item for found in lists.values() for item in found]
    books = {item["id"] for item in items if item["type"] == "book"}
    papers = {item["id"] for item in items if item["type"] == "paper"}
    authors = {"book": book_first_authors(books) if books else {},
               "paper": first_names(PaperAuthor.objects.filter(paper_id__in=papers).order_by("paper_id", "position")
                                    .values_list("paper_id", "name")) if papers else {}}
    for item in items:
        item["author"] = authors[item["type"]].get(item["id"], "")
        item.setdefault("edition", "")
    return lists


def _scope(user: AbstractBaseUser | AnonymousUser) -> str:
    """Which papers the viewer may see (selectors.paper_visible_q): part of every cache key."""
    return "all" if user.is_authenticated else "public"


def _version_key(kind: str, pk: int) -> str:
    return f"related:{CACHE_VERSION}:version:{kind}:{pk}"


#: The token of every anonymous reader's lists at once: :func:`forget_public` deletes it when a paper leaves their
#: view (made internal, deleted), so no list names it to them after the change commits.
_PUBLIC_KEY = f"related:{CACHE_VERSION}:version:public"


def _token(key: str, found: dict) -> str:
    """The token under ``key`` (read in ``found``), or a new one stored there."""
    token = found.get(key)
    if token is None:
        token = uuid.uuid4().hex
        if not cache.add(key, token, settings.RELATED_CACHE_SECONDS):
            token = cache.get(key) or token
    return token


def _cached(kind: str, pk: int, scope: str, compute) -> dict[str, list[dict]]:
    """The cached lists of a work for a scope, computed when missing or older than the work's version token (and,
    for anonymous readers, the token of what they may see).

    The tokens are read before computing, and :func:`forget` (:func:`forget_public`) deletes them after the change
    committed: an entry computed from data read before the change is stored under the old token, which no later
    read asks for.  One cache read when cached."""
    version_key = _version_key(kind, pk)
    key = f"related:{CACHE_VERSION}:{kind}:{pk}:{scope}"
    keys = [version_key, key] + ([_PUBLIC_KEY] if scope == "public" else [])
    found = cache.get_many(keys)
    tokens = tuple(found.get(k) for k in keys if k != key)
    entry = found.get(key)
    if None not in tokens and entry is not None and entry[0] == tokens:
        return entry[1]
    tokens = tuple(_token(k, found) for k in keys if k != key)
    related = compute()
    cache.set(key, (tokens, related), settings.RELATED_CACHE_SECONDS)
    return related


def forget(*, books: Iterable[int] = (), papers: Iterable[int] = ()) -> None:
    """Start fresh cached lists for these books and papers on every process (call after the change committed)."""
    keys = [_version_key("book", pk) for pk in books] + [_version_key("paper", pk) for pk in papers]
    if keys:
        cache.delete_many(keys)


def forget_public() -> None:
    """Start fresh lists for every anonymous reader (after a paper they could see was made internal or deleted
    committed): a paper's visibility is not a freshness to wait RELATED_CACHE_SECONDS for."""
    cache.delete(_PUBLIC_KEY)


def forget_reader(*, patron_id: int) -> None:
    """After a loan of this reader was made or deleted: forget every book the reader ever borrowed (one
    index-only query over ``loan_patron_book``), the only books whose "borrowed together" list it can change."""
    forget(books=Loan.objects.filter(patron_id=patron_id).values_list("book_id", flat=True).distinct())


def book_related(*, book: Book, user: AbstractBaseUser | AnonymousUser) -> dict[str, list[dict]]:
    """``{"subjects": [...], "same_class": [...], "borrowed": [...]}``: see the module's docstring.  Each book is
    listed once, in the first of these sections it belongs to (a book of the same subjects and class is not
    repeated under 同类图书 or 借过本书的读者也借过); a later section is filled from its own candidates after them.
    No query when cached, at most nine when not."""

    def compute() -> dict[str, list[dict]]:
        subjects = _by_subjects(_terms(book.subjects), user=user, exclude_book=book.pk)
        shown = {item["id"] for item in subjects if item["type"] == "book"}
        same_class = _by_class(book, shown=shown)
        shown.update(item["id"] for item in same_class)
        return _with_authors({"subjects": subjects, "same_class": same_class,
                              "borrowed": _borrowed_together(book, shown=shown)})

    return _cached("book", book.pk, _scope(user), compute)


def paper_related(*, paper: Paper, user: AbstractBaseUser | AnonymousUser) -> dict[str, list[dict]]:
    """``{"subjects": [...], "same_class": [], "borrowed": []}``: books and papers sharing a keyword with the paper
    (papers have no class and are not lent).  Three queries when not cached."""
    return _cached("paper", paper.pk, _scope(user), lambda: _with_authors({
        "subjects": _by_subjects(_terms(paper.keywords), user=user, exclude_paper=paper.pk),
        "same_class": [], "borrowed": []}))


# --- browsing by class ------------------------------------------------------------------------------------


def clc_counts() -> tuple[dict[str, int], dict[str, set[str]], int]:
    """(books under each class, subclasses included; each class's subclasses present in the catalogue; books
    without a class) from one grouped query over the books' class numbers."""
    counts: dict[str, int] = {}
    children: dict[str, set[str]] = {}
    unclassified = 0
    for clc, n in Book.objects.values_list("clc").annotate(n=Count("id")).order_by().values_list("clc", "n"):
        path = class_path(clc)
        if not path:
            unclassified += n
            continue
        for parent, code in zip([None, *path], path, strict=False):
            counts[code] = counts.get(code, 0) + n
            if parent is not None:
                children.setdefault(parent, set()).add(code)
    return counts, children, unclassified


def clc_tree(*, root: str | None = None, depth: int = 2) -> dict | None:
    """The class tree with book counts (subclasses included) for the browse page and ``GET /clc-tree``:
    ``{"root", "path", "classes", "unclassified"}``.

    Without ``root``: ``classes`` are the 22 main classes (all of them, 0 where the catalogue has none); with
    ``root`` (a class number; its main number counts: D923.2-44 is D923.2), that one class, and ``path`` the
    classes above it.  ``depth`` levels are shown,
    the top one included, each node with the subclasses present in the catalogue; a node at the last level has
    no ``children`` and ``more`` true when it has subclasses.  None for a root neither in the catalogue nor
    named by the classification's data.  One query."""
    counts, children, unclassified = clc_counts()

    def node(code: str, levels: int) -> dict:
        below = sorted(children.get(code, ()))
        return {"code": code, "name": class_name(code), "count": counts.get(code, 0),
                "search_url": reverse("search") + "?" + urlencode({"clc": code}),
                "children": [node(child, levels - 1) for child in below] if levels > 0 else [],
                "more": bool(below) and levels <= 0}

    if root:
        path = class_path(root)
        if not path:
            return None
        code = path[-1]
        if code not in counts and code not in class_names():
            return None
        top = [code]
    else:
        path, code = [], None
        top = list(MAIN_CLASSES) + sorted(c for c in counts if len(class_path(c)) == 1 and c not in MAIN_CLASSES)
    return {"root": code, "path": [{"code": c, "name": class_name(c), "count": counts.get(c, 0)} for c in path[:-1]],
            "classes": [node(c, depth - 1) for c in top], "unclassified": unclassified}
