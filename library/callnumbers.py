"""Call numbers (索书号): their parts, their shelf order, author marks and the lines of a spine label.

Pure functions on strings; ``services.call_number_assign`` gives books their numbers.  A call number is a
CLC class (中图法分类号), a slash and a book mark (书次号) — a running number within the class (种次号,
``D923.6/12``) or an author mark (著者号, ``D923.6/ZM2``) — optionally followed by a volume, edition or copy
mark with its sign (``D923.6/12:2``).  See docs/design.md, "Call numbers".
"""

import re
import unicodedata
from typing import NamedTuple

from library.classification import fold_code
from library.validators import CLC_RE


def normalize_call_number(value: str) -> str:
    """Half-width, upper-case, stripped, no spaces around the slash: ``ｄ923.6 / 12`` and ``D923。6/12`` are
    ``D923.6/12`` (``classification.fold_code``)."""
    text = fold_code(value)
    text = re.sub(r" +", " ", text)  # line breaks stay, for the single-line check to refuse
    return re.sub(r" ?/ ?", "/", text)


class Parts(NamedTuple):
    klass: str  # the class, before the first slash: D923.6-44
    mark: str  # the book mark, letters and digits after the slash: 12, ZM2
    rest: str  # what follows the mark, its sign kept: ":2", "=2", "(2)"


_MARK = re.compile(r"[A-Z0-9]*")


def split_call_number(value: str) -> Parts:
    """The class, book mark and volume/edition/copy mark of a call number (normalized first)."""
    text = normalize_call_number(value)
    klass, slash, after = text.partition("/")
    if not slash:
        return Parts(klass, "", "")
    mark = _MARK.match(after).group()
    return Parts(klass, mark, after[len(mark):])


# --- shelf order -----------------------------------------------------------------------------------------
#
# The sort key is a string whose plain (code point) order is shelf order, so the search index can keep it
# as one term per book and sort by its place in the term list.  Characters below "0" are separators:
#   " "  ends the class (D9 before D90: "D9 " < "D90 ") and ends nothing else;
#   "!" … "&"  the CLC auxiliary notations, in the order they are filed after the bare class:
#        - (general), ( ) (region), = (period), " " (ethnic), < > (time/place), : (combination);
#   "!"  in the book mark, any run of signs (12 < 12:2 < 12:10 < 13).
# Class digits compare digit by digit (D923 < D923.6 < D93: the dots only group digits); the digits of a
# book mark compare as numbers (/2 < /10), encoded as their length then the digits.

_AUXILIARY = {"-": "!", "(": '"', "=": "#", '"': "$", "<": "%", ":": "&"}
_CLOSING = {")", ">"}
_TOKENS = re.compile(r"[A-Z]+|[0-9]+|[^A-Z0-9]+")
#: Sorts after every key: call numbers that are not CLC-shaped (free text) follow the classified ones.
_UNCLASSIFIED = "~"


def _class_key(klass: str) -> str | None:
    match = re.match(r"[A-Z]+", klass)
    if match is None:
        return None
    out = [match.group()]
    in_quotes = False
    for char in klass[match.end():]:
        if char.isdigit() or "A" <= char <= "Z":
            out.append(char)
        elif char == '"':
            if not in_quotes:
                out.append(_AUXILIARY['"'])
            in_quotes = not in_quotes
        elif char in _AUXILIARY:
            out.append(_AUXILIARY[char])
        # Dots only group digits; closing brackets close what their opening sign began.
    return "".join(out)


def _number(digits: str) -> str:
    digits = digits.lstrip("0") or "0"
    if len(digits) > 9:
        return ":" + digits  # after every shorter number; no book mark has ten digits
    return str(len(digits)) + digits


def _mark_key(text: str) -> str:
    out = []
    for token in _TOKENS.findall(text):
        if token[0].isdigit():
            out.append(_number(token))
        elif "A" <= token[0] <= "Z":
            out.append(token)
        else:
            out.append("!")
    return "".join(out)


