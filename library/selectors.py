"""Reads of the catalog, with the related rows that the API needs fetched up front."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Role
from accounts.selectors import user_has_role
from library.models import Book, Contributor, Copy, Paper, PaperAuthor


def book_queryset() -> QuerySet[Book]:
    return Book.objects.prefetch_related(
        Prefetch("contributors", queryset=Contributor.objects.order_by("position")),
        Prefetch("copies", queryset=Copy.objects.order_by("barcode")),
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


def copy_get(*, barcode: str) -> Copy | None:
    return Copy.objects.select_related("book").filter(barcode=barcode).first()


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
