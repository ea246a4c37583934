"""Measured search quality: a judged query set run on a fixed corpus (docs/search.md, "Measured quality").

The corpus (``corpus.json``) and the judged queries (``queries.tsv``) live in tests/fixtures/search_judged;
the test (tests/search_index/test_judged_queries.py) and the benchmark (bench/judged_bench.py, run by
``make bench-search``) both load them with :func:`load_corpus`, judge them with :func:`evaluate` and compare
with ``expected.json``, so the figures the test asserts are the figures the benchmark prints.

Every query goes through ``search_index.services.search``, the API's entry point, with the filters of the
API for its reader: ``anon`` (anonymous, internal papers masked) or ``user`` (signed in).

**Judging rule.**  Relevance is binary: a query lists the records a reader who typed it wants (at most 10,
so recall@10 can reach 1).  The ranking judged is what the result page shows for the query: its first 10
results; when the page offers a did-you-mean (您是不是要找), the reader clicks it, and the first 10 results of
the suggested query are judged instead (one click on its link, which searches the suggestion as any query is
searched; a suggestion offered again is not followed).  A search the page answers with its correction's
results by itself (``corrected_from``: the words as typed found nothing, or only some of them) is judged on
the results shown, with no click.  recall@10 is the share of a query's
relevant records among those 10, MRR the mean over queries of 1/rank of the first relevant one (0 when none
is among them); both are averaged per kind and over all queries (each query counts once).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from search_index import services, switches

#: Results judged per query (the first page shows 20; the measure looks at the first 10).
DEPTH = 10
#: The kinds of query, in the order the table prints them.
KINDS = (
    "title", "author", "pinyin_full", "pinyin_initials", "traditional", "mongolian", "english", "isbn", "clc",
    "call_number", "phrase", "prefix", "law_full", "law_abbr", "citation", "typo", "fullwidth", "numerals",
    "mixed", "real",
)
#: The ablation: each row turns off one part of the query pipeline (search_index.switches).
ABLATIONS = (
    ("law names", (switches.LAW_NAMES,)),
    ("citations", (switches.CITATIONS,)),
    ("did-you-mean", (switches.SUGGESTIONS,)),
    ("pinyin", (switches.PINYIN,)),
    ("bigrams", (switches.BIGRAMS,)),
    ("t2s", (switches.T2S,)),
    # A traditional query that finds nothing is offered its simplified form by did-you-mean (the same sound):
    # the two together show what t2s alone is worth.
    ("t2s and did-you-mean", (switches.T2S, switches.SUGGESTIONS)),
    ("exact titles", (switches.EXACT_TITLE,)),
    ("romanised names", (switches.ROMANIZED_NAMES,)),
    ("disciplines", (switches.DISCIPLINES,)),
    ("joined pinyin", (switches.JOINED_PINYIN,)),
    ("law books after citers", (switches.LAW_BOOKS,)),
    # Everything issue 19 added to the query side at once (did-you-mean as a whole, its older Latin part
    # included): the figures before those features, on today's index.
    ("issue 19's features", (switches.LAW_NAMES, switches.CITATIONS, switches.SUGGESTIONS,
                             switches.EXACT_TITLE, switches.ROMANIZED_NAMES, switches.DISCIPLINES,
                             switches.JOINED_PINYIN)),
)


@dataclass(frozen=True)
class JudgedQuery:
    id: str
    kind: str
    who: str  # "anon" or "user"
    text: str
    relevant: tuple[str, ...]


#: How the judged ranking was reached (Outcome.how).
AS_TYPED, CORRECTED, CLICKED = "as typed", "corrected", "clicked"


@dataclass
class Outcome:
    """One query's judged ranking: the record keys of the first DEPTH results, the text searched and how the
    page got there (AS_TYPED, CORRECTED by the search itself, or CLICKED on the did-you-mean)."""

    query: JudgedQuery
    ranked: list[str]
    searched: str
    how: str = AS_TYPED

    @property
    def found(self) -> int:
        return len(set(self.ranked) & set(self.query.relevant))

    @property
    def recall(self) -> float:
        return self.found / len(self.query.relevant)

    @property
    def reciprocal_rank(self) -> float:
        for rank, key in enumerate(self.ranked, 1):
            if key in self.query.relevant:
                return 1.0 / rank
        return 0.0

    def ranks(self) -> list[int]:
        """The ranks (1-based) of the relevant records found, in rank order."""
        return [rank for rank, key in enumerate(self.ranked, 1) if key in self.query.relevant]


@dataclass
class Report:
    outcomes: list[Outcome]
    by_kind: dict[str, dict] = field(default_factory=dict)
    overall: dict = field(default_factory=dict)

    def figures(self) -> dict:
        """Per kind and overall: n, recall@10 and MRR rounded to 4 decimals, and each query's ranks (what
        ``expected.json`` holds and the test compares)."""
        return {
            "overall": self.overall,
            "kinds": self.by_kind,
            "queries": {o.query.id: o.ranks() for o in self.outcomes},
        }


def read_queries(path: Path) -> list[JudgedQuery]:
    """The judged queries of a TSV file: id, kind, who, query, relevant keys (space-separated); ``#`` lines and
    blank lines are comments."""
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader((line for line in f if line.strip() and not line.startswith("#")), delimiter="\t",
                          quoting=csv.QUOTE_NONE)
        for row in rows:
            qid, kind, who, text, relevant = row
            if kind not in KINDS or who not in ("anon", "user"):
                raise ValueError(f"{path}: query {qid}: unknown kind {kind!r} or reader {who!r}")
            keys = tuple(relevant.split())
            if not 1 <= len(keys) <= DEPTH:
                raise ValueError(f"{path}: query {qid}: 1 to {DEPTH} relevant records, not {len(keys)}")
            out.append(JudgedQuery(qid, kind, who, text, keys))
    ids = [q.id for q in out]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: query ids repeat")
    return out


def read_corpus(path: Path) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["records"]


def load_corpus(records: Iterable[dict]) -> dict[tuple[str, int], str]:
    """Write the corpus's records through the catalogue's services and return record key by (type, id).

    Books through ``book_create`` (validation, ISBN normalised as any book); papers through ``paper_create``,
    their full text stored as the text extraction would leave it (without running the sandboxed extractor on
    a file for each).  Index the result with ``services.index_rebuild()``.
    """
    from library.models import Paper
    from library.services import Person, book_create, paper_create

    keys: dict[tuple[str, int], str] = {}
    for r in records:
        if r["type"] == "book":
            obj = book_create(
                title=r["title"], subtitle=r.get("subtitle", ""), contributors=[Person(n) for n in r["authors"]],
                isbn=r.get("isbn"), publisher=r.get("publisher", ""), year=r.get("year"),
                language=r.get("language", "zh"), clc=r.get("clc", ""), call_number=r.get("call_number", ""),
                subjects=r.get("subjects", []), summary=r.get("summary", ""),
            )
        else:
            obj = paper_create(
                title=r["title"], authors=r["authors"], abstract=r.get("abstract", ""), keywords=r.get("keywords", []),
                year=r.get("year"), kind=r.get("kind", Paper.Kind.RESEARCH_PROJECT),
                visibility=r.get("visibility", Paper.Visibility.PUBLIC), venue=r.get("venue", ""),
            )
            if r.get("full_text"):
                Paper.objects.filter(pk=obj.pk).update(full_text=r["full_text"],
                                                       extraction_status=Paper.ExtractionStatus.DONE)
        keys[(r["type"], obj.pk)] = r["key"]
    return keys


def filters_for(who: str) -> services.Filters:
    """The API's filters for an anonymous reader or a signed-in one (search_index.api)."""
    return services.Filters(include_internal=who == "user")


