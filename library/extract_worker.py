"""The child process that reads the text out of an uploaded PDF or DOCX.

Run only by ``library.fulltext.extract_in_sandbox`` as ``python -I extract_worker.py <limits json> <type>``
with the file on stdin.  It imports no Django and no project module: a hostile file meets only the
standard library, pypdf and python-docx, under OS limits set here before anything reads the input.

Output on stdout is one JSON object: ``{"text": ...}`` or ``{"error": code, "limit": number}``; the
parent turns the code into the reason shown on the paper.  Out of memory exits with ``EXIT_MEMORY``.

Private names of pypdf used here (written against pypdf 7.1.0): ``ContentStream.__init__`` is wrapped
so that every parse of a content stream, page or form XObject, is counted.  The hostile-PDF tests in
tests/library/test_fulltext.py fail if an upgrade stops pypdf from going through it.
"""

import io
import json
import os
import resource
import sys
import zipfile

EXIT_MEMORY = 3
MAX_TEXT_CHARS = 2_000_000


class LimitHit(Exception):
    def __init__(self, code: str, limit: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.limit = limit


def set_limits(cpu_seconds: int, memory_bytes: int) -> None:
    # Soft CPU limit: SIGXCPU ends the process; the hard limit one second later is SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would otherwise dump core
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # nothing to write but the pipe


class ContentBudget:
    """Bytes of content stream handed to pypdf's parser, counted on every use of a stream."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise LimitHit("pdf_decoded", self.limit)


def pdf_text(data: bytes, *, max_decoded: int, max_pages: int) -> str:
    from pypdf import PdfReader
    from pypdf.generic import ContentStream

    budget = ContentBudget(max_decoded)
    original_init = ContentStream.__init__

    def counting_init(self, *args, **kwargs):
        budget.spend(0)  # refuse to start another stream once over the limit
        original_init(self, *args, **kwargs)
        budget.spend(len(self.get_data() or b""))

    ContentStream.__init__ = counting_init  # type: ignore[method-assign]

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception:
            raise LimitHit("pdf_encrypted") from None
    if len(reader.pages) > max_pages:
        raise LimitHit("pdf_pages", max_pages)
    parts, size = [], 0
    for page in reader.pages:
        text = page.extract_text() or ""
        # pypdf logs and skips a form XObject that raised, so the budget is checked again here.
        budget.spend(0)
        parts.append(text)
        size += len(text)
        if size >= MAX_TEXT_CHARS:
            break
    return "\n".join(parts)


def docx_text(data: bytes, *, max_xml: int) -> str:
    # python-docx reads every part of the package and parses the XML ones.  The sizes in the ZIP
    # directory bind: zipfile stops at the declared size and then fails the CRC check.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    xml_bytes = sum(info.file_size for info in infos if info.filename.endswith((".xml", ".rels")))
    if xml_bytes > max_xml:
        raise LimitHit("docx_xml", max_xml)

    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def main() -> None:
    limits = json.loads(sys.argv[1])
    file_type = sys.argv[2]
    set_limits(limits["cpu_seconds"], limits["memory_bytes"])
    try:
        data = sys.stdin.buffer.read()
        if file_type == "pdf":
            text = pdf_text(data, max_decoded=limits["max_decoded_bytes"], max_pages=limits["max_pages"])
        elif file_type == "docx":
            text = docx_text(data, max_xml=limits["max_docx_xml_bytes"])
        else:
            raise LimitHit("unknown_type")
        result = {"text": text.replace("\x00", "")[:MAX_TEXT_CHARS]}
    except MemoryError:
        os._exit(EXIT_MEMORY)  # no memory left to build a message
    except LimitHit as hit:
        result = {"error": hit.code, "limit": hit.limit}
    except Exception as exc:  # parsers raise many types on damaged files
        result = {"error": "unreadable", "limit": 0, "message": f"{type(exc).__name__}: {exc}"[:300]}
    sys.stdout.buffer.write(json.dumps(result).encode("ascii"))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
