"""Writing a whole segment at once, for rebuilds: Whoosh's segment writer with the postings kept by term.

Whoosh's ``SegmentWriter`` puts every posting into a pool as a 5-tuple (field, term, document, weight,
value), spills the pool to disk in pickled runs of single postings, sorts all of them, and then walks them
one at a time into 128-posting blocks: after the analysis, a rebuild's largest cost (6 µs of CPU per posting,
202 postings per record, against 4 µs written here; docs/performance.md, "A million records").  :class:`BulkSegmentWriter` writes
the same segment — the same files, byte for byte (tests/search_index/test_bulk_writer.py compares them) —
keeping each term's postings together as it goes: a document adds to its terms' arrays, only the terms are
sorted, and a term's postings go to Whoosh's block writer a block at a time.  When the postings held pass
``limitmb`` they are written to a run file, sorted by term, and the runs are joined term by term at the end
(documents are added in order, so a term's postings in a later run follow those of an earlier one).

It is the writer of :func:`search_index.indexer.rebuild` only; drains and merges keep Whoosh's own.  It
reaches below Whoosh's public API (``SegmentWriter``'s per-document writer, field writer and segment
methods, ``W3PostingsWriter``'s block buffer), written against whoosh-reloaded
:data:`search_index.whoosh_private.WRITTEN_FOR` like the accessors of :mod:`search_index.whoosh_private`:
the byte-for-byte test fails when an upgrade changes any of it.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import pickle
import queue
import tempfile
import traceback
from array import array
from collections.abc import Callable, Iterable, Iterator

from whoosh.fields import FieldType
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

#: Bytes a posting held is counted as (a document number, a weight, a reference to its value — values are
#: mostly shared: see index_formats — and the arrays' spare room), and a term's own entry: measured, 147 MB of
#: resident memory for 2.5 million postings of 108,600 new terms (the benchmark's catalogue).
POSTING_BYTES = 36
TERM_BYTES = 400


class _Terms:
    """One field's postings by term: document numbers, weights (as Whoosh computed them) and values."""

    __slots__ = ("ids", "weights", "values")

    def __init__(self):
        self.ids = array("I")
        self.weights = array("d")
        self.values: list[bytes] = []