def judged_ranking(query: JudgedQuery, keys: dict[tuple[str, int], str]) -> Outcome:
    """The ranking the judging rule looks at (module docstring): the page's first DEPTH results (those of the
    correction when the search answered with it), or those of its did-you-mean after one click."""
    filters = filters_for(query.who)
    result = services.search(query.text, filters=filters, limit=DEPTH)
    searched, how = query.text, AS_TYPED
    if result.corrected_from is not None:
        searched, how = result.query, CORRECTED
    elif result.suggestion:
        # The link searches the suggestion as typed into the box (no as_typed): the page it opens is judged,
        # corrected again or not.
        result = services.search(result.suggestion, filters=filters, limit=DEPTH)
        searched, how = result.query, CLICKED
    ranked = [keys.get((hit.type, hit.id), f"?{hit.type}:{hit.id}") for hit in result.items[:DEPTH]]
    return Outcome(query, ranked, searched, how)


def evaluate(queries: list[JudgedQuery], keys: dict[tuple[str, int], str]) -> Report:
    outcomes = [judged_ranking(q, keys) for q in queries]
    grouped: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        grouped[o.query.kind].append(o)
    report = Report(outcomes)
    report.by_kind = {kind: _measures(grouped[kind]) for kind in KINDS if grouped.get(kind)}
    report.overall = _measures(outcomes)
    return report


