"""core.xlsx: the one XLSX writer of exports and reports, read back with openpyxl."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest

from core.xlsx import CONTENT_TYPE, MAX_CELL_CHARS, cell_text, sheet_title, xlsx_bytes, xlsx_response


def read(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_formula_looking_text_stays_text_neutralised_as_in_the_csv():
    sheet = read(xlsx_bytes(["a", "b", "c", "d", "e"], [["=1+1", "+86 10", "-5", "@SUM(A1)", "'=already"]],
                            title="t"))

    assert [cell.value for cell in sheet[2]] == ["'=1+1", "'+86 10", "'-5", "'@SUM(A1)", "''=already"]
    assert [cell.data_type for cell in sheet[2]] == ["s"] * 5


def test_a_hidden_control_character_cannot_bring_a_formula_to_the_front():
    sheet = read(xlsx_bytes(["a", "b"], [["\x00=HYPERLINK(\"http://x\")", "书\x07名\x1f"]], title="t"))

    assert (sheet["A2"].value, sheet["A2"].data_type) == ("'=HYPERLINK(\"http://x\")", "s")
    assert sheet["B2"].value == "书名"


def test_text_keeps_tabs_and_line_breaks_inside_and_drops_what_xml_cannot_hold():
    assert cell_text("第一行\n第二行\t完\ud800\uffff") == "第一行\n第二行\t完"


def test_aware_datetimes_are_real_dates_in_library_time_and_dates_are_dates():
    sheet = read(xlsx_bytes(["when", "day"], [[datetime(2026, 12, 2, 7, 0, tzinfo=UTC), date(2026, 12, 3)],
                                               [datetime(2026, 12, 2, 15, 0), None]], title="t"))

    assert (sheet["A2"].value, sheet["A2"].number_format) == (datetime(2026, 12, 2, 15, 0), "yyyy-mm-dd hh:mm")
    assert (sheet["B2"].value, sheet["B2"].number_format) == (datetime(2026, 12, 3, 0, 0), "yyyy-mm-dd")
    assert sheet["B2"].is_date and sheet["A3"].is_date
    assert (sheet["A3"].value, sheet["B3"].value) == (datetime(2026, 12, 2, 15, 0), None)  # naive: library time


def test_numbers_stay_numbers_and_other_values_become_text():
    class Label:
        def __str__(self):
            return "标签"

    sheet = read(xlsx_bytes(["n"] * 5, [[3, 2.5, Decimal("1.25"), True, Label()]], title="t"))

    assert [cell.value for cell in sheet[2]] == [3, 2.5, 1.25, True, "标签"]
    assert [cell.data_type for cell in sheet[2]] == ["n", "n", "n", "b", "s"]


def test_the_header_is_frozen_widths_are_set_or_fitted_and_the_filter_is_optional():
    plain = read(xlsx_bytes(["序号", "题名很长的一列"], [[1, "书"]], title="t"))
    sized = read(xlsx_bytes(["a", "b"], ([n, "x"] for n in range(3)), title="t", widths=[6, 40], autofilter=True))

    assert (plain.freeze_panes, plain.auto_filter.ref) == ("A2", None)
    assert (plain.column_dimensions["A"].width, plain.column_dimensions["B"].width) == (8, 16)
    assert (sized.freeze_panes, sized.auto_filter.ref) == ("A2", "A1:B4")
    assert (sized.column_dimensions["A"].width, sized.column_dimensions["B"].width) == (6, 40)
    assert [[c.value for c in row] for row in sized.iter_rows()] == [["a", "b"], [0, "x"], [1, "x"], [2, "x"]]


def test_a_cell_longer_than_excel_holds_is_cut_with_an_ellipsis():
    sheet = read(xlsx_bytes(["a"], [["长" * 40_000]], title="t"))

    assert len(sheet["A2"].value) == MAX_CELL_CHARS
    assert sheet["A2"].value.endswith("长…")


@pytest.mark.parametrize(("title", "expected"), [
    ("读书沙龙：民法[典]/案例*研讨?", "读书沙龙：民法典案例研讨"),  # a full-width colon is allowed
    ("a:b", "ab"),
    ("'引号'", "引号"),
    ("[]:*?", "备用"),
    ("一" * 40, "一" * 31),
])
def test_sheet_titles_are_ones_excel_accepts(title, expected):
    assert sheet_title(title, default="备用") == expected
    assert read(xlsx_bytes(["a"], [], title=title)).title == (expected if expected != "备用" else "Sheet1")


def test_the_response_is_a_named_download():
    response = xlsx_response(["a"], [["=x"]], filename="report.xlsx", title="报告")

    assert (response["Content-Type"], response["Content-Disposition"]) == (
        CONTENT_TYPE, 'attachment; filename="report.xlsx"')
    assert read(response.content)["A2"].value == "'=x"
