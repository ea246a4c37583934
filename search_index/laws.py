"""Law names, their short forms, and article citations in text (docs/search.md, "Law names" and "Article
citations").

The dictionary is the ``LawName`` table (filled from ``data/laws.csv`` by a migration and
``manage.py load_law_names``, edited by librarians in the admin).  :func:`current` builds a
:class:`LawDictionary` from it once per process and again whenever the table changed (its row count or
latest ``updated_at``, one aggregate query), asked at most once every ``LAW_DICTIONARY_CHECK_SECONDS``; a
save or delete of a ``LawName`` in this process asks at once (:func:`expire`, from the receivers).  So an
edit takes effect on the next search of the process that made it, and in every other running process
within that many seconds, without a restart.

Two uses:

* **Names** (query side only): :meth:`LawDictionary.find_names` finds the law names and short forms a
  query names (longest first, on word boundaries of the query's segmentation, so 公司法 is not read out
  of 公司法务); the searcher adds the law's other forms to the query (民诉法 → 民事诉讼法, and back).
* **Citations** (index side): :meth:`LawDictionary.citations` finds ``(law, article)`` pairs in a text —
  民法典第三百九十四条, 《中华人民共和国民法典》第394条, 民法典物权编第三百九十四条第一款, and the
  articles listed after one (…第394条、第395条), ranges (第394条至第396条) — with their spans, for the
  ``cites`` field and for highlighting; :meth:`LawDictionary.query_citations` also reads the forms a
  query may take (民法典394, 《民法典》394条).

Text is compared after the analyzers' normalization (NFKC, traditional → simplified) with book-title marks,
quotes and spaces removed (《中华人民共和国民法典》 and 中华人民共和国民法典 are one form); every span
found points back into the text as given.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
import threading
import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from search_index.analysis import _prepare, segment_han_precise

logger = logging.getLogger(__name__)

LAWS_CSV = Path(__file__).resolve().parent / "data" / "laws.csv"
PRC = "中华人民共和国"

#: The kinds of the CSV's ``kind`` column, as the model stores them.
KINDS = {"法律": "law", "行政法规": "regulation", "司法解释": "interpretation"}

#: No law has more articles than this (民法典: 1,260): a larger number after a law name is not an article
#: (公司法2023 is a year).
MAX_ARTICLE = 2000
#: A range (第394条至第396条) stands for at most this many articles; a wider one for its two ends.
MAX_RANGE = 20
#: Articles (第N条) looked at in one text at most: a full text of nothing but "第1条" costs no more.
MAX_CITATIONS = 5000

#: Removed before comparing: book-title marks, quotation marks, spaces (also NBSP, ideographic space).
_IGNORED = frozenset("《》〈〉<>「」『』“”\"'‘’ \t\r\n\u3000\u00a0·・")
_NUM = r"(?:[0-9]{1,5}|[零〇一二两三四五六七八九十百千]{1,8})"
#: An article: 第N条 or N条 (an optional 之一 … after it, then optional 第N款 / 第N项, not captured).
_ARTICLE = re.compile(
    rf"(?P<di>第)?(?P<num>{_NUM})条(?:之[一二三四五六七八九十]+)?"
    rf"(?:(?:至|到|-|—|–|~|～)(?:第)?(?P<to>{_NUM})条)?"
    rf"(?:第{_NUM}款)?(?:第{_NUM}项)?"
)
#: In a query, also a bare number right after a law name: 民法典394.
_QUERY_ARTICLE = re.compile(
    rf"(?P<di>第)?(?P<num>{_NUM})(?P<tiao>条)?(?:之[一二三四五六七八九十]+)?"
    rf"(?:(?:至|到|-|—|–|~|～)(?:第)?(?P<to>{_NUM})条?)?"
    rf"(?:第{_NUM}款)?(?:第{_NUM}项)?"
)
#: What may stand between a law's name and its article: 的, 中, 规定(的), a book, chapter or section
#: (第二编, 第三章) — the names of a law's books (物权编) are added per dictionary.
_GAP_ITEM = r"第[零〇一二两三四五六七八九十百0-9]{1,4}[编章节]|规定的|规定|的|中"
_GAP = re.compile(f"(?:{_GAP_ITEM})$")
_GAP_AHEAD = re.compile(_GAP_ITEM)
#: An article (第N条) cites the law named last at most this many characters before it in its sentence.
NEAR = 12
_SENTENCE_END = "。！？；;!?\n"
#: What may follow a law's name that an article :data:`NEAR` it cites: words that introduce the matter of the
#: article (民法典关于流押的第四百零一条, 民诉法中有关管辖的第三十四条) or end the name (a comma, a bracket).
_NEAR_AFTER = re.compile(r"关于|有关|对于|对|就|中|里|内|的|之|所|规定|[，,、（(]")
#: Characters of context each side of a name that the segmentation deciding its word edges reads.
_WORD_CONTEXT = 6
#: Between two citations of one list: 、 ， , 和 及 与 以及 或 (and the 款/项 of the first).
_LIST_SEPARATOR = re.compile(r"[、，,;；和及与或]|以及")


@functools.lru_cache(maxsize=4096)
def parse_number(text: str) -> int | None:
    """An article number as written (394, ３９４, 三百九十四, 一千二百六十, 三〇五) → int; None when it is not a
    number or is 0.  Chinese numerals are read by cn2an (strict mode)."""
    if not text:
        return None
    if text.isdigit():
        value = int(text)
    else:
        import cn2an

        try:
            # Strict mode refuses 两 (两百 is as common as 二百 in writing) and reads nothing loosely.
            value = int(cn2an.cn2an(text.replace("两", "二"), "strict"))
        except (ValueError, KeyError, IndexError):
            return None
    return value if value > 0 else None


class _Offsets:
    """Where each character of a match text came from in the original text: ``offsets[i]`` is the start (or,
    with ``end=True``, the end) of the original span of character ``i``.  Computed on demand with a binary
    search over the removed characters, so reading a 50,000-character text costs no per-character list."""

    def __init__(self, shifts: list[int], spans: list[int] | None, *, end: bool) -> None:
        self._shifts = shifts
        self._spans = spans
        self._end = end

    def __getitem__(self, i: int) -> int:
        j = i + bisect_right(self._shifts, i)
        if self._spans is None:
            return j + 1 if self._end else j
        return self._spans[j]

    def is_break(self, i: int) -> bool:
        """Whether something was removed just before character ``i`` of the match text (a space, a mark)."""
        k = bisect_right(self._shifts, i)
        return k > 0 and self._shifts[k - 1] == i

    def breaks(self, length: int) -> set[int]:
        """Offsets of the match text where something was removed between two characters."""
        return {i for i in self._shifts if 0 < i < length}


_IGNORED_RE = re.compile("[" + re.escape("".join(sorted(_IGNORED))) + "]+")


def match_text(text: str) -> tuple[str, _Offsets, _Offsets]:
    """``text`` normalized for comparing names (NFKC, t2s, without :data:`_IGNORED` characters), with the
    start and end in ``text`` of each of its characters."""
    normalized, starts, ends = _prepare(text)
    shifts: list[int] = []
    if _IGNORED_RE.search(normalized):
        removed = 0
        for m in _IGNORED_RE.finditer(normalized):
            # Character i of the match text is character i + (characters removed before it) of ``normalized``.
            shifts += [m.start() - removed] * (m.end() - m.start())
            removed += m.end() - m.start()
        normalized_s = _IGNORED_RE.sub("", normalized)
    else:
        normalized_s = normalized
    return normalized_s, _Offsets(shifts, starts, end=False), _Offsets(shifts, ends, end=True)


def normalize_form(form: str) -> str:
    return match_text(form)[0]


#: A note in brackets closing a title (中华人民共和国民法典（大字版）, …（2023年修订）): an edition, not the work.
_TRAILING_NOTE = re.compile(r"(?:[（(【\[][^（()）【】\[\]]*[）)】\]])+$")
#: Longer titles get no exact-title key: no law's name is this long.
TITLE_KEY_CHARS = 120


def title_key(title: str) -> str:
    """A title as compared with a law's names (the index's ``title_exact``): normalized as names are
    (:func:`normalize_form`), a closing bracketed note removed, Latin letters lower-cased; ``""`` past
    :data:`TITLE_KEY_CHARS` characters."""
    key = _TRAILING_NOTE.sub("", normalize_form(title)).lower()
    return key if len(key) <= TITLE_KEY_CHARS else ""


@dataclass(frozen=True)
class Law:
    code: str
    title: str
    kind: str = "law"
    short_forms: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The name a judge writes: the title without 中华人民共和国 (民事诉讼法), or the title."""
        if self.title.startswith(PRC) and len(self.title) > len(PRC) + 1:
            return self.title[len(PRC):]
        return self.title

    def forms(self) -> list[str]:
        """Every form the law is named by, the name first: name, title, short forms (no parts)."""
        return list(dict.fromkeys([self.name, self.title, *self.short_forms]))