def _measures(outcomes: list[Outcome]) -> dict:
    n = len(outcomes)
    return {
        "n": n,
        "recall@10": round(sum(o.recall for o in outcomes) / n, 4),
        "mrr": round(sum(o.reciprocal_rank for o in outcomes) / n, 4),
    }


def ablation(queries: list[JudgedQuery], keys: dict[tuple[str, int], str]) -> list[tuple[str, Report]]:
    """The full system's report, then one per ABLATIONS row with that part switched off."""
    out = [("full system", evaluate(queries, keys))]
    for label, names in ABLATIONS:
        with switches.off(*names):
            out.append((f"without {label}", evaluate(queries, keys)))
    return out


# --- printing and comparing ---------------------------------------------------------------------------------


def kind_table(report: Report) -> str:
    """Per kind: n, recall@10, MRR, and the overall row."""
    lines = [f"{'kind':<16} {'n':>4} {'recall@10':>10} {'MRR':>8}"]
    for kind, m in report.by_kind.items():
        lines.append(f"{kind:<16} {m['n']:>4} {m['recall@10']:>10.4f} {m['mrr']:>8.4f}")
    m = report.overall
    lines.append(f"{'overall':<16} {m['n']:>4} {m['recall@10']:>10.4f} {m['mrr']:>8.4f}")
    return "\n".join(lines)


def ablation_table(rows: list[tuple[str, Report]]) -> str:
    """Overall recall@10 and MRR of each row next to the full system's, and the kinds each switch moves."""
    full = rows[0][1]
    lines = [f"{'':<30} {'recall@10':>10} {'Δ':>8} {'MRR':>8} {'Δ':>8}  kinds that change (recall@10 / MRR)"]
    for label, report in rows:
        m = report.overall
        moved = [
            f"{kind} {report.by_kind[kind]['recall@10']:.2f}/{report.by_kind[kind]['mrr']:.2f}"
            for kind in full.by_kind
            if report.by_kind[kind] != full.by_kind[kind]
        ]
        lines.append(
            f"{label:<30} {m['recall@10']:>10.4f} {m['recall@10'] - full.overall['recall@10']:>+8.4f} "
            f"{m['mrr']:>8.4f} {m['mrr'] - full.overall['mrr']:>+8.4f}  {', '.join(moved) or '-'}"
        )
    return "\n".join(lines)


def failures(report: Report) -> list[str]:
    """The queries that miss a relevant record in the first DEPTH, with what was searched and found."""
    out = []
    for o in report.outcomes:
        if o.found < len(o.query.relevant):
            missing = [k for k in o.query.relevant if k not in o.ranked]
            via = f" ({o.how} to {o.searched!r})" if o.how != AS_TYPED else ""
            out.append(f"{o.query.id} [{o.query.kind}] {o.query.text!r}{via}: missing {' '.join(missing)}; "
                       f"top {' '.join(o.ranked[:5]) or '(nothing)'}")
    return out


def changes(expected: dict, actual: dict) -> list[str]:
    """The differences between two ``figures()``: kinds, overall and each query whose ranks moved."""
    out = []
    if expected.get("overall") != actual["overall"]:
        out.append(f"overall: {expected.get('overall')} -> {actual['overall']}")
    for kind in sorted(set(expected.get("kinds", {})) | set(actual["kinds"])):
        before, after = expected.get("kinds", {}).get(kind), actual["kinds"].get(kind)
        if before != after:
            out.append(f"kind {kind}: {before} -> {after}")
    for qid in sorted(set(expected.get("queries", {})) | set(actual["queries"])):
        before, after = expected.get("queries", {}).get(qid), actual["queries"].get(qid)
        if before != after:
            out.append(f"query {qid}: relevant at ranks {before} -> {after}")
    return out
