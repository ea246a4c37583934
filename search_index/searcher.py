"""Searching the index: query parsing, filters, facets, highlights and suggestions.

One searcher per thread, reused across requests and reopened when the index
changes (opening a searcher per query costs several times the query itself).
"""

import html
import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, replace
from dataclasses import field as _field
from datetime import date
from typing import Annotated

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from pydantic import Field
from whoosh import collectors, highlight, qparser
from whoosh import query as wq
from whoosh.reading import TermNotFound
from whoosh.scoring import bm25

from library.callnumbers import as_call_number_query
from library.classification import fold_code
from library.validators import isbn13_of
from search_index import generations, laws, postings_cache, switches
from search_index.analysis import (
    ENGLISH_STOP_WORDS,
    HAN_RUN_RE,
    MAX_JOINED_PINYIN_WORDS,
    char_readings,
    han_name_keys,
    han_syllables,
    has_han,
    joined_pinyin_keys,
    normalize_query_text,
    pinyin_analyzer,
    segment_han_precise,
    text_analyzer,
)
from search_index.index_schema import FIELD_BOOSTS
from search_index.whoosh_private import field_b

logger = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 1000
# Bounds on the work one query may ask for (docs/search.md, "Limits").  Each word costs a posting-list
# walk per field it is searched in, and the any-word fallback is scored by Whoosh's matchers in Python, one
# call per posting; a quoted phrase costs a position check per word and candidate document; the query
# parser recurses once per bracket level (several hundred levels end in RecursionError).
MAX_QUERY_WORDS = 32
MAX_PHRASE_WORDS = 12
MAX_NESTING = 8
#: Did-you-mean is the only place a query word is expanded into other terms (there is no wildcard, prefix
#: or fuzzy syntax: ``*``, ``?`` and ``~`` are punctuation): at most this many words are corrected, and
#: each correction considers at most SUGGEST_CANDIDATES terms within one edit.
MAX_SUGGEST_WORDS = 4
#: A Latin word of more letters is not looked up within one edit: no indexed word is that long (a pinyin word of
#: six characters is at most 36 letters), and Whoosh's Levenshtein automaton, built per segment, takes time that
#: grows with the word (one 999-letter word: 1–3 s, past the search's deadline, which it does not check).
MAX_SUGGEST_LETTERS = 40
SUGGEST_CANDIDATES = 8
#: Chinese did-you-mean looks up at most MAX_SUGGEST_RUNS Han runs (or words of a run) by their sound,
#: each of 2 to SUGGEST_RUN_CHARS characters with at most SUGGEST_READINGS readings a character, and reads
#: the titles and authors of at most SUGGEST_DOCS visible records for each (docs/search.md, "Limits").
MAX_SUGGEST_RUNS = 4
SUGGEST_RUN_CHARS = 12
SUGGEST_READINGS = 3
SUGGEST_DOCS = 32
#: Law names (docs/search.md, "Law names"): at most MAX_LAW_EXPANSIONS names of a query are expanded into
#: their other forms, each form at most MAX_PHRASE_WORDS words; the forms added to a query hold at most
#: MAX_EXPANSION_WORDS words, and the expanded query at most MAX_EXPANDED_WORDS (a query of 32 words gets
#: 8 more at most: the any-word fallback of the longest query grows by a quarter, not twice).
MAX_LAW_EXPANSIONS = 4
MAX_EXPANSION_WORDS = 32
MAX_EXPANDED_WORDS = MAX_QUERY_WORDS + 8
#: Articles a query may cite (each one posting list of the ``cites`` field; a range counts each article).
MAX_QUERY_CITATIONS = 16
#: The article facet lists at most this many articles (most cited first).
ARTICLE_FACET_SIZE = 100
#: Seconds one search may run before it is abandoned (SearchTimeout); the limits above keep every accepted
#: query far below it, so it trips only on an overloaded machine.
TIME_LIMIT = 2.0
SEARCH_FIELDS = ["body", "text", "pinyin", "bigrams"]
#: Facet name → the ID field whose terms are the facet's values.
FACETS = {
    "type": "type",
    "year": "year_facet",
    "language": "language",
    "clc": "clc_facet",
    "available": "available_flag",
}
CLC_QUERY = re.compile(r"^\s*clc[:：]\s*(\S+)\s*$", re.IGNORECASE)


class QueryError(ValueError):
    """A query that cannot be searched at all; the message says why."""


class QueryTooComplex(QueryError):
    """A query past one of the limits on words, phrase length or nesting; ``limit`` is the limit's value."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class SearchTimeout(Exception):
    """The search ran past its time budget and was abandoned."""


class _Deadline:
    """The time budget of one search, checked between units of work (a query node, a segment, a hit)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise self.timeout()

    def timeout(self) -> SearchTimeout:
        return SearchTimeout(_("检索超时（%(seconds)s 秒）：系统繁忙或查询过于复杂，请稍后再试或简化查询") % {"seconds": f"{self.seconds:g}"})


@dataclass
class Filters:
    type: str | None = None
    language: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    clc: str | None = None
    available: bool | None = None
    include_internal: bool = False
    #: An article of the law the query names (the article facet's links): only works citing it.
    article: int | None = None
    #: Set by the search from ``article`` and the law: the ``cites`` term every match must hold.
    cites: str | None = None


@dataclass
class Hit:
    """One found record, as the API returns it (``SearchOut.items``) and the search page shows it."""

    type: str
    id: int
    title: str
    authors: list[str]
    year: int | None
    score: float
    available_copies: int
    total_copies: int
    highlights: dict[str, str]
    earliest_due: Annotated[date | None, Field(description="借出时最早的应还日期（在借复本中）")] = None
    holds_waiting: Annotated[int, Field(description="排队预约人数")] = 0
    call_number: Annotated[str, Field(description="索书号（图书；调研成果为空）")] = ""


@dataclass
class SearchResult:
    count: int
    items: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None = None
    matched_all_terms: bool = True
    query: str = ""
    #: The law names expanded: ``{"from": typed, "to": the law's name (or book), "law": code, "title": official
    #: title, "forms": every form searched}``.
    expansions: list[dict] = _field(default_factory=list)
    #: The articles the query cites: ``{"law": code, "name": the law's name, "title", "article", "text": as
    #: typed}``.
    citations: list[dict] = _field(default_factory=list)
    #: The law the query names first (``{"law": code, "name", "title"}``): the one whose articles are the
    #: "article" facet and whose article the ``article`` filter means.
    law: dict | None = None
    #: The query as typed (normalized) when the results are those of its did-you-mean correction (``query``,
    #: ``suggestion``): it found nothing, or only records holding some of its words, and the correction found more.
    corrected_from: str | None = None


# --- the per-thread searcher ------------------------------------------------------------

_local = threading.local()


#: Attempts at opening a searcher whose segment files are all still there (see _open_searcher).
OPEN_ATTEMPTS = 10


def _searcher():
    generation = generations.current_generation()
    cached = getattr(_local, "state", None)
    if cached is not None and cached[0] == generation:
        ix, searcher = cached[1], cached[2]
        if searcher.up_to_date():
            return searcher
        # Not searcher.refresh(): whoosh-reloaded 2.7.5's refresh (Index.reader(reuse=...)) keeps its
        # old reader for every segment still in the index, with that segment's deletions as they
        # were, and keeps the segments a merge retired as well — a long-lived process found an
        # updated record once more after every update.  A new reader costs a few milliseconds; the
        # arrays of unchanged segments stay cached (columnar keys them by segment id).
        searcher.close()
        # Forgotten before reopening: if the reopen fails (the index swapped underneath), the next
        # search must not find this closed searcher cached (it answered "Reader already closed").
        _local.state = None
        searcher = _open_searcher(ix)
        _local.state = (generation, ix, searcher)
        return searcher
    if cached is not None:
        cached[2].close()
        _local.state = None
    ix = generations.open_index()
    searcher = _open_searcher(ix)
    _local.state = (generation, ix, searcher)
    return searcher


def _open_searcher(ix):
    """A searcher on the index's latest generation with every file it reads already open.

    Whoosh opens a segment's stored-fields, field-length and value columns on first use, but a writer in
    another process deletes the files of the segments its merge retired right after it commits.  An
    open file stays readable after deletion, so the columns are opened here, and a reader whose
    files vanished between reading the table of contents and opening them is replaced by one on the
    newer generation.
    """
    for _attempt in range(OPEN_ATTEMPTS):
        searcher = ix.searcher()
        if postings_cache.open_columns(searcher.reader(), moved_on=lambda s=searcher: _moved_on(s)):
            return searcher
        searcher.close()
    raise generations.IndexMissing(_("全文索引在打开时连续变化 %(n)s 次") % {"n": OPEN_ATTEMPTS})


def _moved_on(searcher) -> bool:
    """Whether the index changed since ``searcher`` read its table of contents: another process committed
    (Whoosh's next generation) or a rebuild swapped the generation directory (which deletes the old one)."""
    state = getattr(_local, "state", None)
    if state is not None and state[2] is searcher and generations.current_generation() != state[0]:
        return True
    try:
        return not searcher.up_to_date()
    except OSError:  # the generation directory is gone: swapped
        return True


#: Attempts at a whole search (each on a fresh searcher) when a file vanished under the previous one because
#: the index moved on meanwhile (see :func:`search`).
SEARCH_ATTEMPTS = 3


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
    if _LATIN.search(text) and switches.on(switches.PINYIN):
        fields.append("pinyin")
    if with_bigrams and has_han(text) and switches.on(switches.BIGRAMS):
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
ALLOWED_PREFIXES = {"title", "author", "authors", "作者", "题名", "标题", "clc", "分类", "isbn", "people", "cites",
                    "romanized", "pinyin"}


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


_OPERATOR_WORDS = re.compile(r"(?<!\S)(?:AND|OR|NOT|ANDNOT|ANDMAYBE)(?!\S)")
_PREFIX_ALTERNATIVES = "|".join(sorted(ALLOWED_PREFIXES))
_PREFIX_NAMES = re.compile(rf"(?:^|(?<=[\s(\-+]))(?:{_PREFIX_ALTERNATIVES}):", re.IGNORECASE)


#: What the parser reads as syntax in a name typed into a query (query_syntax): an operator word in any case, a
#: field prefix or any colon, quotes, brackets, wildcards and +/- (PlusMinusPlugin), and markup's angle brackets.
_SYNTAX = re.compile(
    r"(?P<word>(?<![A-Za-z0-9])(?:ANDMAYBE|ANDNOT|AND|OR|NOT)(?![A-Za-z0-9]))"
    r"|(?P<prefix>(?:[A-Za-z_]+|[\u4e00-\u9fff]{2})?:)"
    r"|(?P<mark>[\"'“”‘’「」『』()\[\]{}【】〔〕*?~^+\-<>])",
    re.IGNORECASE,
)


def query_syntax(text: str) -> list[str]:
    """The pieces of ``text`` that a query would read as syntax rather than words, each once, in order: ``OR``
    (any case), ``title:`` (a field prefix, or ``:`` alone), quotes, brackets, ``*``, ``?``, ``~``, ``^``, ``+``,
    ``-``, ``<``, ``>``; ``[]`` for plain words.  Read after NFKC, as a query is (``：`` is ``:``, ``＊`` is ``*``),
    except the full-width round brackets of official titles (刑法修正案（七）): in a name they are words when they
    pair up, and one left open is ``（`` or ``）``.  For names that are put into queries (the law dictionary)."""
    found: dict[str, None] = {}
    depth = 0
    for ch in text:
        if ch == "（":
            depth += 1
        elif ch == "）":
            if depth == 0:
                found.setdefault("）")
            depth = max(0, depth - 1)
    if depth:
        found.setdefault("（")
    normalized = unicodedata.normalize("NFKC", text.replace("（", "\u3008").replace("）", "\u3009"))
    for m in _SYNTAX.finditer(normalized):
        if m.lastgroup == "word":
            found.setdefault(m.group().upper())
        elif m.lastgroup == "prefix":
            name = m.group()[:-1]
            found.setdefault(f"{name.lower()}:" if name.lower() in ALLOWED_PREFIXES else ":")
        else:
            found.setdefault(m.group())
    return list(found)


def _word_count(text: str) -> int:
    """The words the analyzer makes of ``text`` (query mode: one per Chinese word, stop words left out)."""
    return sum(1 for _token in _TEXT(text, mode="query"))


