"""Small real documents built in memory for upload tests."""

import io


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file of ``objects`` (numbered from 1, the first the catalog) with its cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_pdf(text: str) -> bytes:
    """A one-page PDF whose content stream shows ``text`` (ASCII) in Helvetica."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _pdf(objects)


def make_docx(*paragraphs: str) -> bytes:
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_shared_stream_pdf(pages: int, stream_bytes: int = 1024 * 1024, operators: bytes = b"0 0 m ") -> bytes:
    """A small PDF whose ``pages`` pages all draw one Flate-compressed content stream of ``stream_bytes``.

    Compressed, the stream is a few KiB; a parser that decodes it again for every page does
    ``pages × stream_bytes`` of work.  The stream ends by showing one word, so text extraction cannot
    skip it as a figure.
    """
    import zlib

    body = operators * (stream_bytes // len(operators)) + b"\nBT /F1 12 Tf 72 720 Td (shared) Tj ET"
    packed = zlib.compress(body, 9)
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>"
    ] * pages
    return _pdf(objects)


def make_docx_with_xml(document_xml_bytes: int) -> bytes:
    """A valid DOCX whose word/document.xml is padded with paragraphs to about ``document_xml_bytes``."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(make_docx("padding")))
    paragraph = b"<w:p><w:r><w:t>padding</w:t></w:r></w:p>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml":
                filler = paragraph * (document_xml_bytes // len(paragraph))
                data = data.replace(b"<w:body>", b"<w:body>" + filler, 1)
            archive.writestr(info.filename, data)
    return out.getvalue()
