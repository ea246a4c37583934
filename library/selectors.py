"""Reads of the catalog and of circulation, with the related rows that the API needs fetched up front."""

from collections.abc import Sequence
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, DateField, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import Role
from accounts.selectors import user_has_role
from library.models import (
    Book,
    CatalogImport,
    CirculationEvent,
    Contributor,
    Copy,
    Hold,
    ImportRecord,
    Loan,
    Location,
    Paper,
    PaperAuthor,
    Transfer,
    copy_counts,
)
from library.policy import library_today
from library.validators import normalize_barcode


def book_queryset() -> QuerySet[Book]:
    """Books with contributors, copies and their circulation summary (earliest due date, queue length)."""
    return Book.objects.prefetch_related(
        Prefetch("contributors", queryset=Contributor.objects.order_by("position")),
        Prefetch("copies", queryset=Copy.objects.order_by("barcode")),
    ).annotate(
        earliest_due=Subquery(
            Loan.objects.filter(book=OuterRef("pk"), status=Loan.Status.ACTIVE).order_by("due_date").values("due_date")[:1]
        ),
        holds_waiting=Coalesce(
            Subquery(
                Hold.objects.filter(book=OuterRef("pk"), status=Hold.Status.WAITING)
                .order_by()
                .values("book")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            0,
        ),
    )


def book_list(
    *,
    language: str | None = None,
    clc: str | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
) -> QuerySet[Book]:
    books = book_queryset().order_by("id")
    if language:
        books = books.filter(language=language)
    if clc:
        books = books.filter(clc__startswith=clc.strip().upper())
    if year_from is not None:
        books = books.filter(year__gte=year_from)
    if year_to is not None:
        books = books.filter(year__lte=year_to)
    return books


def book_get(*, book_id: int) -> Book | None:
    return book_queryset().filter(pk=book_id).first()


def new_arrivals(*, limit: int = 8, today: date | None = None, days: int = 180) -> list[Book]:
    """Books whose newest holding copy came in within ``days``, newest first: by accession (a copy's
    ``acquired_on``, else the day it was entered), not by year of publication."""
    today = today or library_today()
    accession = Coalesce("acquired_on", TruncDate("created_at"))
    newest = (Copy.objects.filter(book=OuterRef("pk")).exclude(status__in=Copy.GONE).annotate(accession=accession)
              .order_by("-accession").values("accession")[:1])
    return list(Book.objects.annotate(accession=Subquery(newest, output_field=DateField()))
                .filter(accession__gte=today - timedelta(days=days), accession__lte=today)
                .order_by("-accession", "-id").prefetch_related("contributors")[:limit])


def copy_get(*, barcode: str) -> Copy | None:
    """The copy with a barcode as scanned or typed (normalized first); None when there is none or it
    cannot be a barcode."""
    try:
        barcode = normalize_barcode(barcode)
    except ValidationError:
        return None
    return Copy.objects.select_related("book").filter(barcode=barcode).first()


def label_copies(*, barcodes: Sequence[str] = (), accessioned_since: date | None = None,
                 unprinted: bool = False) -> QuerySet[Copy]:
    """Copies whose labels to print, with their books: the barcodes given (any status), or else the copies
    in the holdings (not lost or withdrawn); narrowed to those accessioned on or after ``accessioned_since``
    (``acquired_on``, else the day the copy was entered) and to those never printed (``unprinted``)."""
    copies = Copy.objects.select_related("book")
    if barcodes:
        copies = copies.filter(barcode__in=barcodes)
    else:
        copies = copies.exclude(status__in=Copy.GONE)
    if accessioned_since is not None:
        copies = copies.annotate(accession=Coalesce("acquired_on", TruncDate("created_at"))).filter(
            accession__gte=accessioned_since)
    if unprinted:
        copies = copies.filter(label_printed_at__isnull=True)
    return copies


def paper_visible_q(user: AbstractBaseUser | AnonymousUser) -> Q:
    """Anonymous readers see public papers only; every logged-in user sees internal ones too."""
    if user.is_authenticated:
        return Q()
    return Q(visibility=Paper.Visibility.PUBLIC)


def paper_queryset(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Paper]:
    return (
        Paper.objects.filter(paper_visible_q(user))
        .prefetch_related(Prefetch("paper_authors", queryset=PaperAuthor.objects.order_by("position")))
        .defer("full_text")
    )


def paper_list(
    *,
    user: AbstractBaseUser | AnonymousUser,
    kind: str | None = None,
    year: int | None = None,
    visibility: str | None = None,
) -> QuerySet[Paper]:
    papers = paper_queryset(user=user).order_by("-year", "id")
    if kind:
        papers = papers.filter(kind=kind)
    if year is not None:
        papers = papers.filter(year=year)
    if visibility:
        papers = papers.filter(visibility=visibility)
    return papers


def paper_get(*, user: AbstractBaseUser | AnonymousUser, paper_id: int) -> Paper | None:
    return paper_queryset(user=user).filter(pk=paper_id).first()


def paper_can_edit(*, user: AbstractBaseUser | AnonymousUser, paper: Paper) -> bool:
    """Librarians edit every paper; a judge edits the papers they entered."""
    if user_has_role(user, Role.LIBRARIAN):
        return True
    return user.is_authenticated and paper.created_by_id == user.pk and user_has_role(user, Role.JUDGE)


# --- circulation ----------------------------------------------------------------------------------


def _narrowed(rows: QuerySet, *, patron: str | None, book: int | None) -> QuerySet:
    """Loans, holds or circulation events of one patron (by username) and one book, when given."""
    if patron:
        rows = rows.filter(patron__username=patron)
    if book:
        rows = rows.filter(book_id=book)
    return rows


def _visible(rows: QuerySet, *, viewer: AbstractBaseUser, patron: str | None, book: int | None) -> QuerySet:
    """Loans or holds: a reader's own, everyone's for a librarian; narrowed to a patron and a book when given."""
    if not user_has_role(viewer, Role.LIBRARIAN):
        rows = rows.filter(patron=viewer)
    return _narrowed(rows, patron=patron, book=book)


def loan_queryset() -> QuerySet[Loan]:
    return Loan.objects.select_related("book", "copy", "patron")


def loan_list(
    *, viewer: AbstractBaseUser, status: str | None = None, patron: str | None = None, book: int | None = None,
    today: date | None = None,
) -> QuerySet[Loan]:
    """Loans a viewer may see: their own, or everyone's for a librarian (``patron`` narrows it)."""
    loans = _visible(loan_queryset().order_by("-borrowed_at", "-id"), viewer=viewer, patron=patron, book=book)
    if status == "active":
        loans = loans.filter(status=Loan.Status.ACTIVE)
    elif status == "returned":
        loans = loans.filter(status=Loan.Status.RETURNED)
    elif status == "overdue":
        loans = loans.filter(status=Loan.Status.ACTIVE, due_date__lt=today or library_today()).order_by("due_date", "id")
    return loans


def loan_get(*, viewer: AbstractBaseUser, loan_id: int) -> Loan | None:
    return loan_list(viewer=viewer).filter(pk=loan_id).first()


def hold_queryset() -> QuerySet[Hold]:
    """Holds with ``position``: 1 for the next in line, counted among the book's waiting holds (None otherwise)."""
    ahead = (
        Hold.objects.filter(book=OuterRef("book"), status=Hold.Status.WAITING)
        .filter(Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), id__lte=OuterRef("id")))
        .order_by()
        .values("book")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Hold.objects.select_related("book", "copy", "patron", "pickup_location").annotate(
        position=Case(When(status=Hold.Status.WAITING, then=Subquery(ahead)), default=None)
    )


