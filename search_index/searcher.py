"""Searching the index: query parsing, filters, facets, highlights and suggestions.

One searcher per thread, reused across requests and refreshed when the index
changes (opening a searcher per query costs several times the query itself).
"""

import html
import re
import threading
from dataclasses import dataclass

from stdnum import isbn as stdnum_isbn
from whoosh import highlight, qparser, sorting
from whoosh import query as wq

from search_index import store
from search_index.analysis import has_han, normalize_query_text, pinyin_analyzer
from search_index.schema import FIELD_BOOSTS

MAX_QUERY_LENGTH = 1000
SEARCH_FIELDS = list(FIELD_BOOSTS)
#: Facet name → the ID field whose terms are the facet's values.
FACETS = {
    "type": "type",
    "year": "year_facet",
    "language": "language",
    "clc": "clc_facet",
    "available": "available_flag",
}
ISBN_QUERY = re.compile(r"^\s*(?:isbn[:：]?\s*)?([0-9][0-9\- ]{8,20}[0-9xX])\s*$", re.IGNORECASE)
CLC_QUERY = re.compile(r"^\s*clc[:：]\s*(\S+)\s*$", re.IGNORECASE)


class QueryError(ValueError):
    """A query that cannot be searched at all; the message says why."""


@dataclass
class Filters:
    type: str | None = None
    language: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    clc: str | None = None
    available: bool | None = None
    include_internal: bool = False


@dataclass
class Hit:
    type: str
    id: int
    title: str
    authors: list[str]
    year: int | None
    score: float
    available_copies: int
    total_copies: int
    highlights: dict[str, str]


@dataclass
class SearchResult:
    count: int
    items: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None = None
    matched_all_terms: bool = True
    query: str = ""


# --- the per-thread searcher ------------------------------------------------------------

_local = threading.local()


def _searcher():
    generation = store.current_generation()
    cached = getattr(_local, "state", None)
    if cached is not None and cached[0] == generation:
        searcher = cached[2].refresh()
        if searcher is not cached[2]:
            _local.state = (generation, cached[1], searcher)
        return searcher
    if cached is not None:
        cached[2].close()
        _local.state = None
    ix = store.open_index()
    searcher = ix.searcher()
    _local.state = (generation, ix, searcher)
    return searcher


def reset() -> None:
    """Forget this thread's searcher (tests; after a rebuild in the same thread)."""
    cached = getattr(_local, "state", None)
    if cached is not None:
        cached[2].close()
    _local.state = None


# --- parsing -----------------------------------------------------------------------------


#: Searched on every query.  Pinyin joins when the query has Latin letters; the
#: Han-bigram field only when the words alone do not fill the first page (it
#: was the costliest posting lists of every query: docs/performance.md).
WORD_FIELDS = ["title", "people", "subjects", "summary", "text"]
_LATIN = re.compile(r"[A-Za-z]")


def _fields_for(text: str, *, with_bigrams: bool) -> list[str]:
    fields = list(WORD_FIELDS)
    if _LATIN.search(text):
        fields.append("pinyin")
    if with_bigrams and has_han(text):
        fields.append("bigrams")
    return fields


def _parser(schema, group, fields=SEARCH_FIELDS) -> qparser.QueryParser:
    parser = qparser.QueryParser(None, schema, group=group)
    parser.remove_plugin_class(qparser.WildcardPlugin)
    parser.remove_plugin_class(qparser.RangePlugin)
    parser.remove_plugin_class(qparser.BoostPlugin)
    parser.add_plugin(qparser.MultifieldPlugin(fields, fieldboosts={f: FIELD_BOOSTS[f] for f in fields}))
    parser.add_plugin(qparser.PlusMinusPlugin())
    parser.add_plugin(
        qparser.FieldAliasPlugin({"people": ["author", "authors", "作者"], "title": ["题名", "标题"], "clc": ["分类"]})
    )
    return parser