class BulkSegmentWriter(SegmentWriter):
    """A ``SegmentWriter`` for a segment written in one go (``add_document`` then :meth:`finish_segment`).

    Fields with spelling words or term vectors are not supported (the catalogue's schema has none); use
    Whoosh's own writer for them.
    """

    def __init__(self, ix, limitmb: int = 512, **kwargs):
        super().__init__(ix, limitmb=limitmb, **kwargs)
        for name in self.schema.names():
            field = self.schema[name]
            if field.separate_spelling() or field.vector:
                raise ValueError(f"BulkSegmentWriter: field {name!r} has spelling words or term vectors")
        self._limit = limitmb * 2**20
        self._size = 0
        # Field → its terms (as text for the fields in _text_keyed, else as bytes) → their postings.
        self._fields: dict[str, dict] = {}
        self._text_keyed: set[str] = set()
        self._runs: list[str] = []
        # Beside Whoosh's own temporary files (removed with the writer), or in the system's temporary directory.
        self._rundir = getattr(self._tempstorage, "folder", None)

    # --- adding ------------------------------------------------------------------------------------

    def add_document(self, **fields) -> None:
        # Whoosh's SegmentWriter.add_document, with the postings going to the term arrays.
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted([name for name in fields if not name.startswith("_")])
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    if type(field).index is FieldType.index and isinstance(value, str) and field.format:
                        # FieldType.index without encoding each term of each document: the terms are kept as
                        # text and encoded once each when the segment is written.
                        items = field.format.word_values(value, field.analyzer, mode="index")
                        terms = self._text_terms(fieldname)
                    else:
                        items = field.index(value)
                        terms = self._bytes_terms(fieldname)
                    length = self._add_postings(terms, docnum, items, fieldboost, field.scorable)
                customval = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1
        if self._size > self._limit:
            self._spill()

    def _text_terms(self, fieldname: str) -> dict[str, _Terms]:
        terms = self._fields.get(fieldname)
        if terms is None:
            terms = self._fields[fieldname] = {}
            self._text_keyed.add(fieldname)
        elif fieldname not in self._text_keyed:
            raise ValueError(f"field {fieldname!r} was given both as text and otherwise")
        return terms

    def _bytes_terms(self, fieldname: str) -> dict[bytes, _Terms]:
        terms = self._fields.get(fieldname)
        if terms is None:
            terms = self._fields[fieldname] = {}
        elif fieldname in self._text_keyed:
            raise ValueError(f"field {fieldname!r} was given both as text and otherwise")
        return terms

    def _add_postings(self, terms: dict, docnum: int, items, fieldboost: float, scorable: bool) -> int:
        length = 0
        added = 0
        for tbytes, freq, weight, vbytes in items:
            entry = terms.get(tbytes)
            if entry is None:
                entry = terms[tbytes] = _Terms()
                added += TERM_BYTES + len(tbytes)
            entry.ids.append(docnum)
            entry.weights.append(weight * fieldboost)
            entry.values.append(vbytes)
            if scorable:
                length += freq
            added += POSTING_BYTES
        self._size += added
        return length

    def _spill(self) -> None:
        """Write the postings held to a run file, by field and term, and start again empty."""
        fd, path = tempfile.mkstemp(prefix="bulk", suffix=".run", dir=self._rundir)
        with os.fdopen(fd, "wb") as f:
            for key, ids, weights, values in self._held():
                pickle.dump((key, ids.tobytes(), weights.tobytes(), values), f, pickle.HIGHEST_PROTOCOL)
        self._runs.append(path)
        self._fields = {}
        self._text_keyed = set()
        self._size = 0

    def _held(self) -> Iterator[tuple[tuple[str, bytes], array, array, list[bytes]]]:
        for fieldname in sorted(self._fields):
            terms = self._fields[fieldname]
            # Text sorts by code point, which is the order of its UTF-8 bytes.
            encode = str.encode if fieldname in self._text_keyed else None
            for term in sorted(terms):
                entry = terms[term]
                yield (fieldname, encode(term) if encode else term), entry.ids, entry.weights, entry.values

    @staticmethod
    def _read_run(path: str) -> Iterator[tuple[tuple[str, bytes], array, array, list[bytes]]]:
        with open(path, "rb") as f:
            while True:
                try:
                    key, ids, weights, values = pickle.load(f)
                except EOFError:
                    return
                yield key, array("I", ids), array("d", weights), values

    def _terms(self) -> Iterator[tuple[str, bytes, array, array, list[bytes]]]:
        """Every term of the segment in order, with all its postings (runs first, in the order written)."""
        if not self._runs:
            for (fieldname, tbytes), ids, weights, values in self._held():
                yield fieldname, tbytes, ids, weights, values
            return
        sources = [self._read_run(path) for path in self._runs] + [self._held()]
        # (key, source number): a term's parts come out in the order they were written.  Each source is read a
        # term at a time as the merge asks for it: read whole, the runs would bring every posting of the segment
        # back into memory at once (a writer of 500,000 records: over 5 GB, whatever ``limitmb``).
        merged = heapq.merge(*(_numbered(source, n) for n, source in enumerate(sources)))
        current = None
        for key, _n, (_key, ids, weights, values) in merged:
            if current is not None and current[0] == key:
                current[1].extend(ids)
                current[2].extend(weights)
                current[3].extend(values)
                continue
            if current is not None:
                yield current[0][0], current[0][1], current[1], current[2], current[3]
            current = [key, array("I", ids), array("d", weights), list(values)]
        if current is not None:
            yield current[0][0], current[0][1], current[1], current[2], current[3]

    # --- writing the segment --------------------------------------------------------------------------

    def finish_segment(self):
        """Write the segment's files and return it (a ``whoosh.codec.base.Segment``) for a table of contents
        (``search_index.indexer.rebuild`` commits the segments of all its writers at once); the writer is
        closed after it."""
        self._check_state()
        try:
            self._flush_segment()
            self._close_segment()
            segment = self.get_segment()
        finally:
            self._cleanup_runs()
        self._close()
        return segment

    def _close(self) -> None:
        # SegmentWriter._finish without destroying the index's temporary directory: the writers of one build
        # share it (Whoosh's per-document writer keeps its files there too); write_segments removes it.
        self.is_closed = True
    def _flush_segment(self) -> None:
        # SegmentWriter._flush_segment, with the terms written from their arrays.
        self.perdocwriter.close()
        pdr = self.per_document_reader()
        try:
            write_terms(self.fieldwriter, self.schema, pdr, self._terms())
        finally:
            self.fieldwriter.close()
            pdr.close()

    def cancel(self) -> None:
        self._check_state()
        self._cleanup_runs()
        self._close_segment()
        self._close()

    def _cleanup_runs(self) -> None:
        for path in self._runs:
            try:
                os.remove(path)
            except OSError:
                pass
        self._runs = []
        self._fields = {}