def check_limits(text: str) -> None:
    """Raise QueryTooComplex when the query (as the parser will see it) is past a limit.

    Counted before parsing: nesting on the balanced text, words as the analyzer makes them (operators and
    field prefixes are not words), each quoted phrase on its own.
    """
    cleaned = _sanitize(text)
    depth = deepest = 0
    for ch in cleaned:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    if deepest > MAX_NESTING:
        raise QueryTooComplex(
            _("q：括号嵌套过深，最多 %(limit)s 层") % {"limit": MAX_NESTING},
            limit=MAX_NESTING,
        )
    for phrase in re.findall(r'"([^"]*)"', cleaned):
        if _word_count(phrase) > MAX_PHRASE_WORDS:
            raise QueryTooComplex(
                _("q：引号内短语过长，最多 %(limit)s 个词") % {"limit": MAX_PHRASE_WORDS},
                limit=MAX_PHRASE_WORDS,
            )
    words = _word_count(_PREFIX_NAMES.sub(" ", _OPERATOR_WORDS.sub(" ", cleaned)))
    if words > MAX_QUERY_WORDS:
        raise QueryTooComplex(
            _("q：检索词过多，最多 %(limit)s 个词") % {"limit": MAX_QUERY_WORDS}, limit=MAX_QUERY_WORDS
        )


def _isbn_query(text: str):
    """The ``isbn`` term of a query that is one valid ISBN in any written form (``validators.isbn13_of``, the
    catalogue's own fold); None for any other text, searched as words."""
    isbn13 = isbn13_of(text)
    return None if isbn13 is None else wq.Term("isbn", isbn13)


def call_number_query(text: str):
    """The query of a search that is a call number or a class: ``D923.6/12`` finds the book (all its volume
    marks), ``D923.6`` every book classed in D923.6 or below it (by its class or by its call number); None
    for any other text.  ``clc:D92`` stays the explicit class search."""
    parts = as_call_number_query(text)
    if parts is None:
        return None
    if parts.mark:
        return wq.Term("call_number", f"{parts.klass}/{parts.mark}{parts.rest}".lower())
    return wq.Or([wq.Term("clc", parts.klass.lower()), wq.Term("call_number", parts.klass.lower())])


def parse(text: str, schema, *, any_term: bool = False, fields: list[str] | None = None):
    """The Whoosh query for a user's text, or None when nothing searchable remains."""
    isbn = _isbn_query(text)
    if isbn is not None:
        return isbn
    clc = CLC_QUERY.match(text)
    if clc:
        return wq.Term("clc", fold_code(clc.group(1)).lower())
    cleaned = _sanitize(text)
    if not cleaned:
        return None
    group = qparser.OrGroup.factory(0.9) if any_term else qparser.AndGroup
    try:
        query = _parser(schema, group, fields or SEARCH_FIELDS).parse(cleaned)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; anything left is a user error
        raise QueryError(_("无法解析查询：%(error)s") % {"error": exc}) from None
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


# --- law names and article citations -------------------------------------------------------------


@dataclass
class _LawQuery:
    """What a query says about laws: its text with citations and law names rewritten for the parser, the
    expansions and citations to report, and the law it names first (whose articles are a facet)."""

    text: str
    expansions: list[dict]
    citations: list[dict]
    law: laws.Law | None
    #: The law when the whole query is one of its names (中华人民共和国民法典, 《民法典》, 民诉法), not a part of it.
    whole: laws.Law | None = None

    def named(self) -> dict | None:
        return None if self.law is None else {"law": self.law.code, "name": self.law.name, "title": self.law.title}


def _protected(text: str, start: int) -> bool:
    """Whether a name at ``start`` is inside a quoted phrase, excluded (``-``) or after a field prefix: left
    as typed."""
    before = text[:start].rstrip("《〈")
    return before.count('"') % 2 == 1 or before.endswith(("-", ":"))


def _tokens(form: str) -> tuple[str, ...]:
    return tuple(t.text for t in _TEXT(form, mode="query"))


def _holds(longer: str, shorter: str) -> bool:
    """Whether every text holding ``longer`` matches the query ``"shorter"`` too: its one word is among the
    words (and sub-words) the index keeps for ``longer`` (中华人民共和国宪法 → … 宪法), or its words stand in a
    row among ``longer``'s."""
    words, within = _tokens(shorter), _tokens(longer)
    if len(words) == 1:
        return words[0] in {t.text for t in _TEXT(longer, mode="index")}
    n = len(words)
    return 0 < n <= len(within) and any(within[i:i + n] == words for i in range(len(within) - n + 1))


def _law_forms(match: laws.NameMatch, budget: int) -> tuple[list[str], int]:
    """The forms a named law is searched by (the typed one first) and the words they add beyond it.

    A form whose words hold another form's words in a row is left out (中华人民共和国民事诉讼法 holds
    民事诉讼法: whatever matches the first matches the second), and so is a form of more than
    MAX_PHRASE_WORDS words; the others are added while their words fit in ``budget``.  None when the typed
    form itself is longer than a phrase: it is searched as typed."""
    if match.part is not None:
        candidates = [match.typed, match.part]
    else:
        candidates = [match.typed, *match.law.forms()]
    seen: dict[str, tuple[str, ...]] = {}
    for form in candidates:
        clean = "".join(c for c in form if c not in '《》〈〉"')
        key = laws.normalize_form(clean)
        if key and key not in {laws.normalize_form(k) for k in seen}:
            words = _tokens(clean)
            if 0 < len(words) <= MAX_PHRASE_WORDS:
                seen[clean] = words
    if not seen or laws.normalize_form(next(iter(seen))) != laws.normalize_form(
            "".join(c for c in match.typed if c not in '《》〈〉"')):
        # The typed form is too long for a phrase: replaced by the others, the words typed were not searched.
        return [], 0
    # Forms of the same words (劳动争议解释（一） and 劳动争议解释一) hold each other: the first of them (the typed one)
    # stays, or both were left out and the words typed were not searched at all.
    order = list(seen)
    kept = [f for i, f in enumerate(order)
            if not any(g != f and _holds(f, g) and not (seen[g] == seen[f] and j > i) for j, g in enumerate(order))]
    out, added = [], 0
    for form in kept:
        cost = 0 if laws.normalize_form(form) == laws.normalize_form(match.typed) else len(seen[form])
        if added + cost <= budget:
            out.append(form)
            added += cost
    return out, added


def law_query(text: str, dictionary: laws.LawDictionary) -> _LawQuery:
    """Rewrite a query's article citations as ``cites:`` terms (民法典第394条 → ``cites:f0186a394``) and its
    law names as a group of the law's forms (民诉法 → ``("民事诉讼法" OR "民诉")``), bounded by
    MAX_QUERY_CITATIONS, MAX_LAW_EXPANSIONS, MAX_EXPANSION_WORDS and MAX_EXPANDED_WORDS.  Names in quoted phrases, after ``-``
    or a field prefix are left as typed."""
    if not len(dictionary) or not has_han(text):
        return _LawQuery(text, [], [], None)
    whole = _whole_name(text, dictionary)
    replacements: list[tuple[int, int, str]] = []
    citations: list[dict] = []
    law = None
    by_span: dict[tuple[int, int], list[laws.Citation]] = {}
    for citation in dictionary.query_citations(text) if switches.on(switches.CITATIONS) else ():
        if not _protected(text, citation.start) and len(citations) < MAX_QUERY_CITATIONS:
            by_span.setdefault((citation.start, citation.end), []).append(citation)
            citations.append({"law": citation.law.code, "name": citation.law.name, "title": citation.law.title,
                              "article": citation.article, "text": text[citation.start:citation.end]})
    for (start, end), found in by_span.items():
        law = law or found[0].law
        terms = [f"cites:{c.term}" for c in found]
        replacements.append((start, end, f" {terms[0]} " if len(terms) == 1 else f" ({' OR '.join(terms)}) "))
    covered = [(a, b) for a, b, _r in replacements]
    expansions: list[dict] = []
    budget = min(MAX_EXPANSION_WORDS, MAX_EXPANDED_WORDS - _word_count(_OPERATOR_WORDS.sub(" ", text)))
    for match in dictionary.find_names(text) if switches.on(switches.LAW_NAMES) else ():
        if any(a < match.end and match.start < b for a, b in covered):
            continue
        law = law or match.law
        if len(expansions) >= MAX_LAW_EXPANSIONS or _protected(text, match.start):
            continue
        forms, added = _law_forms(match, budget)
        if [laws.normalize_form(f) for f in forms] in ([], [laws.normalize_form(match.typed)]):
            continue  # nothing to add (宪法: 中华人民共和国宪法 holds it), or no room left
        budget -= added
        group = " OR ".join(f'"{form}"' for form in forms)
        replacements.append((match.start, match.end, f" ({group}) "))
        expansions.append({"from": match.typed, "to": match.part or match.law.name, "law": match.law.code,
                           "title": match.law.title, "forms": forms})
    if not replacements:
        return _LawQuery(text, [], citations, law, whole)
    out, last = [], 0
    for start, end, replacement in sorted(replacements):
        # An opening 《 before a name and the closing 》 after it are left behind as punctuation.
        out += [text[last:start], replacement]
        last = end
    out.append(text[last:])
    rewritten = re.sub(r"[《》〈〉]", " ", "".join(out))
    return _LawQuery(" ".join(rewritten.split()), expansions, citations, law, whole)


def _whole_name(text: str, dictionary: laws.LawDictionary) -> laws.Law | None:
    """The law when ``text`` is nothing but one of its names (title marks, quotes and spaces aside), else None."""
    if not switches.on(switches.LAW_NAMES):
        return None
    matches = dictionary.find_names(text)
    if len(matches) != 1 or matches[0].part is not None or _protected(text, matches[0].start):
        return None
    return matches[0].law if laws.normalize_form(matches[0].typed) == laws.normalize_form(text) else None


#: Added to the score of a record titled by a law's name when the query is that name: more than any text
#: scores (a whole law title in a title and the summary scores below 100), so those records come first, in
#: the order of their own scores.
EXACT_TITLE_SCORE = 1000.0


def _exact_title(query, law: laws.Law | None):
    """``query`` with the records whose title proper is one of ``law``'s names (``title_exact``) ranked first:
    the Code's own text above the 理解与适用 volumes titled 民法典…, which the name's short form matches as
    well.  The matches are ``query``'s; the same query when ``law`` is None."""
    if query is None or law is None or not switches.on(switches.EXACT_TITLE):
        return query
    keys = [wq.Term("title_exact", key) for key in dict.fromkeys(laws.title_key(f) for f in law.forms()) if key]
    return wq.AndMaybe(query, wq.ConstantScoreQuery(wq.Or(keys), EXACT_TITLE_SCORE))


#: Added to the score of a work citing the article a query names when the law's books are searched as well
#: (``_with_law_books``): above the law's own text (``EXACT_TITLE_SCORE``), so the citing works stay first.
CITED_SCORE = 2 * EXACT_TITLE_SCORE


def _with_law_books(query, law: _LawQuery, schema):
    """A query that is one article citation and nothing else (民法典第394条, in any form): the works citing it
    first, as before, then the law's own text (a record whose title proper is one of the law's names: it holds
    the article) and the books on the law's 编 holding the article (``laws.part_of``: 民法典物权编理解与适用 for
    article 394), which a judge looking the article up wants too (walk 20: only the citing paper was found).
    Any other query — a citation with other words (民法典第394条 抵押), two articles, an ``article`` filter — is
    ``query`` unchanged."""
    if (not isinstance(query, wq.Term) or query.fieldname != "cites" or law.law is None
            or len({(c["law"], c["article"]) for c in law.citations}) != 1 or not switches.on(switches.LAW_BOOKS)):
        return query
    found = law.law
    article = law.citations[0]["article"]
    books = [wq.ConstantScoreQuery(wq.Or([wq.Term("title_exact", key) for key in
                                          dict.fromkeys(laws.title_key(f) for f in found.forms()) if key]),
                                   EXACT_TITLE_SCORE)]
    part = laws.part_of(found, article)
    if part is not None:
        # The book's name as titles write it (民法典物权编, 中华人民共和国民法典物权编): a phrase in the title.
        named = parse(" OR ".join(f'"{form}{part}"' for form in found.forms()), schema, fields=["title"])
        if named is not None:
            books.append(named)
    return wq.Or([wq.AndMaybe(query, wq.ConstantScoreQuery(query, CITED_SCORE)), *books])


# --- disciplines -----------------------------------------------------------------------------------------

