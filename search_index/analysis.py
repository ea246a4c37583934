"""Text analysis for the Whoosh index: Chinese legal books and papers, with Mongolian-script and English titles.

Every analyzer here is a whoosh ``Tokenizer`` composed with filters (``tokenizer | filter``), pickles by
reference to this module (Whoosh stores the schema, analyzers included, in the index), and yields
``whoosh.analysis.Token`` objects that honour Whoosh's standard keyword arguments (``positions``, ``chars``,
``keeporiginal``, ``removestops``, ``start_pos``, ``start_char``, ``mode``, ``tokenize``).  ``startchar`` and
``endchar`` always index the ORIGINAL text the analyzer was given, even when normalization changed lengths
(``…`` → ``...``, ``㈱`` → ``(株)``), so the highlighter can use ``chars=True``; ``pos`` increases by one per
yielded token, in a deterministic order, so a phrase query analysed with the same analyzer lines up.

Normalization shared by all analyzers (see :func:`normalize_query_text`):

* Unicode NFKC, applied per character cluster (a base character with its combining marks) so offsets can
  be tracked.  Two deliberate exceptions: U+202F NARROW NO-BREAK SPACE is kept (NFKC would turn it into a
  space, but it joins a Mongolian stem to its suffix), and invisible format characters that would only
  split words are deleted (soft hyphen, ZWSP, ZWNJ, ZWJ, word joiner, BOM and the variation selectors
  U+FE00–FE0F / U+E0100–E01EF used in ideographic variation sequences).
* Traditional → simplified Chinese with OpenCC ``t2s`` (phrase-aware).  When the conversion changes the
  length of the text (rare), each Han run is converted again on its own, and a run whose length still
  changes is converted character by character, so offsets stay aligned.

The factories :func:`text_analyzer`, :func:`bigram_analyzer`, :func:`pinyin_analyzer`, :func:`isbn_analyzer`
and :func:`clc_analyzer` return the analyzers for the schema.  The segmenter (rjieba with the legal user
dictionary ``data/legal_dict.txt``), OpenCC and pypinyin are loaded lazily, once per process, on first use.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from whoosh.analysis import Analyzer, CompositeAnalyzer, Filter, StopFilter, Token, Tokenizer
from whoosh.lang.porter import stem as _porter_stem
from whoosh.support.charset import accent_map

from core.chinese import get_t2s
from library.callnumbers import normalize_call_number, split_call_number
from library.classification import IDEOGRAPHIC_DOT, clc_prefixes
from library.validators import ISBN_DASHES, ISBN_LABEL
from search_index import switches

__all__ = [
    "ENGLISH_STOP_WORDS",
    "HAN_RUN_RE",
    "LEGAL_DICT_PATH",
    "BigramTokenizer",
    "CallNumberTokenizer",
    "ClcTokenizer",
    "EnglishStemFilter",
    "HanReading",
    "IndexingAnalyzer",
    "IsbnTokenizer",
    "MixedScriptTokenizer",
    "PinyinTokenizer",
    "bigram_analyzer",
    "call_number_analyzer",
    "char_readings",
    "clc_analyzer",
    "get_jieba",
    "get_t2s",
    "han_syllables",
    "has_han",
    "is_latin_query",
    "joined_pinyin_keys",
    "isbn_analyzer",
    "normalize_query_text",
    "pinyin_analyzer",
    "segment_han",
    "text_analyzer",
]

LEGAL_DICT_PATH = Path(__file__).resolve().parent / "data" / "legal_dict.txt"

#: Frequency given to a dictionary term listed without one (jieba's dictionary totals ~6·10⁷ and has
#: 执行 14 504, 合同 3 572, 法院 2 312).  High enough that a legal compound stays one word in context
#: (search mode then adds its parts); low enough not to steal characters from ordinary words: at 20 000,
#: 再审视 segments as 再审|视 and 质权利 as 质权|利.  A term the base dictionary already knows keeps its
#: frequency when that is higher.
DEFAULT_TERM_FREQ = 3_000

#: The only words ever removed as stop words: a tiny English list.  Chinese words are never removed.
ENGLISH_STOP_WORDS = frozenset({"the", "of", "and", "a", "an", "in", "on", "for", "to"})

# --------------------------------------------------------------------------------------------------------
# Character classes
# --------------------------------------------------------------------------------------------------------

# CJK unified ideographs (BMP, extension A, extensions B–I), compatibility ideographs and 〇.
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
# Han or something NFKC turns into Han (Kangxi radicals, compatibility supplement).
_HAN_OR_COMPAT = _HAN + "\u2f00-\u2fdf"
# Mongolian letters and digits (Mongolian, Todo, Sibe, Manchu, Ali Gali) and the Sibe syllable boundary marker.
_MONG_LETTER = "\u1807\u1810-\u1819\u1820-\u1878\u1880-\u18aa"
# Inside a Mongolian word and removed from the token: Todo soft hyphen, nirugu, free variation selectors
# FVS1–3, the Mongolian vowel separator, FVS4, ZWNJ and ZWJ (the last two are already deleted by the
# normalization, listed for text that reaches the tokenizer by another way).
_MONG_IGNORABLE = "\u1806\u180a-\u180f\u200c\u200d"
_NNBSP = "\u202f"
_MONG_IGNORE_TABLE = dict.fromkeys(
    [0x1806, 0x180A, 0x180B, 0x180C, 0x180D, 0x180E, 0x180F, 0x200C, 0x200D],
    None,
)

# One run of one script.  Han runs, Mongolian words (a stem optionally followed by NNBSP-joined suffixes),
# and "Latin" words: letters/digits of any other script (with their combining marks).  Everything else
# (spaces, punctuation, symbols) separates runs.
_RUN_RE = re.compile(
    f"(?P<han>[{_HAN}]+)"
    f"|(?P<mong>{_NNBSP}?[{_MONG_LETTER}][{_MONG_LETTER}{_MONG_IGNORABLE}{_NNBSP}]*)"
    f"|(?P<latin>(?:[^\\W_{_HAN}{_MONG_LETTER}]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+)"
)
_HAN_RUN_RE = re.compile(f"[{_HAN}]+")
#: A run of Han characters (in normalized text).
HAN_RUN_RE = _HAN_RUN_RE
_HAN_ANY_RE = re.compile(f"[{_HAN_OR_COMPAT}]")
_ASCII_ALNUM_RE = re.compile(r"[a-z0-9]+")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")

# C0 controls except TAB and LF, DEL and the C1 controls.
_CONTROL_TABLE = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)], None)

# Deleted by the normalization: soft hyphen, ZWSP, ZWNJ, ZWJ, word joiner, BOM, variation selectors.
_DELETED = frozenset([0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])
_DELETE_TABLE = dict.fromkeys(_DELETED, None)
_DELETED_RE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff\ufe00-\ufe0f\U000e0100-\U000e01ef]")

# Code point ranges holding every character whose NFKC form differs from itself, and every combining
# mark (checked against a full scan of Unicode by the tests).
_NFKC_SCAN_RANGES = (
    (0x0000, 0x3400),
    (0xA000, 0xAC00),
    (0xD7B0, 0xD800),
    (0xF900, 0x20000),
    (0x2F800, 0x2FA20),
    (0xE0000, 0xE01F0),
)

# Letters that neither NFKD nor whoosh's accent map fold to ASCII.
_FOLD_EXTRA = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "þ": "th", "ð": "d", "ħ": "h"}
)


def _char_class(codepoints: Iterable[int]) -> str:
    """A regex character class body for ``codepoints`` (sorted, compressed to ranges)."""
    cps = sorted(set(codepoints))
    parts = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = cps[i], cps[j]
        parts.append(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}")
        i = j + 1
    return "".join(parts)


class _NfkcTables:
    """Lookup tables for NFKC with offsets, built once per process (~30 ms)."""

    def __init__(self) -> None:
        single: dict[int, str] = {}
        slow: list[int] = []
        # Normalized together with the char before them: conjoining Hangul V/T jamo, the deleted format
        # characters (so that marks around a deleted variation selector are still reordered) and below,
        # combining marks and the chars whose NFKC form starts with one.
        marks: list[int] = [*range(0x1160, 0x1200), *range(0xD7B0, 0xD800), *_DELETED]
        for lo, hi in _NFKC_SCAN_RANGES:
            for cp in range(lo, hi):
                if 0xD800 <= cp < 0xE000 or cp in _DELETED or cp == 0x202F:
                    continue
                ch = chr(cp)
                if unicodedata.category(ch)[0] == "M":
                    marks.append(cp)
                norm = unicodedata.normalize("NFKC", ch)
                if norm != ch:
                    if unicodedata.category(norm[0])[0] == "M" or "\u1160" <= norm[0] <= "\u11ff":
                        marks.append(cp)  # combines with the char before it (ﾞ → U+3099, ㅏ → U+1161)
                    if len(norm) == 1:
                        single[cp] = norm
                    else:
                        slow.append(cp)
        #: chars whose NFKC form is one other char (``，`` → ``,``): translated in place, offsets unchanged
        self.single = single
        mark_class = _char_class(marks)
        #: runs of combining marks (normalized with the char before them, their base), and chars whose
        #: NFKC form has another length (with the marks that follow them)
        self.slow_re = re.compile(f"(?P<marks>[{mark_class}]+)|[{_char_class(slow)}][{mark_class}]*")


_nfkc_lock = threading.Lock()
_nfkc_tables_cache: _NfkcTables | None = None


def _nfkc_tables() -> _NfkcTables:
    global _nfkc_tables_cache
    tables = _nfkc_tables_cache
    if tables is None:
        with _nfkc_lock:
            if _nfkc_tables_cache is None:
                _nfkc_tables_cache = _NfkcTables()
            tables = _nfkc_tables_cache
    return tables


def _nfkc_chunk(chunk: str) -> str:
    """NFKC of a short chunk, keeping NNBSP and deleting the invisible format characters."""
    chunk = chunk.translate(_DELETE_TABLE)
    if _NNBSP in chunk:
        return _NNBSP.join(unicodedata.normalize("NFKC", part) for part in chunk.split(_NNBSP))
    return unicodedata.normalize("NFKC", chunk)


# A normalized text with, when its length differs from the original, the original span of each char.
_Prepared = tuple[str, "list[int] | None", "list[int] | None"]


def _nfkc_with_offsets(text: str) -> _Prepared:
    """NFKC ``text``; return ``(normalized, starts, ends)``.

    ``starts[i]:ends[i]`` is the span of the original text that produced ``normalized[i]``; both are
    ``None`` when every char maps to the char at the same index (the common case).
    """
    if text.isascii():
        return text, None, None
    tables = _nfkc_tables()
    single = tables.single
    # Fast path: translating the chars whose NFKC form is one char (，→ , Ａ → A) already gives NFKC.
    translated = text.translate(single)
    if _NNBSP not in text and not _DELETED_RE.search(text) and unicodedata.is_normalized("NFKC", translated):
        return translated, None, None
    pieces: list[tuple[int, int, str]] = []  # (orig start, orig end, output) where output length != span
    out: list[str] = []
    pos = 0
    for m in tables.slow_re.finditer(text):
        a, b = m.span()
        if m.lastgroup == "marks" and a > pos:  # combining marks: normalize them with their base
            a -= 1
        if a > pos:
            out.append(text[pos:a].translate(single))
        chunk = text[a:b]
        norm = _nfkc_chunk(chunk)
        if len(norm) != b - a:
            pieces.append((a, b, norm))
        out.append(norm)
        pos = b
    if pos < len(text):
        out.append(text[pos:].translate(single))
    normalized = "".join(out)
    if not pieces:
        return normalized, None, None
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for a, b, norm in pieces:
        if a > pos:
            starts.extend(range(pos, a))
            ends.extend(range(pos + 1, a + 1))
        starts.extend([a] * len(norm))
        ends.extend([b] * len(norm))
        pos = b
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return normalized, starts, ends


# --------------------------------------------------------------------------------------------------------
# Lazily loaded, once per process: OpenCC, rjieba with the legal dictionary, pypinyin
# --------------------------------------------------------------------------------------------------------

_init_lock = threading.RLock()  # re-entrant: loading the dictionary needs the converter
_jieba_instance = None


def _load_user_dict(jieba, path: Path) -> int:
    """Add the terms of ``path`` (``word [freq [tag]]`` per line, ``#`` comments) to ``jieba``."""
    t2s = get_t2s()
    count = 0
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, *rest = line.split()
        word = t2s.convert(unicodedata.normalize("NFKC", word))
        freq = int(rest.pop(0)) if rest and rest[0].isdigit() else None
        tag = rest[0] if rest else None
        if freq is None:
            # Never lower a frequency the base dictionary already gives.
            freq = max(DEFAULT_TERM_FREQ, jieba.suggest_freq(word))
        jieba.add_word(word, freq, tag)
        count += 1
    return count


def get_jieba():
    """The process-wide rjieba segmenter with the legal user dictionary loaded (created on first use).

    This is the instance rjieba creates when it is imported (``rjieba.cut`` etc. use it too): a second
    ``rjieba.Jieba()`` would hold another copy of the ~25 MB dictionary in every process.
    """
    global _jieba_instance
    jieba = _jieba_instance
    if jieba is None:
        with _init_lock:
            if _jieba_instance is None:
                import rjieba

                instance = getattr(rjieba, "_DEFAULT_JIEBA", None) or rjieba.Jieba()
                _load_user_dict(instance, LEGAL_DICT_PATH)
                _expand_word.cache_clear()
                _pinyin_terms.cache_clear()
                _jieba_instance = instance
            jieba = _jieba_instance
    return jieba


def _simplify_run(run: str) -> str:
    conv = get_t2s().convert
    simplified = conv(run)
    if len(simplified) == len(run):
        return simplified
    return "".join(_simplify_char(c) for c in run)


@functools.lru_cache(maxsize=8192)
def _simplify_char(char: str) -> str:
    simplified = get_t2s().convert(char)
    return simplified if len(simplified) == 1 else char


def _to_simplified(text: str) -> str:
    """OpenCC t2s with the length (and so every offset) of ``text`` preserved."""
    if not _HAN_RUN_RE.search(text):
        return text
    try:
        simplified = get_t2s().convert(text)
    except UnicodeEncodeError:  # lone surrogates (possible in JSON input): OpenCC needs UTF-8
        text = _SURROGATE_RE.sub("\ufffd", text)
        simplified = get_t2s().convert(text)
    if len(simplified) == len(text):
        return simplified
    return _HAN_RUN_RE.sub(lambda m: _simplify_run(m.group()), text)


def _prepare(text: str, *, simplify: bool = True) -> _Prepared:
    """Normalize (NFKC, optionally t2s) keeping the map back to the original offsets."""
    normalized, starts, ends = _nfkc_with_offsets(text)
    if simplify and not normalized.isascii() and switches.on(switches.T2S):
        normalized = _to_simplified(normalized)
    return normalized, starts, ends


# --------------------------------------------------------------------------------------------------------
# Word-level helpers
# --------------------------------------------------------------------------------------------------------

_MAX_SUBWORD = 8


@functools.lru_cache(maxsize=200_000)
def _expand_word(word: str) -> tuple[tuple[str, int, int], ...]:
    """The word and its dictionary sub-words (length ≥ 2), ordered by (start, end).

    A superset of jieba's search mode, which only looks at sub-words of length 2 and 3: 实现担保物权 also
    yields 担保物权.
    """
    n = len(word)
    if n <= 2:
        return ((word, 0, n),)
    has_word = get_jieba().has_word
    out = []
    for i in range(n - 1):
        for j in range(i + 2, min(n, i + _MAX_SUBWORD) + 1):
            if j - i < n and has_word(word[i:j]):
                out.append((word[i:j], i, j))
        if i == 0:
            out.append((word, 0, n))
    return tuple(out)


def segment_han(run: str) -> list[tuple[str, int, int]]:
    """Search-mode words of a simplified Han run: ``[(word, start, end), …]`` with offsets into ``run``.

    Each word of rjieba's precise segmentation comes with its dictionary sub-words, ordered by start then
    end offset (担保物权 → 担保, 担保物, 担保物权, 物权); no two entries share a span.
    """
    out = []
    for word, start, _end in get_jieba().tokenize(run, "default", True):
        for sub, i, j in _expand_word(word):
            out.append((sub, start + i, start + j))
    return out


def segment_han_grouped(run: str) -> list[tuple[str, int, int, int]]:
    """Like :func:`segment_han`, with the start of the precise word each sub-word belongs to."""
    out = []
    for word, start, _end in get_jieba().tokenize(run, "default", True):
        for sub, i, j in _expand_word(word):
            out.append((sub, start + i, start + j, start))
    return out


def segment_han_precise(run: str) -> list[tuple[str, int, int]]:
    """Precise-mode words of a simplified Han run (no sub-words), as ``[(word, start, end), …]``."""
    return [(word, start, end) for word, start, end in get_jieba().tokenize(run, "default", True)]


@functools.lru_cache(maxsize=100_000)
def _fold_latin(word: str) -> str:
    """Case-fold and remove accents: ``Café`` → ``cafe``, ``Straße`` → ``strasse``."""
    folded = word.casefold()
    if folded.isascii():
        return folded
    folded = folded.translate(_FOLD_EXTRA).translate(accent_map)
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in folded if unicodedata.category(c)[0] != "M")


