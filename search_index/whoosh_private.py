"""The only place in the project that touches Whoosh's internals (names Whoosh does not export).

Written against whoosh-reloaded :data:`WRITTEN_FOR` (``whoosh.versionstring()``; the distribution is
``whoosh-reloaded``).  Nothing here is Whoosh's public API, so an upgrade may rename or change any of it
without notice: tests/search_index/test_whoosh_private.py checks the installed version against
:data:`WRITTEN_FOR` and checks every accessor against what Whoosh's public API answers on a real index.
After an upgrade, re-read the Whoosh source behind each function below before changing WRITTEN_FOR.

Why each access is needed — speed.  Whoosh's public API walks postings one document at a time and asks
for field lengths one document at a time (a few microseconds per posting, per field).  The search code
(:mod:`search_index.postings_cache`, :mod:`search_index.searcher`) instead reads data straight into numpy
arrays, which the public API cannot do:

* posting blocks (``W3LeafMatcher._read_ids/_read_weights/_read_values``, ``_ids/_weights/_values``,
  ``_next_block``, ``_atend``): a term's postings are decoded a whole block (up to 128 postings) at a
  time, and a phrase's few candidates unpack only the blocks that hold them;
* length columns (``SegmentReader._perdoc``, ``W3PerDocReader._cached_reader``, ``whoosh3._lenfield``,
  the column reader's ``_dbfile/_basepos/_count``): every document's field length of a segment is one
  read of the column's bytes (one byte per document), decoded with :data:`LENGTH_OF_BYTE` by numpy;
  the stored-fields column is opened the same way, and the COLUMN fields' value files (``_colfiles``,
  ``_get_column_file``) are opened without being read, all of them when a searcher opens, so that a
  segment merged away by another process is noticed at once and nothing is opened later (a file not yet
  opened is gone once that process's commit deletes it);
* the index's table of contents (``FileIndex._segments()``): segment sizes without opening every
  segment's files (the public ``ix.reader().leaf_readers()`` does);
* a BM25F weighting's per-field B (``BM25F._field_B``): the public way builds a scorer, which computes
  an idf, for each term.

Keep these calls thin: several run per posting block or per candidate document in hot loops.
"""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, STORED_COLUMN, _lenfield
from whoosh.index import TOC, clean_files
from whoosh.util.numeric import byte_to_length

#: The whoosh-reloaded version every accessor here was written against and checked on.
WRITTEN_FOR = "2.7.5"
#: The distribution that provides the ``whoosh`` package.
DISTRIBUTION = "whoosh-reloaded"


def installed_version() -> str:
    """The installed whoosh-reloaded's version (compare with :data:`WRITTEN_FOR`)."""
    return version(DISTRIBUTION)


# --- length and stored-fields columns ----------------------------------------------------------------

#: Byte of a length column → field length, as Whoosh decodes it (``byte_to_length``), except that byte 0
#: ("no length": Whoosh answers None, and scores with its default of 1) is 1.0.
LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
LENGTH_OF_BYTE[0] = 1.0


def per_doc_reader(leaf):
    """A segment reader's per-document reader (``SegmentReader._perdoc``); None for other readers."""
    return getattr(leaf, "_perdoc", None)


def length_column(perdoc, fieldname: str):
    """The column reader of ``fieldname``'s lengths (one byte per document), opened once and kept by
    ``perdoc``; None when the segment has no such column (the field is empty in it, or the file is gone)."""
    return perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)


def stored_column(perdoc):
    """The column reader of the stored fields, opened once and kept by ``perdoc``; None when its file is
    gone."""
    return perdoc._cached_reader("_stored", STORED_COLUMN)


def open_column_file(perdoc, fieldname: str) -> bool:
    """Open the file of a COLUMN field's values now and keep it in ``perdoc`` (``W3PerDocReader._colfiles``,
    where Whoosh's ``column_reader`` keeps it on first use), without reading it; False when the segment has no
    such column.  Once open, neither this nor :func:`opened_value_column` looks at the disk again (Whoosh's
    public ``column_reader`` asks whether the file exists every time, and answers a column of defaults for a
    file merged away since)."""
    if fieldname in perdoc._colfiles:
        return True
    if not perdoc.has_column(fieldname):
        return False
    perdoc._colfiles[fieldname] = perdoc._get_column_file(fieldname)
    return True


def opened_value_column(perdoc, fieldname: str, column):
    """The reader of a COLUMN field's values (``column``: its column type) on the file
    :func:`open_column_file` opened; None when it was not opened."""
    if fieldname not in perdoc._colfiles:
        return None
    return perdoc.column_reader(fieldname, column)


def column_count(column) -> int:
    """How many values a fixed-width column holds in its file (documents after the last one given a
    value are not written: fewer than ``len(column)``)."""
    return column._count


def column_bytes(column, count: int):
    """The first ``count`` bytes of a column's data (of a length column: the first ``count`` documents'
    length bytes), in one read."""
    return column._dbfile.get(column._basepos, count)


# --- posting blocks of a W3LeafMatcher ----------------------------------------------------------------


def block_ids(m):
    """The document numbers of the matcher's current block (decoded on first use)."""
    if m._ids is None:
        m._read_ids()
    return m._ids


def block_weights(m):
    """The weights of the matcher's current block (decoded on first use)."""
    if m._weights is None:
        m._read_weights()
    return m._weights


def block_values(m):
    """The encoded values (positions …) of the matcher's current block (decoded on first use)."""
    if m._values is None:
        m._read_values()
    return m._values


def next_block(m) -> None:
    """Move the matcher to its next block, or to the end after the last one."""
    m._next_block()


def at_end(m) -> bool:
    """Whether the matcher has moved past its last block."""
    return m._atend


# --- index and weighting -----------------------------------------------------------------------------


def commit_segments(ix, segments) -> None:
    """Make ``segments`` (written by writers that did not commit: ``bulk_writer.write_segments``) the index's
    segments: a new table of contents listing them and nothing else, and the files of any other segment
    removed — what ``SegmentWriter._commit_toc`` does at the end of a commit."""
    generation = ix.latest_generation() + 1
    TOC(ix.schema, segments, generation).write(ix.storage, ix.indexname)
    clean_files(ix.storage, ix.indexname, generation, segments)


def toc_segments(ix) -> list:
    """The segments of a file index, read from its table of contents only (no segment file opened)."""
    return ix._segments()


def field_b(weighting, fieldname: str) -> float:
    """The B of a BM25F weighting for ``fieldname`` (``fieldname_B=`` given to it, else its B)."""
    return weighting._field_B.get(fieldname, weighting.B)
