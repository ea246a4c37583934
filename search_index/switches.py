"""Parts of the query pipeline that can be switched off one at a time, to measure what each adds to the judged
query set (``search_index.evaluation``, ``bench/judged_bench.py``'s ablation; docs/search.md "Measured quality").

Every part is on unless a measurement turns it off for the length of a ``with off(...)`` block; production
never does.  Each is a set lookup per search (or per analysed text), nothing more.  They act on the query side
only: the index is built with everything on, so turning one off measures what searching with it adds.
"""

from collections.abc import Iterator
from contextlib import contextmanager

#: Law names and short forms expanded into the law's other forms (searcher.law_query).
LAW_NAMES = "law_names"
#: Article citations rewritten into ``cites:`` terms (searcher.law_query).
CITATIONS = "citations"
#: Did-you-mean (searcher._suggest): with it off the page offers no correction.
SUGGESTIONS = "suggestions"
#: The pinyin field searched for Latin words (searcher._fields_for).
PINYIN = "pinyin"
#: The Han bigram field searched when the words leave the page short (searcher._fields_for).
BIGRAMS = "bigrams"
#: Traditional → simplified (OpenCC t2s) of the query text (analysis._prepare).
T2S = "t2s"
#: A query that is a law's name ranks the records titled by one of its names first (searcher._exact_title).
EXACT_TITLE = "exact_title"
#: A name typed in Chinese also finds it written in pinyin (searcher._with_romanized_names).
ROMANIZED_NAMES = "romanized_names"
#: A discipline's 学 optional after a law's name: 民事诉讼法学 finds 民事诉讼法 (searcher._discipline_optional).
DISCIPLINES = "disciplines"
#: Pinyin words typed apart also searched as the word they spell together: ``wang liming`` finds ``wangliming``
#: (searcher._with_joined_pinyin).
JOINED_PINYIN = "joined_pinyin"

#: A query that is one article citation also finds, after the works citing it, the law's own text and the books
#: of the law's 编 holding the article (searcher._with_law_books).
LAW_BOOKS = "law_books"

ALL = (LAW_NAMES, CITATIONS, SUGGESTIONS, PINYIN, BIGRAMS, T2S, EXACT_TITLE, ROMANIZED_NAMES, DISCIPLINES,
       JOINED_PINYIN, LAW_BOOKS)

_off: set[str] = set()


def on(name: str) -> bool:
    return name not in _off


@contextmanager
def off(*names: str) -> Iterator[None]:
    """Turn the named parts off inside the block (for the measurement of one process; not thread-safe)."""
    unknown = set(names) - set(ALL)
    if unknown:
        raise ValueError(f"unknown switches: {sorted(unknown)}")
    before = set(_off)
    _off.update(names)
    try:
        yield
    finally:
        _off.clear()
        _off.update(before)