@functools.lru_cache(maxsize=100_000)
def _fold_pinyin(word: str) -> str:
    """Fold typed pinyin to the indexed spelling: lowercase ASCII, tone marks removed, ü → v."""
    folded = unicodedata.normalize("NFKD", word.casefold()).replace("u\u0308", "v")
    folded = "".join(c for c in folded if unicodedata.category(c)[0] != "M")
    return _fold_latin(folded)


_stem = functools.lru_cache(maxsize=50_000)(_porter_stem)


# --------------------------------------------------------------------------------------------------------
# Tokenizer base
# --------------------------------------------------------------------------------------------------------

Span = tuple[str, int, int]


class _SpanTokenizer(Tokenizer):
    """Turns ``(text, startchar, endchar)`` spans from :meth:`spans` into Whoosh tokens.

    Subclasses implement ``spans(value, mode)`` (offsets into ``value``) and ``whole(value, mode)`` (the
    single token used when Whoosh asks for ``tokenize=False``, e.g. for wildcard and prefix queries).
    """

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ) -> Iterator[Token]:
        if not isinstance(value, str):
            value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            text = self.whole(value, mode)
            if text:
                t.text = text
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = value
                if positions:
                    t.pos = start_pos
                if chars:
                    t.startchar = start_char
                    t.endchar = start_char + len(value)
                yield t
            return
        pos = start_pos - 1
        last_group = None
        for span in self.spans(value, mode):
            text, startchar, endchar = span[0], span[1], span[2]
            # A span may name a group (its 4th item): the sub-words of one word
            # share that word's position, as synonyms do, so a phrase query of
            # whole words matches the text.
            group = span[3] if len(span) > 3 else None
            if group is None or group != last_group:
                pos += 1
            last_group = group
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = value[startchar:endchar]
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + startchar
                t.endchar = start_char + endchar
            yield t

    def index_positions(self, value: str, start_pos: int = 0) -> tuple[dict[str, list[int]], int | None]:
        """Every term of ``value`` in index mode with its positions, in the order of first occurrence, and the
        last position (None: no token): what ``__call__(value, positions=True, start_pos=start_pos,
        mode="index")`` yields, without a Token object per word (:class:`IndexingAnalyzer`)."""
        poses: dict[str, list[int]] = {}
        pos = start_pos - 1
        last_group = None
        for span in self.spans(value, "index"):
            group = span[3] if len(span) > 3 else None
            if group is None or group != last_group:
                pos += 1
            last_group = group
            found = poses.get(span[0])
            if found is None:
                poses[span[0]] = [pos]
            else:
                found.append(pos)
        return poses, (pos if poses else None)

    def index_counts(self, value: str) -> dict[str, int]:
        """How many times each term of ``value`` occurs in index mode (:class:`IndexingAnalyzer`)."""
        return Counter(span[0] for span in self.spans(value, "index"))

    def spans(self, value: str, mode: str) -> Iterable[Span]:  # pragma: no cover - abstract
        raise NotImplementedError

    def whole(self, value: str, mode: str) -> str:
        normalized = _prepare(value)[0].translate(_MONG_IGNORE_TABLE).replace(_NNBSP, "")
        return " ".join(_fold_latin(w) for w in normalized.split())


