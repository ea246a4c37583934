"""Reading the project's PDFs back as a person or a scanner would: the text with poppler's ``pdftotext`` and
the barcodes with zxing-cpp (an independent decoder) on pages rendered by poppler's ``pdftoppm``."""

import subprocess
import tempfile
from pathlib import Path


def pdf_pages(pdf: bytes) -> list[list[str]]:
    """Each page's lines of text in drawing order (``pdftotext -raw``), blank lines left out."""
    text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return [[line.strip() for line in page.splitlines() if line.strip()] for page in pages]


def pdf_barcodes(pdf: bytes) -> list[list[tuple[str, str]]]:
    """Each page's barcodes as (format, text), read by zxing-cpp from the page rendered at 200 dpi, in
    reading order (top to bottom, left to right)."""
    import zxingcpp
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-r", "200", "-png", "-", f"{folder}/page"], input=pdf, check=True)
        pages = []
        for image in sorted(Path(folder).glob("page-*.png")):
            found = zxingcpp.read_barcodes(Image.open(image))
            found = sorted(found, key=lambda r: (round(r.position.top_left.y / 50), r.position.top_left.x))
            pages.append([(r.format.name, r.text) for r in found])
        return pages