def _numbered(source: Iterator[tuple], n: int) -> Iterator[tuple]:
    """``source``'s items as ``(key, n, item)``, lazily (a function, not a generator expression in a loop: that
    would read ``n`` when first iterated, the loop's last value by then)."""
    for item in source:
        yield item[0], n, item


def write_terms(fieldwriter, schema, lengths, terms) -> None:
    """Write ``terms`` — ``(fieldname, tbytes, ids, weights, values)`` in field then term order — with a
    W3 field writer, as ``FieldWriter.add_postings`` would write the same postings one at a time:
    ``lengths`` is the segment's per-document reader (the codec's, which reads a field's length column at
    once: ``search_index.whoosh_codec``)."""
    fieldname = None
    length_bytes = None
    for name, tbytes, ids, weights, values in terms:
        if name != fieldname:
            if fieldname is not None:
                fieldwriter.finish_field()
            fieldname = name
            fieldwriter.start_field(fieldname, schema[fieldname])
            length_bytes = lengths._lengths(fieldname)
        fieldwriter.start_term(tbytes)
        _write_blocks(fieldwriter._postwriter, ids, weights, values, length_bytes)
        fieldwriter.finish_term()
    if fieldname is not None:
        fieldwriter.finish_field()


def _write_blocks(pw, ids: array, weights: array, values: list[bytes], length_bytes: bytes | None) -> None:
    """Give a ``W3PostingsWriter`` a term's postings a block at a time: its buffer set as ``add_posting``
    would have left it (ids, float32 weights, the non-empty values, the largest weight, the smallest and
    largest non-zero length) and written with ``_write_block``, the last block marked last."""
    limit = pw._blocklimit
    n = len(ids)
    for start in range(0, n, limit):
        end = start + limit
        block_ids = ids[start:end]
        block_weights = weights[start:end]
        pw._ids = block_ids
        pw._weights = array("f", block_weights)
        pw._values = [v for v in values[start:end] if v]
        top = max(block_weights)
        pw._maxweight = top if top > 0 else 0
        minlength, maxlength = None, 0
        if length_bytes is not None:
            size = len(length_bytes)
            found = [length_bytes[d] for d in block_ids if d < size and length_bytes[d]]
            if found:
                minlength, maxlength = byte_to_length(min(found)), byte_to_length(max(found))
        pw._minlength = minlength
        pw._maxlength = maxlength
        pw._write_block(last=end >= n)


# --- several writer processes -------------------------------------------------------------------------

#: Documents sent to a writer process at a time.
BATCH_DOCS = 100


