"""search_index.bulk_writer: a rebuild's segments are the ones Whoosh's own writer would write, in one process
or several."""

import hashlib
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader

from search_index import documents, generations, indexer, laws, searcher, services, sidecar, whoosh_private
from search_index.bulk_writer import BulkSegmentWriter
from search_index.index_schema import INDEX_NAME, build_schema
from search_index.whoosh_codec import CatalogCodec
from tests.search_index.conftest import build_catalog


@pytest.fixture
def fields(db):
    """The index fields of a small catalogue (every analysis path), each record twice over, so that terms have
    several postings."""
    build_catalog()
    dictionary = laws.current()
    return [indexer._index_fields(doc, dictionary) for doc in documents.all_documents()] * 2


def new_index(path):
    path.mkdir()
    return FileStorage(str(path)).create_index(build_schema(), indexname=INDEX_NAME)


def segment_files(ix, segment) -> dict[str, str]:
    """The segment's files by name (the segment id left out) and the digest of their bytes."""
    sid = segment.segment_id()
    return {name.replace(sid, "SEG"): hashlib.sha256(ix.storage.open_file(name).read()).hexdigest()
            for name in ix.storage.list() if name.startswith(sid)}


def postings(ix, segment) -> dict:
    """Every term's postings (id, weight, value) and statistics, read back through Whoosh's reader."""
    reader = SegmentReader(ix.storage, ix.schema, segment)
    out = {}
    for (fieldname, btext), info in reader:
        matcher = reader.postings(fieldname, btext)
        found = []
        while matcher.is_active():
            found.append((matcher.id(), matcher.weight(), matcher.value()))
            matcher.next()
        out[fieldname, btext] = (found, info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                                 info.max_weight(), info.min_id(), info.max_id())
    reader.close()
    return out


def test_a_bulk_segment_has_the_files_whooshs_writer_writes_byte_for_byte(tmp_path, fields):
    whoosh_ix = new_index(tmp_path / "whoosh")
    writer = whoosh_ix.writer(compound=False, codec=CatalogCodec())
    for f in fields:
        writer.add_document(**f)
    writer.commit()
    [whoosh_segment] = whoosh_private.toc_segments(whoosh_ix)

    bulk_ix = new_index(tmp_path / "bulk")
    writer = BulkSegmentWriter(bulk_ix, _lk=False, compound=False, codec=CatalogCodec())
    for f in fields:
        writer.add_document(**f)
    bulk_segment = writer.finish_segment()

    expected = segment_files(whoosh_ix, whoosh_segment)
    assert {".pst", ".trm", "._stored.col", "._body_len.col"} <= {name[3:] for name in expected}
    assert segment_files(bulk_ix, bulk_segment) == expected
    assert bulk_segment.doc_count_all() == len(fields)


def test_postings_written_to_run_files_come_back_whole_and_in_order(tmp_path, fields):
    """A writer over its memory limit writes runs and joins them by term at the end: the same postings and term
    statistics as a writer that held everything."""
    held = BulkSegmentWriter(new_index(tmp_path / "held"), _lk=False, compound=False, codec=CatalogCodec())
    spilled = BulkSegmentWriter(new_index(tmp_path / "spilled"), _lk=False, compound=False, codec=CatalogCodec())
    spilled._limit = 20_000  # bytes: a run every few records
    runs = []
    for f in fields:
        held.add_document(**f)
        spilled.add_document(**f)
        runs.append(len(spilled._runs))
    assert runs[-1] >= 5 and held._runs == []
    run_files = list(spilled._runs)
    expected = postings(held.storage.open_index(INDEX_NAME), held.finish_segment())
    segment = spilled.finish_segment()
    assert postings(spilled.storage.open_index(INDEX_NAME), segment) == expected
    assert len(expected) > 100
    assert not any(Path(path).exists() for path in run_files)  # removed with the writer


