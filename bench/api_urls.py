"""URLs for bench/api_bench.py: the project's own, plus the bare reference view (never deployed)."""

from django.http import Http404, JsonResponse
from django.urls import path

from library import selectors
from library.models import copy_counts
from shuyuan.urls import urlpatterns as project_urls


def bare_book(request, book_id: int):
    """The framework's floor: the same query as GET /api/v1/books/{id}, serialised by hand."""
    book = selectors.book_get(book_id=book_id)
    if book is None:
        raise Http404
    contributors = list(book.contributors.all())
    copies = list(book.copies.all())
    available, total = copy_counts(c.status for c in copies)
    return JsonResponse({
        "id": book.pk, "isbn": book.isbn, "title": book.title, "subtitle": book.subtitle,
        "authors": [c.name for c in contributors],
        "contributors": [{"name": c.name, "role": c.role} for c in contributors],
        "publisher": book.publisher, "year": book.year, "edition": book.edition, "language": book.language,
        "clc": book.clc, "call_number": book.call_number, "subjects": book.subjects, "summary": book.summary,
        "cover_url": book.cover_url,
        "copies": [{"barcode": c.barcode, "location": c.location, "shelf": c.shelf, "status": c.status} for c in copies],
        "total_copies": total, "available_copies": available,
        "earliest_due": book.earliest_due.isoformat() if book.earliest_due else None,
        "holds_waiting": book.holds_waiting or 0,
        "created_at": book.created_at.isoformat(), "updated_at": book.updated_at.isoformat(),
    }, json_dumps_params={"ensure_ascii": False})


urlpatterns = [path("bench/bare/books/<int:book_id>", bare_book), *project_urls]
