"""Searching the index: query parsing, filters, facets, highlights and suggestions.

One searcher per thread, reused across requests and refreshed when the index
changes (opening a searcher per query costs several times the query itself).
"""

import heapq
import html
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from stdnum import isbn as stdnum_isbn
from whoosh import highlight, qparser
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

from search_index import store
from search_index.analysis import has_han, normalize_query_text, pinyin_analyzer, text_analyzer
from search_index.schema import FIELD_BOOSTS

MAX_QUERY_LENGTH = 1000
SEARCH_FIELDS = ["body", "text", "pinyin", "bigrams"]
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

    def any(self) -> bool:
        """Whether any filter (beyond hiding internal records) applies."""
        return any(
            v is not None for v in (self.type, self.language, self.year_from, self.year_to, self.clc, self.available)
        )


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


#: Searched on every query: one weighted field for everything short, one for
#: full texts.  Pinyin joins when the query has Latin letters; the Han-bigram
#: field only when the words alone do not fill the first page
#: (docs/performance.md measures each).
WORD_FIELDS = ["body", "text"]
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


# --- matched documents as sets ----------------------------------------------------------------
#
# The count, the facets and the filters need every matching document, not just
# the top of the page.  Walking a Whoosh matcher costs a Python call per
# posting per field, so instead each query term's documents are read block by
# block into a set, cached per segment, and the query tree is evaluated with
# set operations (which run in C).  Segments never change once written — only
# documents in them get deleted, and the deleted set is subtracted on every
# search — so a cached set stays valid until a merge retires its segment.

#: Upper bound on the document numbers held by the term cache (about 50 MB).
TERM_CACHE_POSTINGS = 1_000_000

_term_cache: OrderedDict[tuple, frozenset[int]] = OrderedDict()
_term_cache_size = 0
_cache_lock = threading.Lock()


def _posting_ids(reader, fieldname: str, btext: bytes) -> frozenset[int]:
    """Every document number in a term's postings, deleted ones included (the caller subtracts those)."""
    try:
        matcher = reader.postings(fieldname, btext)
    except TermNotFound:
        return frozenset()
    if isinstance(matcher, FilterMatcher):
        # The deletion filter has already stepped its child past leading
        # deleted documents: start the raw postings again from the top.
        matcher = matcher.child
        matcher.reset()
    if not isinstance(matcher, W3LeafMatcher):
        return frozenset(matcher.all_ids())
    # Whole blocks at a time: a block's ids are decoded in one call, instead of
    # one id()/next() round trip per posting (several times faster).
    ids: list[int] = []
    while matcher.is_active():
        matcher._read_ids()
        ids.extend(matcher._ids[matcher._i :])
        matcher._next_block()
    return frozenset(ids)


def _term_docs(reader, segment_id: str, fieldname: str, text) -> frozenset[int]:
    global _term_cache_size
    field = reader.schema[fieldname] if fieldname in reader.schema else None
    if field is None:
        return frozenset()
    btext = text if isinstance(text, bytes) else field.to_bytes(text)
    key = (segment_id, fieldname, btext)
    with _cache_lock:
        cached = _term_cache.get(key)
        if cached is not None:
            _term_cache.move_to_end(key)
            return cached
    docs = _posting_ids(reader, fieldname, btext)
    with _cache_lock:
        if key not in _term_cache:
            _term_cache[key] = docs
            _term_cache_size += len(docs) + 1
            while _term_cache_size > TERM_CACHE_POSTINGS and len(_term_cache) > 1:
                _, old = _term_cache.popitem(last=False)
                _term_cache_size -= len(old) + 1
    return docs


def clear_caches() -> None:
    """Forget every cached document set (tests; memory pressure)."""
    global _term_cache_size
    with _cache_lock:
        _term_cache.clear()
        _term_cache_size = 0
        _facet_cache.clear()


