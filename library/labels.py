"""Spine labels and barcode labels of copies, as an A4 PDF sheet (drawn with core.pdf).

A spine label carries the call number broken over lines as libraries print it (class, book mark, volume
mark) and the copy's location; a barcode label the Code 128 barcode of the copy's barcode with the barcode
in text, a short title, and the library's name and the call number in small print.  ``services.labels_print``
chooses the copies and records that their labels were printed.
"""

from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.pdf import CJK_FONT, Grid, Sheet, mm
from library.callnumbers import spine_lines
from library.models import Copy

#: The kinds of label a sheet may hold ("both": spine labels, then barcode labels from a new page).
KINDS = {"spine": gettext_lazy("书标"), "barcode": gettext_lazy("条码标签"), "both": gettext_lazy("书标和条码标签")}
#: 40 spine labels a page (38 × 34 mm), 24 barcode labels (64 × 34 mm, the size of common A4 label sheets).
SPINE = Grid(columns=5, rows=8, width=38 * mm, height=34 * mm)
BARCODE = Grid(columns=3, rows=8, width=64 * mm, height=34 * mm, gap=2 * mm)
PAD = 2 * mm
CALL_NUMBER_FONT = "Helvetica-Bold"
BARCODE_TEXT_FONT = "Helvetica"
#: Characters of the title a barcode label shows.
SHORT_TITLE = 18


def labels_per_copy(kind: str) -> int:
    return 2 if kind == "both" else 1


def _font(text: str, latin: str) -> str:
    return latin if text.isascii() else CJK_FONT


def short_title(title: str) -> str:
    return title if len(title) <= SHORT_TITLE else title[: SHORT_TITLE - 1] + "…"


def _spine(sheet: Sheet, copy: Copy, x: float, y: float) -> None:
    book = copy.book
    lines = spine_lines(book.call_number) or [book.clc or "—"]
    width = SPINE.width - 2 * PAD
    location_size = 7
    # The call number fills the label above the location line, each line as large as three lines allow.
    room = SPINE.height - 2 * PAD - location_size * 1.6
    size = min(15, room / (max(len(lines), 3) * 1.2))
    baseline = y + SPINE.height - PAD - size
    for line in lines:
        sheet.text(line, x=x + PAD, y=baseline, width=width, size=size, font=_font(line, CALL_NUMBER_FONT))
        baseline -= size * 1.2
    sheet.text(str(copy.location), x=x + PAD, y=y + PAD, width=width, size=location_size)  # text or a Location


def _barcode(sheet: Sheet, copy: Copy, x: float, y: float, library_name: str) -> None:
    book = copy.book
    width = BARCODE.width - 2 * PAD
    title = short_title(book.title)
    sheet.text(title, x=x + PAD, y=y + BARCODE.height - PAD - 8, width=width, size=8, min_size=6,
               font=_font(title, BARCODE_TEXT_FONT))
    sheet.code128(copy.barcode, x=x + PAD, y=y + 11 * mm, width=width, height=12 * mm)
    sheet.text(copy.barcode, x=x + PAD, y=y + 6.5 * mm, width=width, size=10, font=BARCODE_TEXT_FONT)
    small = "  ".join(part for part in (library_name, book.call_number) if part)  # STSong has no "·"
    sheet.text(small, x=x + PAD, y=y + PAD, width=width, size=6.5, min_size=5)


def labels_pdf(copies: Sequence[Copy], *, kind: str, library_name: str) -> bytes:
    """The sheet of labels of ``copies`` (their books loaded), in the order given."""
    if kind not in KINDS:
        raise ValueError(f"unknown label kind {kind!r}")
    sheet = Sheet(title=_("%(library)s 标签") % {"library": library_name}, author=library_name)
    if kind in ("spine", "both"):
        for copy, (x, y) in zip(copies, sheet.cells(SPINE, len(copies)), strict=True):
            _spine(sheet, copy, x, y)
    if kind in ("barcode", "both"):
        for copy, (x, y) in zip(copies, sheet.cells(BARCODE, len(copies)), strict=True):
            _barcode(sheet, copy, x, y, library_name)
    return sheet.pdf()
