"""SRU string packing nested in string packing, and deep documents: read without exhausting Python's stack;
past three levels of packing the record is reported as unreadable (the attack of issue 18 made a
RecursionError of them: a 500 in copy cataloguing, a job retried three times without a reason)."""

from xml.sax.saxutils import escape

import pytest

from library import importers
from library.models import Book
from tests.library.sru_server import SRW, marc21_record


def packed(record: str, levels: int, depth: int = 0) -> str:
    """``record`` in ``levels`` SRU answers, each one string-packed inside the next, each with ``depth``
    nested elements around its records."""
    xml = record
    for _ in range(levels):
        xml = (f'<searchRetrieveResponse xmlns="{SRW}"><version>1.2</version><numberOfRecords>1</numberOfRecords>'
               + "<x>" * depth + "<records><record><recordSchema>marcxml</recordSchema><recordPacking>string"
               f"</recordPacking><recordData>{escape(xml)}</recordData></record></records>" + "</x>" * depth
               + "</searchRetrieveResponse>")
    return xml


@pytest.mark.parametrize("levels", [1, 3])
def test_records_packed_up_to_three_levels_deep_are_read(db, levels):
    summary = importers.import_catalog(data=packed(marc21_record(title="套装的记录"), levels, depth=200).encode())

    assert (summary.created, summary.failed) == (1, 0), summary.errors
    assert Book.objects.get().title == "套装的记录"


def test_a_record_packed_deeper_fails_alone_with_a_reason(db):
    deep = packed(marc21_record(title="太深的记录"), 6, depth=240)
    beside = marc21_record(title="旁边的记录")
    data = (f'<searchRetrieveResponse xmlns="{SRW}"><version>1.2</version><numberOfRecords>2</numberOfRecords>'
            f"<records><record><recordSchema>marcxml</recordSchema><recordPacking>string</recordPacking>"
            f"<recordData>{escape(deep)}</recordData></record><record><recordSchema>marcxml</recordSchema>"
            f"<recordPacking>xml</recordPacking><recordData>{beside}</recordData></record></records>"
            f"</searchRetrieveResponse>").encode()

    summary = importers.import_catalog(data=data)

    assert (summary.created, summary.failed) == (1, 1), summary.errors
    assert [e["record"] for e in summary.errors if e.get("record")] == [1]
    assert list(Book.objects.values_list("title", flat=True)) == ["旁边的记录"]
