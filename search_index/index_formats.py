"""Whoosh posting formats that read a document's terms from the analyzers' indexing path.

Whoosh turns a field's value into postings in its format's ``word_values``: it runs the analyzer's token
stream (a ``Token`` object passed through a generator per filter) and counts each term's positions and
boosts.  For :class:`~search_index.analysis.IndexingAnalyzer` and
:class:`~search_index.analysis.SectionedAnalyzer` these formats take the same terms, positions and weights
from their ``index_terms``/``index_counts`` instead: the postings, and so the index files, are byte for byte
those of Whoosh's ``Positions`` and ``Frequency`` (tests/search_index/test_index_formats.py compares them),
for less than half the work.  Any other analyzer, a value that is not a string, or a call with other
arguments than a writer's takes Whoosh's own path.

The schema (:mod:`search_index.index_schema`) is pickled into the index with these classes by name: an
index written before them keeps Whoosh's formats and writes the same postings the slower way.
"""

from pickle import dumps

from whoosh import formats
from whoosh.system import pack_uint

from search_index.analysis import IndexingAnalyzer, SectionedAnalyzer


def _indexing(value, kwargs) -> bool:
    """Whether ``word_values`` was called the way a writer calls it (``Field.index``: a string, index mode)."""
    return isinstance(value, str) and not kwargs.keys() - {"mode"} and kwargs.get("mode", "index") == "index"


def _terms(value, analyzer) -> tuple[dict[str, list[int]], dict[str, float] | None] | None:
    """Each term's positions and weights (None: one per token) from the indexing path, or None."""
    if isinstance(analyzer, SectionedAnalyzer):
        return analyzer.index_terms(value)
    if isinstance(analyzer, IndexingAnalyzer):
        return analyzer.index_terms(value)[0], None
    return None


def _encode_positions(poslist: list[int]) -> bytes:
    """Whoosh's ``Positions.encode``: the count, then the pickled deltas."""
    deltas = [poslist[0], *(b - a for a, b in zip(poslist, poslist[1:], strict=False))]
    return pack_uint(len(deltas)) + dumps(deltas, 2)


#: The encoding of a term found once, at each position up to a few thousand (most terms of a record).
_ONE_POSITION = [_encode_positions([pos]) for pos in range(4096)]


class IndexPositions(formats.Positions):
    """Whoosh's ``Positions`` (frequency, weight and positions per posting), fed by the indexing path."""

    def word_values(self, value, analyzer, **kwargs):
        found = _terms(value, analyzer) if _indexing(value, kwargs) else None
        if found is None:
            return super().word_values(value, analyzer, **kwargs)
        poses, weights = found
        fb = self.field_boost
        one = _ONE_POSITION
        limit = len(one)
        out = []
        append = out.append
        for text, poslist in poses.items():
            n = len(poslist)
            if n == 1 and poslist[0] < limit:
                encoded = one[poslist[0]]
            else:
                encoded = _encode_positions(poslist)
            append((text, n, (float(n) if weights is None else weights[text]) * fb, encoded))
        return out


#: Frequency.encode of the small counts: one bytes object each, shared by every posting that holds it (a
#: rebuild keeps its postings in memory: search_index.bulk_writer).
_COUNTS = [pack_uint(n) for n in range(256)]


class IndexFrequency(formats.Frequency):
    """Whoosh's ``Frequency`` (frequency and weight per posting), fed by the indexing path."""

    def word_values(self, value, analyzer, **kwargs):
        if not _indexing(value, kwargs):
            return super().word_values(value, analyzer, **kwargs)
        fb = self.field_boost
        if isinstance(analyzer, IndexingAnalyzer):
            # Each token's boost is 1: its weight is its count.
            counts = _COUNTS
            return [(text, n, float(n) * fb, counts[n] if n < 256 else pack_uint(n))
                    for text, n in analyzer.index_counts(value).items()]
        found = _terms(value, analyzer)
        if found is None:
            return super().word_values(value, analyzer, **kwargs)
        poses, weights = found
        return [(text, len(poslist), (float(len(poslist)) if weights is None else weights[text]) * fb,
                 pack_uint(len(poslist))) for text, poslist in poses.items()]


def use_indexing_formats(schema) -> None:
    """Give every field of ``schema`` whose format is Whoosh's ``Positions`` or ``Frequency`` the format above
    that writes the same postings (with the same field boost)."""
    for name in schema.names():
        field = schema[name]
        fmt = getattr(field, "format", None)
        if type(fmt) is formats.Positions:
            field.format = IndexPositions(field_boost=fmt.field_boost, **fmt.options)
        elif type(fmt) is formats.Frequency:
            field.format = IndexFrequency(field_boost=fmt.field_boost, **fmt.options)