# --------------------------------------------------------------------------------------------------------
# The main analyzer
# --------------------------------------------------------------------------------------------------------


class MixedScriptTokenizer(_SpanTokenizer):
    """Chinese (rjieba search mode), Mongolian (whole words) and Latin words of NFKC + t2s text.

    * Han runs: every word of rjieba's precise segmentation with its dictionary sub-words (擔保物權 →
      担保, 担保物, 担保物权, 物权), each with its own span, positions in (start, end) order.
    * Mongolian words: kept whole with free variation selectors, the vowel separator, nirugu, ZWJ and ZWNJ
      removed; ``stem\\u202Fsuffix`` yields the stem and then the joined ``stemsuffix``.
    * Other letters/digits: words split on anything else, case-folded and accent-folded (stemming and
      stop words are left to the filters).
    """

    def spans(self, value: str, mode: str) -> Iterator[Span]:
        s, starts, ends = _prepare(value)
        for m in _RUN_RE.finditer(s):
            kind = m.lastgroup
            a = m.start()
            if kind == "han":
                # The index holds every word with its dictionary sub-words; a
                # query needs only the words themselves (担保物权, not also 担保,
                # 担保物, 物权), which a document with the word always matches.
                words = segment_han_precise(m.group()) if mode == "query" else segment_han_grouped(m.group())
                for word, i, j, *group in words:
                    group_key = (a, group[0]) if group else None
                    if starts is None:
                        yield word, a + i, a + j, group_key
                    else:
                        yield word, starts[a + i], ends[a + j - 1], group_key
            elif kind == "latin":
                word = _fold_latin(m.group())
                if word:
                    b = m.end()
                    if starts is None:
                        yield word, a, b
                    else:
                        yield word, starts[a], ends[b - 1]
            else:
                for word, i, j in _mongolian_words(m.group()):
                    if starts is None:
                        yield word, a + i, a + j
                    else:
                        yield word, starts[a + i], ends[a + j - 1]