def test_run_files_are_read_a_term_at_a_time_as_they_are_joined(tmp_path, fields):
    """The runs are merged as streams: when the first term comes out, each run has given at most two of its
    terms (the one merged and the next), not all of them — read whole, a writer's runs held every posting of its
    segment in memory at once at the end (5.4 GB for a writer of 500,000 records, issue 21)."""
    writer = BulkSegmentWriter(new_index(tmp_path / "spilled"), _lk=False, compound=False, codec=CatalogCodec())
    writer._limit = 20_000
    for f in fields:
        writer.add_document(**f)
    assert len(writer._runs) >= 5
    in_runs = sum(1 for path in writer._runs for _ in BulkSegmentWriter._read_run(path))
    read = []

    def counted(path):
        for item in BulkSegmentWriter._read_run(path):
            read.append(path)
            yield item

    writer._read_run = counted
    terms = writer._terms()
    next(terms)
    assert in_runs > 20 * len(writer._runs)
    assert len(read) <= 2 * len(writer._runs)
    terms.close()
    writer.cancel()


def test_a_rebuild_with_two_writer_processes_finds_what_one_process_finds(db, settings, tmp_path, monkeypatch):
    settings.SEARCH_INDEX_DIR = str(tmp_path / "index")
    monkeypatch.setattr("search_index.bulk_writer.BATCH_DOCS", 2)  # both writers get records
    build_catalog()
    queries = ["担保物权", "民法", "wuquan", "Judgment", "擔保", "张明楷", "D923.2", "草原 生态", "ᠮᠣᠩᠭᠣᠯ"]

    def results():
        searcher.reset()
        return {q: sorted((hit.type, hit.id) for hit in services.search(q, filters=services.Filters(), limit=50).items) for q in queries}

    services.index_rebuild(procs=1)
    one = results()
    services.index_rebuild(procs=2)
    two = results()
    assert two == one
    assert {q: len(found) for q, found in one.items()} == {
        "担保物权": 4, "民法": 1, "wuquan": 3, "Judgment": 1, "擔保": 4, "张明楷": 1, "D923.2": 2, "草原 生态": 1,
        "ᠮᠣᠩᠭᠣᠯ": 1}

    ix = generations.open_index()
    segments = whoosh_private.toc_segments(ix)
    assert len(segments) == 2
    assert sum(s.doc_count_all() for s in segments) == documents.count_documents()
    ix.close()


def test_each_writer_process_writes_its_segments_sidecar(db, settings, tmp_path, monkeypatch):
    settings.SEARCH_INDEX_DIR = str(tmp_path / "index")
    monkeypatch.setattr("search_index.postings_cache.SIDECAR_MIN_POSTINGS", 2)
    monkeypatch.setattr("search_index.bulk_writer.BATCH_DOCS", 2)
    build_catalog()
    services.index_rebuild(procs=2)
    ix = generations.open_index()
    folder = ix.storage.folder
    segments = whoosh_private.toc_segments(ix)
    assert len(segments) == 2
    for segment in segments:
        assert sidecar.read_key(sidecar.path_for(folder, segment.segment_id())) is not None
    ix.close()


def test_a_failing_writer_process_fails_the_rebuild_and_keeps_the_old_index(db, settings, tmp_path, monkeypatch):
    settings.SEARCH_INDEX_DIR = str(tmp_path / "index")
    records = build_catalog()
    services.index_rebuild(procs=1)
    before = generations.current_generation()
    real = indexer._index_fields

    def broken(doc, dictionary=None):
        if doc["key"] == f"book:{records['xingfa'].pk}":
            raise ValueError("a record that cannot be indexed")
        return real(doc, dictionary)

    monkeypatch.setattr(indexer, "_index_fields", broken)
    with pytest.raises(RuntimeError, match="a record that cannot be indexed"):
        services.index_rebuild(procs=2)
    assert generations.current_generation() == before
    assert sorted(p.name for p in generations.root().glob("gen-*")) == [before]  # the new one removed
    searcher.reset()
    assert [hit.id for hit in services.search("刑法学", filters=services.Filters()).items] == [records["xingfa"].pk]
