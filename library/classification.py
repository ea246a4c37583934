"""The Chinese Library Classification (中国图书馆分类法) as the catalogue browses it: class names from
``library/data/clc.tsv`` and the path of classes a class number stands under (``D923.2-44`` → D, D9, D92,
D923, D923.2).

Also the two rules every reader of a class number shares (docs/search.md, "One normalisation"): how a class
or call number as typed is folded (:func:`fold_code`: the catalogue's validation, the call numbers, the search
index and its queries and filters), and which prefixes of a class number are its classes
(:func:`clc_prefixes`: the browse tree here and the search index's ``clc`` field).

Only the main class number makes the tree: auxiliary notations (``-44``, ``=49``, ``(235)``) are kept by the
books and by the search filter, not shown as classes of their own.
"""

import re
import unicodedata
from functools import cache
from pathlib import Path

from django.utils.translation import get_language

DATA = Path(__file__).resolve().parent / "data" / "clc.tsv"
#: The 22 main classes, in the order of the classification.
MAIN_CLASSES = tuple("ABCDEFGHIJKNOPQRSTUVXZ")
#: The main class number: the class letters, then digits with dots (``TP311.13``).
_MAIN = re.compile(r"^(T[A-Z]|[A-Z])(\d[\d.]*)?")
#: An ideographic full stop between digits: what a Chinese input method types for the dot (D923。2).
IDEOGRAPHIC_DOT = re.compile(r"(?<=[0-9０-９])[。｡](?=[0-9０-９])")


def fold_code(value: str) -> str:
    """A class number or call number as typed, folded to the characters the catalogue writes it in: NFKC
    (full-width letters, digits, dot, slash and colon half-width: ``Ｄ９２３．２`` → ``D923.2``), an ideographic
    full stop between digits read as the dot (``D923。2``), upper-case, trimmed.  The one fold of
    ``validators.normalize_clc``, ``callnumbers.normalize_call_number`` and the search's ``clc`` filter and
    ``clc:`` queries; it never changes a length-preserving offset of the letters and digits."""
    text = unicodedata.normalize("NFKC", IDEOGRAPHIC_DOT.sub(".", value or ""))
    return text.strip().upper()


def clc_prefixes(code: str) -> list[str]:
    """Every prefix of a (folded) class number that ends in a letter or digit, and the whole number, broadest
    first: ``D923.2`` → D, D9, D92, D923, D923.2; ``TP311`` → T, TP, TP3, TP31, TP311; ``D923.2-44`` → … D923.2,
    D923.2-4, D923.2-44.  The classes a number stands under: the browse tree takes them of the main number
    (:func:`class_path`), the search index's ``clc`` field of the whole (so ``clc:D92`` finds D923.2-44).
    Case is kept: the index lower-cases first."""
    return [code[:k] for k in range(1, len(code) + 1) if code[k - 1].isalnum() or k == len(code)]


@cache
def class_names() -> dict[str, tuple[str, str]]:
    """Code → (Chinese name, English name), read once per process."""
    names = {}
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, zh, en = (line.split("\t") + ["", ""])[:3]
        names[code.strip()] = (zh.strip(), en.strip() or zh.strip())
    return names


def class_name(code: str) -> str:
    """The class's name in the current language; "" for a class the data file does not name."""
    names = class_names().get(code)
    if names is None:
        return ""
    return names[1] if (get_language() or "").startswith("en") else names[0]


def class_path(clc: str) -> list[str]:
    """The classes a class number stands under, broadest first, ending with its main number: every prefix that
    ends in a letter or digit (``D923.2`` → D, D9, D92, D923, D923.2; ``TP311`` → T, TP, TP3, TP31, TP311).
    [] for a value that is no class number."""
    match = _MAIN.match(fold_code(clc))
    if match is None:
        return []
    return clc_prefixes(match.group(0).rstrip("."))


def class_prefixes(clc: str) -> list[str]:
    """``class_path`` deepest first: the classes a related book may share with this one, the closest first."""
    return class_path(clc)[::-1]
