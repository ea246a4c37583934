"""What the branch serves to other libraries, read back by its own importer: a union catalogue that copies our
records over SRU or harvests them over OAI-PMH gets the same books (the importer is the client here)."""

from django.test import Client

from library import importers
from library.models import Book
from tests.interop.conftest import xml


def entries(content: bytes) -> list[importers.Entry]:
    parsed = importers.read_file(data=content)
    return [parse() for _number, parse in parsed.items]


def by_title(found: list[importers.Entry]) -> dict[str, importers.Entry]:
    return {entry.values["title"]: entry for entry in found}


def test_sru_marcxml_answers_read_back_as_the_same_books(catalogue):
    query = 'dc.title="民法典" or dc.title="合同法" or dc.title="Concept"'
    response = Client().get("/sru", {"operation": "searchRetrieve", "version": "1.2", "query": query,
                                     "recordSchema": "marcxml", "maximumRecords": "10"})
    xml(response)
    read = by_title(entries(response.content))

    civil, contract, law = catalogue["civil"], catalogue["contract"], catalogue["law"]
    assert {civil.title, contract.title, law.title} <= set(read)
    civil_entry = read[civil.title]
    assert civil_entry.values["subtitle"] == "物权编"
    assert civil_entry.values["year"] == 2020
    assert civil_entry.values["publisher"] == "法律出版社"
    assert civil_entry.values["clc"] == "D923"
    assert civil_entry.values["subjects"] == ["民法", "物权"]
    assert [person.name for person in civil_entry.people] == ["王利明", "李四"]
    assert importers.normalize_isbn(read[contract.title].values["isbn"]) == contract.isbn
    assert read[law.title].values["language"] == "en"
    # The internal paper's record never travels, and the public paper is not a book of the catalogue.
    assert catalogue["secret"].title not in read


def test_an_oai_harvest_of_books_imports_into_an_empty_catalogue_as_the_same_books(catalogue):
    response = Client().get("/oai", {"verb": "ListRecords", "metadataPrefix": "marcxml", "set": "book"})
    xml(response)
    books = {book.title: (book.subtitle, book.year, book.publisher, book.isbn, book.clc,
                          list(book.contributors.order_by("position").values_list("name", flat=True)))
             for book in Book.objects.all()}
    read = by_title(entries(response.content))
    assert set(read) == set(books)

    Book.objects.all().delete()
    summary = importers.import_catalog(data=response.content)

    assert summary.created == len(books) and summary.failed == 0, summary.errors
    for title, original in books.items():
        again = Book.objects.get(title=title)
        assert (again.subtitle, again.year, again.publisher, again.isbn, again.clc,
                list(again.contributors.order_by("position").values_list("name", flat=True))) == original