@dataclass(frozen=True)
class NameMatch:
    """A law named in a text: ``text[start:end]`` is ``typed``; ``part`` when it named one of its books."""

    start: int
    end: int
    typed: str
    law: Law
    part: str | None = None


@dataclass(frozen=True)
class Citation:
    """An article cited in a text: ``text[start:end]`` is the citation (with the law's name when it is
    written there, 第395条 alone in a list)."""

    law: Law
    article: int
    start: int
    end: int

    @property
    def term(self) -> str:
        return citation_term(self.law.code, self.article)


#: The articles each book (编) of a law holds, for the laws whose books the dictionary names (``parts``): an article
#: cited finds the books of its 编 (民法典第394条 → 民法典物权编…, searcher._with_law_books).  The Civil Code
#: (2020): 1,260 articles in seven books and the 附则 (1259–1260).
PART_ARTICLES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "中华人民共和国民法典": (("总则编", 1, 204), ("物权编", 205, 462), ("合同编", 463, 988), ("人格权编", 989, 1039),
                     ("婚姻家庭编", 1040, 1118), ("继承编", 1119, 1163), ("侵权责任编", 1164, 1258)),
}


def part_of(law: Law, article: int) -> str | None:
    """The book (编) of ``law`` that holds ``article`` (物权编 for 民法典第394条), or None when not known."""
    return next((part for part, first, last in PART_ARTICLES.get(law.title, ()) if first <= article <= last
                 and part in law.parts), None)


