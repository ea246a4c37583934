"""The text an import matches books by: titles, subtitles and names reduced to what identifies them.

``match_text`` is what the importer's match rule compares (``library.importers``, "Match rules"): two
titles that print the same words are one title, whatever their width, case, spacing, ISBD punctuation
or script (traditional or simplified Chinese).  ``Book.title_key`` stores it for the title, so a
lookup is one indexed equality.  Imports only core: models use it.
"""

import unicodedata

from core.chinese import get_t2s


def _t2s(text: str) -> str:
    """Traditional → simplified (core.chinese's converter, shared with the search index)."""
    try:
        return get_t2s().convert(text)
    except UnicodeEncodeError:  # lone surrogates: OpenCC needs UTF-8; match on the text as it is
        return text


def match_text(text: str | None) -> str:
    """``text`` as the match rule compares it: NFKC, traditional → simplified, case folded, and only its
    letters and digits kept (spaces, ISBD and Chinese punctuation, brackets and control characters such
    as UNIMARC's non-sorting marks go).  "《民法學》: 總論" and "民法学 总论" give the same text."""
    if not text:
        return ""
    text = _t2s(unicodedata.normalize("NFKC", text)).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
