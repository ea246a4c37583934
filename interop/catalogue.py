"""What the outside interfaces see of the catalogue, and how a CQL query finds records in it.

The public catalogue is every book and every paper with ``visibility=public``: internal papers are left out
here, in every query and count, whoever asks (SRU and OAI-PMH are the outside interface; a judge's session
changes nothing).  A record is named by a key ``("book", id)`` or ``("paper", id)``.

Searching (docs/api.md, "SRU and OAI-PMH"):

- ``cql.anywhere`` / ``cql.serverChoice`` / a bare term run the site's own search (``search_index``), so they
  find what /api/v1/search finds: ``=``, ``adj`` and ``all`` require every word (the site's search without its
  any-word fallback), ``any`` takes the union of each word's search, ``==`` is read as ``=``.
- ``dc.title``, ``dc.creator``, ``dc.subject`` filter with the ORM, case-insensitively on substrings: ``=`` and
  ``adj`` look for the whole term (spaces normalised), ``all`` for every word, ``any`` for one of them, ``==``
  for the whole field.  Words are separated by spaces (a Chinese phrase is one word unless spaced).
- ``bath.isbn``: ISBN-10 and ISBN-13 (with or without hyphens) are the same book.
- ``dc.date``: the year, with ``= == < > <= >= <>``.

Booleans combine key sets (AND, OR, NOT).  A query that is a single ``cql.anywhere`` clause is paged by the
search engine itself (exact count at any size); inside a boolean each search clause contributes at most
``SRU_MAX_SEARCH_HITS`` records, its best ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from core.jsonlist import ListElementMatches
from interop.cqlquery import Boolean, Clause, Node, SortKey
from library import selectors
from library.models import Book, Paper
from library.validators import normalize_isbn
from search_index import services as search

Key = tuple[str, int]
TYPE_ORDER = {"book": 0, "paper": 1}

#: index name → what it searches; unprefixed names use this server's default context sets.
INDEXES = {
    "cql.anywhere": "anywhere", "cql.serverchoice": "anywhere", "anywhere": "anywhere", "serverchoice": "anywhere",
    "cql.keywords": "anywhere",
    "dc.title": "title", "title": "title",
    "dc.creator": "creator", "creator": "creator", "dc.author": "creator", "author": "creator",
    "dc.subject": "subject", "subject": "subject",
    "bath.isbn": "isbn", "isbn": "isbn", "dc.identifier": "isbn",
    "dc.date": "date", "date": "date",
}
#: The indexes explain lists (set, name, title).
EXPLAINED_INDEXES = [
    ("cql", "anywhere", _("任意字段（与站内检索相同）")),
    ("cql", "serverChoice", _("任意字段（与站内检索相同）")),
    ("dc", "title", _("题名")),
    ("dc", "creator", _("责任者")),
    ("dc", "subject", _("主题词、关键词、中图法分类号")),
    ("bath", "isbn", _("ISBN（10 位与 13 位等同）")),
    ("dc", "date", _("出版年")),
]
TEXT_RELATIONS = {"=", "==", "all", "any", "adj"}
DATE_RELATIONS = {"=", "==", "<", ">", "<=", ">=", "<>"}
SORT_INDEXES = {"dc.title": "title", "title": "title", "dc.date": "date", "date": "date"}


class Diagnostic(Exception):
    """An SRU diagnostic (info:srw/diagnostic/1/<code>) with its details."""

    def __init__(self, code: int, details: str = "", message: str = "") -> None:
        super().__init__(message or details)
        self.code = code
        self.details = details
        self.message = message


def public_books() -> QuerySet[Book]:
    return Book.objects.all()


def public_papers() -> QuerySet[Paper]:
    """Public papers only: what an anonymous reader of the site may see."""
    return selectors.paper_queryset(user=AnonymousUser())


def fetch(keys: Iterable[Key]) -> list[Book | Paper]:
    """The records of ``keys`` in their order (books with contributors and copies, papers with authors);
    a key whose record is gone or not public is skipped."""
    keys = list(keys)
    book_ids = [i for t, i in keys if t == "book"]
    paper_ids = [i for t, i in keys if t == "paper"]
    found: dict[Key, Book | Paper] = {}
    if book_ids:
        found |= {("book", b.pk): b for b in selectors.book_queryset().filter(pk__in=book_ids)}
    if paper_ids:
        found |= {("paper", p.pk): p for p in public_papers().filter(pk__in=paper_ids)}
    return [found[k] for k in keys if k in found]


# --- terms ------------------------------------------------------------------------------------------------


def plain_term(term: str) -> str:
    """The term as text: ``\\`` escapes taken, ``*`` at either end dropped (matching is on substrings, so right
    and left truncation are what it does anyway); ``*`` or ``?`` inside (diagnostic 28) and the anchor ``^``
    (diagnostic 31) are not supported."""
    chars: list[tuple[str, bool]] = []  # (character, is an unescaped mask)
    i = 0
    while i < len(term):
        ch = term[i]
        if ch == "\\" and i + 1 < len(term):
            chars.append((term[i + 1], False))
            i += 2
            continue
        if ch == "^":
            raise Diagnostic(31, term, "anchoring character not supported")
        chars.append((ch, ch in "*?"))
        i += 1
    while chars and chars[0] == ("*", True):
        chars.pop(0)
    while chars and chars[-1] == ("*", True):
        chars.pop()
    if any(mask for _ch, mask in chars):
        raise Diagnostic(28, term, "masking character not supported here")
    return " ".join("".join(ch for ch, _mask in chars).split())


def _words(text: str) -> list[str]:
    return text.split()


# --- clauses ----------------------------------------------------------------------------------------------


def _text_q(fields: list[str], relation: str, text: str, lists: tuple[str, ...] = ()) -> Q:
    """Substring matching on ``fields`` (text columns) and ``lists`` (JSON lists of strings: any element), any
    of them, by the relation's rule."""
    def any_field(value: str, lookup: str = "icontains") -> Q:
        q = Q()
        for f in fields:
            q |= Q(**{f"{f}__{lookup}": value})
        for f in lists:
            q |= Q(ListElementMatches(f, value, exact=lookup == "iexact"))
        return q

    if relation == "==":
        return any_field(text, "iexact")
    if relation in ("=", "adj"):
        return any_field(text)
    words = _words(text)
    combined = Q()
    for word in words:
        combined = (combined & any_field(word)) if relation == "all" else (combined | any_field(word))
    return combined