def citation_term(code: str, article: int) -> str:
    """The ``cites`` field's term for an article of a law: ``f0186a394``."""
    return f"{code.lower()}a{article}"


def citation_terms(texts: Iterable[str], dictionary: LawDictionary) -> list[str]:
    """The ``cites`` terms of a record's texts, each once, in order of first citation."""
    found: dict[str, None] = {}
    for text in texts:
        if text:
            for citation in dictionary.citations(text):
                found.setdefault(citation.term)
    return list(found)


def split_term(term: str) -> tuple[str, int] | None:
    code, sep, article = term.rpartition("a")
    return (code, int(article)) if sep and article.isdigit() else None


@dataclass
class LawDictionary:
    laws: list[Law] = field(default_factory=list)

    def __post_init__(self) -> None:
        #: normalized form → (law, part or None); a form two laws share goes to the first (load_law_names
        #: and the admin refuse such a form).
        self.forms: dict[str, tuple[Law, str | None]] = {}
        self.by_code: dict[str, Law] = {}
        parts: set[str] = set()
        for law in self.laws:
            self.by_code[law.code.lower()] = law
            for form in law.forms():
                key = normalize_form(form)
                if len(key) >= 2:
                    self.forms.setdefault(key, (law, None))
            for part in law.parts:
                key = normalize_form(part)
                if len(key) >= 2:
                    self.forms.setdefault(key, (law, part))
                    self.forms.setdefault(normalize_form(law.name) + key, (law, part))
                    parts.add(key)
        self.lengths = sorted({len(k) for k in self.forms}, reverse=True)
        self._parts = tuple(sorted(parts, key=len, reverse=True))

    def __len__(self) -> int:
        return len(self.laws)

    # --- names ------------------------------------------------------------------------------------------

    def find_names(self, text: str) -> list[NameMatch]:
        """The laws named in ``text`` (a query), left to right, the longest form at each place, each starting
        and ending on a word boundary of the query's segmentation (or at a non-Chinese character)."""
        s, starts, ends = match_text(text)
        if not s or not self.forms:
            return []
        bounds = _boundaries(s, starts)
        out = []
        i = 0
        while i < len(s):
            found = None
            if i in bounds:
                for length in self.lengths:
                    j = i + length
                    if j <= len(s) and j in bounds and s[i:j] in self.forms:
                        found = j
                        break
            if found is None:
                i += 1
                continue
            law, part = self.forms[s[i:found]]
            a, b = starts[i], ends[found - 1]
            out.append(NameMatch(a, b, text[a:b], law, part))
            i = found
        return out

    # --- citations --------------------------------------------------------------------------------------

    def citations(self, text: str) -> list[Citation]:
        """Every ``(law, article)`` cited in ``text``, in order, at most :data:`MAX_CITATIONS`."""
        return list(self._citations(text, query=False))

    def query_citations(self, text: str) -> list[Citation]:
        """The citations of a query: as :meth:`citations`, and also 民法典394 (a number right after a name)."""
        return list(self._citations(text, query=True))

    def _citations(self, text: str, *, query: bool) -> Iterator[Citation]:
        if "条" not in text and "條" not in text and not (query and re.search(r"[0-9０-９]", text)):
            return
        s, starts, ends = match_text(text)
        if query:
            yield from self._query_citations(text, s, starts, ends)
            return
        prev_end = -1
        prev_law: Law | None = None
        count = 0
        for m in _ARTICLE.finditer(s):
            # Every 第N条 looked at counts (not only those that name a law): a text of nothing but "第1条"
            # costs no more than this many lookups.
            count += 1
            if count > MAX_CITATIONS:
                return
            law, name_start = None, m.start()
            if prev_law is not None and m.group("di") and _LIST_SEPARATOR.fullmatch(s[prev_end:m.start()]):
                law = prev_law
            else:
                named = self._name_before(s, starts, m.start())
                # 394条 without 第 counts only right after the name.
                if named is not None and (m.group("di") or not named[2]):
                    law, name_start = named[0], named[1]
                elif named is None and m.group("di"):
                    law = self._name_near(s, starts, m.start())
            if law is None:
                prev_law = None
                continue
            start = _opening_mark(text, starts[name_start])
            for article in _articles(m.group("num"), m.group("to")):
                yield Citation(law, article, start, ends[m.end() - 1])
            prev_law, prev_end = law, m.end()

    def _query_citations(self, text: str, s: str, starts: _Offsets, ends: _Offsets) -> Iterator[Citation]:
        done = 0
        for name_start, name_end, law in self._names_at(s):
            if name_start < done:
                continue
            pos = name_end
            # Anything the index also allows between a name and its article (的, 第二编, 物权编).
            for _ in range(3):
                gap = self._gap_at(s, pos)
                if not gap:
                    break
                pos += gap
            m = _QUERY_ARTICLE.match(s, pos)
            if m is None:
                continue
            bare = not m.group("di") and not m.group("tiao")
            if bare and (pos != name_end or _year_like(s, m)):
                continue
            articles = _articles(m.group("num"), m.group("to"))
            if bare and any(a > MAX_ARTICLE for a in articles):
                continue
            start = _opening_mark(text, starts[name_start])
            for article in articles:
                yield Citation(law, article, start, ends[m.end() - 1])
            done = m.end()
            # …第394条、第395条: the articles listed after it.
            while True:
                sep = _LIST_SEPARATOR.match(s, done)
                follow = _ARTICLE.match(s, sep.end()) if sep else None
                if follow is None or not follow.group("di"):
                    break
                for article in _articles(follow.group("num"), follow.group("to")):
                    yield Citation(law, article, starts[follow.start()], ends[follow.end() - 1])
                done = follow.end()

    def _names_at(self, s: str) -> Iterator[tuple[int, int, Law]]:
        """``(start, end, law)`` of the names in a query's match text, the longest at each place (no boundary
        rule: a name directly followed by an article is a citation however the query is segmented)."""
        i = 0
        while i < len(s):
            for length in self.lengths:
                j = i + length
                if j <= len(s) and s[i:j] in self.forms:
                    yield i, j, self.forms[s[i:j]][0]
                    i = j
                    break
            else:
                i += 1

    def _gap_at(self, s: str, pos: int) -> int:
        """The length of one allowed gap item starting at ``pos`` (0: none)."""
        for part in self._parts:
            if s.startswith(part, pos):
                return len(part)
        m = _GAP_AHEAD.match(s, pos)
        return len(m.group()) if m else 0

    def _name_near(self, s: str, starts: _Offsets, pos: int) -> Law | None:
        """The law named last in the :data:`NEAR` characters before ``pos`` within its sentence (民法典关于流押的
        第四百零一条), or None.  The citation's span is then the article alone.

        The name must be a word or run of words of the text (:func:`_word_edges`) followed by what introduces
        the matter of an article (关于, 有关, 中, 的, a book or chapter …, :data:`_NEAR_AFTER`): 民诉典第十条 names
        no 民诉 (民事诉讼法), 刑诉规则第5条 no 刑诉, 公司法务第3条 no 公司法."""
        window = s[max(0, pos - NEAR):pos]
        cut = max(window.rfind(c) for c in _SENTENCE_END)
        window_start = pos - len(window) + cut + 1
        for end in range(pos - 1, window_start + 1, -1):
            for length in self.lengths:
                if end - length >= window_start and s[end - length:end] in self.forms:
                    if not (_NEAR_AFTER.match(s, end) or self._gap_at(s, end)):
                        continue
                    if _word_edges(s, starts, end - length, end) == (True, True):
                        return self.forms[s[end - length:end]][0]
        return None

    def _name_before(self, s: str, starts: _Offsets, pos: int) -> tuple[Law, int, bool] | None:
        """The law whose name ends at ``pos``, or before it across at most three gap items: ``(law, start,
        whether a gap was crossed)``; None.  The name must start a word of the text (:func:`_word_edges`):
        市民法典第5条 names no 民法典."""
        end = pos
        for _ in range(4):
            for length in self.lengths:
                if length <= end and s[end - length:end] in self.forms and _word_edges(s, starts, end - length, end)[0]:
                    return self.forms[s[end - length:end]][0], end - length, end != pos
            cut = next((len(p) for p in self._parts if s.endswith(p, 0, end)), 0)
            if not cut:
                m = _GAP.search(s, max(0, end - 8), end)
                cut = len(m.group()) if m else 0
            if not cut:
                return None
            end -= cut
        return None