_FIELD_PREFIX = re.compile(r"(\b|^)([A-Za-z_]+|[\u4e00-\u9fff]{2})[:：]")
ALLOWED_PREFIXES = {"title", "author", "authors", "作者", "题名", "标题", "clc", "分类", "isbn", "people"}


def _sanitize(text: str) -> str:
    """Make user text safe for the parser: balance quotes and brackets, drop unknown field prefixes."""
    text = text.replace("：", ":")
    if text.count('"') % 2:
        text = text.replace('"', " ")
    depth = 0
    out = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                continue
            depth -= 1
        out.append(ch)
    text = "".join(out) + ")" * depth

    def prefix(match: re.Match) -> str:
        name = match.group(2)
        return match.group(0) if name.lower() in ALLOWED_PREFIXES else f"{match.group(1)}{name} "

    text = _FIELD_PREFIX.sub(prefix, text)
    # Lone operators and wildcards carry no meaning on their own.
    text = re.sub(r"(^|\s)[*?+\-]+(?=\s|$)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _isbn_query(text: str):
    match = ISBN_QUERY.match(text)
    if not match:
        return None
    digits = re.sub(r"[\s\-]", "", match.group(1))
    if len(digits) not in (10, 13):
        return None
    try:
        normalized = stdnum_isbn.to_isbn13(stdnum_isbn.validate(digits))
    except Exception:  # noqa: BLE001 - stdnum raises several types; an invalid ISBN is just text
        return None
    return wq.Term("isbn", normalized)


def parse(text: str, schema, *, any_term: bool = False, fields: list[str] | None = None):
    """The Whoosh query for a user's text, or None when nothing searchable remains."""
    isbn = _isbn_query(text)
    if isbn is not None:
        return isbn
    clc = CLC_QUERY.match(text)
    if clc:
        return wq.Term("clc", clc.group(1).strip().lower())
    cleaned = _sanitize(text)
    if not cleaned:
        return None
    group = qparser.OrGroup.factory(0.9) if any_term else qparser.AndGroup
    try:
        query = _parser(schema, group, fields or SEARCH_FIELDS).parse(cleaned)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; anything left is a user error
        raise QueryError(f"无法解析查询 (cannot parse the query): {exc}") from None
    query = _without_phrases_on_unpositioned_fields(query.normalize(), schema)
    if query is wq.NullQuery:
        return None
    return query


def _without_phrases_on_unpositioned_fields(query, schema):
    """A quoted phrase is searched as a phrase where positions are kept, and as all of its words elsewhere."""
    if isinstance(query, wq.Phrase):
        field = schema[query.fieldname] if query.fieldname in schema else None
        if field is None or not field.supports("positions"):
            return wq.And([wq.Term(query.fieldname, w, boost=query.boost) for w in query.words])
        return query
    if query.is_leaf():
        return query
    return query.apply(lambda q: _without_phrases_on_unpositioned_fields(q, schema))


def _filter_query(filters: Filters):
    parts = []
    if filters.type:
        parts.append(wq.Term("type", filters.type))
    if filters.language:
        parts.append(wq.Term("language", filters.language))
    if filters.year_from is not None or filters.year_to is not None:
        parts.append(wq.NumericRange("year", filters.year_from, filters.year_to))
    if filters.clc:
        parts.append(wq.Term("clc", filters.clc.strip().lower()))
    if filters.available is True:
        parts.append(wq.Term("available_flag", "yes"))
    elif filters.available is False:
        parts.append(wq.Term("available_flag", "no"))
    return wq.And(parts) if parts else None


# --- highlighting ---------------------------------------------------------------------------


class MarkFormatter(highlight.HtmlFormatter):
    """``<mark>`` around matched words; everything else HTML-escaped."""

    def __init__(self):
        super().__init__(tagname="mark", between=" … ")

    def format_token(self, text, token, replace=False):
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=False)}</mark>"