def _ids(rows: QuerySet) -> set[int]:
    return set(rows.order_by().values_list("pk", flat=True).distinct())


def _subject(relation: str, text: str) -> set[Key]:
    """Books by subject or CLC class, papers by keyword: the same rules as ``dc.title``, a list matching
    when one of its entries does — filtered in the database, not read into Python."""
    books = public_books().filter(_text_q(["clc"], relation, text, lists=("subjects",)))
    papers = public_papers().filter(_text_q([], relation, text, lists=("keywords",)))
    return {("book", pk) for pk in _ids(books)} | {("paper", pk) for pk in _ids(papers)}


def _isbn(relation: str, text: str) -> set[Key]:
    wanted = set()
    for word in _words(text) if relation in ("any", "all") else [text]:
        try:
            wanted.add(normalize_isbn(word))
        except ValidationError:
            continue
    if relation == "all" and len(wanted) > 1:
        return set()  # one book has one ISBN
    return {("book", pk) for pk in _ids(public_books().filter(isbn__in=wanted))} if wanted else set()


def _date(relation: str, text: str) -> set[Key]:
    if not re.fullmatch(r"-?\d{1,4}", text):
        raise Diagnostic(36, text, "a year is four digits")
    year = int(text)
    lookup = {"=": "exact", "==": "exact", "<": "lt", ">": "gt", "<=": "lte", ">=": "gte"}.get(relation)
    q = ~Q(year=year) & Q(year__isnull=False) if relation == "<>" else Q(**{f"year__{lookup}": year})
    return ({("book", pk) for pk in _ids(public_books().filter(q))}
            | {("paper", pk) for pk in _ids(public_papers().filter(q))})


def _anywhere(relation: str, text: str, limit: int) -> list[Key]:
    """The site's search: keys in relevance order (at most ``limit``)."""
    if relation == "any":
        ranked: dict[Key, None] = {}
        for word in dict.fromkeys(_words(text)):
            for key in _anywhere("=", word, limit):
                ranked.setdefault(key)
        return list(ranked)[:limit]
    result = run_search(text, limit=limit, offset=0)
    if not result.matched_all_terms:
        return []
    return [(hit.type, hit.id) for hit in result.items]


def run_search(text: str, *, limit: int, offset: int) -> search.SearchResult:
    try:
        return search.search(text, filters=search.Filters(include_internal=False), limit=limit, offset=offset,
                             highlight=False)
    except search.QueryTooComplex as exc:
        raise Diagnostic(12, text, str(exc)) from None
    except search.QueryError as exc:
        raise Diagnostic(10, text, str(exc)) from None
    except (search.SearchTimeout, search.SearchUnavailable) as exc:
        raise Diagnostic(2, "", str(exc)) from None