#: Discipline names (刑法学, 民事诉讼法学) rewritten in one query at most.
MAX_DISCIPLINES = 4


def _discipline_optional(text: str) -> str:
    """``text`` with the discipline suffix of a law's name made optional: 民事诉讼法学 →
    ``(民事诉讼法 ANDMAYBE "民事诉讼法学")``, 刑法学 → ``(刑法 ANDMAYBE "刑法学")``.

    The study of a law is searched as the law: a reader who types the discipline wants its textbooks, and a
    textbook titled 民事诉讼法 (江伟's) is as much one as one titled 民事诉讼法学; those that say 法学 rank first.
    The segmenter either keeps the discipline whole (刑法学) or cuts the law from a lone 学 (民事诉讼法 / 学),
    which was then required.  Only a word ending in 法 is a law's name here (法学 alone, 比较法学, 犯罪学 are
    left as typed), and so are words in a quoted phrase, after ``-`` or a field prefix.
    """
    if not switches.on(switches.DISCIPLINES) or "学" not in text:
        return text
    replacements: list[tuple[int, int, str]] = []
    for match in HAN_RUN_RE.finditer(text):
        if len(replacements) >= MAX_DISCIPLINES:
            break
        if _protected(text, match.start()) or "法学" not in match.group():
            continue
        words = segment_han_precise(match.group())
        for k, (word, i, j) in enumerate(words):
            if len(replacements) >= MAX_DISCIPLINES:
                break
            if len(word) >= 3 and word.endswith("法学"):
                law, end = word[:-1], j
            elif len(word) >= 2 and word.endswith("法") and k + 1 < len(words) and words[k + 1][0] == "学":
                law, end = word, words[k + 1][2]
            else:
                continue
            replacements.append((match.start() + i, match.start() + end, f' ({law} ANDMAYBE "{law}学") '))
    if not replacements:
        return text
    out, last = [], 0
    for start, end, replacement in replacements:
        out += [text[last:start], replacement]
        last = end
    out.append(text[last:])
    return " ".join("".join(out).split())


# --- names written in pinyin ---------------------------------------------------------------------------

#: Han words of a query looked up as names written in pinyin: at most this many (each a few term lookups in
#: the ``romanized`` field's dictionary, no posting list read).
MAX_NAME_LOOKUPS = 8


def _with_romanized_names(words: str, reader) -> str:
    """``words`` with each Han word of 2 to 4 characters that the catalogue holds as a name written in pinyin
    searched as either: 高圣平 → ``(高圣平 OR romanized:gaoshengping)``, so his book whose title page says
    Gao Shengping is found (the ``romanized`` keys: analysis.romanized_name_keys).

    A word is a whole Han run of 2 to 4 characters, or one (or two adjacent) words of a longer run's
    segmentation.  Only a key the index's dictionary holds is added, so a query naming nobody written in pinyin
    is parsed exactly as before and reads no more posting lists.  A name after ``author:`` (作者:) is searched
    as the author's or the romanised name (``(author:高圣平 OR romanized:gaoshengping)``); words in a quoted
    phrase, after ``-`` or another field prefix are left as typed.
    """
    if not switches.on(switches.ROMANIZED_NAMES) or not has_han(words):
        return words
    replacements: list[tuple[int, int, list[str]]] = []
    lookups = 0
    for match in HAN_RUN_RE.finditer(words):
        if lookups >= MAX_NAME_LOOKUPS:
            break
        run = match.group()
        prefix = _AUTHOR_PREFIX.search(words, 0, match.start())
        if prefix is not None and len(run) <= MAX_NAME_CHARS and not _protected(words, prefix.start()):
            lookups += 1
            keys = [key for key in han_name_keys(run) if ("romanized", key) in reader]
            if keys:
                replacements.append((prefix.start(), match.end(), keys))
            continue
        if _protected(words, match.start()):
            continue
        if len(run) <= MAX_NAME_CHARS:
            spans = [(0, len(run))]
        else:
            cut = segment_han_precise(run)
            spans = [(i, j) for _w, i, j in cut] + [(a[1], b[2]) for a, b in zip(cut, cut[1:], strict=False)]
            spans = sorted((s for s in spans if 2 <= s[1] - s[0] <= MAX_NAME_CHARS), key=lambda s: (s[0], s[0] - s[1]))
        taken = 0
        for i, j in spans:
            if i < taken or lookups >= MAX_NAME_LOOKUPS:
                continue
            lookups += 1
            keys = [key for key in han_name_keys(run[i:j]) if ("romanized", key) in reader]
            if keys:
                replacements.append((match.start() + i, match.start() + j, keys))
                taken = j
    if not replacements:
        return words
    out, last = [], 0
    for start, end, keys in replacements:
        alternatives = " OR ".join(f"romanized:{key}" for key in keys)
        out += [words[last:start], f" ({words[start:end]} OR {alternatives}) "]
        last = end
    out.append(words[last:])
    return " ".join("".join(out).split())


#: Pinyin keys looked up for words typed apart (each one term lookup in the ``pinyin`` field's dictionary).
MAX_PINYIN_JOINS = 16
#: A word of a query that may be pinyin: letters only (tone marks and ü included), nothing attached.
_PINYIN_WORD = re.compile(r"[A-Za-z\u00C0-\u024F]+")


def _with_joined_pinyin(words: str, reader) -> str:
    """``words`` with pinyin words typed apart also searched as the one word the index holds for them: ``wang
    liming`` → ``((wang liming) OR pinyin:wangliming)``.

    The pinyin field keeps a Chinese word's syllables joined (王利明 → ``wangliming``) and each syllable, not
    the given name 利明 on its own: ``wang liming`` required a ``liming`` no record holds and fell back to any
    word, which ranked other authors named 王 as high as 王利明.  A run of adjacent words that are all pinyin
    (whitespace between them, none quoted, excluded, after a field prefix or an operator) is read left to
    right, the longest span first (up to analysis.MAX_JOINED_PINYIN_WORDS words): a span whose joined letters
    (or, for a name's shape, last word first: ``liming wang``) the field's dictionary holds becomes that
    alternative.  Only a key the index holds is added, so other Latin queries are parsed as before; at most
    MAX_PINYIN_JOINS lookups.
    """
    if not switches.on(switches.PINYIN) or not switches.on(switches.JOINED_PINYIN) or not _LATIN.search(words):
        return words
    runs: list[list[re.Match]] = [[]]
    for token in re.finditer(r"\S+", words):
        word = token.group()
        if (_PINYIN_WORD.fullmatch(word) and not _OPERATOR_WORDS.fullmatch(word)
                and not _protected(words, token.start())):
            if runs[-1] and words[runs[-1][-1].end():token.start()].strip():
                runs.append([])
            runs[-1].append(token)
        elif runs[-1]:
            runs.append([])
    replacements: list[tuple[int, int, str]] = []
    lookups = 0
    for run in runs:
        i = 0
        while i < len(run) - 1 and lookups < MAX_PINYIN_JOINS:
            found = None
            for j in range(min(len(run), i + MAX_JOINED_PINYIN_WORDS), i + 1, -1):
                keys = joined_pinyin_keys([t.group() for t in run[i:j]])
                if not keys:
                    continue
                lookups += 1
                held = [key for key in keys if ("pinyin", key) in reader]
                if held:
                    found = (j, held)
                    break
                if lookups >= MAX_PINYIN_JOINS:
                    break
            if found is None:
                i += 1
                continue
            j, held = found
            start, end = run[i].start(), run[j - 1].end()
            alternatives = " OR ".join(f"pinyin:{key}" for key in held)
            replacements.append((start, end, f" (({words[start:end]}) OR {alternatives}) "))
            i = j
    if not replacements:
        return words
    out, last = [], 0
    for start, end, replacement in replacements:
        out += [words[last:start], replacement]
        last = end
    out.append(words[last:])
    return " ".join("".join(out).split())


#: A Chinese name's characters at most (a two-character surname and a two-character given name).
MAX_NAME_CHARS = 4
#: A field prefix naming the people, right before a Han run.
_AUTHOR_PREFIX = re.compile(r"(?:^|(?<=[\s(+]))(?:author|authors|people|作者):$", re.IGNORECASE)


# --- matching, filtering, counting and scoring with arrays --------------------------------------
#
# The count, the facets and the filters need every matching document, not
# just the top of the page, and walking Whoosh's matchers costs a Python call
# per posting per field.  Instead each query term's postings come as numpy
# arrays (search_index.postings_cache, cached per segment), the query tree is
# evaluated with sorted-array set operations, facets are counted with one
# bincount per facet, and BM25F scores — Whoosh's own formula and statistics —
# are computed for all matched documents at once.  Queries this cannot score
# (phrases, coordination-scaled OR) are matched the same way but ranked by
# Whoosh's scored search, restricted to the matched documents.


class _Unscorable(Exception):
    """A query part that only Whoosh's matchers can score."""


