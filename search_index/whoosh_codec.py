"""The index's storage codec: Whoosh's W3 codec with faster field-length lookups.

When a writer flushes a segment, Whoosh writes every posting together with its document's field
length, which it looks up one posting at a time through a file read of the lengths column
(``W3PerDocReader.doc_field_length``: a seek and a one-byte read per posting — a fifth of the whole
build time in the benchmark's profile).  This codec's per-document reader reads each field's
lengths column once into memory and answers from there, with exactly Whoosh's results (the tests
compare them).  Everything else — file formats included — is W3Codec's, so the index stays a plain
Whoosh 2.7 index.

The codec is written into the index's table of contents (Whoosh pickles it by reference to this
module), like the analyzers of :mod:`search_index.analysis`.

The lengths column and the table of contents are read below Whoosh's public API, through
:mod:`search_index.whoosh_private` (``segment_sizes`` reads only the table of contents: the public way,
``ix.reader().leaf_readers()``, opens every segment's files); tests/search_index/test_worker.py compares
the two.
"""

from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader
from whoosh.util.numeric import byte_to_length

from search_index.whoosh_private import column_bytes, column_count, length_column, toc_segments


class CatalogCodec(W3Codec):
    def __init__(self, blocklimit=128, compression=1, inlinelimit=1):
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def per_document_reader(self, storage, segment):
        return LengthsInMemoryReader(storage, segment)


class LengthsInMemoryReader(W3PerDocReader):
    """A per-document reader that loads a field's lengths column in one read on first use."""

    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        # Whoosh's own count, fixed for the reader's life (the segment's documents, deleted ones included).
        self._all_docs = self.doc_count_all()
        self._length_bytes: dict[str, bytes | None] = {}

    def _lengths(self, fieldname: str) -> bytes | None:
        try:
            return self._length_bytes[fieldname]
        except KeyError:
            pass
        column = length_column(self, fieldname)
        data = None
        if column is not None:
            count = column_count(column)
            data = bytes(column_bytes(column, count)) if count else b""
        self._length_bytes[fieldname] = data
        return data

    def doc_field_length(self, docnum, fieldname, default=0):
        # The same answers as W3PerDocReader.doc_field_length, including its
        # quirk of answering None for a document without that field.
        if docnum > self._all_docs:
            raise IndexError(f"Asked for docnum {docnum!r} of {self._all_docs}")
        data = self._lengths(fieldname)
        if data is None:
            return default
        lbyte = data[docnum] if docnum < len(data) else 0
        if lbyte:
            return byte_to_length(lbyte)
        return None


def segment_sizes(ix) -> list[tuple[int, int]]:
    """(documents including deleted ones, deleted documents) of each segment of an open index.

    Reads only the table of contents.
    """
    return [(segment.doc_count_all(), segment.deleted_count()) for segment in toc_segments(ix)]
