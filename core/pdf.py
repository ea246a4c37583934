"""Printable sheets as PDF (reportlab): labels and reader cards laid out in a grid on A4.

Chinese is drawn with reportlab's built-in CID font STSong-Light (Adobe's Song font, which PDF readers
supply): no font file is shipped or embedded, and the text stays real text (``pdftotext`` reads it back).
Barcodes are Code 128 (reportlab's own ``code128``), the symbology of library barcodes and reader cards:
any ASCII, with digit runs packed two to a symbol.
"""

import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.http import HttpResponse

# reportlab is imported when a sheet is drawn, not with this module: it costs 150 ms and 18 MB a process,
# and every process imports the admin and the services that print.

#: A millimetre and the A4 page in PDF points (reportlab.lib.units.mm, reportlab.lib.pagesizes.A4).
mm = 72 / 25.4
A4 = (210 * mm, 297 * mm)

#: Chinese and Latin text.
CJK_FONT = "STSong-Light"
#: Barcode digits under the bars and call numbers: a plain sans-serif that every reader has.
LATIN_FONT = "Helvetica"
#: The narrowest bar (X dimension) scanners read reliably; a barcode is never drawn narrower than its
#: cell allows, but a long one in a small cell can come out below this (the caller keeps barcodes short).
MIN_BAR_WIDTH = 0.19 * mm
MAX_BAR_WIDTH = 0.4 * mm
#: Light grey cutting frames around each cell (plain paper; on die-cut label sheets they fall on the cuts).
FRAME_GREY = 0.75


def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


@dataclass(frozen=True)
class Grid:
    """Cells of ``width`` × ``height`` in ``columns`` × ``rows`` on A4 portrait, centred, ``gap`` apart."""

    columns: int
    rows: int
    width: float
    height: float
    gap: float = 0.0

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def origin(self, index: int) -> tuple[float, float]:
        """The lower-left corner of cell ``index`` on its page (row by row from the top left)."""
        page_width, page_height = A4
        left = (page_width - self.columns * self.width - (self.columns - 1) * self.gap) / 2
        top = page_height - (page_height - self.rows * self.height - (self.rows - 1) * self.gap) / 2
        row, column = divmod(index % self.per_page, self.columns)
        return left + column * (self.width + self.gap), top - (row + 1) * self.height - row * self.gap


class Sheet:
    """A PDF of A4 pages filled cell by cell; ``cells(grid, n)`` yields each cell's corner, turning pages."""

    def __init__(self, *, title: str, author: str) -> None:
        from reportlab.pdfgen.canvas import Canvas

        _register_fonts()
        self.buffer = io.BytesIO()
        # invariant: no creation time or random id in the file, so the same sheet is the same bytes.
        self.canvas = Canvas(self.buffer, pagesize=A4, pageCompression=1, invariant=1)
        self.canvas.setTitle(title)
        self.canvas.setAuthor(author)
        self.canvas.setCreator(author)
        self._drawn = False

    def cells(self, grid: Grid, count: int) -> Iterator[tuple[float, float]]:
        if self._drawn:
            self.canvas.showPage()  # a new section starts on a new page
        for index in range(count):
            if index and index % grid.per_page == 0:
                self.canvas.showPage()
            x, y = grid.origin(index)
            self._frame(x, y, grid)
            self._drawn = True
            yield x, y

    def _frame(self, x: float, y: float, grid: Grid) -> None:
        c = self.canvas
        c.saveState()
        c.setStrokeGray(FRAME_GREY)
        c.setLineWidth(0.3)
        c.rect(x, y, grid.width, grid.height)
        c.restoreState()

    def text(self, value: str, *, x: float, y: float, width: float, size: float, font: str = CJK_FONT,
             min_size: float = 5.0, align: str = "center") -> float:
        """Draw one line of text in ``width`` from ``x`` (``align``: center, left or right), shrunk to fit down to
        ``min_size`` and cut with "…" below it; returns the size used."""
        from reportlab.pdfbase import pdfmetrics

        c = self.canvas
        measured = pdfmetrics.stringWidth(value, font, size)
        if measured > width:
            size = max(min_size, size * width / measured)
            while value and pdfmetrics.stringWidth(value, font, size) > width:
                value = value[:-2] + "…" if len(value) > 1 else ""
        c.setFont(font, size)
        if align == "center":
            c.drawCentredString(x + width / 2, y, value)
        elif align == "right":
            c.drawRightString(x + width, y, value)
        else:
            c.drawString(x, y, value)
        return size

    def code128(self, value: str, *, x: float, y: float, width: float, height: float) -> None:
        """A Code 128 barcode of ``value``, centred in ``width``, bars ``height`` high, quiet zones inside."""
        from reportlab.graphics.barcode.code128 import Code128

        probe = Code128(value, barWidth=1, quiet=False)
        # 10 modules of quiet zone on each side (the symbology's minimum), inside the width.
        bar = max(MIN_BAR_WIDTH, min(MAX_BAR_WIDTH, width / (probe.width + 20)))
        barcode = Code128(value, barWidth=bar, barHeight=height, quiet=False)
        barcode.drawOn(self.canvas, x + (width - barcode.width) / 2, y)

    def pdf(self) -> bytes:
        self.canvas.save()
        return self.buffer.getvalue()


def pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    """A generated PDF shown in the browser's viewer, ready to print, with a name for saving it (a sheet the
    site drew, never an upload: uploads go out as attachments)."""
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