class _Segment:
    """One segment of the searcher and the array operations over its documents."""

    def __init__(self, leaf, offset: int):
        #: The search's time budget, checked at every node of the query tree (None: unbounded).
        self.deadline: _Deadline | None = None
        #: The documents the search may return (live, past the filters), or None: all.  Phrases verify
        #: positions only in these.
        self.mask: np.ndarray | None = None
        self._remembered: dict[tuple, np.ndarray] = {}
        #: The documents last scored and each segment document's row among them (-1: none), for _within.
        self._slots: tuple[np.ndarray, np.ndarray] | None = None
        self.leaf = leaf
        self.reader = leaf.reader()
        self.offset = offset
        self.id = self.reader.segment().segment_id()
        self.count = self.reader.doc_count_all()

    def term(self, fieldname: str, text) -> postings_cache.Postings:
        return postings_cache.postings(self.reader, self.id, fieldname, text)

    def facet(self, name: str) -> tuple[list[str], np.ndarray]:
        return postings_cache.facet_column(self.reader, self.id, FACETS[name])

    def cited_articles(self, code: str) -> list[tuple[int, np.ndarray]]:
        """Each article of the law ``code`` that documents of this segment cite, with their numbers (the
        ``cites`` terms ``<code>a<article>``), read once per segment and law."""
        key = (self.id, code)
        found = _CITED.get(key)
        if found is None:
            prefix = laws.citation_term(code, 0)[:-1]
            found = []
            for btext in self.reader.expand_prefix("cites", prefix):
                term = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                parsed = laws.split_term(term)
                if parsed is not None and parsed[0] == code.lower():
                    found.append((parsed[1], self.term("cites", term).ids))
            if len(_CITED) >= 256:
                _CITED.clear()
            _CITED[key] = found
        return found

    def column(self, fieldname: str) -> tuple[list[str], np.ndarray]:
        """A COLUMN field's distinct values (sorted) and each document's index into them (-1: none)."""
        return postings_cache.sort_column(self.reader, self.id, fieldname)

    def live(self) -> np.ndarray | None:
        """A mask of the documents not deleted, or None when nothing is deleted."""
        if not self.reader.has_deletions():
            return None
        mask = np.ones(self.count, dtype=bool)
        deleted = np.fromiter(self.reader.deleted_docs_set, dtype=np.int64)
        mask[deleted[deleted < self.count]] = False
        return mask

    def docs(self, q) -> np.ndarray:
        """The sorted document numbers of ``q`` in this segment (deleted ones may be included)."""
        if self.deadline is not None:
            self.deadline.check()
        kind = type(q)
        if kind in _REMEMBERED:
            # Scoring asks again for the documents of the Ands and phrases below an Or.
            key = (kind, repr(q), id(self.mask))
            found = self._remembered.get(key)
            if found is None:
                found = self._remembered[key] = self._docs(q, kind)
            return found
        return self._docs(q, kind)

    def _docs(self, q, kind) -> np.ndarray:
        if kind is wq.Term:
            return self.term(q.fieldname, q.text).ids
        if kind is wq.And or kind is wq.Require:
            # The rarest part first, then each other part only among the documents still in play: a long
            # query of frequent words no longer makes each word's whole list (the union of its fields').
            parts = sorted(q.children(), key=self._estimate)
            if not parts:
                return _NONE
            out = self.docs(parts[0])
            for part in parts[1:]:
                if not len(out):
                    break
                out = self._docs_in(part, out)
            return out
        if kind is wq.Or or kind is wq.DisjunctionMax:
            parts = [self.docs(sub) for sub in q.subqueries]
            parts = [p for p in parts if len(p)]
            if not parts:
                return _NONE
            if len(parts) == 1:
                return parts[0]
            if sum(len(p) for p in parts) < self.count // 8:
                return np.unique(np.concatenate(parts))
            # Long lists (frequent words): marking a flag per document is cheaper than sorting them all.
            seen = np.zeros(self.count, dtype=bool)
            for part in parts:
                seen[part] = True
            return np.flatnonzero(seen).astype(np.int32)
        if kind is wq.AndMaybe:
            return self.docs(q.a)
        if kind is wq.ConstantScoreQuery:
            return self.docs(q.child)
        if kind is wq.AndNot:
            a = self.docs(q.a)
            return a[~_member(a, self.docs(q.b))] if len(a) else a
        if kind is wq.Not:
            keep = np.ones(self.count, dtype=bool)
            keep[self.docs(q.query)] = False
            return np.flatnonzero(keep).astype(np.int32)
        if kind is wq.Every:
            return np.arange(self.count, dtype=np.int32)
        if q is wq.NullQuery:
            return _NONE
        if kind is wq.Phrase and self._positioned(q.fieldname):
            return self._phrase(q)
        # Anything else: Whoosh's own matcher, one Python call per candidate document, so the
        # time budget is checked as it goes.
        found = []
        try:
            matcher = q.matcher(self.leaf)
        except TermNotFound:  # what Query.docs() also answers with no documents
            return _NONE
        while matcher.is_active():
            found.append(matcher.id())
            if self.deadline is not None and not len(found) % 256:
                self.deadline.check()
            matcher.next()
        return np.array(sorted(found), dtype=np.int32)

    def _estimate(self, q) -> int:
        """At most how many documents ``q`` matches here, from its words' postings (a phrase's: their document
        frequencies, its lists are read with their positions later; a part of another kind: the segment's size,
        so it comes last)."""
        kind = type(q)
        if kind is wq.Term:
            return len(self.term(q.fieldname, q.text))
        if kind is wq.Or or kind is wq.DisjunctionMax:
            return sum(self._estimate(sub) for sub in q.subqueries)
        if kind is wq.And or kind is wq.Require:
            return min((self._estimate(sub) for sub in q.children()), default=0)
        if kind is wq.Phrase:
            return min((self._frequency(q.fieldname, w) for w in q.words), default=0)
        return self.count

    def _frequency(self, fieldname: str, text) -> int:
        try:
            return self.reader.doc_frequency(fieldname, text)
        except (TermNotFound, KeyError, ValueError, TypeError):  # a field or value the segment cannot hold
            return 0

    def _docs_in(self, q, candidates: np.ndarray) -> np.ndarray:
        """The documents of ``q`` among ``candidates`` (sorted, without repeats): a word or a group of words
        looked up for the candidates alone, anything else (a phrase, an exclusion) as :meth:`docs` finds it."""
        if self.deadline is not None:
            self.deadline.check()
        kind = type(q)
        if kind is wq.Term:
            return _intersect(candidates, self.term(q.fieldname, q.text).ids)
        if kind is wq.Or or kind is wq.DisjunctionMax:
            keep = np.zeros(len(candidates), dtype=bool)
            for sub in q.subqueries:
                found = self._docs_in(sub, candidates)
                keep[np.searchsorted(candidates, found)] = True
            return candidates[keep]
        if (kind is wq.And or kind is wq.Require) and (kind, repr(q), id(self.mask)) not in self._remembered:
            for sub in sorted(q.children(), key=self._estimate):
                if not len(candidates):
                    break
                candidates = self._docs_in(sub, candidates)
            return candidates
        return _intersect(candidates, self.docs(q))

    def scores(self, q, docs: np.ndarray, searcher, *, matched: bool = True) -> np.ndarray:
        """BM25F scores of ``docs`` for ``q``, as Whoosh's scored search computes them.

        ``matched``: every one of ``docs`` matches ``q`` (true of the whole query's matches and of an
        And's parts).  Below an Or it is not: a part scores only the documents it matches itself, so an
        And or a phrase gives the documents that hold only some of its words nothing, as Whoosh does.
        """
        kind = type(q)
        if kind is wq.Term:
            return self._term_scores(q, docs, searcher)
        if kind is wq.And or kind is wq.Require or kind is wq.Phrase:
            if kind is wq.Phrase:
                if not self._positioned(q.fieldname):
                    raise _Unscorable(kind.__name__)
                # Whoosh scores a phrase as the sum of its words' scores (each occurrence of a word once).
                out = np.zeros(len(docs))
                for word in q.words:
                    out += self._term_scores(wq.Term(q.fieldname, word), docs, searcher)
                out *= q.boost
            elif kind is wq.Require:
                out = self.scores(q.a, docs, searcher, matched=True)
            else:
                out = np.zeros(len(docs))
                for sub in q.subqueries:
                    out += self.scores(sub, docs, searcher, matched=True)
                out *= q.boost
            if not matched and len(docs):
                out[~_member(docs, self.docs(q))] = 0.0
            return out
        if kind is wq.Or and not q.scale:
            return self._parts_scores(q.subqueries, docs, searcher) * q.boost
        if kind is wq.Or:
            # Whoosh's CoordMatcher (the any-word fallback): the summed score, plus a bonus per query term
            # the document holds, times (terms - 1) / terms.  Whoosh counts the terms of the matcher tree
            # and, every few documents, again in a tree pruned of the lists that have run out, so its
            # scores depend on the order it walks documents; here the terms are counted once per segment
            # (Whoosh's count before any pruning).
            base = self._parts_scores(q.subqueries, docs, searcher)
            base *= q.boost
            terms, holding = self._coordination(q, docs)
            if not terms:
                return base
            if terms == q.scale:
                return np.zeros(len(docs))
            out = (base + (holding - 1) / (terms - q.scale) ** 2) * ((terms - 1) / terms)
            if not matched:
                out[holding == 0] = 0.0  # documents this Or does not match (every match holds a term)
            return out
        if kind is wq.DisjunctionMax:
            parts = [self.scores(sub, docs, searcher, matched=False) for sub in q.subqueries]
            best = np.max(parts, axis=0) if parts else np.zeros(len(docs))
            if q.tiebreak:
                best = best + q.tiebreak * (np.sum(parts, axis=0) - best)
            return best * q.boost
        if kind is wq.AndNot:
            out = self.scores(q.a, docs, searcher, matched=matched)
            if not matched and len(docs):
                out[~_member(docs, self.docs(q))] = 0.0
            return out
        if kind is wq.AndMaybe:
            return self.scores(q.a, docs, searcher, matched=matched) + self.scores(q.b, docs, searcher, matched=False)
        if kind is wq.ConstantScoreQuery:
            out = np.full(len(docs), float(q.score))
            if not matched and len(docs):
                out[~_member(docs, self.docs(q.child))] = 0.0
            return out
        if kind is wq.Every:
            return np.zeros(len(docs))
        raise _Unscorable(kind.__name__)

    def _parts_scores(self, parts, docs: np.ndarray, searcher) -> np.ndarray:
        """The sum of the scores of an Or's ``parts`` for ``docs``, each part scoring only the documents it
        matches itself (``scores(..., matched=False)``).

        A part that matches few of ``docs`` (a rare word, a phrase, a law's long name) is scored on its own
        matches and added at their rows: the work follows its postings, not ``docs``.  At a million records
        the any-word fallback of a long query matches nearly every record, and scoring each of its ~150
        term-and-field parts over all of them (an array the size of the segment, then one the size of the
        matches) took 1–2 s; the sums are the same, each part adding 0.0 nowhere else."""
        if len(docs) and len(docs) * 8 >= self.count:
            # Many documents: the sums are kept per document of the segment, a word's postings scored as they
            # are and added where they fall (each document of ``docs`` gets the same additions in the same
            # order as below; the others are never read).
            acc = np.zeros(self.count)
            for sub in parts:
                if type(sub) is wq.Term:
                    ids, scores = self._posting_scores(sub, searcher)
                    acc[ids] += scores
                    continue
                rows, within = self._within(sub, docs)
                if rows is None:
                    acc[docs] += self.scores(sub, docs, searcher, matched=False)
                elif len(rows):
                    acc[within] += self.scores(sub, within, searcher, matched=True)
            return acc[docs]
        out = np.zeros(len(docs))
        for sub in parts:
            rows, within = self._within(sub, docs)
            if rows is None:
                out += self.scores(sub, docs, searcher, matched=False)
            elif len(rows):
                out[rows] += self.scores(sub, within, searcher, matched=True)
        return out

    def _slots_of(self, docs: np.ndarray) -> np.ndarray | None:
        """For many ``docs`` (at least an eighth of the segment; the any-word fallback of a long query), each
        segment document's row among them (-1: none), made once per ``docs``; None for fewer."""
        if not len(docs) or len(docs) * 8 < self.count:
            return None
        if self._slots is None or self._slots[0] is not docs:
            slots = np.full(self.count, -1, dtype=np.int32)
            slots[docs] = np.arange(len(docs), dtype=np.int32)
            self._slots = (docs, slots)
        return self._slots[1]

    #: Parts whose score is 0.0 (and coordination count 0) at every document they do not match, and whose
    #: own documents ``docs`` finds without Whoosh's matchers: scored on those alone (_within).
    _SPARSE = (wq.Term, wq.And, wq.Require, wq.AndNot, wq.ConstantScoreQuery)

    def _within(self, q, docs: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The rows of ``docs`` that ``q`` matches and those documents, or (None, None) when ``q`` is better
        scored over all of ``docs``: a part not in _SPARSE (an Or, AndMaybe, an unpositioned phrase), or one
        matching many more documents than ``docs`` holds."""
        kind = type(q)
        if not (kind in self._SPARSE or (kind is wq.Phrase and self._positioned(q.fieldname))) or not len(docs):
            return None, None
        own = self.docs(q)
        slots = self._slots_of(docs)
        if slots is not None:
            rows = slots[own]
            found = rows >= 0
        else:
            if len(own) > 4 * len(docs):
                return None, None
            rows = np.searchsorted(docs, own)
            rows[rows >= len(docs)] = len(docs) - 1
            found = docs[rows] == own
        return rows[found], own[found]

    def _parts_coordination(self, parts, docs: np.ndarray) -> tuple[int, np.ndarray]:
        """_coordination summed over ``parts``: terms, and per document of ``docs`` the terms it holds."""
        terms, holding = 0, np.zeros(len(docs))
        for sub in parts:
            rows, within = self._within(sub, docs)
            if rows is not None and type(sub) is wq.Term:
                if len(self.term(sub.fieldname, sub.text)):  # a word of the segment holds 1 in each of its rows
                    terms += 1
                    holding[rows] += 1.0
                continue
            if rows is None:
                sub_terms, sub_holding = self._coordination(sub, docs)
                holding += sub_holding
            else:
                sub_terms, sub_holding = self._coordination(sub, within)
                holding[rows] += sub_holding
            terms += sub_terms
        return terms, holding

    # --- phrases ------------------------------------------------------------------------------
    #
    # Whoosh matches a phrase with a Python call per candidate document and word (SpanNear2: word i+1
    # at a position 1..slop after word i).  Here the documents holding every distinct word are found by
    # intersecting their arrays, rarest first; then each word's positions in those candidates are
    # looked up as one sorted array of keys (document << 32 | position), and the phrase is checked
    # with vectorised lookups.  Cost: the candidates' positions of each distinct word, once.

    def _positioned(self, fieldname: str) -> bool:
        schema = self.reader.schema
        return fieldname in schema and bool(schema[fieldname].format) and schema[fieldname].format.supports("positions")

    def _phrase(self, q) -> np.ndarray:
        field = self.reader.schema[q.fieldname]
        try:
            words = [w if isinstance(w, bytes) else field.to_bytes(w) for w in q.words]
        except ValueError:
            return _NONE
        if not words:
            return _NONE
        distinct = list(dict.fromkeys(words))
        if len(words) == 1:
            return self.term(q.fieldname, words[0]).ids
        # A list not read yet is read with its positions: the blocks hold both, and unpacking them is the
        # cost.  One read already (by a query of words) has its positions looked up below, in the blocks
        # of the phrase's candidates only.
        postings = {
            w: self.term(q.fieldname, w)
            if postings_cache.is_cached(self.id, q.fieldname, w)
            else postings_cache.positions(self.reader, self.id, q.fieldname, w)
            for w in distinct
        }
        if any(not len(p) for p in postings.values()):
            return _NONE
        if q.slop < 1:  # SpanNear2 wants 1 <= distance <= slop
            return _NONE
        candidates = None
        for part in sorted(postings.values(), key=len):
            candidates = part.ids if candidates is None else _intersect(candidates, part.ids)
            if not len(candidates):
                return _NONE
        if self.mask is not None:
            candidates = candidates[self.mask[candidates]]
            if not len(candidates):
                return _NONE
        keys: dict[bytes, np.ndarray] = {}

        def keys_of(word: bytes, docs: np.ndarray) -> np.ndarray:
            # A repeated word's keys are read once, for the widest set of documents asked.
            if word not in keys:
                if self.deadline is not None:
                    self.deadline.check()
                keys[word] = self._position_keys(q.fieldname, word, docs, len(postings[word]))
            return keys[word]

        if q.slop == 1:
            # Starts p with word i at p + i for every i: the rarest word's starts, narrowed by the others in
            # the order of their rarity; each word's positions are read only in the documents still in play.
            order = sorted(range(len(words)), key=lambda i: (len(postings[words[i]]), i))
            first = keys_of(words[order[0]], candidates)
            # A start before position 0 is no start (and would read as the previous document's).
            starts = first[(first & 0xFFFFFFFF) >= order[0]] - order[0]
            for i in order[1:]:
                in_play = _distinct_sorted((starts >> 32).astype(np.int32))
                starts = starts[_member(starts + i, keys_of(words[i], in_play))]
                if not len(starts):
                    return _NONE
            return _distinct_sorted((starts >> 32).astype(np.int32))
        # A wider slop: the positions where word i can end a chain of words 0..i, word by word.
        ends = keys_of(words[0], candidates)
        for word in words[1:]:
            following = keys_of(word, candidates)
            before = np.searchsorted(ends, following, side="left") - 1
            has = before >= 0
            gap = np.full(len(following), -1, dtype=np.int64)
            prior = ends[np.maximum(before, 0)]
            same_doc = (prior >> 32) == (following >> 32)
            gap[has & same_doc] = (following - prior)[has & same_doc]
            ends = following[(gap >= 1) & (gap <= q.slop)]
            if not len(ends):
                return _NONE
        return _distinct_sorted((ends >> 32).astype(np.int32))

    def _position_keys(self, fieldname: str, btext: bytes, docs: np.ndarray, postings: int) -> np.ndarray:
        """Sorted keys document << 32 | position of the term's occurrences in ``docs`` (which all hold it).

        From the term's cached positions when they are cached or when ``docs`` are a good part of its
        ``postings`` (then they are read whole and cached); otherwise only the blocks holding ``docs``
        are unpacked.
        """
        if postings_cache.is_cached(self.id, fieldname, btext, positions=True) or len(docs) * READ_WHOLE_RATIO >= postings:
            found = postings_cache.positions(self.reader, self.id, fieldname, btext)
            rows = np.searchsorted(found.ids, docs)
            begin, end = found.starts[rows], found.starts[rows + 1]
            ids, counts, pos = docs, end - begin, found.pos
        else:
            ids, counts, pos = postings_cache.positions_in(self.reader, fieldname, btext, docs)
            begin = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        total = int(counts.sum())
        if not total:
            return np.empty(0, dtype=np.int64)
        # Indices begin[r] .. begin[r] + counts[r] - 1 of every row r, concatenated.
        shift = np.repeat(begin - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        index = np.arange(total, dtype=np.int64) + shift
        doc = np.repeat(ids.astype(np.int64), counts)
        # Sorted already (documents ascending, positions ascending within one); a word may repeat a position.
        return _distinct_sorted((doc << 32) | pos[index].astype(np.int64))

    def _coordination(self, q, docs: np.ndarray) -> tuple[int, np.ndarray]:
        """For Whoosh's coordination bonus: the terms of ``q`` present in this segment (as Whoosh's matcher
        tree holds them) and, per document of ``docs``, how many of them match it there."""
        kind = type(q)
        if kind is wq.Term:
            ids = self.term(q.fieldname, q.text).ids
            if not len(ids):
                return 0, np.zeros(len(docs))
            return 1, _member(docs, ids).astype(np.float64)
        if kind is wq.Phrase and self._positioned(q.fieldname):
            # Whoosh's phrase matcher is empty when one of the words is not in the segment.
            if any(not len(self.term(q.fieldname, w)) for w in q.words):
                return 0, np.zeros(len(docs))
            return len(q.words), len(q.words) * _member(docs, self.docs(q)).astype(np.float64)
        if kind in (wq.Or, wq.DisjunctionMax, wq.And, wq.AndNot):
            # An And's (and an AndNot's) matcher holds the terms of all its parts, even when one part has
            # no documents here; they count only in the documents the whole matches.
            if kind is wq.AndNot:
                terms, holding = self._parts_coordination([q.a], docs)
                terms += self._parts_coordination([q.b], docs[:0])[0]
            else:
                terms, holding = self._parts_coordination(q.subqueries, docs)
            if kind is wq.And or kind is wq.AndNot:
                holding[~_member(docs, self.docs(q))] = 0.0
            return terms, holding
        raise _Unscorable(kind.__name__)

    def _posting_scores(self, q, searcher) -> tuple[np.ndarray, np.ndarray]:
        """The documents of the term ``q`` in this segment and their scores (as _term_scores gives them)."""
        postings = self.term(q.fieldname, q.text)
        if not len(postings):
            return postings.ids, np.zeros(0)
        field = searcher.schema[q.fieldname]
        btext = field.to_bytes(q.text) if not isinstance(q.text, bytes) else q.text
        weighting = searcher.weighting
        lengths = postings_cache.field_lengths(self.reader, self.id, q.fieldname)
        scores = bm25(searcher.idf(q.fieldname, btext), postings.weights.astype(np.float64), lengths[postings.ids],
                      searcher.avg_field_length(q.fieldname) or 1, field_b(weighting, q.fieldname), weighting.K1)
        return postings.ids, scores * q.boost

    def _term_scores(self, q, docs: np.ndarray, searcher) -> np.ndarray:
        postings = self.term(q.fieldname, q.text)
        out = np.zeros(len(docs))
        if not len(postings) or not len(docs):
            return out
        field = searcher.schema[q.fieldname]
        btext = field.to_bytes(q.text) if not isinstance(q.text, bytes) else q.text
        weighting = searcher.weighting
        b = field_b(weighting, q.fieldname)
        idf = searcher.idf(q.fieldname, btext)
        avgfl = searcher.avg_field_length(q.fieldname) or 1
        lengths = postings_cache.field_lengths(self.reader, self.id, q.fieldname)
        if len(postings) <= 4 * len(docs):
            # Many documents to score (a frequent word in a long Or): score every posting once and pick
            # the documents' scores from a dense array, instead of a binary search per document.
            dense = np.zeros(self.count)
            dense[postings.ids] = bm25(idf, postings.weights.astype(np.float64), lengths[postings.ids], avgfl, b,
                                       weighting.K1)
            return dense[docs] * q.boost
        where = np.searchsorted(postings.ids, docs)
        where[where >= len(postings)] = len(postings) - 1
        present = postings.ids[where] == docs
        if not present.any():
            return out
        tf = postings.weights[where[present]].astype(np.float64)
        fl = lengths[docs[present]]
        out[present] = bm25(idf, tf, fl, avgfl, b, weighting.K1)
        return out * q.boost


_NONE = np.empty(0, dtype=np.int32)
#: Segment id, law code → the articles its documents cite (_Segment.cited_articles); segments never change.
_CITED: dict[tuple[str, str], list[tuple[int, np.ndarray]]] = {}
#: A phrase word's positions are read whole (and cached) when the documents to check are at least 1/this of
#: its postings; fewer are looked up in the blocks that hold them.  A block holds 128 postings, so with
#: more candidates than about 1/256 of a list most of its blocks would be unpacked anyway.
READ_WHOLE_RATIO = 256
_REMEMBERED = (wq.Phrase, wq.And, wq.AndNot)


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    """A sorted array without its repeats (np.unique would sort it again)."""
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values of two sorted arrays of document numbers without repeats that are in both, sorted.

    np.intersect1d sorts both together again: at a million records two lists of frequent words took 20–60 ms,
    most of a long query's time.  Here lists of like lengths mark the longer one's documents in a flag per
    document and read the shorter one's flags; a much shorter one is looked up by binary search."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return a
    if len(a) * 8 >= len(b):
        flags = np.zeros(int(max(a[-1], b[-1])) + 1, dtype=bool)
        flags[b] = True
        return a[flags[a]]
    return a[_member(a, b)]


def _member(values: np.ndarray, sorted_array: np.ndarray) -> np.ndarray:
    """Which of ``values`` occur in ``sorted_array``."""
    if not len(sorted_array):
        return np.zeros(len(values), dtype=bool)
    where = np.searchsorted(sorted_array, values)
    where[where >= len(sorted_array)] = len(sorted_array) - 1
    return sorted_array[where] == values


def _segments(searcher) -> list[_Segment]:
    out = []
    for leaf, offset in searcher.leaf_searchers():
        if leaf.reader().segment() is None:  # an empty index has no segment
            continue
        out.append(_Segment(leaf, offset))
    live = frozenset(seg.id for seg in out)
    global _live_segments
    if live != _live_segments:
        postings_cache.forget_segments_except(set(live))
        _CITED.clear()
        _live_segments = live
    return out


_live_segments: frozenset[str] = frozenset()


def clear_caches() -> None:
    """Forget every cached array (tests; memory pressure)."""
    global _live_segments
    postings_cache.clear()
    _CITED.clear()
    _live_segments = frozenset()


class _AllowedTimeLimitCollector(collectors.TimeLimitCollector):
    """Whoosh's time-limited collection of only the ``allowed`` documents (global numbers).

    Not ``TimeLimitCollector(searcher.collector(filter=allowed))``: the time limit's loop hands each match to its
    child's ``collect``, and a FilterCollector filters only in its own ``collect_matches``, so that filter was
    never applied — a query that Whoosh scores (a top-level NOT, the any-word fallback's) put internal papers on an
    anonymous reader's page, and records outside the type, year or class asked for (attack round 21)."""

    def __init__(self, child, allowed: set[int], *, timelimit: float):
        super().__init__(child, timelimit=timelimit)
        self.allowed = allowed

    def collect_matches(self):
        child, allowed = self.child, self.allowed
        for sub_docnum in child.matches():
            if self.timedout and not self.greedy:
                raise collectors.TimeLimit
            if self.offset + sub_docnum in allowed:
                child.collect(sub_docnum)
            if self.timedout:
                raise collectors.TimeLimit


def _allowed(seg: _Segment, filters: Filters) -> np.ndarray | None:
    """A mask of the segment's documents that pass the filters and the visibility rule (None: all)."""
    mask = seg.live()
    conditions = []
    for name, wanted in (("type", filters.type), ("language", filters.language)):
        if wanted:
            conditions.append((name, lambda v, w=wanted: v == w))
    if filters.available is not None:
        flag = "yes" if filters.available else "no"
        conditions.append(("available", lambda v, f=flag: v == f))
    if filters.year_from is not None or filters.year_to is not None:
        low = filters.year_from if filters.year_from is not None else -(10**9)
        high = filters.year_to if filters.year_to is not None else 10**9
        conditions.append(("year", lambda v: v.lstrip("-").isdigit() and low <= int(v) <= high))
    for name, accept in conditions:
        values, codes = seg.facet(name)
        # Per value, not per document: which codes pass, then one lookup per document.
        passing = np.array([accept(v) for v in values] + [False], dtype=bool)
        part = passing[codes]  # code -1 picks the final False
        mask = part if mask is None else mask & part
    if filters.cites:
        part = np.zeros(seg.count, dtype=bool)
        part[seg.term("cites", filters.cites).ids] = True
        mask = part if mask is None else mask & part
    if filters.clc:
        part = np.zeros(seg.count, dtype=bool)
        part[seg.term("clc", fold_code(filters.clc).lower()).ids] = True
        mask = part if mask is None else mask & part
    if not filters.include_internal:
        internal = seg.term("visibility", "internal").ids
        if len(internal):
            if mask is None:
                mask = np.ones(seg.count, dtype=bool)
            mask[internal] = False
    return mask


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
#: At most this much of a full text is analysed looking for a highlight: a 2-million-character text in
#: which no query word occurs verbatim took 8 s to scan to its end (an anonymous query could make every
#: hit on a page do that); past it the hit simply has no text snippet.
TEXT_SCAN_CHARS = 6000
#: A summary up to this long is highlighted whole; a longer one a window at a time, as a full text.
SUMMARY_WHOLE_CHARS = 2000


def _mark(text: str, terms: frozenset[str], top: int, fragmenter=_FRAGMENTER) -> str:
    if not text or not terms:
        return ""
    return highlight.highlight(text, terms, _TEXT, fragmenter, _FORMATTER, top=top, mode="index")


#: Titles are shown whole, never cut into a fragment.
_WHOLE = highlight.WholeFragmenter()


def _mark_long(text: str, terms: frozenset[str], top: int) -> str:
    lowered = text.lower()
    found = [i for i in (lowered.find(term) for term in terms if term) if i >= 0]
    if found:
        start = max(0, min(found) - 40)
        marked = _mark(text[start : start + TEXT_WINDOW], terms, top)
        if marked:
            return marked
    start = 0
    limit = min(len(text), TEXT_SCAN_CHARS)
    while start < limit:
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


#: A citation's snippet: this many characters before the first cited article and up to this many in all.
CITATION_BEFORE = 40
CITATION_WINDOW = 200


def _mark_citations(text: str, wanted: set[str], dictionary: laws.LawDictionary, *, whole: bool) -> str:
    """``text`` (or, unless ``whole``, a window of it around the first one) with the citations of the wanted
    ``cites`` terms marked; "" when it cites none of them."""
    if not text or "条" not in text:
        return ""
    spans: list[list[int]] = []
    for citation in dictionary.citations(text):
        if citation.term in wanted:
            if spans and citation.start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], citation.end)
            else:
                spans.append([citation.start, citation.end])
    if not spans:
        return ""
    begin, end = (0, len(text)) if whole else (max(0, spans[0][0] - CITATION_BEFORE),
                                                min(len(text), max(spans[0][0] - CITATION_BEFORE, 0) + CITATION_WINDOW))
    end = max(end, spans[0][1])
    out, last = [], begin
    for start, stop in spans:
        if start >= end:
            break
        out += [html.escape(text[last:start], quote=False), f"<mark>{html.escape(text[start:stop], quote=False)}</mark>"]
        last = stop
    out.append(html.escape(text[last:max(end, last)], quote=False))
    return "".join(out)


