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
# A DOCX is a ZIP: a small upload can unpack to gigabytes ("zip bomb").
# Real court papers stay far below these limits.
MAX_DOCX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_DOCX_RATIO = 200
MAX_PDF_PAGES = 3000


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
                    _check_unpacked_size(archive, len(data))
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


def _check_unpacked_size(archive: zipfile.ZipFile, packed: int) -> None:
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_DOCX_UNPACKED_BYTES or unpacked > MAX_DOCX_RATIO * max(packed, 1) + 10 * 1024 * 1024:
        raise InvalidInput("file", "DOCX 解压后过大，疑似压缩炸弹 (DOCX unpacks too large)", code="bad_file")


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
    if len(reader.pages) > MAX_PDF_PAGES:
        raise InvalidInput("file", f"PDF 超过 {MAX_PDF_PAGES} 页 (too many pages)", code="bad_file")
    parts, size = [], 0
    for page in reader.pages:
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
        if size >= MAX_TEXT_CHARS:
            break
    return "\n".join(parts)


def _docx_text(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts)
