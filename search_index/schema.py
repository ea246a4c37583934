"""The one index schema for books and papers.

Searchable text is split by weight rather than by source: ``title`` (4×),
``people`` and ``subjects`` (2×), ``summary`` (1×), ``text`` (0.5×, papers'
full text, no positions), plus two fallback fields searched with lower weight:
``bigrams`` (Han character pairs, for words that the segmenter splits
differently in the query and the text) and ``pinyin`` (titles and authors as
full pinyin, joined pinyin and initials).
"""

from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema

from search_index.analysis import bigram_analyzer, clc_analyzer, isbn_analyzer, pinyin_analyzer, text_analyzer

INDEX_NAME = "catalog"
# Bump when the schema or the analysis changes: an index of another version is
# refused (search answers 503 with a hint) until rebuild_index has run.
SCHEMA_VERSION = "3"

#: Searchable fields and their weights (title > authors, subjects > summary > full text).
FIELD_BOOSTS = {
    "title": 4.0,
    "people": 2.0,
    "subjects": 2.0,
    "summary": 1.0,
    "text": 0.5,
    "pinyin": 1.5,
    "bigrams": 0.3,
}


def build_schema() -> Schema:
    text = text_analyzer()
    return Schema(
        key=ID(unique=True, stored=True),
        type=ID(stored=True),
        pk=NUMERIC(stored=True, bits=64),
        title=TEXT(analyzer=text, stored=True, chars=True),
        title_display=STORED(),
        people=TEXT(analyzer=text, stored=True, chars=True),
        authors=STORED(),
        subjects=TEXT(analyzer=text),
        summary=TEXT(analyzer=text, stored=True, chars=True),
        text=TEXT(analyzer=text, stored=True, chars=True, phrase=False),
        bigrams=TEXT(analyzer=bigram_analyzer(), phrase=False),
        pinyin=TEXT(analyzer=pinyin_analyzer(), phrase=False),
        isbn=TEXT(analyzer=isbn_analyzer(), phrase=False, stored=True),
        clc=TEXT(analyzer=clc_analyzer(), phrase=False, stored=True),
        clc_facet=ID(stored=True),
        year=NUMERIC(stored=True, sortable=True),
        year_facet=ID(),
        language=ID(stored=True),
        visibility=ID(stored=True),
        available=NUMERIC(stored=True),
        available_flag=ID(stored=True),
        total=STORED(),
    )
