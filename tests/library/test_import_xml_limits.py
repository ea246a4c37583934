"""XML imports within limits (attack round 18, F7): a 47 MB file padded with 9.5 million empty elements was parsed
(105 s, 1.5 GB) again on every slice of its import job.  Now the elements are counted as they stream past and a
file over IMPORT_XML_MAX_ELEMENTS or IMPORT_XML_MAX_BYTES is refused before any tree is built (in the request
when a count of its tags shows it), and an import that makes way for other jobs goes on without parsing again."""

from xml.sax.saxutils import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import InvalidInput
from jobs.models import Job
from jobs.services import JobYield
from library import importers, imports, marcxml
from library.importers import import_catalog
from library.models import Book, CatalogImport, ImportRecord
from library.tasks import catalog_import_start
from tests.jobs.worker import run_queued_jobs
from tests.library.sru_server import marc21_record

pytestmark = pytest.mark.django_db

TOO_MANY = ("XML 文件的元素超过 500 个的上限（IMPORT_XML_MAX_ELEMENTS；一条 MARCXML 记录通常有几十到一二百个），"
            "未导入；请检查文件或分成几个文件导入")


def padded(records: int, padding: int, *, pad: str = "<pad/>") -> bytes:
    """A MARCXML collection of ``records`` real-looking records followed by ``padding`` empty elements."""
    body = "".join(marc21_record(title=f"书{i}", year=2020, control=f"X{i}") for i in range(records))
    return (f'<?xml version="1.0" encoding="UTF-8"?><collection xmlns="http://www.loc.gov/MARC21/slim">{body}'
            f"{pad * padding}</collection>").encode()


@pytest.fixture
def parses(monkeypatch):
    """Every document ``marcxml.parse`` builds (the costly step), by size."""
    seen: list[int] = []
    real = marcxml.parse

    def watched(data):
        seen.append(len(data))
        return real(data)

    monkeypatch.setattr(marcxml, "parse", watched)
    return seen


def test_a_padded_file_fails_its_job_before_it_is_parsed(librarian, settings, parses):
    settings.IMPORT_XML_MAX_ELEMENTS = 500
    data = padded(2, 700)  # fewer tags than twice the limit: the request lets it through, the job counts

    started = catalog_import_start(data=data, filename="padded.xml", format=None, location=None,
                                   started_by=librarian)
    [job] = run_queued_jobs()

    assert (job.state, job.error) == ("failed", TOO_MANY)
    assert parses == []
    assert (Book.objects.count(), CatalogImport.objects.get(pk=started.pk).total) == (0, None)


def test_a_file_with_far_more_tags_than_the_limit_is_refused_in_the_request(librarian_api, settings, parses):
    settings.IMPORT_XML_MAX_ELEMENTS = 500

    response = librarian_api.upload("/api/v1/imports", {"file": SimpleUploadedFile(
        "padded.xml", padded(2, 5000), "application/xml")})

    assert response.status_code == 422
    assert response.json()["code"] == "too_many_elements"
    assert [(e["field"], e["msg"]) for e in response.json()["detail"]] == [("file", TOO_MANY)]
    assert (CatalogImport.objects.count(), Job.objects.count(), parses) == (0, 0, [])


def test_a_file_over_the_xml_byte_limit_is_refused_in_the_request_and_by_the_command(librarian_api, settings):
    data = padded(3, 0)
    settings.IMPORT_XML_MAX_BYTES = len(data) - 1

    response = librarian_api.upload("/api/v1/imports", {"file": SimpleUploadedFile("big.xml", data, "application/xml")})
    with pytest.raises(InvalidInput) as refused:
        import_catalog(data=data, filename="big.xml")

    assert (response.status_code, response.json()["code"]) == (422, "too_large")
    assert refused.value.code == "too_large"
    assert refused.value.detail.startswith("XML 文件超过 ")


def test_elements_escaped_inside_an_sru_string_payload_count_too(settings, parses):
    settings.IMPORT_XML_MAX_ELEMENTS = 500
    inner = padded(1, 800).decode().split("?>", 1)[1]
    data = ('<?xml version="1.0"?><searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/"><version>1.2</version>'
            "<numberOfRecords>1</numberOfRecords><records><record><recordSchema>marcxml</recordSchema>"
            f"<recordPacking>string</recordPacking><recordData>{escape(inner)}</recordData></record></records>"
            "</searchRetrieveResponse>").encode()

    with pytest.raises(InvalidInput) as refused:
        import_catalog(data=data, filename="sru.xml")

    assert (refused.value.code, parses) == ("too_many_elements", [])


def test_a_file_within_the_limits_imports_and_the_count_is_exact(settings):
    data = padded(2, 0)
    settings.IMPORT_XML_MAX_ELEMENTS = marcxml.count_elements(data, 10_000)

    summary = import_catalog(data=data, filename="two.xml")

    assert (summary.created, summary.failed) == (2, 0)
    settings.IMPORT_XML_MAX_ELEMENTS -= 1
    with pytest.raises(InvalidInput):
        import_catalog(data=data, filename="two.xml")


def test_an_import_that_makes_way_goes_on_without_parsing_its_file_again(librarian, monkeypatch, parses):
    monkeypatch.setattr(importers, "BATCH_SIZE", 1)
    started = catalog_import_start(data=padded(3, 0), filename="three.xml", format=None, location=None,
                                   started_by=librarian)

    slices = 0
    while True:
        slices += 1
        try:
            summary = imports.catalog_import_run(catalog_import_id=started.pk, progress=lambda done, total: None,
                                                 make_way=lambda: True)
        except JobYield:
            continue
        break

    assert slices == 3
    assert len(parses) == 1
    assert (summary["created"], Book.objects.count(), ImportRecord.objects.count()) == (3, 3, 3)
    assert imports._suspended == {}  # nothing kept once the import is done
