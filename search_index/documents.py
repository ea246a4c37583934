"""Turning catalog records into index documents.  Reads only; no whoosh here."""

from collections.abc import Iterable, Iterator

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, TextField, Value
from django.db.models.functions import Cast, Coalesce, Length

from library.callnumbers import call_number_sort_key
from library.models import Book, Contributor, Copy, Hold, Loan, Paper, PaperAuthor, copy_counts
from search_index.models import IndexChange

# The CLC facet groups by class to the second digit (D92 民法…, D91, D90):
# in a law library nearly every record is D9, so the main class alone says nothing.
CLC_FACET_LENGTH = 3


def books_queryset() -> QuerySet[Book]:
    return Book.objects.prefetch_related(
        Prefetch("contributors", queryset=Contributor.objects.order_by("position")),
        Prefetch("copies", queryset=Copy.objects.only("id", "book_id", "status")),
        Prefetch("loans", queryset=Loan.objects.filter(status=Loan.Status.ACTIVE).only("id", "book_id", "due_date"),
                 to_attr="active_loans"),
        Prefetch("holds", queryset=Hold.objects.filter(status=Hold.Status.WAITING).only("id", "book_id"),
                 to_attr="waiting_holds"),
    ).order_by("id")


def papers_queryset() -> QuerySet[Paper]:
    return Paper.objects.prefetch_related(
        Prefetch("paper_authors", queryset=PaperAuthor.objects.order_by("position"))
    ).order_by("id")


def clc_facet(clc: str) -> str:
    return clc[:CLC_FACET_LENGTH] if clc else ""


def book_document(book: Book) -> dict:
    contributors = list(book.contributors.all())
    authors = [c.name for c in contributors]
    statuses = [c.status for c in book.copies.all()]
    available, total = copy_counts(statuses)
    dues = [loan.due_date for loan in book.active_loans]
    return {
        "key": f"book:{book.pk}",
        "type": "book",
        "pk": book.pk,
        # The romanised forms (880 records) and the parallel titles too: a reader may search by either script.
        "title": " ".join(filter(None, [book.title, book.subtitle, book.title_romanized, book.subtitle_romanized,
                                        *(book.other_titles or [])])),
        "title_display": book.title,
        "people": " ".join(filter(None, [*authors, *(c.name_romanized for c in contributors)])),
        "authors": "\x1f".join(authors),
        # Each name and romanised name on its own, for the romanised-name keys (indexer._index_fields).
        "names": "\x1f".join(filter(None, [*authors, *(c.name_romanized for c in contributors)])),
        "subjects": " ".join(book.subjects or []),
        "summary": " ".join(filter(None, [book.summary, book.responsibility, book.publisher, book.publisher_romanized])),
        "text": "",
        "isbn": book.isbn or "",
        "clc": book.clc or "",
        "clc_facet": clc_facet(book.clc),
        "call_number": book.call_number or "",
        "call_number_sort": call_number_sort_key(book.call_number),
        "year": book.year or 0,
        "year_facet": str(book.year) if book.year else "",
        "language": book.language or "",
        "visibility": "public",
        "available": available,
        "available_flag": "yes" if available else "no",
        "total": total,
        "earliest_due": min(dues).isoformat() if dues else "",
        "holds": len(book.waiting_holds),
    }


def paper_document(paper: Paper) -> dict:
    authors = [a.name for a in paper.paper_authors.all()]
    return {
        "key": f"paper:{paper.pk}",
        "type": "paper",
        "pk": paper.pk,
        "title": paper.title,
        "title_display": paper.title,
        "people": " ".join(authors),
        "authors": "\x1f".join(authors),
        "names": "\x1f".join(authors),
        "subjects": " ".join([*(paper.keywords or []), paper.awards, paper.venue]),
        "summary": paper.abstract,
        "text": paper.full_text,
        "isbn": "",
        "clc": "",
        "clc_facet": "",
        "call_number": "",
        "call_number_sort": "",
        "year": paper.year or 0,
        "year_facet": str(paper.year) if paper.year else "",
        "language": "zh",
        "visibility": paper.visibility,
        "available": 0,
        # A paper has no copies: it belongs to neither value of the availability facet (it was counted under
        # "lent / no copies").  Indexes built before keep "no" for a paper until it or the index is rebuilt.
        "available_flag": "",
        "total": 0,
        "earliest_due": "",
        "holds": 0,
    }