def check_clause(clause: Clause) -> tuple[str, str]:
    """(what the index searches, the term as text), or a Diagnostic for an index, relation or term this
    server does not support."""
    what = INDEXES.get(clause.index)
    if what is None:
        prefix = clause.index.split(".", 1)[0] if "." in clause.index else ""
        if prefix and prefix not in ("cql", "dc", "bath", "rec"):
            raise Diagnostic(15, prefix, "unsupported context set")
        raise Diagnostic(16, clause.index, "unsupported index")
    relations = DATE_RELATIONS if what == "date" else TEXT_RELATIONS
    if clause.relation not in relations:
        raise Diagnostic(19, clause.relation, "unsupported relation")
    if clause.modifiers:
        raise Diagnostic(20, clause.modifiers[0], "unsupported relation modifier")
    text = plain_term(clause.term)
    if not text:
        raise Diagnostic(27, clause.term, "empty term")
    return what, text


def query_cost(node: Node) -> int:
    """The searches a query makes: one a clause, one a distinct word of an ``any`` or ``all`` clause."""
    if isinstance(node, Boolean):
        return query_cost(node.left) + query_cost(node.right)
    words = len(set(_words(node.term))) if node.relation in ("any", "all") else 1
    return max(1, words)


def check_cost(node: Node) -> int:
    """The searches the query makes (``query_cost``); diagnostic 38 for more than ``SRU_MAX_QUERY_TERMS``: each
    is a search or a database condition, and 500 words of ``any`` made SQLite refuse the expression (the attack
    of issue 18)."""
    most, cost = settings.SRU_MAX_QUERY_TERMS, query_cost(node)
    if cost > most:
        raise Diagnostic(38, str(most), f"more than {most} clauses and words of any/all")
    return cost


@dataclass
class Found:
    keys: set[Key]
    ranked: list[Key]  # relevance order from the first search clause (may be empty)


def evaluate(node: Node) -> Found:
    if isinstance(node, Boolean):
        if node.operator not in ("and", "or", "not"):
            raise Diagnostic(37, node.operator, "unsupported boolean operator")
        if node.modifiers:
            raise Diagnostic(46, node.modifiers[0], "unsupported boolean modifier")
        left, right = evaluate(node.left), evaluate(node.right)
        keys = {"and": left.keys & right.keys, "or": left.keys | right.keys, "not": left.keys - right.keys}[
            node.operator]
        ranked = left.ranked or (right.ranked if node.operator != "not" else [])
        return Found(keys, ranked)
    what, text = check_clause(node)
    relation = node.relation
    if what == "anywhere":
        ranked = _anywhere(relation, text, settings.SRU_MAX_SEARCH_HITS)
        return Found(set(ranked), ranked)
    if what == "title":
        keys = ({("book", pk) for pk in _ids(public_books().filter(_text_q(["title", "subtitle"], relation, text)))}
                | {("paper", pk) for pk in _ids(public_papers().filter(_text_q(["title"], relation, text)))})
    elif what == "creator":
        keys = ({("book", pk) for pk in _ids(public_books().filter(_text_q(["contributors__name"], relation, text)))}
                | {("paper", pk) for pk in _ids(public_papers().filter(_text_q(["paper_authors__name"], relation, text)))})
    elif what == "subject":
        keys = _subject(relation, text)
    elif what == "isbn":
        keys = _isbn(relation, text)
    else:
        keys = _date(relation, text)
    return Found(keys, [])


def order(found: Found, sort: list[SortKey]) -> list[Key]:
    """The found keys in result order: by ``sort`` when given (title or year), else the search's relevance
    ranking first, then books before papers, each by id."""
    if sort:
        for key in sort:
            if key.index not in SORT_INDEXES:
                raise Diagnostic(16, key.index, "unsupported sort index")
        facts: dict[Key, tuple[str, int | None]] = {}
        book_ids = [i for t, i in found.keys if t == "book"]
        paper_ids = [i for t, i in found.keys if t == "paper"]
        for pk, title, year in public_books().filter(pk__in=book_ids).values_list("pk", "title", "year"):
            facts[("book", pk)] = (title, year)
        for pk, title, year in public_papers().filter(pk__in=paper_ids).values_list("pk", "title", "year"):
            facts[("paper", pk)] = (title, year)
        keys = sorted((k for k in found.keys if k in facts), key=lambda k: (TYPE_ORDER[k[0]], k[1]))
        # Stable sorts from the last key to the first; a missing year sorts last either way.
        for key in reversed(sort):
            if SORT_INDEXES[key.index] == "title":
                keys.sort(key=lambda k: facts[k][0].casefold(), reverse=not key.ascending)
            else:
                present = [k for k in keys if facts[k][1] is not None]
                missing = [k for k in keys if facts[k][1] is None]
                present.sort(key=lambda k: facts[k][1], reverse=not key.ascending)
                keys = present + missing
        return keys
    rank = {k: i for i, k in enumerate(found.ranked)}
    return sorted(found.keys, key=lambda k: (rank.get(k, len(rank)), TYPE_ORDER[k[0]], k[1]))
