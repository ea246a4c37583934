"""The Chinese Library Classification (中国图书馆分类法) as the catalogue browses it: class names from
``library/data/clc.tsv`` and the path of classes a class number stands under (``D923.2-44`` → D, D9, D92,
D923, D923.2).

Only the main class number makes the tree: auxiliary notations (``-44``, ``=49``, ``(235)``) are kept by the
books and by the search filter, not shown as classes of their own.
"""

import re
from functools import cache
from pathlib import Path

from django.utils.translation import get_language

DATA = Path(__file__).resolve().parent / "data" / "clc.tsv"
#: The 22 main classes, in the order of the classification.
MAIN_CLASSES = tuple("ABCDEFGHIJKNOPQRSTUVXZ")
#: The main class number: the class letters, then digits with dots (``TP311.13``).
_MAIN = re.compile(r"^(T[A-Z]|[A-Z])(\d[\d.]*)?")


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
    match = _MAIN.match((clc or "").strip().upper())
    if match is None:
        return []
    main = match.group(0).rstrip(".")
    return [main[:k] for k in range(1, len(main) + 1) if main[k - 1] != "."]


def class_prefixes(clc: str) -> list[str]:
    """``class_path`` deepest first: the classes a related book may share with this one, the closest first."""
    return class_path(clc)[::-1]