def _articles(num: str, to: str | None) -> list[int]:
    first = parse_number(num)
    if first is None:
        return []
    last = parse_number(to) if to else None
    if last is None or last <= first:
        return [first]
    if last - first >= MAX_RANGE:
        return [first, last]
    return list(range(first, last + 1))


def _opening_mark(text: str, start: int) -> int:
    """``start``, or the 《 just before it: a highlighted 《民法典》第394条 keeps both its marks."""
    return start - 1 if start and text[start - 1] in "《〈" else start


def _year_like(s: str, m: re.Match) -> bool:
    """A bare number that reads as a year or a version: followed by 年/版/修, or from 1900 on (公司法2023, 刑法1997;
    民法典1260 is an article)."""
    number = m.group("num")
    return s[m.end():m.end() + 1] in ("年", "版", "修") or (number.isdigit() and int(number) >= 1900)


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def _word_edges(s: str, starts: _Offsets, i: int, j: int) -> tuple[bool, bool]:
    """Whether ``s[i:j]`` (a law's name in an indexed text's match text) starts, and ends, on a word edge of the
    text's precise segmentation, read in :data:`_WORD_CONTEXT` characters each side: next to a non-Chinese
    character, where :func:`match_text` removed a mark or a space, or where a word of the segmentation starts
    or ends.  A name's start inside a word (市民法典: 市民|法典) is another word; a known form cut by the
    segmentation inside (民诉法解释 → 民诉法|解释) is still one name."""
    def open_at(k: int) -> bool:
        return k <= 0 or k >= len(s) or not _HAN.match(s, k - 1) or not _HAN.match(s, k) or starts.is_break(k)

    start_open, end_open = open_at(i), open_at(j)
    if start_open and end_open:
        return True, True
    a = i
    while a > 0 and i - a < _WORD_CONTEXT and not open_at(a):
        a -= 1
    b = j
    while b < len(s) and b - j < _WORD_CONTEXT and not open_at(b):
        b += 1
    edges = {a, b}
    for _word, x, y in segment_han_precise(s[a:b]):
        edges.update((a + x, a + y))
    return start_open or i in edges, end_open or j in edges


