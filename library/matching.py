"""The text an import matches books by: titles, subtitles and names reduced to what identifies them.

``match_text`` is what the importer's match rule compares (``library.importers``, "Match rules"): two
titles that print the same words are one title, whatever their width, case, spacing, ISBD punctuation
or script (traditional or simplified Chinese).  ``Book.title_key`` stores it for the title, so a
lookup is one indexed equality.  Imports nothing of the project: models use it.
"""

import threading
import unicodedata

_converter = None
_converter_lock = threading.Lock()


def _t2s(text: str) -> str:
    """OpenCC traditional → simplified (its converter is loaded once per process, on first use)."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    try:
        return _converter.convert(text)
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
