"""Checking and reading the full-text files attached to papers (PDF, DOCX, TXT).

The type is decided by the file's content, not by its name or the client's
Content-Type: a PDF starts with ``%PDF-``, a DOCX is a ZIP holding
``word/document.xml``, and text must decode as UTF-8 or GB18030.
"""

import io
import logging
import zipfile
from dataclasses import dataclass

from shuyuan.errors import InvalidInput

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2_000_000


@dataclass(frozen=True)
class ExtractedFile:
    file_type: str  # "pdf" | "docx" | "txt"
    text: str


def decode_text(data: bytes) -> str:
    """Decode plain text saved as UTF-8 (with or without BOM) or GB18030; raise UnicodeDecodeError otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def sniff_type(data: bytes, filename: str) -> str:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
        raise InvalidInput("file", "ZIP 文件不是 Word 文档 (a ZIP that is not a DOCX document)", code="bad_file_type")
    if b"\x00" in data[:8192]:
        raise InvalidInput("file", "只接受 PDF、DOCX 或 TXT 文件 (only PDF, DOCX or TXT files)", code="bad_file_type")
    try:
        decode_text(data)
    except UnicodeDecodeError:
        raise InvalidInput("file", "文本文件应为 UTF-8 或 GB18030 编码 (text must be UTF-8 or GB18030)", code="bad_file_type") from None
    return "txt"


def extract(data: bytes, filename: str) -> ExtractedFile:
    """Check the type of an uploaded full-text file and extract its text.

    Raises InvalidInput (field ``file``) for an unsupported or unreadable file.
    """
    if not data:
        raise InvalidInput("file", "文件为空 (empty file)", code="empty_file")
    file_type = sniff_type(data, filename)
    try:
        if file_type == "pdf":
            text = _pdf_text(data)
        elif file_type == "docx":
            text = _docx_text(data)
        else:
            text = decode_text(data)
    except InvalidInput:
        raise
    except Exception as exc:  # parsers raise many types on damaged files
        logger.info("could not read %s file %r: %s", file_type, filename, exc)
        raise InvalidInput("file", f"无法读取 {file_type.upper()} 文件，文件可能已损坏 (unreadable file)", code="bad_file") from None
    text = text.replace("\x00", "")
    return ExtractedFile(file_type=file_type, text=text[:MAX_TEXT_CHARS])


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception:
            raise InvalidInput("file", "PDF 文件已加密 (encrypted PDF)", code="bad_file") from None
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _docx_text(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts)