def _boundaries(s: str, starts: _Offsets) -> set[int]:
    """Offsets in ``s`` where a word starts or ends: the precise segmentation's inside Chinese runs, every
    offset next to a non-Chinese character, and where :func:`match_text` removed something (a space or a
    book-title mark between two words: 破产法 消法 is not segmented as 破产法消法)."""
    bounds = {0, len(s)}
    breaks = sorted(starts.breaks(len(s)))
    bounds.update(breaks)
    edges = [0, *breaks, len(s)]
    for a, b in zip(edges, edges[1:], strict=False):
        last = a
        for m in _HAN.finditer(s, a, b):
            bounds.update(range(last, m.start() + 1))
            for _word, i, j in segment_han_precise(m.group()):
                bounds.add(m.start() + i)
                bounds.add(m.start() + j)
            last = m.end()
        bounds.update(range(last, b + 1))
    return bounds


# --- the data file -------------------------------------------------------------------------------------


def split_forms(value: str) -> list[str]:
    """Forms as the CSV (``a|b``) or the admin (one a line, or ``|``/``、`` between) holds them."""
    return [f.strip() for f in re.split(r"[|\n\r、]+", value or "") if f.strip()]


def read_csv(path: Path = LAWS_CSV) -> list[dict]:
    """The rows of ``laws.csv`` as model field values (``code``, ``title``, ``kind``, ``short_forms``,
    ``parts``, ``source``; forms one a line)."""
    with path.open(encoding="utf-8", newline="") as f:
        return [
            {
                "code": row["id"].strip().lower(),
                "title": row["title"].strip(),
                "kind": KINDS[row["kind"].strip()],
                "short_forms": "\n".join(split_forms(row["short_forms"])),
                "parts": "\n".join(split_forms(row["parts"])),
                "source": row["source"].strip(),
            }
            for row in csv.DictReader(f)
        ]