class _Segment:
    """One segment of the searcher, with the set algebra over its documents."""

    def __init__(self, leaf, offset: int):
        self.leaf = leaf
        self.reader = leaf.reader()
        self.offset = offset
        self.id = self.reader.segment().segment_id()

    def all(self) -> range:
        return range(self.reader.doc_count_all())

    def deleted(self) -> frozenset[int]:
        return self.reader.deleted_docs_set if self.reader.has_deletions() else frozenset()

    def term(self, fieldname: str, text) -> frozenset[int]:
        return _term_docs(self.reader, self.id, fieldname, text)

    def docs(self, q) -> frozenset[int] | set[int]:
        """The documents of ``q`` in this segment (deleted ones may be included)."""
        kind = type(q)
        if kind is wq.Term:
            return self.term(q.fieldname, q.text)
        if kind is wq.And:
            parts = sorted((self.docs(sub) for sub in q.subqueries), key=len)
            if not parts:
                return frozenset()
            out = parts[0]
            for part in parts[1:]:
                if not out:
                    break
                out = out & part
            return out
        if kind in (wq.Or, wq.DisjunctionMax):
            out: set[int] = set()
            for sub in q.subqueries:
                out |= self.docs(sub)
            return out
        if kind is wq.AndMaybe:
            return self.docs(q.a)
        if kind is wq.Require:
            return self.docs(q.a) & self.docs(q.b)
        if kind is wq.AndNot:
            return self.docs(q.a) - self.docs(q.b)
        if kind is wq.Not:
            return set(self.all()) - self.docs(q.query)
        if kind is wq.Every:
            return set(self.all())
        if q is wq.NullQuery:
            return frozenset()
        # Phrases and anything else: Whoosh's own matcher.
        return set(q.docs(self.leaf))

    def global_ids(self, docs) -> set[int]:
        offset = self.offset
        return {offset + d for d in docs}


def _segments(searcher) -> list[_Segment]:
    out = []
    for leaf, offset in searcher.leaf_searchers():
        if leaf.reader().segment() is None:  # an empty index has no segment
            continue
        out.append(_Segment(leaf, offset))
    return out


def _filter_docs(seg: _Segment, filters: Filters) -> frozenset[int] | set[int] | None:
    """The documents of a segment that pass the filters, or None when there are none."""
    parts = []
    facets = _segment_facets(seg.reader)
    if filters.type:
        parts.append(facets["type"].get(filters.type, frozenset()))
    if filters.language:
        parts.append(facets["language"].get(filters.language, frozenset()))
    if filters.year_from is not None or filters.year_to is not None:
        low = filters.year_from if filters.year_from is not None else -(10**9)
        high = filters.year_to if filters.year_to is not None else 10**9
        years: set[int] = set()
        for value, docs in facets["year"].items():
            if value.lstrip("-").isdigit() and low <= int(value) <= high:
                years |= docs
        parts.append(years)
    if filters.clc:
        parts.append(seg.term("clc", filters.clc.strip().lower()))
    if filters.available is not None:
        parts.append(facets["available"].get("yes" if filters.available else "no", frozenset()))
    if not parts:
        return None
    parts.sort(key=len)
    out = parts[0]
    for part in parts[1:]:
        out = out & part
    return out


# --- highlighting ---------------------------------------------------------------------------


class MarkFormatter(highlight.HtmlFormatter):
    """``<mark>`` around matched words; everything else HTML-escaped."""

    def __init__(self):
        super().__init__(tagname="mark", between=" … ")

    def format_token(self, text, token, replace=False):
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=False)}</mark>"


