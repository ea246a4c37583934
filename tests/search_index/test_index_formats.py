"""search_index.index_formats and the analyzers' indexing path: the postings Whoosh's own formats would write
(no database needed)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import formats
from whoosh.system import pack_uint
from whoosh.util.text import utf8encode

from search_index import analysis
from search_index.analysis import sections
from search_index.index_formats import IndexFrequency, IndexPositions
from search_index.index_schema import SECTION_BOOSTS, build_schema

SCHEMA = build_schema()

#: Texts that take every branch of the analyzers: Chinese words and their sub-words, traditional characters,
#: NFKC changing lengths (…, ㈱, full-width), English stop words at the start, in the middle and alone,
#: stemming, digits, Mongolian words with suffixes and variation selectors, ISBNs, class numbers, call numbers.
TEXTS = [
    "",
    "担保物权",
    "实现担保物权案件的审理，擔保物權與抵押權。",
    "The law of the sea and the judgments of courts",
    "the",
    "of and the",
    "Judgments…㈱ＡＢＣ１２３ café Straße",
    "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ\u202fᠶᠢᠨ ᠳᠦᠷᠢᠮ\u180b",
    "王泽鉴 Donald Clarke 额尔敦",
    "民法典第394条 第三百九十四条 2023年",
    "ISBN 978-7-301-04815-3, 7-301-04815-7",
    "D923.2；D90 Ｄ９２",
    "D923.6/12:2",
    "法律法律法律 法律 law laws law",
    "重庆 长江 银行行长 绿色",
]

FIELDS = [name for name in SCHEMA.names() if type(SCHEMA[name].format) in (IndexPositions, IndexFrequency)]


def whoosh_postings(field, value):
    """What Field.index gives with Whoosh's own format of the same kind (the token stream counted)."""
    base = formats.Positions if isinstance(field.format, formats.Positions) else formats.Frequency
    return sorted((utf8encode(text)[0], freq, weight, encoded)
                  for text, freq, weight, encoded in base.word_values(field.format, value, field.analyzer, mode="index"))


def body_value(text: str) -> str:
    return sections([(text, SECTION_BOOSTS["title"]), ("王泽鉴", SECTION_BOOSTS["people"]), (text[:3], 2.0),
                     (text + " " + text, SECTION_BOOSTS["summary"])])


def test_every_text_field_of_the_schema_has_an_indexing_format():
    assert set(FIELDS) == {"body", "title", "people", "text", "bigrams", "pinyin", "isbn", "clc", "call_number",
                           "romanized", "cites"}
    assert type(SCHEMA["body"].format) is IndexPositions
    assert type(SCHEMA["text"].format) is IndexFrequency


@pytest.mark.parametrize("fieldname", FIELDS)
@pytest.mark.parametrize("text", TEXTS)
def test_a_field_gets_the_postings_whoosh_would_write(fieldname, text):
    field = SCHEMA[fieldname]
    value = body_value(text) if fieldname == "body" else text
    assert sorted(field.index(value)) == whoosh_postings(field, value)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="担保物权抵押质留置实现程序法院的和 theofLawJudgmentsᠮᠣᠩᠭᠯ\u202f\u180b…㈱Ａ12-，。", max_size=40),
       st.sampled_from(["body", "title", "text", "pinyin", "bigrams"]))
def test_any_text_gets_the_postings_whoosh_would_write(text, fieldname):
    field = SCHEMA[fieldname]
    value = body_value(text) if fieldname == "body" else text
    assert sorted(field.index(value)) == whoosh_postings(field, value)


def test_a_sectioned_value_keeps_each_sections_boost_and_the_gap_between_sections():
    value = sections([("担保物权", 4.0), ("担保", 1.0)])
    postings = {text: (freq, weight) for text, freq, weight, _encoded in SCHEMA["body"].index(value)}
    assert postings[b"\xe6\x8b\x85\xe4\xbf\x9d"] == (2, 5.0)  # 担保: once in each section
    assert postings["物权".encode()] == (1, 4.0)
    poses, _weights = SCHEMA["body"].analyzer.index_terms(value)
    assert poses["担保"] == [0, 0 + analysis.SECTION_GAP]


def test_indexing_does_not_run_the_token_stream(monkeypatch):
    """The formats read index_terms/index_counts: the analyzer's __call__ is never used to index."""
    field = SCHEMA["body"]

    def refuse(*args, **kwargs):
        raise AssertionError("the token stream was used")

    monkeypatch.setattr(analysis.IndexingAnalyzer, "__call__", refuse)
    postings = dict((text, freq) for text, freq, _w, _e in field.index(body_value("担保物权 judgments")))
    assert postings[b"judgment"] == 3  # once in the title, twice in the summary (stemmed)
    assert dict((t, f) for t, f, _w, _e in SCHEMA["text"].index("法律 法律 law"))[b"law"] == 1


def test_other_calls_take_whooshs_own_path(monkeypatch):
    """A query-mode call (or any other argument) is counted from the token stream, as Whoosh does."""
    field = SCHEMA["text"]
    calls = []
    original = analysis.IndexingAnalyzer.__call__

    def spy(self, value, **kwargs):
        calls.append(kwargs.get("mode"))
        return original(self, value, **kwargs)

    monkeypatch.setattr(analysis.IndexingAnalyzer, "__call__", spy)
    found = sorted(field.format.word_values("担保物权", field.analyzer, mode="query"))
    assert found == [("担保物权", 1, 1.0, pack_uint(1))]
    assert calls == ["query"]


def test_the_schema_pickles_into_an_index_with_its_indexing_formats():
    """Whoosh keeps the schema in the index's table of contents, pickled: the formats come back as they were."""
    import pickle

    restored = pickle.loads(pickle.dumps(build_schema()))
    assert type(restored["body"].format) is IndexPositions
    assert type(restored["pinyin"].format) is IndexFrequency
    value = body_value("担保物权")
    assert sorted(restored["body"].index(value)) == whoosh_postings(SCHEMA["body"], value)
