#!/usr/bin/env python
"""Where a full build's CPU goes, part by part, beside FTS5's build of the same records.

    python bench/build_breakdown.py --workdir /tmp/shuyuan-bench [--sample 10000]

Reads a sample of the catalogue of an earlier ``bench/search_bench.py`` run in ``--workdir`` (95% books, 5%
papers, as the catalogue) and, in this one process, measures the CPU time (user + system) of each part of
``search_index.indexer.rebuild`` over it: reading the records into documents, turning them into the writer's
fields, the analysis of each field (the indexing formats, and Whoosh's own formats for comparison), the
segment written by ``search_index.bulk_writer`` (and by Whoosh's writer for comparison), and the sidecar; then
FTS5's build of the same sample (the same segmentation and inserts as search_bench.py's reference).  CPU
time, not wall time, so that a machine shared with other work still gives comparable figures.  A script
that prints figures; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import search_bench  # noqa: E402 - the path above first


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", default="/tmp/shuyuan-bench", help="the work directory of a search_bench.py run")
    p.add_argument("--sample", type=int, default=10_000, help="records measured (95%% books, 5%% papers)")
    args = p.parse_args(argv)
    workdir = Path(args.workdir).resolve()
    if not (workdir / search_bench.CATALOG_FILE).exists():
        sys.exit(f"no catalogue of bench/search_bench.py in {workdir}")
    search_bench.configure_environment(workdir)
    import django

    django.setup()
    from whoosh import formats
    from whoosh.filedb.filestore import FileStorage

    from search_index import documents, indexer, laws, postings_cache
    from search_index.bulk_writer import BulkSegmentWriter
    from search_index.index_formats import IndexFrequency, IndexPositions
    from search_index.index_schema import INDEX_NAME, build_schema
    from search_index.whoosh_codec import CatalogCodec

    n_papers = max(1, round(args.sample * 0.05))
    n_books = args.sample - n_papers
    rows = []

    def part(label: str, seconds: float, note: str = "") -> None:
        rows.append((label, seconds, note))
        print(f"  {label:58s} {seconds:8.2f} s  {seconds / args.sample * 1000:7.3f} ms/record  {note}", flush=True)

    print(f"build breakdown: {args.sample:,} records ({n_books:,} books, {n_papers:,} papers) of {workdir}, "
          f"{search_bench.load()}", flush=True)
    laws.current()  # loaded once, as by the rebuild
    c = cpu()
    books = [documents.book_document(b) for b in documents.books_queryset().order_by("pk")[:n_books]]
    papers = [documents.paper_document(x) for x in documents.papers_queryset().order_by("pk")[:n_papers]]
    docs = books + papers
    part("read: records → documents (database, Django)", cpu() - c)

    dictionary = laws.current()
    c = cpu()
    fields = [indexer._index_fields(doc, dictionary) for doc in docs]
    part("prepare: documents → the writer's fields", cpu() - c)

    schema = build_schema()
    names = [n for n in schema.names() if schema[n].indexed]

    def analyse(whoosh_formats: bool) -> tuple[dict[str, float], int]:
        by_field: dict[str, float] = defaultdict(float)
        postings = 0
        for f in fields:
            for name in names:
                value = f.get(name)
                if value is None:
                    continue
                field = schema[name]
                t = cpu()
                if whoosh_formats and isinstance(value, str) and isinstance(field.format, (IndexPositions, IndexFrequency)):
                    base = formats.Positions if isinstance(field.format, IndexPositions) else formats.Frequency
                    items = list(base.word_values(field.format, value, field.analyzer, mode="index"))
                else:
                    items = list(field.index(value))
                by_field[name] += cpu() - t
                postings += len(items)
        return by_field, postings

    fast, postings = analyse(False)
    part("analysis, indexing formats (all fields)", sum(fast.values()), f"{postings / args.sample:,.0f} postings/record")
    for name, seconds in sorted(fast.items(), key=lambda kv: -kv[1])[:6]:
        part(f"    field {name}", seconds)
    slow, _ = analyse(True)
    part("analysis, Whoosh's own formats (for comparison)", sum(slow.values()))

    tmp = Path(tempfile.mkdtemp(prefix="build-breakdown-", dir=workdir))
    try:
        (tmp / "bulk").mkdir()
        ix = FileStorage(str(tmp / "bulk")).create_index(build_schema(), indexname=INDEX_NAME)
        c = cpu()
        writer = BulkSegmentWriter(ix, _lk=False, limitmb=indexer.REBUILD_POOL_MB, compound=False, codec=CatalogCodec())
        for f in fields:
            writer.add_document(**f)
        added = cpu() - c
        segment = writer.finish_segment()
        total = cpu() - c
        part("bulk writer: add_document (analysis included)", added)
        part("bulk writer: the segment's files", total - added)
        part("bulk writer, less the analysis", total - sum(fast.values()))
        c = cpu()
        postings_cache.build_segment_sidecar(ix.storage, ix.schema, segment)
        part("sidecar of the segment", cpu() - c)

        (tmp / "whoosh").mkdir()
        ix = FileStorage(str(tmp / "whoosh")).create_index(build_schema(), indexname=INDEX_NAME)
        c = cpu()
        writer = ix.writer(limitmb=indexer.REBUILD_POOL_MB, compound=False, codec=CatalogCodec())
        for f in fields:
            writer.add_document(**f)
        writer.commit()
        part("Whoosh's writer, less the analysis (for comparison)", cpu() - c - sum(fast.values()))

        c = cpu()
        batch = [(d["title"], d["people"], " ".join(filter(None, [d["subjects"], d["summary"]])), d["text"],
                  d["key"], d["clc_facet"], d["visibility"]) for d in docs]
        segmented = search_bench._fts_rows(batch)
        seg = cpu() - c
        conn = sqlite3.connect(tmp / "fts5.sqlite3", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE VIRTUAL TABLE docs USING fts5(title, authors, summary, text, key UNINDEXED, "
                     "clc_facet UNINDEXED, visibility UNINDEXED, tokenize='unicode61 remove_diacritics 2')")
        c = cpu()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO docs(title, authors, summary, text, key, clc_facet, visibility) "
                         "VALUES (?,?,?,?,?,?,?)", segmented)
        conn.execute("COMMIT")
        conn.execute("INSERT INTO docs(docs) VALUES('optimize')")
        conn.close()
        ins = cpu() - c
        part("FTS5: segmentation (text_analyzer's token stream)", seg)
        part("FTS5: inserts and optimize", ins)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    whoosh = sum(s for label, s, _ in rows if label.startswith(("read", "prepare", "bulk writer: ", "sidecar")))
    fts = rows[-1][1] + rows[-2][1] + rows[0][1]
    print(f"\n  the build's parts in this process: {whoosh:.2f} s; FTS5's (read, segmentation, inserts): {fts:.2f} s "
          f"= {whoosh / fts:.2f}×  ({search_bench.load()}, {time.strftime('%Y-%m-%d %H:%M')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
