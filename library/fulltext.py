"""Checking and reading the full-text files attached to papers (PDF, DOCX, TXT).

The type is decided by the file's content, not by its name or the client's
Content-Type: a PDF starts with ``%PDF-``, a DOCX is a ZIP holding
``word/document.xml``, and text must decode as UTF-8 or GB18030.  That check
(``check_file``) is cheap and runs in the web process; a file that fails it is
refused.

Reading the text of a PDF or DOCX never runs in the web process: a few hundred
hostile bytes can keep a parser busy for minutes.  ``extract_text`` hands the
file to ``library/extract_worker.py`` in a fresh interpreter with CPU, memory
and wall-clock limits (settings ``PAPER_EXTRACT_*``).  A file it cannot read
is not refused: the paper keeps it and says why its text is missing.
"""

import io
import json
import logging
import os
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import InvalidInput

logger = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("extract_worker.py")
EXIT_MEMORY = 3  # extract_worker.EXIT_MEMORY; that module imports nothing of the project
MAX_TEXT_CHARS = 2_000_000
# A DOCX is a ZIP: a small upload can unpack to gigabytes ("zip bomb").
# Real court papers stay far below these limits.
MAX_DOCX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_DOCX_RATIO = 200


@dataclass(frozen=True)
class Extraction:
    text: str = ""
    error: str = ""  # why there is no text, for people (Chinese, then English); "" on success

    @property
    def ok(self) -> bool:
        return not self.error


def decode_text(data: bytes) -> str:
    """Decode plain text saved as UTF-8 (with or without BOM) or GB18030; raise UnicodeDecodeError otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def check_file(data: bytes) -> str:
    """Return the type of an uploaded full-text file: "pdf", "docx" or "txt".

    Raises InvalidInput (field ``file``) for an empty file, another type, text in another encoding
    or a ZIP bomb.  Reads only magic bytes, the ZIP directory and (for text) the decoding.
    """
    if not data:
        raise InvalidInput("file", _("文件为空"), code="empty_file")
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
        raise InvalidInput("file", _("ZIP 文件不是 Word 文档"), code="bad_file_type")
    if b"\x00" in data[:8192]:
        raise InvalidInput("file", _("只接受 PDF、DOCX 或 TXT 文件"), code="bad_file_type")
    try:
        decode_text(data)
    except UnicodeDecodeError:
        raise InvalidInput("file", _("文本文件应为 UTF-8 或 GB18030 编码"), code="bad_file_type") from None
    return "txt"


def download_name(filename: str, file_type: str) -> str:
    """The client's file name without folders, its extension forced to the checked type: a text file
    sent as ``evil.html`` is stored and downloaded as ``evil.txt``."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    stem = name.rsplit(".", 1)[0].strip() if "." in name else name
    return f"{stem[:240] or 'paper'}.{file_type or 'bin'}"


def _check_unpacked_size(archive: zipfile.ZipFile, packed: int) -> None:
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_DOCX_UNPACKED_BYTES or unpacked > MAX_DOCX_RATIO * max(packed, 1) + 10 * 1024 * 1024:
        raise InvalidInput("file", _("DOCX 解压后过大，疑似压缩炸弹"), code="bad_file")


def extract_text(data: bytes, file_type: str) -> Extraction:
    """The text of a file ``check_file`` accepted; PDF and DOCX are read by a sandboxed child process.

    Takes up to ``PAPER_EXTRACT_WALL_SECONDS`` (plus the child's start-up, about 0.3 s).
    """
    if file_type == "txt":
        return Extraction(text=decode_text(data).replace("\x00", "")[:MAX_TEXT_CHARS])
    limits = {
        "cpu_seconds": int(settings.PAPER_EXTRACT_CPU_SECONDS),
        "memory_bytes": int(settings.PAPER_EXTRACT_MEMORY_BYTES),
        "max_decoded_bytes": int(settings.PAPER_EXTRACT_MAX_DECODED_BYTES),
        "max_pages": int(settings.PAPER_EXTRACT_MAX_PAGES),
        "max_docx_xml_bytes": int(settings.PAPER_EXTRACT_MAX_DOCX_XML_BYTES),
    }
    wall = settings.PAPER_EXTRACT_WALL_SECONDS
    try:
        # -I: no PYTHON* variables, no user site, not even the worker's own folder on sys.path.
        # The environment is emptied so that no secret (database URL, keys) reaches the parser.
        child = subprocess.run(
            [sys.executable, "-I", str(WORKER), json.dumps(limits), file_type],
            input=data,
            capture_output=True,
            timeout=wall,
            env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},
            cwd="/",
        )
    except subprocess.TimeoutExpired:  # run() has killed the child
        return Extraction(error=_("提取超时，超过 %(seconds)s 秒") % {"seconds": f"{wall:g}"})
    if child.returncode == 0:
        try:
            result = json.loads(child.stdout)
        except ValueError:
            result = {"error": "crashed"}
    elif child.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        result = {"error": "cpu", "limit": limits["cpu_seconds"]}
    elif child.returncode == EXIT_MEMORY or b"MemoryError" in child.stderr:
        result = {"error": "memory", "limit": limits["memory_bytes"]}
    else:
        result = {"error": "crashed"}
    if "error" not in result:
        return Extraction(text=result["text"])
    logger.info("could not extract %s text: %s %s", file_type, result, child.stderr[-500:])
    return Extraction(error=_reason(result["error"], result.get("limit", 0), file_type))


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.2f}".rstrip("0").rstrip(".")


def _reason(code: str, limit: int, file_type: str) -> str:
    params = {"mb": _mb(limit), "limit": limit}
    reasons = {
        "pdf_decoded": _("PDF 内容超过解码上限 %(mb)s MB"),
        "pdf_pages": _("PDF 超过 %(limit)s 页"),
        "pdf_encrypted": _("PDF 文件已加密"),
        "docx_xml": _("DOCX 文档 XML 超过 %(mb)s MB"),
        "cpu": _("提取超过 CPU 时间上限 %(limit)s 秒"),
        "memory": _("提取内存超限 %(mb)s MB"),
        "crashed": _("提取进程异常退出"),
    }
    if code not in reasons:
        return _("无法读取 %(type)s 文件，文件可能已损坏") % {"type": file_type.upper()}
    return reasons[code] % params