def hold_list(
    *, viewer: AbstractBaseUser, status: str | None = None, patron: str | None = None, book: int | None = None
) -> QuerySet[Hold]:
    """Holds a viewer may see: their own, or everyone's for a librarian (``patron`` narrows it)."""
    holds = _visible(hold_queryset().order_by("-created_at", "-id"), viewer=viewer, patron=patron, book=book)
    if status == "open":
        holds = holds.filter(status__in=Hold.OPEN)
    elif status:
        holds = holds.filter(status=status)
    return holds


def hold_get(*, viewer: AbstractBaseUser, hold_id: int) -> Hold | None:
    return hold_list(viewer=viewer).filter(pk=hold_id).first()


# --- locations, the pull list, the hold shelf and the van ----------------------------------------------------


def location_list(*, pickup: bool | None = None) -> QuerySet[Location]:
    rows = Location.objects.order_by("position", "id")
    return rows if pickup is None else rows.filter(pickup=pickup)


def location_get(*, code: str | None = None, name: str | None = None) -> Location | None:
    if code is not None:
        return Location.objects.filter(code=code).first()
    return Location.objects.filter(name=name).first()


def _at(location: str) -> Q:
    """Copies that are at ``location`` now (their own, or away there)."""
    return Q(copy__at_location=location) | Q(copy__at_location="", copy__location=location)


def pull_list(*, location: str) -> QuerySet[Hold]:
    """Requests whose copy stands on a shelf at ``location``, oldest first (in shelf order within a day would
    need call numbers: the order is the request's, the shelf is shown)."""
    return (hold_queryset().select_related("patron__profile")
            .filter(_at(location), status=Hold.Status.PULLING).order_by("created_at", "id"))


def hold_shelf(*, location: str) -> QuerySet[Hold]:
    """Copies waiting for their readers at ``location``, the first deadline first."""
    return (hold_queryset().select_related("patron__profile")
            .filter(status=Hold.Status.READY, pickup_location__name=location).order_by("pickup_by", "id"))


def transfer_list(*, location: str, direction: str) -> QuerySet[Transfer]:
    """Open transfers leaving ``location`` (``outgoing``: to send, and sent) or coming to it (``incoming``)."""
    rows = Transfer.objects.select_related("copy__book", "hold__patron__profile").filter(status__in=Transfer.OPEN)
    rows = rows.filter(from_location=location) if direction == "outgoing" else rows.filter(to_location=location)
    return rows.order_by("status", "created_at", "id")


