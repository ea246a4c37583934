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

``segment_sizes`` reads the table of contents through ``FileIndex._segments()``, a private method of
whoosh-reloaded 2.7.5 (the public way, ``ix.reader().leaf_readers()``, opens every segment's files);
tests/search_index/test_worker.py compares the two.
"""

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, _lenfield
from whoosh.util.numeric import byte_to_length


class CatalogCodec(W3Codec):
    def __init__(self, blocklimit=128, compression=1, inlinelimit=1):
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def per_document_reader(self, storage, segment):
        return LengthsInMemoryReader(storage, segment)


class LengthsInMemoryReader(W3PerDocReader):
    """A per-document reader that loads a field's lengths column in one read on first use."""

    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        self._length_bytes: dict[str, bytes | None] = {}

    def _lengths(self, fieldname: str) -> bytes | None:
        try:
            return self._length_bytes[fieldname]
        except KeyError:
            pass
        column = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        data = None
        if column is not None:
            data = bytes(column._dbfile.get(column._basepos, column._count)) if column._count else b""
        self._length_bytes[fieldname] = data
        return data

    def doc_field_length(self, docnum, fieldname, default=0):
        # The same answers as W3PerDocReader.doc_field_length, including its
        # quirk of answering None for a document without that field.
        if docnum > self._doccount:
            raise IndexError(f"Asked for docnum {docnum!r} of {self._doccount}")
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
    return [(segment.doc_count_all(), segment.deleted_count()) for segment in ix._segments()]
