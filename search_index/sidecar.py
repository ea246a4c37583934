"""A segment's long posting lists, decoded, in one file next to the segment: the sidecar.

Whoosh stores postings as compressed pickles of 128 postings, unpacked in Python (about 70 µs a
block): the first read of a 65,000-posting list costs 25–35 ms in every worker process.  A sidecar
holds the same lists as plain little-endian arrays that a searcher memory-maps and reads in
microseconds, and that every worker shares through the page cache.

Layout of ``<segment id>.cols`` (``MAIN_<segid>.cols``, so Whoosh's own clean-up after a commit deletes
it with its segment's other files)::

    MAGIC (16 bytes)
    key: doc count, terms-file size, postings-file size (3 × uint64)
    per term, 4-byte aligned: ids (int32 × n), weights (float32 × n),
                              and for a positioned field counts (int32 × n), positions (int32 × total)
    table (JSON): segment id, minimum postings, {field: {term: [offset, n, positions or -1]}}
    table offset, table length (2 × uint64)

Terms are the field's raw bytes as latin-1 text (one character per byte).  A segment never changes
once written, so a sidecar is written once (to a dot-name Whoosh's clean-up skips, fsynced, renamed
into place) and read only when its key matches the segment it is opened for: a sidecar left behind by
another segment, or written for a segment that has since been replaced under the same name, is
ignored.  This module knows nothing of Whoosh; :mod:`search_index.postings_cache` computes keys and reads
the lists to write.
"""

from __future__ import annotations

import json
import mmap
import os
import secrets
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"SHUYUAN-COLS-v1\n"
EXTENSION = ".cols"
_KEY = struct.Struct("<3Q")
_TRAILER = struct.Struct("<2Q")

#: (documents in the segment, bytes of its terms file, bytes of its postings file).
Key = tuple[int, int, int]


@dataclass(frozen=True)
class Term:
    """One decoded list to write: ``counts`` and ``positions`` only for a positioned field."""

    fieldname: str
    btext: bytes
    ids: np.ndarray
    weights: np.ndarray
    counts: np.ndarray | None = None
    positions: np.ndarray | None = None


def path_for(folder: str | os.PathLike, segment_id: str) -> Path:
    return Path(folder) / f"{segment_id}{EXTENSION}"


def read_key(path: Path) -> Key | None:
    """The key written in the sidecar at ``path``, or None when there is none or it is unreadable."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC) + _KEY.size)
    except OSError:
        return None
    if len(head) != len(MAGIC) + _KEY.size or not head.startswith(MAGIC):
        return None
    return _KEY.unpack(head[len(MAGIC):])


def write(folder: str | os.PathLike, segment_id: str, key: Key, terms: Iterable[Term], *,
          min_postings: int) -> Path:
    """Write the sidecar of ``segment_id`` atomically; returns its path."""
    final = path_for(folder, segment_id)
    tmp = Path(folder) / f".{final.name}.tmp-{secrets.token_hex(4)}"
    table: dict[str, dict[str, list[int]]] = {}
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC)
            f.write(_KEY.pack(*key))
            offset = len(MAGIC) + _KEY.size
            for term in terms:
                n = len(term.ids)
                parts = [np.ascontiguousarray(term.ids, dtype="<i4"), np.ascontiguousarray(term.weights, dtype="<f4")]
                total = -1
                if term.counts is not None:
                    parts.append(np.ascontiguousarray(term.counts, dtype="<i4"))
                    parts.append(np.ascontiguousarray(term.positions, dtype="<i4"))
                    total = len(term.positions)
                table.setdefault(term.fieldname, {})[term.btext.decode("latin-1")] = [offset, n, total]
                for part in parts:
                    f.write(part.tobytes())
                    offset += part.nbytes
            encoded = json.dumps({"segment": segment_id, "min_postings": min_postings, "terms": table}).encode()
            f.write(encoded)
            f.write(_TRAILER.pack(offset, len(encoded)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return final


def _fsync_dir(folder) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Sidecar:
    """An open sidecar: the lists it holds, as read-only arrays over the mapped file."""

    def __init__(self, buffer: mmap.mmap, terms: dict[str, dict[str, list[int]]], min_postings: int):
        self._buffer = buffer
        self._terms = terms
        #: Every list of at least this many postings is in the sidecar.
        self.min_postings = min_postings

    def __contains__(self, term: tuple[str, bytes]) -> bool:
        fieldname, btext = term
        return btext.decode("latin-1") in self._terms.get(fieldname, ())

    def _entry(self, fieldname: str, btext: bytes) -> list[int] | None:
        return self._terms.get(fieldname, {}).get(btext.decode("latin-1"))

    def postings(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(ids, weights) of the term, or None when the sidecar does not hold it."""
        entry = self._entry(fieldname, btext)
        if entry is None:
            return None
        offset, n, _total = entry
        ids = np.frombuffer(self._buffer, dtype="<i4", count=n, offset=offset)
        weights = np.frombuffer(self._buffer, dtype="<f4", count=n, offset=offset + 4 * n)
        return ids, weights

    def positions(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(ids, weights, position counts, positions) of the term, or None when the sidecar does not hold
        them."""
        entry = self._entry(fieldname, btext)
        if entry is None or entry[2] < 0:
            return None
        offset, n, total = entry
        ids = np.frombuffer(self._buffer, dtype="<i4", count=n, offset=offset)
        weights = np.frombuffer(self._buffer, dtype="<f4", count=n, offset=offset + 4 * n)
        counts = np.frombuffer(self._buffer, dtype="<i4", count=n, offset=offset + 8 * n)
        pos = np.frombuffer(self._buffer, dtype="<i4", count=total, offset=offset + 12 * n)
        return ids, weights, counts, pos


def open_sidecar(folder: str | os.PathLike, segment_id: str, key: Key) -> Sidecar | None:
    """The sidecar of ``segment_id`` when there is one written for exactly this segment (``key``), else None."""
    path = path_for(folder, segment_id)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < len(MAGIC) + _KEY.size + _TRAILER.size:
                return None
            buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    head = len(MAGIC) + _KEY.size
    if buffer[: len(MAGIC)] != MAGIC or _KEY.unpack(buffer[len(MAGIC):head]) != tuple(key):
        buffer.close()
        return None
    table_offset, table_length = _TRAILER.unpack(buffer[size - _TRAILER.size:])
    if table_offset < head or table_offset + table_length + _TRAILER.size != size:
        buffer.close()
        return None
    try:
        table = json.loads(buffer[table_offset: table_offset + table_length])
    except ValueError:
        buffer.close()
        return None
    if not isinstance(table, dict) or table.get("segment") != segment_id or not _entries_fit(table, table_offset):
        buffer.close()
        return None
    return Sidecar(buffer, table["terms"], int(table["min_postings"]))


def _entries_fit(table: dict, end: int) -> bool:
    """Whether every list of the table lies between the key and the table (a search never reads past them)."""
    try:
        int(table["min_postings"])
        for terms in table["terms"].values():
            for offset, n, total in terms.values():
                size = 8 * n if total < 0 else 12 * n + 4 * total
                if offset < len(MAGIC) + _KEY.size or offset % 4 or n < 0 or offset + size > end:
                    return False
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True