def transfer_get(*, transfer_id: int) -> Transfer | None:
    return Transfer.objects.select_related("copy__book", "hold").filter(pk=transfer_id).first()


def book_availability(*, book: Book) -> dict:
    """Available and total copies, the earliest due date and the queue length.  A book from
    ``book_queryset()`` already carries all of it (prefetched copies, annotations): no query then."""
    available, total = copy_counts(c.status for c in book.copies.all())
    if hasattr(book, "earliest_due"):
        earliest, waiting = book.earliest_due, book.holds_waiting or 0
    else:
        earliest = (
            Loan.objects.filter(book=book, status=Loan.Status.ACTIVE).order_by("due_date").values_list("due_date", flat=True)
        ).first()
        waiting = Hold.objects.filter(book=book, status=Hold.Status.WAITING).count()
    return {
        "available_copies": available,
        "total_copies": total,
        "earliest_due": earliest,
        "holds_waiting": waiting,
    }


def circulation_events(*, book: int | None = None, patron: str | None = None, action: str | None = None):
    events = _narrowed(CirculationEvent.objects.select_related("actor", "patron", "copy").order_by("-at", "-id"),
                       patron=patron, book=book)
    if action:
        events = events.filter(action=action)
    return events


# --- catalog imports ------------------------------------------------------------------------------------

#: How many of an import's errors its status shows; the report has them all.
IMPORT_FIRST_ERRORS = 20


def catalog_import_get(*, import_id: int) -> CatalogImport | None:
    """Any librarian may follow any import: imports change the one catalog the librarians share."""
    return CatalogImport.objects.select_related("job", "created_by").filter(pk=import_id).first()


def catalog_import_list(*, limit: int = 10) -> list[CatalogImport]:
    return list(CatalogImport.objects.select_related("job", "created_by").order_by("-created_at", "-id")[:limit])


def catalog_import_state(catalog_import: CatalogImport) -> str:
    """queued, running, done or failed: the job's state (an import whose job row was deleted is judged by
    its own progress)."""
    if catalog_import.job is not None:
        return catalog_import.job.state
    return "done" if catalog_import.finished else "failed"


def catalog_import_records(*, catalog_import: CatalogImport, outcome: str | None = None,
                           conflicts_first: bool = False) -> QuerySet[ImportRecord]:
    """Every row's or record's outcome in file order (a notice about the whole file first), or only those
    of one ``outcome``; ``conflicts_first`` puts the conflicts still waiting for a decision first."""
    records = ImportRecord.objects.filter(catalog_import=catalog_import).select_related("book", "decided_by")
    if outcome:
        records = records.filter(outcome=outcome)
    if conflicts_first:
        records = records.annotate(waiting=Case(When(outcome=ImportRecord.Outcome.CONFLICT, then=0), default=1))
        return records.order_by("waiting", "position")
    return records.order_by("position")


def import_record_get(*, catalog_import: CatalogImport, position: int) -> ImportRecord | None:
    return ImportRecord.objects.filter(catalog_import=catalog_import, position=position).first()


def catalog_import_status(*, catalog_import: CatalogImport) -> dict:
    """What the import's page and ``GET /imports/{id}`` show.  Costs one query for the first errors."""
    errors = catalog_import_records(catalog_import=catalog_import).filter(
        outcome__in=[ImportRecord.Outcome.FAILED, ImportRecord.Outcome.NOTICE]
    )[:IMPORT_FIRST_ERRORS]
    job = catalog_import.job
    total = catalog_import.total
    done = catalog_import.position
    state = catalog_import_state(catalog_import)
    return {
        "id": catalog_import.pk,
        "url": f"/api/v1/imports/{catalog_import.pk}",
        "report_url": f"/api/v1/imports/{catalog_import.pk}/report",
        "report_xlsx_url": f"/api/v1/imports/{catalog_import.pk}/report.xlsx",
        "records_url": f"/api/v1/imports/{catalog_import.pk}/records",
        "state": state,
        "dry_run": catalog_import.dry_run,
        "committed_as": catalog_import.committed_as_id,
        "error": job.error if job is not None and state in ("failed", "queued") else "",
        "file_name": catalog_import.file_name,
        "format": catalog_import.format,
        "location": catalog_import.location,
        "records_done": done,
        "records_total": total,
        "percent": (min(100, round(100 * done / total)) if total else None) if state != "done" else 100,
        "created": catalog_import.created,
        "updated": catalog_import.updated,
        "unchanged": catalog_import.unchanged,
        "skipped": catalog_import.unchanged,  # deprecated alias of "unchanged" (docs/api.md)
        "conflicts": catalog_import.conflicts,
        "failed": catalog_import.failed,
        "errors": [{"line": e.line, "record": e.record, "reason": e.reason} for e in errors],
        "created_by": catalog_import.created_by.get_username() if catalog_import.created_by else None,
        "created_at": catalog_import.created_at,
        "finished_at": catalog_import.finished_at,
    }