def _highlights(fields: dict, terms: dict[str, set[str]], dictionary: laws.LawDictionary | None = None) -> dict[str, str]:
    words = frozenset(terms.get("body", set()) | terms.get("title", set()) | terms.get("people", set()))
    out = {}
    title = fields.get("title", "")
    marked = _mark(title, words, 1, _WHOLE) or _pinyin_marks(title, terms.get("pinyin", set()))
    out["title"] = marked or html.escape(fields.get("title_display", ""), quote=False)
    summary = fields.get("summary", "")
    if summary:
        # A long abstract is read like a full text, a window at a time: the fifteenth attack's 20 papers with
        # 20,000-character abstracts made every page of a common word analyse 264,000 tokens (0.03 → 0.8 s).
        marked = _mark(summary, words, 2) if len(summary) <= SUMMARY_WHOLE_CHARS else _mark_long(summary, words, 2)
        out["summary"] = marked or html.escape(summary[:120], quote=False)
    if fields.get("text"):
        text = _mark_long(fields["text"], frozenset(words | terms.get("text", set())), 2)
        if text:
            out["text"] = text
    cited = terms.get("cites")
    if cited and dictionary is not None:
        # The cited article, marked where the record cites it (民法典第394条 however it was written there).
        for name, value in (("title", fields.get("title", "")), ("summary", summary), ("text", fields.get("text", ""))):
            marked = _mark_citations(value, cited, dictionary, whole=name == "title")
            if marked:
                out[name] = marked
    return out