def _pinyin_marks(text: str, hit) -> str:
    """Mark the Han words of ``text`` whose pinyin matched (a query typed as danbao wuquan or dbwq)."""
    terms = {t.decode("utf-8") for field, t in hit.matched_terms() if field == "pinyin"}
    if not terms or not text:
        return ""
    spans = sorted(
        (tok.startchar, tok.endchar)
        for tok in _PINYIN(text, chars=True, mode="index")
        if tok.text in terms
    )
    if not spans:
        return ""
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(html.escape(text[last:start], quote=False))
        out.append(f"<mark>{html.escape(text[start:end], quote=False)}</mark>")
        last = end
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


_PINYIN = pinyin_analyzer()
_SHORT_FRAGMENTER = highlight.ContextFragmenter(maxchars=160, surround=40)
# Full texts are long: their snippets come from the character offsets stored
# in the postings (chars=True), without analysing the text again.
_LONG_FRAGMENTER = highlight.PinpointFragmenter(maxchars=160, surround=40, autotrim=True)


def _highlights(hit, results) -> dict[str, str]:
    fields = hit.fields()
    out = {}
    results.fragmenter = _SHORT_FRAGMENTER
    title = hit.highlights("title", text=fields.get("title", ""), top=1)
    if not title:
        title = _pinyin_marks(fields.get("title", ""), hit)
    out["title"] = title or html.escape(fields.get("title_display", ""), quote=False)
    summary = hit.highlights("summary", text=fields.get("summary", ""), top=2)
    if summary:
        out["summary"] = summary
    elif fields.get("summary"):
        out["summary"] = html.escape(fields["summary"][:120], quote=False)
    if fields.get("text"):
        results.fragmenter = _LONG_FRAGMENTER
        text = hit.highlights("text", text=fields["text"], top=2)
        if text:
            out["text"] = text
    return out


# --- the search ------------------------------------------------------------------------------


def search(
    text: str,
    *,
    filters: Filters,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    text = normalize_query_text(text or "")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"查询过长，最多 {MAX_QUERY_LENGTH} 个字符 (query longer than {MAX_QUERY_LENGTH} characters)")
    searcher = _searcher()
    schema = searcher.schema
    filter_q = _filter_query(filters)
    mask = None if filters.include_internal else wq.Term("visibility", "internal")

    matched_all = True
    if not text.strip():
        query = wq.Every()
        result = _run(searcher, query, filter_q, mask, sort, limit, offset)
    else:
        query = parse(text, schema, fields=_fields_for(text, with_bigrams=False))
        result = _run(searcher, query, filter_q, mask, sort, limit, offset) if query is not None else None
        if isinstance(query, wq.Term):  # an ISBN or a CLC class: nothing to widen
            pass
        elif (result is None or result[0] < offset + limit) and has_han(text):
            # The words alone leave the page short: let Han bigrams find text
            # that the segmenter cut differently.
            wider = parse(text, schema, fields=_fields_for(text, with_bigrams=True))
            if wider is not None:
                result = _run(searcher, wider, filter_q, mask, sort, limit, offset)
        if (result is None or result[0] == 0) and not isinstance(query, wq.Term):
            loose = parse(text, schema, any_term=True, fields=_fields_for(text, with_bigrams=True))
            if loose is not None:
                matched_all = False
                result = _run(searcher, loose, filter_q, mask, sort, limit, offset)
    if result is None:
        return SearchResult(count=0, items=[], facets={k: {} for k in FACETS}, query=text)
    count, items, facets = result
    # Offer a correction when the words as typed did not all match.
    suggestion = _suggest(searcher, text) if count == 0 or not matched_all else None
    return SearchResult(count=count, items=items, facets=facets, suggestion=suggestion, matched_all_terms=matched_all,
                        query=text)