def call_number_sort_key(value: str) -> str:
    """A string whose order is shelf order: D9 < D90 < D923 < D923-44 < D923.6 < D923.6/2 < D923.6/10.

    ``""`` for an empty call number (callers put those last).  Call numbers that do not start with a class
    letter sort after all classified ones, by their text.
    """
    text = normalize_call_number(value)
    if not text:
        return ""
    klass, slash, after = text.partition("/")
    key = _class_key(klass)
    if key is None:
        return _UNCLASSIFIED + text
    return key + " " + _mark_key(after)


def shelf_order(value: str) -> tuple[bool, str]:
    """``sorted(books, key=lambda b: shelf_order(b.call_number))``: shelf order, books without one last."""
    key = call_number_sort_key(value)
    return (not key, key)


# --- queries ---------------------------------------------------------------------------------------------


def as_call_number_query(text: str) -> Parts | None:
    """The parts of a search query that is a call number or a CLC class (``D923.6/12``, ``d923.6``), else None.

    A class alone must contain a digit, so that a query of one or two letters stays a word search.
    """
    parts = split_call_number(text)
    if " " in normalize_call_number(text) or not CLC_RE.match(parts.klass):
        return None
    if not parts.mark and not parts.rest:
        if "/" in normalize_call_number(text) or not any(c.isdigit() for c in parts.klass):
            return None
    elif not parts.mark or not re.fullmatch(r"[A-Z0-9.:=()\-]*", parts.rest):
        return None
    return parts


# --- author marks ----------------------------------------------------------------------------------------

#: Surnames read otherwise than the character's common reading (pypinyin reads 曾 as ceng, 单 as dan …), by
#: the first letters of their surname readings; applied to the first characters of a name of at most four
#: characters (a person's, not an institution's: 解放军出版社 keeps jie).  单于 is listed so that 单 does not
#: override it.
SURNAME_INITIALS = {
    "单于": "CY",
    "单": "S", "曾": "Z", "解": "X", "仇": "Q", "区": "O", "查": "Z", "乐": "Y", "召": "S", "翟": "Z",
    "覃": "Q", "种": "C", "秘": "B", "繁": "P", "句": "G", "祭": "Z", "重": "C", "藏": "Z",
}
#: The most characters a person's name has (compound surname and two-character given name).
PERSONAL_NAME_CHARS = 4
#: Marks are at most this many letters (an institution's long name gives its first four initials).
MARK_LETTERS = 4
_BRACKETED = re.compile(r"[\[［〔【(（][^\]］〕】)）]*[\]］〕】)）]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def author_mark(name: str) -> str:
    """The capitalised pinyin initials of a name, at most four letters: 张明 → ZM, 欧阳修 → OYX, 曾国藩 → ZGF
    (surnames read as surnames), H. L. A. Hart → HLAH; ``""`` when the name has neither Chinese characters
    nor Latin letters.  A nationality or dynasty in brackets (``[美]``) is left out."""
    from pypinyin import Style, lazy_pinyin

    text = _BRACKETED.sub(" ", unicodedata.normalize("NFKC", name or ""))
    han = "".join(_HAN.findall(text))
    if han:
        letters = ""
        surnames = [s for s in SURNAME_INITIALS if han.startswith(s)] if len(han) <= PERSONAL_NAME_CHARS else []
        if surnames:
            surname = max(surnames, key=len)
            letters, han = SURNAME_INITIALS[surname], han[len(surname):]
        letters += "".join(p[:1] for p in lazy_pinyin(han, style=Style.FIRST_LETTER, errors="ignore"))
        return letters.upper()[:MARK_LETTERS]
    words = re.findall(r"[A-Za-z]+", _fold_accents(text))
    return "".join(w[0] for w in words).upper()[:MARK_LETTERS]


def _fold_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# --- spine labels ----------------------------------------------------------------------------------------


def spine_lines(value: str) -> list[str]:
    """The lines of a spine label, as libraries print them: the class, then the book mark, then a volume or
    edition mark (``D923.6/12:2`` → ``["D923.6", "12", ":2"]``); text that is not a call number on one line."""
    parts = split_call_number(value)
    if not parts.mark and not parts.rest:
        return [parts.klass] if parts.klass else []
    return [line for line in (parts.klass, parts.mark, parts.rest) if line]