# --- the search ------------------------------------------------------------------------------


# --- what a process loads once ---------------------------------------------------------------------------
#
# A search's first use of a dictionary loads it: rjieba with the legal dictionary, OpenCC, pypinyin's readings
# (the names written in pinyin read every Chinese query by its sound, the did-you-mean every misheard one),
# cn2an, the law names, numpy.ma (np.unique imports it), the query parser's regular expressions.  Measured on
# a fresh gunicorn worker: 1.2 s of the first 担保物权 inside the time budget, 2–3 s under load (docs/performance.md,
# "The first search of a process").  warm() does all of it at a server's start (shuyuan/wsgi.py) and
# search() makes sure of it before its budget starts, so the budget counts the query's work only.

#: Queries that take every path of a search once: simplified, traditional, pinyin (full and initials),
#: Mongolian, English, ISBN, call number, class, field prefixes, phrase, exclusion, law names and a book of
#: one, citations (Arabic and Chinese numerals, bare number), a discipline, a name written in pinyin, and both
#: did-you-means (a misheard Chinese word, a misspelt Latin one).
WARM_QUERIES = (
    "担保物权", "擔保物權 执行", "danbao wuquan dbwq", "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ\u202fᠶᠢᠨ", "The Concept of Law judgments",
    "978-7-301-04815-3", "D923.6/12", "D923.6", "clc:D92", '题名:"民法总论" author:王利明 -刑法 (执行 OR 审判)',
    "民诉法 管辖", "民法典物权编", "民法典第三百九十四条", "《民法典》394条 抵押", "民法典394", "民事诉讼法学",
    "高圣平", "担保无权", "王利名 judgmnt", "ＩＳＢＮ　９７８", "",
)

_warm_lock = threading.Lock()
_loaded = False


def warm_loaders() -> None:
    """Load, once in this process, everything a search loads on first use, without opening the index.

    Runs every query of :data:`WARM_QUERIES` through the query side of a search (normalization, limits, law
    names and citations, the parser, every searched field's analyzer), reads each Chinese word by its sound
    as the names written in pinyin and the did-you-mean do, and builds the law dictionary (a database query).
    Thread-safe; later calls return at once.  A step that fails (no database yet) is logged and left to the
    first search."""
    global _loaded
    if _loaded:
        return
    with _warm_lock:
        if _loaded:
            return
        from search_index.index_schema import build_schema

        schema = build_schema()
        try:
            dictionary = laws.current()
        except Exception:  # noqa: BLE001 - a process started before migrate: the first search builds it
            logger.warning("search warm-up: the law dictionary could not be read", exc_info=True)
            dictionary = laws.LawDictionary([])
        np.unique(np.array([2, 1, 2]))  # its first call imports numpy.ma (10 ms)
        for query in WARM_QUERIES:
            text = normalize_query_text(query)
            check_limits(text)
            law = law_query(_discipline_optional(text), dictionary)
            for fieldname in SEARCH_FIELDS:
                for mode in ("query", "index"):
                    list(schema[fieldname].analyzer(text, mode=mode))
            for any_term in (False, True):
                parse(law.text, schema, any_term=any_term, fields=_fields_for(text, with_bigrams=True))
            for match in HAN_RUN_RE.finditer(text):
                han_name_keys(match.group()[:MAX_NAME_CHARS])
                han_syllables(match.group())
                char_readings(match.group()[0])
        laws.parse_number("三百九十四")  # cn2an
        _loaded = True


def warm() -> None:
    """Make a server process ready to search within its budget from its first request: :func:`warm_loaders`,
    then :data:`WARM_QUERIES` searched on the index when there is a usable one (the segments' columns, masks
    and sidecars read once, before a preloading server forks its workers, who share them), and this
    thread's searcher closed again (no open file is shared by forked workers).  Never raises."""
    try:
        warm_loaders()
        if generations.current_generation() is None:
            return
        searcher = _searcher()
        try:
            dictionary = laws.current()
            for query in WARM_QUERIES:
                try:
                    _search(normalize_query_text(query), searcher, dictionary, filters=Filters(),
                            sort="relevance", limit=20, offset=0, highlight=True, as_typed=False,
                            deadline=_Deadline(60.0))
                except (QueryError, SearchTimeout):
                    pass
        finally:
            reset()
    except Exception:  # noqa: BLE001 - a missing or damaged index is the first search's to report
        logger.warning("search warm-up on the index failed", exc_info=True)


def search(
    text: str,
    *,
    filters: Filters,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    highlight: bool = True,
    as_typed: bool = False,
) -> SearchResult:
    """Search the index; raises QueryError (the query's fault) or SearchTimeout (past the time budget).

    When the words as typed find nothing, or only records holding some of them, and the did-you-mean
    correction finds records holding all of its words (or the typed words found nothing at all), the
    result is the correction's: ``query`` is the correction, ``corrected_from`` the text as typed and
    ``suggestion`` the correction (a mature search's "showing results for …; search instead for …").
    ``as_typed=True`` answers the words as typed, offering the correction only as ``suggestion``.

    ``highlight=False`` leaves out highlights, the spelling suggestion and the correction: the hits' ids,
    titles and counts only, for callers that want many records at once (the SRU server).

    The time budget covers everything from here on: reading the query, opening (or reopening) the index,
    the law dictionary's version, the search and its correction.  Only :func:`warm_loaders` runs before it,
    which loads nothing once a process has been warmed (a server at its start)."""
    warm_loaders()
    deadline = _Deadline(getattr(settings, "SEARCH_TIME_LIMIT", TIME_LIMIT))
    text = normalize_query_text(text or "")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryTooComplex(
            _("查询过长，最多 %(limit)s 个字符") % {"limit": MAX_QUERY_LENGTH},
            limit=MAX_QUERY_LENGTH,
        )
    check_limits(text)
    # A search must never fail because a writer in another process committed: every file a searcher reads is
    # opened with it (_open_searcher), and should anything still vanish under a search because the index
    # moved on since its searcher opened, the whole search runs again on a fresh searcher (a few times at
    # most, within the time budget).  A file missing from an index nobody changed is damage: raised.
    # The only place a search is run again (services.search does not).
    for attempt in range(1, SEARCH_ATTEMPTS + 1):
        generation = generations.current_generation()
        searcher = None
        try:
            searcher = _searcher()  # a rebuild's swap may delete the generation as it is opened
            dictionary = laws.current()
            return _search(text, searcher, dictionary, filters=filters, sort=sort, limit=limit, offset=offset,
                           highlight=highlight, as_typed=as_typed, deadline=deadline)
        except QueryError:
            raise  # the query's fault (a ValueError, which UNREADABLE also catches)
        except generations.UNREADABLE as exc:
            moved = _moved_on(searcher) if searcher is not None else generations.current_generation() != generation
            if attempt == SEARCH_ATTEMPTS or not moved:
                raise
            logger.info("search repeated on a fresh searcher: the index changed under it (%r)", exc)
            reset()
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _search(text: str, searcher, dictionary: laws.LawDictionary, *, filters: Filters, sort: str, limit: int,
            offset: int, highlight: bool, as_typed: bool, deadline: _Deadline) -> SearchResult:
    """:func:`search` of a normalized text within the limits, on an open searcher."""
    deadline.check()
    result, run = _answer(text, searcher, dictionary, filters, sort, limit, offset, deadline, highlight)
    # Offer a correction when the words as typed did not all match.
    if run is None or not highlight or (result.count and result.matched_all_terms) or not switches.on(switches.SUGGESTIONS):
        return result
    suggestion = _suggest(run, text)
    if suggestion is None or suggestion == text:
        return result
    if not as_typed:
        corrected = _corrected(suggestion, searcher, dictionary, filters, sort, limit, offset, deadline,
                               all_words=bool(result.count))
        if corrected is not None and corrected.count and (corrected.matched_all_terms or not result.count):
            corrected.suggestion = suggestion
            corrected.corrected_from = text.strip()
            return corrected
    result.suggestion = suggestion
    return result


def _corrected(suggestion: str, searcher, dictionary, filters: Filters, sort: str, limit: int, offset: int,
               deadline: _Deadline, *, all_words: bool = False) -> SearchResult | None:
    """The result of the did-you-mean correction, or None when it cannot be searched as the typed query was
    (past a limit: its words are counted anew; an ``article`` filter whose law it no longer names).

    ``all_words``: only a correction whose words all match is wanted (the words as typed found something), so
    its any-word fallback, which could not be shown, is not run (at a million records that fallback of a long
    query costs as much as the typed query's own, and the two together ran past the time limit)."""
    try:
        check_limits(suggestion)
        result, _run = _answer(suggestion, searcher, dictionary, filters, sort, limit, offset, deadline, True,
                               any_word=not all_words)
    except QueryError:
        return None
    return result