def _run(searcher, query, filter_q, mask, sort, limit, offset):
    # Top hits: a scored search limited to the page, so Whoosh can skip blocks
    # that cannot reach the top; counts and facets come from an unscored pass.
    kwargs = {"filter": filter_q, "mask": mask, "limit": offset + limit, "terms": True}
    if sort in ("year", "-year"):
        kwargs["sortedby"] = sorting.FieldFacet("year", reverse=sort == "-year")
    results = searcher.search(query, **kwargs)
    results.formatter = MarkFormatter()
    count, facets = _count_and_facets(searcher, query, filter_q, mask)
    items = []
    for hit in results[offset : offset + limit]:
        fields = hit.fields()
        items.append(
            Hit(
                type=fields["type"],
                id=int(fields["pk"]),
                title=fields.get("title_display", ""),
                authors=[a for a in fields.get("authors", "").split("\x1f") if a],
                year=fields.get("year") or None,
                score=round(float(hit.score or 0.0), 4),
                available_copies=int(fields.get("available") or 0),
                total_copies=int(fields.get("total") or 0),
                highlights=_highlights(hit, results),
            )
        )
    return count, items, facets


# --- counts and facets ----------------------------------------------------------------------------
#
# For each index segment, the documents of every facet value are read once
# from the postings and kept as sets; segments never change (only documents
# in them get deleted, and the matched set already excludes those), so the
# cache stays valid until a merge replaces the segment.  Counting a facet is
# then a set intersection with the matched documents, not a pass over every
# match's stored fields.

_facet_cache: dict[str, dict[str, dict[str, frozenset[int]]]] = {}
_facet_lock = threading.Lock()


def _segment_facets(reader) -> dict[str, dict[str, frozenset[int]]]:
    key = reader.segment().segment_id()
    cached = _facet_cache.get(key)
    if cached is None:
        cached = {}
        for name, fieldname in FACETS.items():
            values = {}
            for term in reader.lexicon(fieldname):
                values[term.decode("utf-8")] = frozenset(reader.postings(fieldname, term).all_ids())
            cached[name] = values
        with _facet_lock:
            _facet_cache[key] = cached
    return cached


def _forget_old_segments(live: set[str]) -> None:
    with _facet_lock:
        for key in [k for k in _facet_cache if k not in live]:
            del _facet_cache[key]


def _count_and_facets(searcher, query, filter_q, mask):
    combined = wq.And([query, filter_q]) if filter_q is not None else query
    if mask is not None:
        combined = wq.AndNot(combined, mask)
    counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    total = 0
    live = set()
    for leaf, _offset in searcher.leaf_searchers():
        reader = leaf.reader()
        segment = reader.segment()
        if segment is None:  # an empty index has no segment
            continue
        live.add(segment.segment_id())
        matched = set(combined.docs(leaf))
        if not matched:
            continue
        total += len(matched)
        for name, values in _segment_facets(reader).items():
            bucket = counts[name]
            for value, docs in values.items():
                n = len(matched & docs) if len(matched) < len(docs) else len(docs & matched)
                if n:
                    bucket[value] = bucket.get(value, 0) + n
    if len(_facet_cache) > len(live):
        _forget_old_segments(live)
    facets = {
        name: dict(sorted(((v, n) for v, n in bucket.items() if v), key=lambda kv: (-kv[1], kv[0])))
        for name, bucket in counts.items()
    }
    return total, facets


def _suggest(searcher, text: str) -> str | None:
    """A did-you-mean for Latin (English or pinyin) words that find nothing."""
    words = re.findall(r"[A-Za-z]+", text)
    if not words:
        return None
    corrected = []
    changed = False
    for word in words:
        lower = word.lower()
        best = None
        for fieldname in ("pinyin", "title", "people", "subjects", "summary"):
            if searcher.reader().frequency(fieldname, lower) > 0:
                best = lower
                break
        if best is None:
            for fieldname in ("pinyin", "title"):
                # One edit, first letter kept: a walk of the whole term
                # dictionary with two edits took seconds at 100,000 records.
                options = searcher.suggest(fieldname, lower, limit=1, maxdist=1, prefix=1)
                if options:
                    best = options[0]
                    changed = True
                    break
        corrected.append(best or lower)
    return " ".join(corrected) if changed else None
