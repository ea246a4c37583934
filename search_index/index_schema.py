"""The one index schema for books and papers.

A query word is looked up in as few posting lists as possible (each list is
walked in pure Python, so their number and length set the query time):

* ``body`` holds title, subtitle, authors, subjects/keywords, summary/abstract
  and publisher in ONE field, each section's tokens carrying that section's
  weight (:data:`SECTION_BOOSTS`); BM25F scores the summed weights, so a
  title match still outranks a summary match with one posting list per word
  instead of five;
* ``text`` holds papers' full text at a lower weight (frequencies only);
* ``title`` and ``people`` are indexed again on their own for the ``title:``
  and ``author:`` prefixes;
* two fallback fields are searched only when needed: ``pinyin`` (titles and
  authors as full pinyin, joined pinyin and initials; for queries with Latin
  letters) and ``bigrams`` (Han character pairs, for words the segmenter
  splits differently in the query and the text; when the words leave the
  first page short).

Highlights re-analyse the short stored fields, so no field keeps character
offsets in its postings.  Record ids, years and copy counts are stored, not
indexed: filters, facets and the year sort use the ID fields ``type``,
``language``, ``year_facet``, ``available_flag`` … through
:mod:`search_index.postings_cache` (a NUMERIC field would index 8–16 range terms per
value for range queries nothing runs).
"""

from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema

from search_index.analysis import (
    SectionedAnalyzer,
    bigram_analyzer,
    call_number_analyzer,
    clc_analyzer,
    isbn_analyzer,
    pinyin_analyzer,
    text_analyzer,
)
from search_index.index_formats import use_indexing_formats

INDEX_NAME = "catalog"
# Bump when the schema or the analysis changes: an index of another version is
# refused (search answers 503 with a hint) until rebuild_index has run.
SCHEMA_VERSION = "10"

#: Weights of the sections of ``body`` (title > authors, subjects > summary).
SECTION_BOOSTS = {
    "title": 4.0,
    "people": 2.0,
    "subjects": 2.0,
    "summary": 1.0,
}

#: Query-time weights of the searchable fields (full text below summary).
FIELD_BOOSTS = {
    "body": 1.0,
    "title": 4.0,
    "people": 2.0,
    "text": 0.4,
    "pinyin": 1.5,
    "bigrams": 0.3,
}


def build_schema() -> Schema:
    text = text_analyzer()
    schema = Schema(
        key=ID(unique=True, stored=True),
        type=ID(stored=True),
        pk=STORED(),
        body=TEXT(analyzer=SectionedAnalyzer(text)),
        title=TEXT(analyzer=text, stored=True),
        title_display=STORED(),
        # The title proper as law names are compared (laws.title_key): a query that is a law's name ranks the
        # records titled by one of the law's names first (searcher._exact_title).
        title_exact=ID(),
        people=TEXT(analyzer=text, stored=True),
        # The people's names written in pinyin, joined (analysis.romanized_name_keys: Gao Shengping →
        # gaoshengping, shengpinggao): a name typed in Chinese finds them (searcher._with_romanized_names).
        romanized=KEYWORD(lowercase=True, scorable=True),
        authors=STORED(),
        summary=STORED(),
        text=TEXT(analyzer=text, stored=True, phrase=False),
        bigrams=TEXT(analyzer=bigram_analyzer(), phrase=False),
        pinyin=TEXT(analyzer=pinyin_analyzer(), phrase=False),
        isbn=TEXT(analyzer=isbn_analyzer(), phrase=False, stored=True),
        clc=TEXT(analyzer=clc_analyzer(), phrase=False, stored=True),
        clc_facet=ID(stored=True),
        # Searched when a query is a call number or a class (searcher.call_number_query); shown on hits.
        call_number=TEXT(analyzer=call_number_analyzer(), phrase=False, stored=True),
        # library.callnumbers.call_number_sort_key as UTF-8, a value a document (a column, not indexed): its
        # byte order is shelf order (sort=call_number; postings_cache.sort_column).
        call_number_sort=COLUMN(VarBytesColumn()),
        # The articles the record cites (search_index.laws.citation_term: f0186a394 for 民法典第394条), from its
        # title, subjects, summary and full text: found by an article however it was written, and the facet
        # of a law's articles (searcher._article_facet).
        cites=KEYWORD(lowercase=True),
        year=STORED(),
        year_facet=ID(),
        language=ID(stored=True),
        visibility=ID(stored=True),
        available=STORED(),
        available_flag=ID(stored=True),
        total=STORED(),
        earliest_due=STORED(),
        holds=STORED(),
    )
    # The same postings, from the analyzers' indexing path (search_index.index_formats).
    use_indexing_formats(schema)
    return schema