def law_from_row(row) -> Law:
    """A :class:`Law` from a ``LawName`` (or a row of :func:`read_csv`)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return Law(code=get("code"), title=get("title"), kind=get("kind"),
               short_forms=tuple(split_forms(get("short_forms"))), parts=tuple(split_forms(get("parts"))))


# --- the process's dictionary ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cached:
    version: object
    dictionary: LawDictionary
    #: ``_clock()`` when the version was last asked for.
    checked_at: float


_lock = threading.Lock()
_current: _Cached | None = None
#: The clock of the version checks: monotonic, so a change of the wall clock neither stops nor floods them
#: (tests replace it with a fake one).
_clock = time.monotonic


def version() -> tuple:
    """What changes whenever a ``LawName`` is added, edited or deleted: one aggregate query."""
    from django.db.models import Count, Max

    from search_index.models import LawName

    found = LawName.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return found["n"], found["last"]


def current() -> LawDictionary:
    """The dictionary of the ``LawName`` table, rebuilt in this process when the table changed.

    The table's version costs a query (0.25 ms, a quarter of what the dictionary adds to a search), so it is
    asked at most once every ``settings.LAW_DICTIONARY_CHECK_SECONDS`` (0: on every call); in between, the
    dictionary of the last check is used.  That is the bound on how long another process's edit takes to
    reach this one; this process's own saves reach it at once (:func:`expire`)."""
    from django.conf import settings

    global _current
    cached = _current
    now = _clock()
    if cached is not None and 0 <= now - cached.checked_at < settings.LAW_DICTIONARY_CHECK_SECONDS:
        return cached.dictionary
    seen = version()
    if cached is not None and cached.version == seen:
        _current = _Cached(seen, cached.dictionary, now)
        return cached.dictionary
    from search_index.models import LawName

    with _lock:
        if _current is not None and _current.version == seen:
            _current = _Cached(seen, _current.dictionary, now)
            return _current.dictionary
        dictionary = LawDictionary([law_from_row(row) for row in LawName.objects.order_by("code")])
        _current = _Cached(seen, dictionary, now)
        return dictionary


def expire() -> None:
    """Make this process's next :func:`current` ask the table's version (not rebuild unless it changed): after a
    ``LawName`` was saved or deleted here."""
    global _current
    cached = _current
    if cached is not None:
        _current = _Cached(cached.version, cached.dictionary, float("-inf"))


def forget() -> None:
    """Drop this process's dictionary (tests)."""
    global _current
    _current = None


def conflicts(laws: Iterable[Law]) -> dict[str, list[str]]:
    """Forms (normalized) that name more than one law: form → the laws' codes."""
    seen: dict[str, list[str]] = {}
    for law in laws:
        keys = {normalize_form(f) for f in [*law.forms(), *law.parts]}
        for key in keys:
            if len(key) >= 2:
                seen.setdefault(key, []).append(law.code)
    return {k: v for k, v in seen.items() if len(v) > 1}