def _query_terms(q, out: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """The terms a matching document may contain, by field (excluded terms left out)."""
    if out is None:
        out = {}
    if isinstance(q, wq.AndNot):
        _query_terms(q.a, out)
    elif isinstance(q, wq.Not):
        pass
    elif q.is_leaf():
        for fieldname, text in q.terms():
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            out.setdefault(fieldname, set()).add(text)
    else:
        for sub in q.children():
            _query_terms(sub, out)
    return out


def _pinyin_marks(text: str, terms: set[str]) -> str:
    """Mark the Han words of ``text`` whose pinyin matched (a query typed as danbao wuquan or dbwq)."""
    if not terms or not text:
        return ""
    spans = sorted((tok.startchar, tok.endchar) for tok in _PINYIN(text, chars=True, mode="index") if tok.text in terms)
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


_TEXT = text_analyzer()
_PINYIN = pinyin_analyzer()
_FORMATTER = MarkFormatter()
_FRAGMENTER = highlight.ContextFragmenter(maxchars=160, surround=40)
#: A full text is highlighted around the first place a matched word occurs
#: (found with a plain substring search), so a hit costs the analysis of a few
#: hundred characters, not of the whole paper; text where no word is found
#: verbatim (traditional characters, stemmed English) is analysed a chunk at a
#: time until a chunk matches.
TEXT_WINDOW = 400
TEXT_CHUNK = 1200


def _mark(text: str, terms: frozenset[str], top: int) -> str:
    if not text or not terms:
        return ""
    return highlight.highlight(text, terms, _TEXT, _FRAGMENTER, _FORMATTER, top=top, mode="index")


def _mark_long(text: str, terms: frozenset[str], top: int) -> str:
    lowered = text.lower()
    found = [i for i in (lowered.find(term) for term in terms if term) if i >= 0]
    if found:
        start = max(0, min(found) - 40)
        marked = _mark(text[start : start + TEXT_WINDOW], terms, top)
        if marked:
            return marked
    start = 0
    while start < len(text):
        end = min(len(text), start + TEXT_CHUNK)
        if end < len(text):
            # End the chunk after a sentence or at least a space, not inside a word.
            cut = max(text.rfind(mark, start + TEXT_CHUNK // 2, end) for mark in "。！？；\n ")
            if cut > start:
                end = cut + 1
        marked = _mark(text[start:end], terms, top)
        if marked:
            return marked
        start = end
    return ""


def _highlights(fields: dict, terms: dict[str, set[str]]) -> dict[str, str]:
    words = frozenset(terms.get("body", set()) | terms.get("title", set()) | terms.get("people", set()))
    out = {}
    title = fields.get("title", "")
    marked = _mark(title, words, 1) or _pinyin_marks(title, terms.get("pinyin", set()))
    out["title"] = marked or html.escape(fields.get("title_display", ""), quote=False)
    summary = fields.get("summary", "")
    if summary:
        out["summary"] = _mark(summary, words, 2) or html.escape(summary[:120], quote=False)
    if fields.get("text"):
        text = _mark_long(fields["text"], frozenset(words | terms.get("text", set())), 2)
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
    run = _Run(searcher, filters, sort, limit, offset)

    matched_all = True
    if not text.strip():
        result = run(wq.Every())
    else:
        query = parse(text, schema, fields=_fields_for(text, with_bigrams=False))
        result = run(query) if query is not None else None
        if isinstance(query, wq.Term):  # an ISBN or a CLC class: nothing to widen
            pass
        elif (result is None or result[0] < offset + limit) and has_han(text):
            # The words alone leave the page short: let Han bigrams find text
            # that the segmenter cut differently.
            wider = parse(text, schema, fields=_fields_for(text, with_bigrams=True))
            if wider is not None:
                result = run(wider)
        if (result is None or result[0] == 0) and not isinstance(query, wq.Term):
            loose = parse(text, schema, any_term=True, fields=_fields_for(text, with_bigrams=True))
            if loose is not None:
                matched_all = False
                result = run(loose)
    if result is None:
        return SearchResult(count=0, items=[], facets={k: {} for k in FACETS}, query=text)
    count, items, facets = result
    # Offer a correction when the words as typed did not all match.
    suggestion = _suggest(searcher, text) if count == 0 or not matched_all else None
    return SearchResult(
        count=count, items=items, facets=facets, suggestion=suggestion, matched_all_terms=matched_all, query=text
    )


class _Run:
    """Runs queries for one search request: the matched sets give the count and the facets, a
    scored search limited to the page gives the top hits (so Whoosh can skip blocks that cannot
    reach the page)."""

    def __init__(self, searcher, filters: Filters, sort: str, limit: int, offset: int):
        self.searcher = searcher
        self.filters = filters
        self.sort = sort
        self.limit = limit
        self.offset = offset
        self.segments = _segments(searcher)

    def __call__(self, query):
        filters = self.filters
        per_segment = []
        for seg in self.segments:
            matched = seg.docs(query)
            allowed = _filter_docs(seg, filters)
            if allowed is not None:
                matched = matched & allowed
            if not filters.include_internal:
                matched = matched - seg.term("visibility", "internal")
            deleted = seg.deleted()
            if deleted:
                matched = matched - deleted
            per_segment.append((seg, matched))
        count = sum(len(m) for _, m in per_segment)
        facets = _facet_counts(per_segment)
        if not count:
            return 0, [], facets
        if self.sort in ("year", "-year"):
            top = self._by_year(per_segment)
        elif type(query) is wq.Every:
            top = self._in_index_order(per_segment)
        else:
            top = self._by_score(query, per_segment)
        terms = _query_terms(query)
        items = [self._hit(docnum, score, terms) for docnum, score in top]
        return count, items, facets

    def _by_score(self, query, per_segment) -> list[tuple[int, float]]:
        kwargs = {"limit": self.offset + self.limit}
        if self.filters.any():
            # Only the matched documents may appear (Whoosh checks membership
            # as it walks the postings).
            allowed: set[int] = set()
            for seg, matched in per_segment:
                allowed |= seg.global_ids(matched)
            kwargs["filter"] = allowed
        elif not self.filters.include_internal:
            internal: set[int] = set()
            for seg, _ in per_segment:
                internal |= seg.global_ids(seg.term("visibility", "internal"))
            if internal:
                kwargs["mask"] = internal
        results = self.searcher.search(query, **kwargs)
        return [(hit.docnum, float(hit.score or 0.0)) for hit in results[self.offset : self.offset + self.limit]]

    def _in_index_order(self, per_segment) -> list[tuple[int, float]]:
        """An empty query has no ranking: the first records in index order."""
        wanted = self.offset + self.limit
        docs: list[int] = []
        for seg, matched in per_segment:
            docs.extend(seg.offset + d for d in heapq.nsmallest(wanted - len(docs), matched))
            if len(docs) >= wanted:
                break
        return [(docnum, 0.0) for docnum in docs[self.offset : wanted]]

    def _by_year(self, per_segment) -> list[tuple[int, float]]:
        """Newest (or oldest) first, records without a year last, ties in index order."""
        reverse = self.sort == "-year"
        by_year: dict[int, list[int]] = {}
        for seg, matched in per_segment:
            rest = set(matched)
            for value, docs in _segment_facets(seg.reader)["year"].items():
                hit = docs & rest
                if hit and value.lstrip("-").isdigit():
                    by_year.setdefault(int(value), []).extend(seg.global_ids(hit))
                    rest -= hit
            if rest:
                by_year.setdefault(None, []).extend(seg.global_ids(rest))
        order = sorted((y for y in by_year if y is not None), reverse=reverse)
        if None in by_year:
            order.append(None)
        wanted = self.offset + self.limit
        out: list[int] = []
        for year in order:
            out.extend(heapq.nsmallest(wanted - len(out), by_year[year]))
            if len(out) >= wanted:
                break
        return [(docnum, 0.0) for docnum in out[self.offset : wanted]]

    def _hit(self, docnum: int, score: float, terms) -> Hit:
        fields = self.searcher.stored_fields(docnum)
        return Hit(
            type=fields["type"],
            id=int(fields["pk"]),
            title=fields.get("title_display", ""),
            authors=[a for a in fields.get("authors", "").split("\x1f") if a],
            year=fields.get("year") or None,
            score=round(score, 4),
            available_copies=int(fields.get("available") or 0),
            total_copies=int(fields.get("total") or 0),
            highlights=_highlights(fields, terms),
        )


# --- facets ----------------------------------------------------------------------------------------
#
# For each segment, the documents of every facet value are read once from the
# postings and kept as sets (cached like the term sets above).  Counting a
# facet is then a set intersection with the matched documents, not a pass
# over every match's stored fields.

_facet_cache: dict[str, dict[str, dict[str, frozenset[int]]]] = {}


def _segment_facets(reader) -> dict[str, dict[str, frozenset[int]]]:
    key = reader.segment().segment_id()
    cached = _facet_cache.get(key)
    if cached is None:
        cached = {}
        for name, fieldname in FACETS.items():
            values = {}
            for term in reader.lexicon(fieldname):
                values[term.decode("utf-8")] = _posting_ids(reader, fieldname, term)
            cached[name] = values
        with _cache_lock:
            _facet_cache[key] = cached
    return cached


def _forget_old_segments(live: set[str]) -> None:
    with _cache_lock:
        for key in [k for k in _facet_cache if k not in live]:
            del _facet_cache[key]


def _facet_counts(per_segment) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    live = set()
    for seg, matched in per_segment:
        live.add(seg.id)
        if not matched:
            continue
        for name, values in _segment_facets(seg.reader).items():
            bucket = counts[name]
            for value, docs in values.items():
                n = len(matched & docs) if len(matched) < len(docs) else len(docs & matched)
                if n:
                    bucket[value] = bucket.get(value, 0) + n
    if len(_facet_cache) > len(live):
        _forget_old_segments(live)
    return {
        name: dict(sorted(((v, n) for v, n in bucket.items() if v), key=lambda kv: (-kv[1], kv[0])))
        for name, bucket in counts.items()
    }


def _suggest(searcher, text: str) -> str | None:
    """A did-you-mean for Latin (English or pinyin) words that find nothing."""
    words = re.findall(r"[A-Za-z]+", text)
    if not words:
        return None
    corrected = []
    changed = False
    reader = searcher.reader()
    for word in words:
        lower = word.lower()
        best = None
        for fieldname in ("pinyin", "body"):
            if reader.frequency(fieldname, lower) > 0:
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