def documents_for(kind: str, ids: Iterable[int]) -> dict[int, dict]:
    """The current documents of the given records, by id; ids missing from the result were deleted."""
    ids = list(ids)
    if kind == "book":
        return {b.pk: book_document(b) for b in books_queryset().filter(pk__in=ids)}
    return {p.pk: paper_document(p) for p in papers_queryset().filter(pk__in=ids)}


#: What indexing a character of a field costs, relative to the full text's: title, people, subjects and summary
#: go into the weighted body and, most of them, the bigram and pinyin fields too, and text nobody wrote as
#: prose (random characters, a list of 50 long keywords) makes a new term of nearly every token.  Measured
#: with random Chinese characters (the attacker's text): 48 thousand characters a second in those fields,
#: 324 thousand in the full text (docs/performance.md, "Index upkeep under a flood").
SHORT_FIELD_WEIGHT = 7


def index_costs(kind: str, ids: Iterable[int]) -> dict[int, int]:
    """What indexing each record costs, in weighted characters (``SHORT_FIELD_WEIGHT``), read with the
    databases' own LENGTH without loading any text; ids missing from the result were deleted."""

    def length(name: str, *, json: bool = False):
        return Coalesce(Length(Cast(name, TextField()) if json else name), 0)

    if kind == "book":
        rows = Book.objects.filter(pk__in=list(ids)).annotate(
            short=length("title") + length("subtitle") + length("summary") + length("subjects", json=True),
            long=Value(0))
    else:
        rows = Paper.objects.filter(pk__in=list(ids)).annotate(
            short=length("title") + length("abstract") + length("keywords", json=True) + length("awards")
            + length("venue"),
            long=length("full_text"))
    return {pk: SHORT_FIELD_WEIGHT * short + long for pk, short, long in rows.values_list("pk", "short", "long")}


def all_documents(batch_size: int = 500) -> Iterator[dict]:
    """Every record of the catalog as a document, streamed in batches."""
    for queryset, build in ((books_queryset(), book_document), (papers_queryset(), paper_document)):
        last = 0
        while True:
            batch = list(queryset.filter(pk__gt=last)[:batch_size])
            if not batch:
                break
            for record in batch:
                yield build(record)
            last = batch[-1].pk


def count_documents() -> int:
    return Book.objects.count() + Paper.objects.count()


def unlogged_records_exist() -> bool:
    """Whether some book or paper has no entry in the index change log (two EXISTS queries)."""
    for kind, model in ((IndexChange.Kind.BOOK, Book), (IndexChange.Kind.PAPER, Paper)):
        # NOT EXISTS, an anti-join on the (kind, object_id) index: NOT IN (subquery) is planned as a subplan that
        # PostgreSQL hashes only while the log fits work_mem, and runs again per record past that.
        logged = IndexChange.objects.filter(kind=kind, object_id=OuterRef("pk"))
        if model.objects.filter(~Exists(logged)).exists():
            return True
    return False


def records_mentioning(forms: Iterable[str]) -> dict[str, list[int]]:
    """The books and papers whose indexed texts (title, subjects/keywords, summary/abstract, full text) hold
    one of ``forms``, by kind: the records whose citations a changed law name may change.  Lists (subjects,
    keywords) are searched in their JSON text, where SQLite keeps Chinese as ``\\uXXXX`` escapes and
    PostgreSQL as written, so each form is looked for in both spellings."""
    import json

    from django.db.models import Q

    forms = [f for f in dict.fromkeys(forms) if f]
    if not forms:
        return {"book": [], "paper": []}

    def any_of(fields: list[str], lists: list[str]) -> Q:
        query = Q()
        for form in forms:
            for name in fields:
                query |= Q(**{f"{name}__contains": form})
            for name in lists:
                query |= Q(**{f"{name}_text__contains": form}) | Q(**{f"{name}_text__contains": json.dumps(form)[1:-1]})
        return query

    books = (Book.objects.annotate(subjects_text=Cast("subjects", TextField()))
             .filter(any_of(["title", "subtitle", "summary"], ["subjects"])).values_list("pk", flat=True))
    papers = (Paper.objects.annotate(keywords_text=Cast("keywords", TextField()))
              .filter(any_of(["title", "abstract", "full_text", "awards", "venue"], ["keywords"]))
              .values_list("pk", flat=True))
    return {"book": list(books), "paper": list(papers)}