def write_segments(ix, docs: Iterable[dict], *, prepare: Callable[[dict], dict], procs: int = 1,
                   limitmb: int = 512, codec_factory: Callable[[], object], after: Callable | None = None,
                   progress: Callable[[int], None] | None = None) -> list:
    """Index ``docs`` (each turned into a writer's fields by ``prepare``) into new segments of ``ix``, one per
    writer process, and return them, not yet committed (``whoosh_private.commit_segments``).

    With ``procs`` > 1 this process reads ``docs`` and hands them out in batches to ``procs`` forked writer
    processes, which prepare and index them; ``after(storage, schema, segment)`` runs in each writer on its
    finished segment (the sidecar: search_index.postings_cache), so that every part of the build shares the
    cores.  With 1, all of it runs here.
    """
    try:
        return _write_segments(ix, docs, prepare=prepare, procs=procs, limitmb=limitmb, codec_factory=codec_factory,
                               after=after, progress=progress)
    finally:
        # The writers' shared temporary directory (SegmentWriter's "<indexname>.tmp").
        ix.storage.temp_storage(f"{ix.indexname}.tmp").destroy()


def _write_segments(ix, docs, *, prepare, procs, limitmb, codec_factory, after, progress) -> list:
    if procs <= 1:
        writer = BulkSegmentWriter(ix, _lk=False, limitmb=limitmb, compound=False, codec=codec_factory())
        try:
            for doc in docs:
                writer.add_document(**prepare(doc))
                if progress:
                    progress(1)
        except BaseException:
            writer.cancel()
            raise
        if writer.docnum == 0:  # an empty catalogue: an index without segments
            writer.cancel()
            return []
        segment = writer.finish_segment()
        if after is not None:
            after(ix.storage, ix.schema, segment)
        return [segment]

    ctx = multiprocessing.get_context("fork")
    jobs = ctx.Queue(procs * 4)
    results = ctx.Queue()
    workers = [ctx.Process(target=_writer_process, args=(ix.storage, ix.indexname, jobs, results, prepare, limitmb,
                                                          codec_factory, after), daemon=True)
               for _ in range(procs)]
    for worker in workers:
        worker.start()
    try:
        batch: list[dict] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= BATCH_DOCS:
                _put(jobs, batch, workers)
                batch = []
            if progress:
                progress(1)
        if batch:
            _put(jobs, batch, workers)
        for _ in workers:
            _put(jobs, None, workers)
        segments = []
        for _ in workers:
            kind, payload = _get(results, workers)
            if kind == "error":
                raise RuntimeError(f"an index writer process failed:\n{payload}")
            if payload is not None:
                segments.append(payload)
        for worker in workers:
            worker.join()
        return segments
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()


def _put(jobs, item, workers) -> None:
    """Queue ``item`` for the writers, noticing when one of them has died instead of waiting forever."""
    while True:
        try:
            jobs.put(item, timeout=1.0)
            return
        except queue.Full:
            _check_alive(workers)


def _get(results, workers):
    while True:
        try:
            return results.get(timeout=1.0)
        except queue.Empty:
            _check_alive(workers)


def _check_alive(workers) -> None:
    for worker in workers:
        if worker.exitcode not in (None, 0):
            raise RuntimeError(f"an index writer process ended with exit code {worker.exitcode}")


def _writer_process(storage, indexname, jobs, results, prepare, limitmb, codec_factory, after) -> None:
    try:
        ix = storage.open_index(indexname)
        writer = BulkSegmentWriter(ix, _lk=False, limitmb=limitmb, compound=False, codec=codec_factory())
        try:
            while (batch := jobs.get()) is not None:
                for doc in batch:
                    writer.add_document(**prepare(doc))
        except BaseException:
            writer.cancel()
            raise
        if writer.docnum == 0:  # more writers than batches: no segment
            writer.cancel()
            results.put(("segment", None))
            return
        segment = writer.finish_segment()
        if after is not None:
            after(storage, ix.schema, segment)
        results.put(("segment", segment))
    except BaseException:
        results.put(("error", traceback.format_exc()))
        raise  # a non-zero exit code: the parent stops waiting for this writer