def _answer(text: str, searcher, dictionary: laws.LawDictionary, filters: Filters, sort: str, limit: int,
            offset: int, deadline: _Deadline, highlight: bool, *, any_word: bool = True,
            ) -> tuple[SearchResult, "_Run | None"]:
    """The result of ``text`` (normalized, within the limits) and the run that found it (None when nothing
    searchable remained of the text), without a suggestion.  ``any_word=False``: no any-word fallback when
    the words do not all match (the result then finds nothing)."""
    schema = searcher.schema
    law = law_query(_discipline_optional(text), dictionary)
    if filters.article is not None:
        if law.law is None:
            raise QueryError(_("article：查询中没有法律名称，无法按条文筛选"))
        filters = replace(filters, cites=laws.citation_term(law.law.code, filters.article))
    run = _Run(searcher, filters, sort, limit, offset, deadline)
    run.highlight = highlight
    run.law = law.law
    run.dictionary = dictionary
    # The words searched: the text with citations and law names rewritten (law_query), and names the
    # catalogue holds written in pinyin added (_with_romanized_names); fields, the call number, the empty
    # query and did-you-mean look at the text as typed.
    words = _with_joined_pinyin(_with_romanized_names(law.text, searcher.reader()), searcher.reader())

    matched_all = True
    call_number = call_number_query(text) if text.strip() else None
    result = None
    if call_number is not None:
        # A class or a call number is read in shelf order unless another order was asked for.
        run.sort = "call_number" if sort == "relevance" else sort
        result = run(call_number)
        run.sort = sort
    if result is not None and result[0]:
        pass  # a call number or class that the catalogue has; anything else is searched as words
    elif not text.strip():
        result = run(wq.Every())
    else:
        query = parse(words, schema, fields=_fields_for(text, with_bigrams=False))
        # An article chosen (the facet's link) keeps to the works citing it.
        searched = query if filters.cites else _with_law_books(query, law, schema)
        result = run(_exact_title(searched, law.whole)) if query is not None else None
        if isinstance(query, wq.Term):  # an ISBN, a CLC class or one cited article: nothing to widen
            pass
        elif (result is None or result[0] < offset + limit) and has_han(text):
            # The words alone leave the page short: let Han bigrams find text
            # that the segmenter cut differently.
            wider = parse(words, schema, fields=_fields_for(text, with_bigrams=True))
            if wider is not None:
                result = run(_exact_title(wider, law.whole))
        if (result is None or result[0] == 0) and not isinstance(query, wq.Term):
            # "The Concept of Law": the index keeps no stop word, yet a Latin word is also looked for as pinyin
            # ("an" is 安), so "the" and "of" were required there and nothing matched.  The meaningful words
            # all matching is a match of all the words.
            plain = _without_stop_words(words)
            if plain != words and plain.strip():
                stripped = parse(plain, schema, fields=_fields_for(_without_stop_words(text), with_bigrams=has_han(plain)))
                if stripped is not None:
                    result = run(_exact_title(stripped, law.whole))
        if any_word and (result is None or result[0] == 0) and not isinstance(query, wq.Term):
            loose = parse(words, schema, any_term=True, fields=_fields_for(text, with_bigrams=True))
            if loose is not None:
                matched_all = False
                result = run(_exact_title(loose, law.whole))
    if result is None:
        facets = {k: {} for k in FACETS}
        if law.law is not None:
            facets["article"] = {}
        return SearchResult(count=0, items=[], facets=facets, query=text, expansions=law.expansions,
                            citations=law.citations, law=law.named()), None
    count, items, facets = result
    return SearchResult(
        count=count, items=items, facets=facets, matched_all_terms=matched_all, query=text,
        expansions=law.expansions, citations=law.citations, law=law.named(),
    ), run


class _Run:
    """Runs queries for one search request: every match is counted and faceted, the page is ranked."""

    def __init__(self, searcher, filters: Filters, sort: str, limit: int, offset: int, deadline: _Deadline):
        self.searcher = searcher
        self.filters = filters
        self.sort = sort
        self.limit = limit
        self.offset = offset
        self.deadline = deadline
        self.segments = _segments(searcher)
        for seg in self.segments:
            seg.deadline = deadline
        self._masks: dict[str, np.ndarray | None] = {}
        self.highlight = True
        #: The law the query names: its articles cited by the matches are the "article" facet.
        self.law: laws.Law | None = None
        self.dictionary: laws.LawDictionary | None = None

    def visible(self, fieldname: str, text: str) -> bool:
        """Whether ``text`` occurs in ``fieldname`` of a live document that passes the filters and visibility."""
        for seg in self.segments:
            ids = seg.term(fieldname, text).ids
            if not len(ids):
                continue
            mask = self._mask(seg)
            if mask is None or mask[ids].any():
                return True
        return False

    def visible_docs(self, seg: _Segment, query) -> np.ndarray:
        """The documents of ``seg`` that match ``query`` and pass the filters and visibility."""
        mask = seg.mask = self._mask(seg)
        docs = seg.docs(query)
        return docs[mask[docs]] if mask is not None and len(docs) else docs

    def matches(self, query) -> bool:
        """Whether ``query`` matches a live document that passes the filters and visibility."""
        return any(len(self.visible_docs(seg, query)) for seg in self.segments)

    def _mask(self, seg: _Segment) -> np.ndarray | None:
        if seg.id not in self._masks:
            self._masks[seg.id] = _allowed(seg, self.filters)
        return self._masks[seg.id]

    def __call__(self, query):
        per_segment = []
        for seg in self.segments:
            mask = seg.mask = self._mask(seg)
            matched = seg.docs(query)
            if mask is not None and len(matched):
                matched = matched[mask[matched]]
            per_segment.append((seg, matched))
        count = sum(len(m) for _segment, m in per_segment)
        facets = _facet_counts(per_segment)
        if self.law is not None:
            facets["article"] = self._article_facet(per_segment, self.law)
        if not count:
            return 0, [], facets
        wanted = self.offset + self.limit
        if self.sort in ("year", "-year"):
            top = self._by_year(per_segment, wanted)
        elif self.sort == "call_number":
            top = self._by_call_number(per_segment, wanted)
        elif type(query) is wq.Every:
            top = self._in_index_order(per_segment, wanted)
        else:
            try:
                top = self._by_score(query, per_segment, wanted)
            except _Unscorable:
                top = self._by_whoosh_score(query, per_segment, wanted)
        terms = _query_terms(query)
        items = []
        for docnum, score in top[self.offset : wanted]:
            self.deadline.check()
            items.append(self._hit(docnum, score, terms))
        return count, items, facets

    def _article_facet(self, per_segment, law: laws.Law) -> dict[str, int]:
        """How many matched documents cite each article of ``law`` (its ``cites`` terms), the most cited
        first, at most ARTICLE_FACET_SIZE."""
        counts: dict[int, int] = {}
        for seg, matched in per_segment:
            if not len(matched):
                continue
            self.deadline.check()
            flag = np.zeros(seg.count, dtype=bool)
            flag[matched] = True
            for article, ids in seg.cited_articles(law.code):
                n = int(np.count_nonzero(flag[ids]))
                if n:
                    counts[article] = counts.get(article, 0) + n
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:ARTICLE_FACET_SIZE]
        return {str(article): n for article, n in ranked}

    def _by_score(self, query, per_segment, wanted) -> list[tuple[int, float]]:
        docs, scores = [], []
        for seg, matched in per_segment:
            if len(matched):
                self.deadline.check()
                scores.append(seg.scores(query, matched, self.searcher))
                docs.append(matched.astype(np.int64) + seg.offset)
        docs_all = np.concatenate(docs)
        scores_all = np.concatenate(scores)
        if len(docs_all) > wanted:
            # The best `wanted` scores (ties at the cut included), then an exact sort.
            cut = np.partition(scores_all, len(scores_all) - wanted)[len(scores_all) - wanted]
            keep = scores_all >= cut
            docs_all, scores_all = docs_all[keep], scores_all[keep]
        order = np.lexsort((docs_all, -scores_all))[:wanted]
        return [(int(docs_all[i]), float(scores_all[i])) for i in order]

    def _by_whoosh_score(self, query, per_segment, wanted) -> list[tuple[int, float]]:
        allowed: set[int] = set()
        for seg, matched in per_segment:
            allowed.update((matched.astype(np.int64) + seg.offset).tolist())
        # Whoosh's matchers score one posting per Python call: the slow part of the any-word fallback.
        self.deadline.check()
        collector = _AllowedTimeLimitCollector(self.searcher.collector(limit=wanted), allowed,
                                               timelimit=max(0.001, self.deadline.at - time.monotonic()))
        try:
            self.searcher.search_with_collector(query, collector)
        except collectors.TimeLimit:
            raise self.deadline.timeout() from None
        results = collector.results()
        return [(hit.docnum, float(hit.score or 0.0)) for hit in results[0:wanted]]

    def _in_index_order(self, per_segment, wanted) -> list[tuple[int, float]]:
        """An empty query has no ranking: the first records in index order."""
        docs: list[int] = []
        for seg, matched in per_segment:
            docs.extend((matched[: wanted - len(docs)].astype(np.int64) + seg.offset).tolist())
            if len(docs) >= wanted:
                break
        return [(docnum, 0.0) for docnum in docs]

    def _by_year(self, per_segment, wanted) -> list[tuple[int, float]]:
        """Newest (or oldest) first, records without a year last, ties in index order."""
        descending = self.sort == "-year"
        years, docs = [], []
        for seg, matched in per_segment:
            values, codes = seg.facet("year")
            numeric = np.array([int(v) if v.lstrip("-").isdigit() else 0 for v in values] + [0], dtype=np.int64)
            year = numeric[codes[matched]]
            years.append(year)
            docs.append(matched.astype(np.int64) + seg.offset)
        year_all, docs_all = np.concatenate(years), np.concatenate(docs)
        undated = year_all == 0
        key = -year_all if descending else year_all
        order = np.lexsort((docs_all, key, undated))[:wanted]
        return [(int(docs_all[i]), 0.0) for i in order]

    def _by_call_number(self, per_segment, wanted) -> list[tuple[int, float]]:
        """Shelf order (library.callnumbers.call_number_sort_key), records without a call number last, ties in
        index order.  Each segment's sort keys come sorted with a code per document; one merged list ranks
        them across segments."""
        columns = [(seg.column("call_number_sort"), seg, matched) for seg, matched in per_segment]
        merged = np.array(sorted({v for (values, _codes), _seg, _m in columns for v in values}) or [""])
        missing = len(merged)
        ranks, docs = [], []
        for (values, codes), seg, matched in columns:
            self.deadline.check()
            rank = np.searchsorted(merged, np.array(values)) if values else np.zeros(0, dtype=np.int64)
            rank = np.append(rank, missing).astype(np.int64)  # code -1 (no value) picks the last: missing
            ranks.append(rank[codes[matched]])
            docs.append(matched.astype(np.int64) + seg.offset)
        rank_all, docs_all = np.concatenate(ranks), np.concatenate(docs)
        order = np.lexsort((docs_all, rank_all))[:wanted]
        return [(int(docs_all[i]), 0.0) for i in order]

    def _cited_by(self, docnum: int, wanted: set[str]) -> set[str]:
        """Those of the ``cites`` terms ``wanted`` that document ``docnum`` holds (its postings say so): only
        those records are read again for the citation to mark (the any-word fallback finds many that cite
        nothing)."""
        for seg in reversed(self.segments):
            if docnum >= seg.offset:
                local = docnum - seg.offset
                return {t for t in wanted if len(ids := seg.term("cites", t).ids) and _member(np.array([local]), ids)[0]}
        return set()

    def _hit(self, docnum: int, score: float, terms) -> Hit:
        fields = self.searcher.stored_fields(docnum)
        if terms.get("cites"):
            terms = {**terms, "cites": self._cited_by(docnum, terms["cites"])}
        return Hit(
            type=fields["type"],
            id=int(fields["pk"]),
            title=fields.get("title_display", ""),
            authors=[a for a in fields.get("authors", "").split("\x1f") if a],
            year=fields.get("year") or None,
            score=round(score, 4),
            available_copies=int(fields.get("available") or 0),
            total_copies=int(fields.get("total") or 0),
            highlights=_highlights(fields, terms, self.dictionary) if self.highlight else {},
            earliest_due=date.fromisoformat(fields["earliest_due"]) if fields.get("earliest_due") else None,
            holds_waiting=int(fields.get("holds") or 0),
            call_number=fields.get("call_number", ""),
        )