def _mongolian_words(run: str) -> Iterator[Span]:
    """``stem``, then ``stem+suffix…`` for each NNBSP-joined suffix, with spans into ``run``."""
    stem_start = None
    joined = ""
    offset = 0
    for part in run.split(_NNBSP):
        clean = part.translate(_MONG_IGNORE_TABLE)
        end = offset + len(part)
        if clean:
            if stem_start is None:
                stem_start = offset
                joined = clean
                yield clean, offset, end
            else:
                joined += clean
                yield joined, stem_start, end
        offset = end + 1


class GroupRenumberFilter(Filter):
    """Close the position gaps that removed stop words leave, keeping tokens that share a position together.

    (Whoosh's StopFilter renumbering would give each sub-word of a Chinese word its own position.)
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        last = None
        pos = 0
        for t in tokens:
            if t.positions:
                if last is None:
                    pos = t.pos
                elif t.pos != last:
                    pos += 1
                last = t.pos
                t.pos = pos
            yield t


class EnglishStemFilter(Filter):
    """Porter-stems tokens made only of ASCII letters (``judgments`` → ``judgment``); others pass unchanged."""

    is_morph = True

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        stem = _stem
        for t in tokens:
            text = t.text
            if not t.stopped and text.isascii() and text.isalpha():
                t.text = stem(text)
            yield t


class IndexingAnalyzer(CompositeAnalyzer):
    """A composite analyzer of this module with a second way to run it when a document is indexed.

    :meth:`index_terms` and :meth:`index_counts` give the terms of a value with their positions or counts,
    exactly as counting the analyzer's token stream would, without a Token object per word and a generator
    per filter; the counts come from each distinct word once (a paper's full text repeats its words: 3,400
    tokens, a few hundred words).  The index's formats read them (:mod:`search_index.index_formats`);
    queries, highlights and everything else get the ordinary token stream.

    Two chains are known: a :class:`_SpanTokenizer` alone (bigrams, pinyin, ISBN, CLC …) and
    :func:`text_analyzer`'s (``MixedScriptTokenizer | StopFilter | GroupRenumberFilter | EnglishStemFilter``,
    run fused below); any other chain is counted from its token stream.
    """

    def index_terms(self, value: str, start_pos: int = 0) -> tuple[dict[str, list[int]], int | None]:
        """Each term with its positions (first occurrence order) and the last position (None: no token),
        as ``self(value, positions=True, start_pos=start_pos, mode="index")`` gives them unstopped."""
        items = self.items
        if len(items) == 1 and isinstance(items[0], _SpanTokenizer):
            return items[0].index_positions(value, start_pos)
        if _is_text_chain(items):
            return _text_positions(value, start_pos, items[1].stops)
        poses: dict[str, list[int]] = {}
        last = None
        for t in self(value, positions=True, start_pos=start_pos, mode="index"):
            if not t.stopped:
                poses.setdefault(t.text, []).append(t.pos)
                last = t.pos
        return poses, last

    def index_counts(self, value: str) -> dict[str, int]:
        """How many times each term occurs in ``self(value, mode="index")``, unstopped."""
        items = self.items
        if len(items) == 1 and isinstance(items[0], _SpanTokenizer):
            return items[0].index_counts(value)
        if _is_text_chain(items):
            return _text_counts(value, items[1].stops)
        return Counter(t.text for t in self(value, mode="index") if not t.stopped)


def _is_text_chain(items) -> bool:
    return (
        len(items) == 4
        and type(items[0]) is MixedScriptTokenizer
        and type(items[1]) is StopFilter
        and items[1].min == 1
        and items[1].max is None
        and not items[1].renumber
        and type(items[2]) is GroupRenumberFilter
        and type(items[3]) is EnglishStemFilter
    )


def _text_positions(value: str, start_pos: int, stops: frozenset) -> tuple[dict[str, list[int]], int | None]:
    """:func:`text_analyzer`'s chain fused: the tokenizer's positions (one per precise word, its dictionary
    sub-words sharing it; one per Latin or Mongolian word), stop words dropped without renumbering, then the
    gaps they leave closed (GroupRenumberFilter), ASCII words stemmed."""
    s = _prepare(value)[0]
    poses: dict[str, list[int]] = {}
    get = poses.get
    tokenize = get_jieba().tokenize
    pos = start_pos - 1  # the tokenizer's position
    last = None  # the tokenizer's position of the last token kept
    renumbered = 0  # its position after GroupRenumberFilter
    for m in _RUN_RE.finditer(s):
        kind = m.lastgroup
        if kind == "han":
            for word, _start, _end in tokenize(m.group(), "default", True):
                pos += 1
                if last is None:
                    renumbered = pos
                else:
                    renumbered += 1
                last = pos
                for sub, _i, _j in _expand_word(word):
                    found = get(sub)
                    if found is None:
                        poses[sub] = [renumbered]
                    else:
                        found.append(renumbered)
            continue
        words = ((_fold_latin(m.group()),) if kind == "latin"
                 else [w for w, _i, _j in _mongolian_words(m.group())])
        for text in words:
            if not text:
                continue
            pos += 1
            if text in stops:
                continue
            if last is None:
                renumbered = pos
            else:
                renumbered += 1
            last = pos
            if text.isascii() and text.isalpha():
                text = _stem(text)
            found = get(text)
            if found is None:
                poses[text] = [renumbered]
            else:
                found.append(renumbered)
    return poses, (renumbered if last is not None else None)


def _text_counts(value: str, stops: frozenset) -> dict[str, int]:
    """How many times :func:`text_analyzer` yields each term of ``value``: each distinct precise word's
    sub-words counted once per occurrence of the word."""
    s = _prepare(value)[0]
    tokenize = get_jieba().tokenize
    words: list[str] = []
    others: list[str] = []
    for m in _RUN_RE.finditer(s):
        kind = m.lastgroup
        if kind == "han":
            words += [word for word, _start, _end in tokenize(m.group(), "default", True)]
        elif kind == "latin":
            others.append(_fold_latin(m.group()))
        else:
            others += [w for w, _i, _j in _mongolian_words(m.group())]
    counts: dict[str, int] = {}
    get = counts.get
    for word, n in Counter(words).items():
        for sub, _i, _j in _expand_word(word):
            counts[sub] = get(sub, 0) + n
    for text, n in Counter(others).items():
        if not text or text in stops:
            continue
        if text.isascii() and text.isalpha():
            text = _stem(text)
        counts[text] = get(text, 0) + n
    return counts


def text_analyzer() -> IndexingAnalyzer:
    """The main analyzer (title, people, subjects, summary, full text); identical at index and query time.

    NFKC → OpenCC t2s → script runs: Chinese words in rjieba search mode with the legal dictionary,
    Mongolian words whole (variation selectors removed, NNBSP suffixes as stem + joined form), other words
    lowercased, accent-folded, Porter-stemmed when ASCII letters; digits kept as is; only the English
    stop words in :data:`ENGLISH_STOP_WORDS` are removed.
    """
    return IndexingAnalyzer(
        MixedScriptTokenizer(),
        StopFilter(stoplist=ENGLISH_STOP_WORDS, minsize=1, renumber=False),
        GroupRenumberFilter(),
        EnglishStemFilter(),
    )


class SectionedAnalyzer(Analyzer):
    """Wraps an analyzer so that one field can hold several weighted sections (title, authors, summary…).

    An indexed value is made by :func:`sections`: each section's tokens carry that section's boost (Whoosh
    sums token boosts into the posting's weight, which BM25F scores), positions continue across sections
    with a gap of :data:`SECTION_GAP` (a phrase never spans two sections), and ``startchar``/``endchar``
    index the section's own text.  A value without section marks (every query) goes to the wrapped
    analyzer unchanged, so query and index analysis stay identical.
    """

    def __init__(self, inner: Analyzer):
        self.inner = inner

    def __eq__(self, other) -> bool:
        return isinstance(other, SectionedAnalyzer) and self.inner == other.inner

    def has_morph(self) -> bool:
        return self.inner.has_morph()

    def clean(self) -> None:
        self.inner.clean()

    def index_terms(self, value: str) -> tuple[dict[str, list[int]], dict[str, float]] | None:
        """Each term of ``value`` with its positions and its weight (the sum of its tokens' boosts), as
        ``self(value, positions=True, mode="index")`` gives them; None when the wrapped analyzer has no
        :meth:`IndexingAnalyzer.index_terms`."""
        terms = getattr(self.inner, "index_terms", None)
        if terms is None:
            return None
        if _SECTION not in value:
            poses, _last = terms(value, 0)
            return poses, {text: float(len(found)) for text, found in poses.items()}
        poses: dict[str, list[int]] = {}
        weights: dict[str, float] = {}
        pos = 0
        for part in value.split(_SECTION):
            if not part:
                continue
            boost_text, _, text = part.partition(_BOOST_END)
            boost = float(boost_text)
            found, last = terms(text, pos)
            for term, positions in found.items():
                if term in poses:
                    poses[term] += positions
                    weight = weights[term]
                else:
                    poses[term] = positions
                    weight = 0.0
                # Each token's boost added in turn, as Whoosh's Positions.word_values adds them.
                for _ in positions:
                    weight += boost
                weights[term] = weight
            if last is not None:
                pos = last + SECTION_GAP
        return poses, weights

    def __call__(self, value, positions=False, start_pos=0, **kwargs) -> Iterator[Token]:
        if not isinstance(value, str) or _SECTION not in value:
            yield from self.inner(value, positions=positions, start_pos=start_pos, **kwargs)
            return
        pos = start_pos
        for part in value.split(_SECTION):
            if not part:
                continue
            boost_text, _, text = part.partition(_BOOST_END)
            boost = float(boost_text)
            last = None
            for t in self.inner(text, positions=positions, start_pos=pos, **kwargs):
                t.boost = boost
                if positions:
                    last = t.pos
                yield t
            if last is not None:
                pos = last + SECTION_GAP


_SECTION = "\x1d"
_BOOST_END = "\x1e"
#: Positions left empty between two sections of a :class:`SectionedAnalyzer` value.
SECTION_GAP = 100


def sections(parts: Iterable[tuple[str, float]]) -> str:
    """One value for a :class:`SectionedAnalyzer` field from ``(text, boost)`` pairs (empty texts skipped)."""
    return "".join(
        f"{_SECTION}{boost:g}{_BOOST_END}{text.replace(_SECTION, ' ').replace(_BOOST_END, ' ')}"
        for text, boost in parts
        if text and text.strip()
    )


# --------------------------------------------------------------------------------------------------------
# Han bigrams
# --------------------------------------------------------------------------------------------------------


class BigramTokenizer(_SpanTokenizer):
    """Overlapping Han character bigrams of each Han run (a one-character run yields itself)."""

    def spans(self, value: str, mode: str) -> Iterator[Span]:
        s, starts, ends = _prepare(value)
        for m in _HAN_RUN_RE.finditer(s):
            run = m.group()
            a = m.start()
            n = len(run)
            if n == 1:
                pairs: Iterable[tuple[int, int]] = ((0, 1),)
            else:
                pairs = ((i, i + 2) for i in range(n - 1))
            for i, j in pairs:
                if starts is None:
                    yield run[i:j], a + i, a + j
                else:
                    yield run[i:j], starts[a + i], ends[a + j - 1]

    def index_counts(self, value: str) -> dict[str, int]:
        pairs: list[str] = []
        for run in _HAN_RUN_RE.findall(_prepare(value)[0]):
            pairs += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        return Counter(pairs)

    def whole(self, value: str, mode: str) -> str:
        return "".join(_HAN_RUN_RE.findall(_prepare(value)[0]))


def bigram_analyzer() -> IndexingAnalyzer:
    """Han character bigrams after NFKC + t2s (担保物权 → 担保, 保物, 物权); non-Han text is ignored.

    For a lower-weighted fallback field, so that a query word jieba splits differently from the text
    still matches.  Identical at index and query time.
    """
    return IndexingAnalyzer(BigramTokenizer())


# --------------------------------------------------------------------------------------------------------
# Pinyin
# --------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=100_000)
def _word_syllables(word: str) -> tuple[str, ...]:
    """Toneless pinyin of each character of a simplified Han word, read as one phrase (重庆 → chong qing);
    ``""`` for a character pypinyin has no reading for."""
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(word, style=Style.NORMAL, errors="ignore")
    if len(syllables) != len(word):  # a character without a reading: align the others one by one
        syllables = ["".join(lazy_pinyin(c, style=Style.NORMAL, errors="ignore")) for c in word]
    return tuple(_fold_latin(p) for p in syllables)


def _with_u(text: str) -> tuple[str, ...]:
    """``lv`` → (``lv``, ``lu``): pypinyin spells ü as v; index the u spelling too."""
    return (text, text.replace("v", "u")) if "v" in text else (text,)


class PinyinTokenizer(_SpanTokenizer):
    """Pinyin of Chinese words at index time; typed Latin words at query time.

    Index (any mode but ``"query"``): for every word of the same search-mode segmentation as
    :class:`MixedScriptTokenizer` — its full toneless pinyin (``danbaowuquan``), its initials when it has
    two or more characters (``dbwq``), and each character's syllable (``dan``); a spelling with ``v`` (ü) is
    also indexed with ``u``.  Non-Han text is ignored.  Readings are those pypinyin gives the whole word of
    the precise segmentation (one ``lazy_pinyin`` call per distinct word, cached); sub-words reuse them.

    Query (``mode="query"``): Han text is ignored; other words are lowercased, tone marks removed, ``ü``
    typed as ``v``, and split on anything but ASCII letters and digits — as typed, no stemming.
    """

    def spans(self, value: str, mode: str) -> Iterator[Span]:
        if mode == "query":
            yield from self._query_spans(value)
        else:
            yield from self._index_spans(value)

    @staticmethod
    def _index_spans(value: str) -> Iterator[Span]:
        s, starts, ends = _prepare(value)
        jieba = get_jieba()
        for m in _HAN_RUN_RE.finditer(s):
            a = m.start()
            for main, w0, _w1 in jieba.tokenize(m.group(), "default", True):
                for text, i, j in _pinyin_word_spans(main):
                    b0, b1 = a + w0 + i, a + w0 + j
                    yield (text, b0, b1) if starts is None else (text, starts[b0], ends[b1 - 1])

    def index_counts(self, value: str) -> dict[str, int]:
        # A precise word's terms depend on the word alone (_pinyin_terms): each distinct word once.
        jieba = get_jieba()
        words: list[str] = []
        for run in _HAN_RUN_RE.findall(_prepare(value)[0]):
            words += [main for main, _w0, _w1 in jieba.tokenize(run, "default", True)]
        counts: dict[str, int] = {}
        get = counts.get
        for main, n in Counter(words).items():
            for text in _pinyin_terms(main):
                counts[text] = get(text, 0) + n
        return counts

    @staticmethod
    def _query_spans(value: str) -> Iterator[Span]:
        s, starts, ends = _prepare(value, simplify=False)
        for m in _RUN_RE.finditer(s):
            if m.lastgroup != "latin":
                continue
            a, b = m.span()
            if starts is not None:
                a, b = starts[a], ends[b - 1]
            folded = _fold_pinyin(m.group())
            if _ASCII_ALNUM_RE.fullmatch(folded):
                yield folded, a, b
            else:
                for piece in _ASCII_ALNUM_RE.findall(folded):
                    yield piece, a, b

    def whole(self, value: str, mode: str) -> str:
        return "".join(_ASCII_ALNUM_RE.findall(_fold_pinyin(_prepare(value, simplify=False)[0])))


def _pinyin_word_spans(main: str) -> list[tuple[str, int, int]]:
    """What :class:`PinyinTokenizer` indexes for one word of the precise segmentation, with offsets into it."""
    # Readings come from the whole word (pypinyin picks phrase readings); sub-words slice them.
    syllables = _word_syllables(main)
    seen_chars: set[int] = set()
    out = []
    for _sub, i, j in _expand_word(main):
        sub_syllables = syllables[i:j]
        full = "".join(sub_syllables)
        for text in _with_u(full) if full else ():
            out.append((text, i, j))
        if j - i == 1:  # a one-character word: its pinyin is the syllable
            continue
        # Style.FIRST_LETTER is the first letter of each Style.NORMAL syllable.
        initials = "".join(p[:1] for p in sub_syllables)
        if initials:
            out.append((initials, i, j))
        for k, syllable in enumerate(sub_syllables, start=i):
            if syllable and k not in seen_chars:
                seen_chars.add(k)
                for text in _with_u(syllable):
                    out.append((text, k, k + 1))
    return out


@functools.lru_cache(maxsize=100_000)
def _pinyin_terms(main: str) -> tuple[str, ...]:
    """The pinyin terms of one word of the precise segmentation, in order (:func:`_pinyin_word_spans`)."""
    return tuple(text for text, _i, _j in _pinyin_word_spans(main))


class HanReading(NamedTuple):
    """A Han run as the pinyin field reads it (:func:`han_syllables`)."""

    chars: str
    #: The toneless syllable of each character, ``""`` for a character without a reading.
    syllables: tuple[str, ...]
    #: Offsets in ``chars`` where a word or dictionary sub-word of the search-mode segmentation starts, ends.
    starts: frozenset[int]
    ends: frozenset[int]


def han_syllables(text: str) -> list[HanReading]:
    """Each Han run of ``text`` after normalization (NFKC, t2s), read as :class:`PinyinTokenizer` indexes it:
    the syllable of each character from the readings of the words of the precise segmentation (重庆 →
    chong qing), and where its words and dictionary sub-words start and end.  For did-you-mean, which
    compares these syllables with a query's and offers only whole words: the same segmentation and
    readings as the index."""
    s = _prepare(text)[0]
    jieba = get_jieba()
    out = []
    for m in _HAN_RUN_RE.finditer(s):
        syllables = [""] * len(m.group())
        starts, ends = set(), set()
        for word, w0, _w1 in jieba.tokenize(m.group(), "default", True):
            syllables[w0 : w0 + len(word)] = _word_syllables(word)
            for _sub, i, j in _expand_word(word):
                starts.add(w0 + i)
                ends.add(w0 + j)
        out.append(HanReading(m.group(), tuple(syllables), frozenset(starts), frozenset(ends)))
    return out


@functools.lru_cache(maxsize=20_000)
def char_readings(char: str) -> tuple[str, ...]:
    """Every toneless reading pypinyin knows for one simplified Han character (its heteronyms: 长 → zhang,
    chang), spelled as the pinyin field spells syllables (ü as ``v``); ``()`` for none."""
    from pypinyin import Style, pinyin

    found = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(dict.fromkeys(_fold_latin(p) for p in found[0] if p)) if found else ()


# --------------------------------------------------------------------------------------------------------
# Romanised names
# --------------------------------------------------------------------------------------------------------

#: A Chinese name has at most this many syllables (a two-character surname and a two-character given name).
MAX_NAME_SYLLABLES = 4
_NAME_RE = re.compile(r"[a-z\s,.'’\-]+")


@functools.lru_cache(maxsize=1)
def _pinyin_syllables() -> frozenset[str]:
    """Every toneless syllable pypinyin knows (about 420), spelled as the pinyin field spells them."""
    from pypinyin.pinyin_dict import pinyin_dict

    return frozenset(s for v in pinyin_dict.values() for p in v.split(",") if (s := _fold_pinyin(p)).isalpha())


def _syllable_count(word: str) -> int | None:
    """The fewest pinyin syllables ``word`` splits into (shengping → 2), or None when it is no pinyin."""
    known = _pinyin_syllables()
    best: list[int | None] = [0] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            if best[start] is not None and word[start:end] in known:
                n = best[start] + 1
                if best[end] is None or n < best[end]:
                    best[end] = n
    return best[len(word)]


@functools.lru_cache(maxsize=20_000)
def romanized_name_keys(name: str) -> tuple[str, ...]:
    """The keys under which the index keeps a name written in pinyin (the ``romanized`` field), so that the
    name typed in Chinese finds it: its letters joined, in the order written and with the last word first
    (``Gao Shengping``, ``Gao Sheng-ping``, ``Shengping Gao`` → ``gaoshengping``, ``shengpinggao``; ``GAO,
    Shengping`` is surname first already).  Two or three words of 2 to :data:`MAX_NAME_SYLLABLES` pinyin
    syllables in all; ``()`` for any other name (``Donald Clarke``, 高圣平, ``H. L. A. Hart``)."""
    folded = _fold_pinyin(unicodedata.normalize("NFKC", name).strip())
    if not folded or not _NAME_RE.fullmatch(folded):
        return ()
    words = [w for w in ("".join(re.findall("[a-z]+", part)) for part in re.split(r"[\s,.]+", folded)) if w]
    if not 2 <= len(words) <= 3:
        return ()
    counts = [_syllable_count(w) for w in words]
    if None in counts or not 2 <= sum(counts) <= MAX_NAME_SYLLABLES:
        return ()
    keys = ["".join(words)]
    if "," not in folded:
        keys.append(words[-1] + "".join(words[:-1]))
    return tuple(dict.fromkeys(keys))


def han_name_keys(word: str) -> tuple[str, ...]:
    """The ``romanized`` keys a Han word (simplified, 2 to :data:`MAX_NAME_SYLLABLES` characters) would have
    as a name written in pinyin: its syllables joined, read as the pinyin field reads the word, then with
    the surname's other readings (单 dan, shan), ü also as u; ``()`` for a character without a reading."""
    if not 2 <= len(word) <= MAX_NAME_SYLLABLES or not _HAN_RUN_RE.fullmatch(word):
        return ()
    syllables = _word_syllables(word)
    if not all(syllables):
        return ()
    rest = "".join(syllables[1:])
    firsts = dict.fromkeys([syllables[0], *char_readings(word[0])[:3]])
    return tuple(dict.fromkeys(key for first in firsts for key in _with_u(first + rest)))


#: Pinyin words written apart are joined into one key of at most this many words (民事诉讼法: 5 syllables, typed
#: as up to 5 words).
MAX_JOINED_PINYIN_WORDS = 6


def joined_pinyin_keys(words: Sequence[str]) -> tuple[str, ...]:
    """The terms the ``pinyin`` field would hold for a word read as ``words`` written apart (``wang liming`` →
    ``wangliming``, the whole word 王利明 indexed as one term): their letters joined in the order typed, and for
    a name's shape (2 or 3 words, 2 to :data:`MAX_NAME_SYLLABLES` syllables) also with the last word first
    (``liming wang`` → ``wangliming``, a name written given name first).  ``()`` when fewer than 2 or more
    than :data:`MAX_JOINED_PINYIN_WORDS` words, or when one of them is no pinyin (``secured``)."""
    folded = [_fold_pinyin(w) for w in words]
    if not 2 <= len(folded) <= MAX_JOINED_PINYIN_WORDS or not all(w.isascii() and w.isalpha() for w in folded):
        return ()
    counts = [_syllable_count(w) for w in folded]
    if None in counts:
        return ()
    keys = ["".join(folded)]
    if len(folded) <= 3 and sum(counts) <= MAX_NAME_SYLLABLES:
        keys.append(folded[-1] + "".join(folded[:-1]))
    return tuple(dict.fromkeys(keys))


def pinyin_analyzer() -> IndexingAnalyzer:
    """Pinyin field analyzer: indexes Chinese words as pinyin, queries with what the user typed.

    担保物权 is indexed as danbaowuquan, dbwq, danbao, db, wuquan, wq, … and dan, bao, wu, quan, so the
    queries ``danbaowuquan``, ``danbao wuquan``, ``dan bao wu quan`` and ``dbwq`` all match it; 法律 is
    indexed as falv and falu (and lv, lu), so ``falü``, ``falv`` and ``falu`` match.
    """
    return IndexingAnalyzer(PinyinTokenizer())


# --------------------------------------------------------------------------------------------------------
# ISBN
# --------------------------------------------------------------------------------------------------------

# The label and the dashes are library.validators' (fold_isbn), so a value is read here as the catalogue
# validated it and as a query is read (validators.isbn13_of).
_ISBN_LABEL_RE = re.compile(ISBN_LABEL, re.IGNORECASE)
_ISBN_RUN_RE = re.compile(r"\d(?:[\s\-]*[\dXx])*")
_ISBN_GROUP_RE = re.compile(r"[\dXx]+")


class IsbnTokenizer(_SpanTokenizer):
    """ISBNs in any notation → the ISBN-13 and, for 978 numbers, the ISBN-10 (compact, check digit ``X``).

    Digits separated by hyphens or spaces are grouped greedily into valid ISBNs, so one value may hold
    several.  A value holding no valid ISBN yields its digit runs stripped of separators instead.
    """

    def spans(self, value: str, mode: str) -> Iterator[Span]:
        from stdnum import isbn

        s, starts, ends = _prepare(value, simplify=False)
        s = _ISBN_LABEL_RE.sub(lambda m: " " * len(m.group()), s.translate(ISBN_DASHES))
        seen: set[str] = set()
        invalid: list[tuple[str, int, int]] = []

        def emit(text: str, a: int, b: int) -> Iterator[Span]:
            if text not in seen:
                seen.add(text)
                yield (text, a, b) if starts is None else (text, starts[a], ends[b - 1])

        for run in _ISBN_RUN_RE.finditer(s):
            groups = [(g.group().upper(), g.start(), g.end()) for g in _ISBN_GROUP_RE.finditer(s, *run.span())]
            found = False
            i = 0
            while i < len(groups):
                digits = ""
                for j in range(i, len(groups)):
                    digits += groups[j][0]
                    if len(digits) > 13:
                        break
                    if len(digits) in (10, 13) and isbn.is_valid(digits):
                        found = True
                        a, b = groups[i][1], groups[j][2]
                        isbn13 = isbn.to_isbn13(digits)
                        yield from emit(isbn13, a, b)
                        if isbn13.startswith("978"):
                            yield from emit(isbn.to_isbn10(isbn13), a, b)
                        i = j
                        break
                i += 1
            if not found:
                invalid.append(("".join(g[0] for g in groups), run.start(), run.end()))
        if not seen:
            for text, a, b in invalid:
                yield from emit(text, a, b)

    def whole(self, value: str, mode: str) -> str:
        for text, _a, _b in self.spans(value, mode):
            return text
        return ""


def isbn_analyzer() -> IndexingAnalyzer:
    """ISBN field analyzer: ``978-7-301-04815-3``, ``7-301-04815-7`` and ``ISBN 9787301048153`` all give
    ``9787301048153`` (and ``7301048157``); invalid input gives its digits, never an error."""
    return IndexingAnalyzer(IsbnTokenizer())


# --------------------------------------------------------------------------------------------------------
# Chinese Library Classification
# --------------------------------------------------------------------------------------------------------

_CLC_CODE_RE = re.compile(r"[^\s,;，；、|]+")
_CLC_STRIP = ".-/:=+"


class ClcTokenizer(_SpanTokenizer):
    """CLC class numbers, lowercase, folded as ``classification.fold_code`` folds them (NFKC, ``D923。2``).
    Index: ``classification.clc_prefixes``, every prefix ending in a letter or digit (``D923.2`` → d, d9, d92,
    d923, d923.2).  Query (``mode="query"``): the code itself (``D92`` → d92).  Several codes may be separated
    by spaces, commas or semicolons."""

    def spans(self, value: str, mode: str) -> Iterator[Span]:
        s, starts, ends = _prepare(value, simplify=False)
        s = IDEOGRAPHIC_DOT.sub(".", s)  # one character for one: the offsets stay
        seen: set[str] = set()
        for m in _CLC_CODE_RE.finditer(s):
            raw = m.group()
            lead = len(raw) - len(raw.lstrip(_CLC_STRIP))
            code = raw.strip(_CLC_STRIP).lower()
            if not any(c.isalnum() for c in code):
                continue
            a = m.start() + lead
            b = a + len(raw.strip(_CLC_STRIP))
            if mode == "query":
                prefixes: Iterable[tuple[str, int]] = ((code, b),)
            else:
                prefixes = ((prefix, min(a + len(prefix), b)) for prefix in clc_prefixes(code))
            for text, end in prefixes:
                if text not in seen:
                    seen.add(text)
                    yield (text, a, end) if starts is None else (text, starts[a], ends[end - 1])

    def whole(self, value: str, mode: str) -> str:
        return IDEOGRAPHIC_DOT.sub(".", _prepare(value, simplify=False)[0]).strip().strip(_CLC_STRIP).lower()


def clc_analyzer() -> IndexingAnalyzer:
    """CLC field analyzer: index every prefix of the class number, query the typed class (``D92`` matches
    ``D923.2``)."""
    return IndexingAnalyzer(ClcTokenizer())


class CallNumberTokenizer(_SpanTokenizer):
    """A call number (索书号), lower-case.  Index: the prefixes of its class as ``ClcTokenizer`` makes them,
    then the call number up to each sign after the book mark and whole (``D923.6/12:2`` → d … d923.6,
    d923.6/12, d923.6/12:2).  Query: the normalized call number (``ｄ923.6 / 12`` → d923.6/12).  No
    highlighting reads this field: every span covers the whole value."""

    def spans(self, value: str, mode: str) -> Iterator[Span]:
        whole = normalize_call_number(value).lower()
        if not whole:
            return
        if mode == "query":
            yield whole, 0, len(value)
            return
        parts = split_call_number(whole)
        seen: set[str] = set()
        for text, _start, _end in ClcTokenizer().spans(parts.klass.lower(), "index"):
            seen.add(text)
            yield text, 0, len(value)
        base = f"{parts.klass}/{parts.mark}".lower()
        if parts.mark:
            ends = [len(base)] + [len(base) + m.start() for m in re.finditer(r"[^a-z0-9](?=[a-z0-9])", parts.rest.lower())]
            for end in ends:
                if whole[:end] not in seen:
                    seen.add(whole[:end])
                    yield whole[:end], 0, len(value)
        if whole not in seen:
            yield whole, 0, len(value)

    def whole(self, value: str, mode: str) -> str:
        return normalize_call_number(value).lower()


def call_number_analyzer() -> IndexingAnalyzer:
    """Call number field analyzer: ``D923.6`` finds every book of the class and below it, ``D923.6/12`` the
    book (all its volumes)."""
    return IndexingAnalyzer(CallNumberTokenizer())


# --------------------------------------------------------------------------------------------------------
# Query helpers
# --------------------------------------------------------------------------------------------------------


_MONG_SUFFIX_JOIN_RE = re.compile(f"(?<=[{_MONG_LETTER}{_MONG_IGNORABLE}]){_NNBSP}(?=[{_MONG_LETTER}])")


def normalize_query_text(text: str) -> str:
    """Normalize a query string before parsing, the same way the analyzers normalize text.

    NFKC (deleting invisible format characters), OpenCC t2s, and control characters removed (C0 except TAB
    and LF, DEL, C1).  U+202F between a Mongolian stem and its suffix is removed, joining them
    (``ᠬᠡᠯᠡ\u202fᠶᠢᠨ`` → ``ᠬᠡᠯᠡᠶᠢᠨ``, the joined token the index holds): the query parser treats U+202F as
    whitespace and would otherwise search the suffix as a word of its own; elsewhere it becomes a space.
    """
    normalized = _prepare(text)[0].translate(_CONTROL_TABLE)
    if _NNBSP in normalized:
        normalized = _MONG_SUFFIX_JOIN_RE.sub("", normalized).replace(_NNBSP, " ")
    return normalized


def has_han(text: str) -> bool:
    """Whether ``text`` contains a Chinese character (including compatibility forms NFKC maps to one)."""
    return _HAN_ANY_RE.search(text) is not None


def is_latin_query(text: str) -> bool:
    """Whether ``text`` has letters and all of them are Latin (after accent folding): ``danbao wuquan``,
    ``Judgment``, ``café`` → True; ``担保 abc``, Mongolian, digits only → False.  The searcher uses it to
    decide whether to also search the pinyin field."""
    has_letter = False
    for m in _RUN_RE.finditer(normalize_query_text(text)):
        if m.lastgroup != "latin":
            return False
        word = _fold_pinyin(m.group())
        if not word.isascii():
            return False
        has_letter = has_letter or any(c.isalpha() for c in word)
    return has_letter