def _facet_counts(per_segment) -> dict[str, dict[str, int]]:
    """Per facet, the number of matched documents of each value: one bincount per facet and segment."""
    counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    for seg, matched in per_segment:
        if not len(matched):
            continue
        for name in FACETS:
            values, codes = seg.facet(name)
            tally = np.bincount(codes[matched] + 1, minlength=len(values) + 1)
            bucket = counts[name]
            for index in np.flatnonzero(tally[1:]):
                value = values[index]
                bucket[value] = bucket.get(value, 0) + int(tally[index + 1])
    return {
        name: dict(sorted(((v, n) for v, n in bucket.items() if v), key=lambda kv: (-kv[1], kv[0])))
        for name, bucket in counts.items()
    }


_STOP_WORD = re.compile(r"(?<![\w:])(?:" + "|".join(sorted(ENGLISH_STOP_WORDS)) + r")(?![\w:])", re.IGNORECASE)


def _without_stop_words(text: str) -> str:
    """The text without English stop words outside quoted phrases (a phrase keeps them: positions count)."""
    parts = text.split('"')
    return '"'.join(part if i % 2 else _STOP_WORD.sub(" ", part) for i, part in enumerate(parts))


def _suggest(run: _Run, text: str) -> str | None:
    """A did-you-mean: the query with its misspelled Latin words (English or pinyin, within one edit) and
    its misheard Chinese (characters that sound like indexed ones) corrected, the rest as typed; None when
    nothing was corrected.

    Words and corrections count only where they occur in a document the caller may see under the
    search's filters and the visibility rule: the term dictionary is shared by every record, so a
    correction taken from it unchecked would name words of internal papers to anonymous readers.
    """
    fixes = _latin_corrections(run, text) + _han_corrections(run, text)
    if not fixes:
        return None
    out, last = [], 0
    for start, end, word in sorted(fixes):
        out += [text[last:start], word]
        last = end
    out.append(text[last:])
    return " ".join("".join(out).split())


def _is_prefix(text: str, match: re.Match) -> bool:
    """Whether ``match`` is a field prefix (``author:``, ``作者:``), not a word to correct."""
    return text[match.end() : match.end() + 1] == ":" and match.group().lower() in ALLOWED_PREFIXES


#: A Latin word to correct: letters not joined to digits.  D999, clc:Q9 and D923.9/77 are codes (a class, a call
#: number), 978x an ISBN's check letter: their letters were offered as pinyin syllables (de999, clc:qu9).
_LATIN_WORD = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]+(?![0-9A-Za-z])")
#: A word right after ``clc:`` or ``isbn:`` is a code too (clc:TP).
_CODE_FIELD = re.compile(r"(?:clc|isbn|分类):\s*$", re.IGNORECASE)


def _latin_corrections(run: _Run, text: str) -> list[tuple[int, int, str]]:
    """(start, end, correction) of the Latin words that no visible record holds, for which one within one
    edit is in a visible record's pinyin or title; at most MAX_SUGGEST_WORDS words are tried."""
    searcher = run.searcher
    fixes = []
    tried = 0
    for match in _LATIN_WORD.finditer(text):
        lower = match.group().lower()
        if (_is_prefix(text, match) or lower in ENGLISH_STOP_WORDS or len(lower) > MAX_SUGGEST_LETTERS
                or _CODE_FIELD.search(text, 0, match.start())):
            continue
        if any(run.visible(fieldname, lower) for fieldname in ("pinyin", "body")) or tried >= MAX_SUGGEST_WORDS:
            continue
        tried += 1
        for fieldname in ("pinyin", "title"):
            run.deadline.check()
            # One edit, first letter kept: a walk of the whole term
            # dictionary with two edits took seconds at 100,000 records.
            options = _corrections(searcher, fieldname, lower)
            best = next((option for option in options if run.visible(fieldname, option)), None)
            if best is not None:
                fixes.append((match.start(), match.end(), best))
                break
    return fixes


def _han_corrections(run: _Run, text: str) -> list[tuple[int, int, str]]:
    """(start, end, correction) of the Han runs that no visible record holds and that sound like words in
    the titles or authors of visible records (担保无权 → 担保物权, 王利名 → 王利明).

    A run no visible record matches (its words as the search looks them up: words, full text, bigrams)
    is looked up whole; when that finds nothing, each word of it that no visible record holds is looked up
    on its own (王利名民法总论 → 王利明民法总论).  At most MAX_SUGGEST_RUNS lookups; a run of one
    character, a field prefix and an excluded word (``-词``) are left alone.
    """
    fixes: list[tuple[int, int, str]] = []
    tries = 0
    for match in HAN_RUN_RE.finditer(text):
        typed = match.group()
        if tries >= MAX_SUGGEST_RUNS:
            break
        if len(typed) < 2 or _is_prefix(text, match) or text[match.start() - 1 : match.start()] == "-":
            continue
        run.deadline.check()
        if _known(run, typed):
            continue
        if len(typed) <= SUGGEST_RUN_CHARS:
            tries += 1
            better = _sounds_like(run, typed)
            if better is not None:
                fixes.append((match.start(), match.end(), better))
                continue
        words = segment_han_precise(typed)
        if len(words) < 2:
            continue
        for word, i, j in words:
            if tries >= MAX_SUGGEST_RUNS:
                break
            if not 2 <= j - i <= SUGGEST_RUN_CHARS or _known(run, word):
                continue
            tries += 1
            better = _sounds_like(run, word)
            if better is not None:
                fixes.append((match.start() + i, match.start() + j, better))
    return fixes


def _known(run: _Run, words: str) -> bool:
    """Whether a visible record holds all of ``words`` as the search looks them up (words, full text, bigrams)."""
    query = parse(words, run.searcher.schema, fields=_fields_for(words, with_bigrams=True))
    return query is not None and run.matches(query)


#: Pinyin that input methods let sound alike ("fuzzy pinyin"): initials z/zh, c/ch, s/sh, n/l, f/h and
#: finals an/ang, en/eng, in/ing (with ian/iang, uan/uang).
_NEAR_INITIALS = {"zh": "z", "ch": "c", "sh": "s", "z": "zh", "c": "ch", "s": "sh", "n": "l", "l": "n", "f": "h",
                  "h": "f"}
_NEAR_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"), ("an", "ang"), ("en", "eng"), ("in", "ing"))


def _near_syllables(syllable: str) -> tuple[str, ...]:
    """The syllables one fuzzy-pinyin step from ``syllable`` (its initial or its final changed)."""
    out = []
    initial = syllable[:2] if syllable[:2] in _NEAR_INITIALS else syllable[:1]
    if initial in _NEAR_INITIALS and len(syllable) > len(initial):
        out.append(_NEAR_INITIALS[initial] + syllable[len(initial) :])
    for final, other in _NEAR_FINALS:
        if syllable.endswith(final):
            out.append(syllable[: -len(final)] + other)
            break
    return tuple(out)


def _sounds_like(run: _Run, typed: str) -> str | None:
    """The word of a visible record's title or authors that sounds like ``typed`` (a run of Han characters),
    or None.

    A homophone: the same toneless syllables as the typed characters (any of their readings, heteronyms
    included) and at least one character in common (执型 → 执行, 王利名 → 王利明).  Failing that, a
    near-homophone: every character as typed but one, whose syllable is one fuzzy-pinyin step away (承包
    typed as 陈包).  Among several, the one with most characters as typed, then the one most of the
    records read hold.

    The records read, at most SUGGEST_DOCS and each once for both kinds, are the visible ones whose pinyin
    holds a word read as the whole run (``danbaowuquan``; then with one character read another way, or one
    fuzzy step away: one posting list each), then those holding every syllable somewhere in title and
    authors.
    """
    runs = han_syllables(typed)
    if len(runs) != 1 or runs[0].chars != typed:
        return None
    readings: list[tuple[str, ...]] = []
    for char, syllable in zip(typed, runs[0].syllables, strict=True):
        options = [syllable] if syllable else []
        options += [r for r in char_readings(char) if r not in options]
        if not options:
            return None
        readings.append(tuple(options[:SUGGEST_READINGS]))
    n = len(typed)
    near = [tuple(dict.fromkeys(v for r in rs for v in _near_syllables(r) if v not in rs)) for rs in readings]
    primary = [rs[0] for rs in readings]

    def joined(others: list[tuple[str, ...]]):
        words = ["".join(primary[:k] + [other] + primary[k + 1 :]) for k in range(n) for other in others[k]]
        return wq.Or([wq.Term("pinyin", w) for w in dict.fromkeys(words)])

    def every_syllable(near_too: bool):
        return wq.And([wq.Or([wq.Term("pinyin", r) for r in readings[k] + (near[k] if near_too else ())])
                       for k in range(n)])

    queries = [wq.Term("pinyin", "".join(primary)), joined([rs[1:] for rs in readings]),
               joined([tuple(_near_syllables(p)) for p in primary]), every_syllable(False)]
    if any(near):
        queries.append(every_syllable(True))
    picked: list[int] = []
    seen: set[int] = set()
    for query in queries:
        if len(picked) >= SUGGEST_DOCS:
            break
        for seg in run.segments:
            if len(picked) >= SUGGEST_DOCS:
                break
            for doc in run.visible_docs(seg, query)[:SUGGEST_DOCS].tolist():
                docnum = seg.offset + doc
                if docnum not in seen and len(picked) < SUGGEST_DOCS:
                    seen.add(docnum)
                    picked.append(docnum)
    holders: tuple[dict[str, int], dict[str, int]] = ({}, {})  # homophones, near-homophones
    for docnum in picked:
        run.deadline.check()
        fields = run.searcher.stored_fields(docnum)
        words: set[tuple[int, str]] = set()
        for value in (fields.get("title", ""), fields.get("people", "")):
            for read in han_syllables(value):
                for at in range(len(read.chars) - n + 1):
                    # Whole words only: 利明 is no correction of 利名 where the title says 王利明.
                    if at in read.starts and at + n in read.ends:
                        kind = _alike(typed, readings, near, read.chars[at : at + n], read.syllables[at : at + n])
                        if kind is not None:
                            words.add((kind, read.chars[at : at + n]))
        for kind, word in words:
            holders[kind][word] = holders[kind].get(word, 0) + 1
    found = holders[0] or holders[1]
    if not found:
        return None
    return min(found, key=lambda w: (-_in_common(w, typed), -found[w], w))


def _in_common(word: str, typed: str) -> int:
    return sum(a == b for a, b in zip(word, typed, strict=True))


def _alike(typed: str, readings: list[tuple[str, ...]], near: list[tuple[str, ...]], chars: str,
           sounds: tuple[str, ...]) -> int | None:
    """0 when ``chars`` (read ``sounds``) is a homophone of ``typed``, 1 when a near-homophone, else None
    (see :func:`_sounds_like`)."""
    differ = [k for k in range(len(typed)) if chars[k] != typed[k]]
    if not differ or len(differ) == len(typed):
        return None
    if all(sounds[k] in readings[k] for k in differ):
        return 0
    if len(differ) == 1 and sounds[differ[0]] in near[differ[0]]:
        return 1
    return None


#: More than any segment has within one edit of a word: the candidates are ranked over all segments.
_ALL_WITHIN_ONE_EDIT = 100_000


def _corrections(searcher, fieldname: str, word: str) -> list[str]:
    """Terms within one edit of ``word`` (adjacent transpositions included) that start with its first letter,
    the SUGGEST_CANDIDATES most frequent first, as Whoosh's ``suggest(maxdist=1, prefix=1)`` ranks them.

    Whoosh's reader of several segments answers that by computing the distance to every term with the
    same first letter in Python (150 ms for one pinyin word at 100,000 records); a segment's own reader
    walks its term list with a Levenshtein automaton (10-20 ms), which knows no transpositions, so those
    are looked up directly (at most one per letter).
    """
    found: set[str] = set()
    for leaf, _offset in searcher.leaf_searchers():
        found.update(leaf.suggest(fieldname, word, limit=_ALL_WITHIN_ONE_EDIT, maxdist=1, prefix=1))
    reader = searcher.reader()
    for i in range(1, len(word) - 1):
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if swapped != word and (fieldname, swapped) in reader:
            found.add(swapped)
    # Whoosh's order: most frequent first (frequency 0 counts as 1), then alphabetical.
    return sorted(found, key=lambda term: (-(reader.frequency(fieldname, term) or 1), term))[:SUGGEST_CANDIDATES]
