"""search_index.analysis: the analyzers of the Whoosh index (no database needed)."""

import pickle
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh import highlight
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.filedb.filestore import RamStorage
from whoosh.qparser import QueryParser

from search_index import analysis
from search_index.analysis import (
    SECTION_GAP,
    SectionedAnalyzer,
    bigram_analyzer,
    clc_analyzer,
    get_t2s,
    has_han,
    is_latin_query,
    isbn_analyzer,
    normalize_query_text,
    pinyin_analyzer,
    sections,
    text_analyzer,
)

ROOT = Path(__file__).resolve().parents[2]

ANALYZERS = {
    "text": text_analyzer(),
    "bigram": bigram_analyzer(),
    "pinyin": pinyin_analyzer(),
    "isbn": isbn_analyzer(),
    "clc": clc_analyzer(),
}


def tokens(analyzer, text, mode="index"):
    """The token texts ``analyzer`` yields for ``text``."""
    return [t.text for t in analyzer(text, mode=mode)]


def spans(analyzer, text, mode="index", **kwargs):
    """``(text, startchar, endchar, pos)`` of every token (read while iterating: the Token is reused)."""
    return [
        (t.text, t.startchar, t.endchar, t.pos) for t in analyzer(text, mode=mode, chars=True, positions=True, **kwargs)
    ]


# ----------------------------------------------------------------------------------------------- Chinese


def test_compound_comes_with_its_parts():
    assert {"担保物权", "担保", "物权"} <= set(tokens(ANALYZERS["text"], "担保物权"))


def test_dictionary_longer_terms_keep_their_dictionary_subwords():
    toks = tokens(ANALYZERS["text"], "人民法院审理实现担保物权案件")
    assert {"实现担保物权", "担保物权", "担保", "物权", "实现", "人民法院", "案件"} <= set(toks)


@pytest.mark.parametrize(
    "term", ["执行难", "多元化纠纷解决", "诉调对接", "诉源治理", "司法确认", "失信被执行人", "草原承包经营权"]
)
def test_legal_dictionary_terms_are_kept_whole(term):
    assert term in tokens(ANALYZERS["text"], f"关于{term}的研究")


def test_dictionary_does_not_steal_characters_from_ordinary_words():
    assert tokens(ANALYZERS["text"], "合同编号") == ["合同", "编号"]
    assert "合同编" in tokens(ANALYZERS["text"], "民法典合同编的规定")
    assert "再审" not in tokens(ANALYZERS["text"], "他再审视了问题")


def test_traditional_and_simplified_give_the_same_tokens():
    assert tokens(ANALYZERS["text"], "擔保物權") == tokens(ANALYZERS["text"], "担保物权")
    assert set(tokens(ANALYZERS["text"], "擔保物權")) == set(tokens(ANALYZERS["text"], "担保物权"))
    assert tokens(ANALYZERS["text"], "沈從文") == tokens(ANALYZERS["text"], "沈从文")
    assert tokens(ANALYZERS["bigram"], "擔保物權") == tokens(ANALYZERS["bigram"], "担保物权")


def test_similar_names_stay_apart():
    toks = tokens(ANALYZERS["text"], "张爱玲")
    assert "张爱玲" in toks
    assert "张爱军" not in toks
    assert not (set(toks) & set(tokens(ANALYZERS["text"], "张爱军"))) - {"张", "爱", "玲", "军"}


def test_no_duplicate_spans_and_sub_words_share_their_word_position():
    result = spans(ANALYZERS["text"], "关于实现担保物权的规定")
    assert len({(s, e) for _t, s, e, _p in result}) == len(result)
    assert [(t, p) for t, _s, _e, p in result] == [
        ("关于", 0),
        ("实现", 1),
        ("实现担保物权", 1),
        ("担保", 1),
        ("担保物", 1),
        ("担保物权", 1),
        ("物权", 1),
        ("的", 2),
        ("规定", 3),
    ]


def test_chinese_words_are_not_stop_words():
    assert {"的", "和", "在"} <= set(tokens(ANALYZERS["text"], "法院的审判和执行在基层"))


# ----------------------------------------------------------------------------------------------- offsets


def test_offsets_point_into_the_original_text():
    text = "关于擔保物權的研究 Judgments of 2020"
    t2s = get_t2s().convert
    result = spans(ANALYZERS["text"], text)
    assert [t for t, *_ in result][-2:] == ["judgment", "2020"]
    for token, start, end, _pos in result:
        original = text[start:end]
        if has_han(token):
            assert t2s(original) == token
        else:
            assert token in original.lower()


def test_offsets_survive_normalization_that_changes_length():
    text = "……㈱擔保物權，Ｊｕｄｇｍｅｎｔｓ ℃ ᠬᠡ\u180bᠯᠡ\u202fᠶᠢᠨ"
    result = spans(ANALYZERS["text"], text)
    by_token = {t: text[s:e] for t, s, e, _p in result}
    assert by_token["担保物权"] == "擔保物權"
    assert by_token["株"] == "㈱"
    assert by_token["judgment"] == "Ｊｕｄｇｍｅｎｔｓ"
    assert by_token["ᠬᠡᠯᠡ"] == "ᠬᠡ\u180bᠯᠡ"
    assert by_token["ᠬᠡᠯᠡᠶᠢᠨ"] == "ᠬᠡ\u180bᠯᠡ\u202fᠶᠢᠨ"
    for token, start, end, _pos in spans(ANALYZERS["bigram"], text):  # 株 comes from ㈱ = (株)
        assert token in get_t2s().convert(unicodedata.normalize("NFKC", text[start:end]))


def test_start_pos_start_char_and_keeporiginal():
    analyzer = ANALYZERS["text"]
    result = [
        (t.text, t.pos, t.startchar, t.original)
        for t in analyzer("擔保 Cafés", positions=True, chars=True, keeporiginal=True, start_pos=10, start_char=100)
    ]
    assert result == [("担保", 10, 100, "擔保"), ("cafe", 11, 103, "Cafés")]


def test_variation_selectors_and_zero_width_characters_do_not_split_words():
    assert tokens(ANALYZERS["text"], "葛\U000e0100亮") == tokens(ANALYZERS["text"], "葛亮")
    assert tokens(ANALYZERS["text"], "judg\u00adment") == ["judgment"]


# ----------------------------------------------------------------------------------------------- Latin


def test_english_stemming_folding_and_stop_words():
    analyzer = ANALYZERS["text"]
    assert tokens(analyzer, "judgments") == tokens(analyzer, "judgment") == tokens(analyzer, "Judgment")
    assert tokens(analyzer, "café") == ["cafe"] == tokens(analyzer, "CAFE")
    assert tokens(analyzer, "cafe\u0301") == ["cafe"]
    assert tokens(analyzer, "THE") == []
    assert tokens(analyzer, "The Law of the Sea") == ["law", "sea"]
    assert tokens(analyzer, "Article 12, 2020") == ["articl", "12", "2020"]
    assert tokens(analyzer, "ＩＳＯ９００１ covid-19") == ["iso9001", "covid", "19"]


def test_stop_words_are_kept_and_marked_when_not_removed():
    result = [(t.text, t.stopped) for t in ANALYZERS["text"]("the court", removestops=False)]
    assert result == [("the", True), ("court", False)]


def test_stop_words_do_not_leave_position_gaps():
    assert [p for *_x, p in spans(ANALYZERS["text"], "enforcement of the judgment")] == [0, 1]


def test_unsplit_value_for_prefix_and_wildcard_queries():
    analyzer = ANALYZERS["text"]
    assert [t.text for t in analyzer("Judg*", tokenize=False, mode="query")] == ["judg*"]
    assert [t.text for t in analyzer("擔保*", tokenize=False, mode="query")] == ["担保*"]


# ----------------------------------------------------------------------------------------------- Mongolian


def test_mongolian_words_are_kept_whole():
    assert tokens(ANALYZERS["text"], "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ") == ["ᠮᠣᠩᠭᠣᠯ", "ᠬᠡᠯᠡ"]
    assert tokens(ANALYZERS["text"], "ᠮᠣᠩᠭᠣᠯ᠂ᠬᠡᠯᠡ᠃") == ["ᠮᠣᠩᠭᠣᠯ", "ᠬᠡᠯᠡ"]


def test_mongolian_format_characters_are_removed():
    plain = tokens(ANALYZERS["text"], "ᠬᠡᠯᠡ")
    assert tokens(ANALYZERS["text"], "ᠬᠡ\u180bᠯᠡ") == plain
    assert tokens(ANALYZERS["text"], "ᠬᠡ\u180cᠯ\u180fᠡ") == plain
    assert tokens(ANALYZERS["text"], "ᠬᠡ\u200dᠯᠡ\u200c") == plain
    assert tokens(ANALYZERS["text"], "ᠬᠡᠯ\u180eᠡ") == plain


def test_mongolian_suffix_gives_stem_and_joined_word():
    assert tokens(ANALYZERS["text"], "ᠬᠡᠯᠡ\u202fᠶᠢᠨ") == ["ᠬᠡᠯᠡ", "ᠬᠡᠯᠡᠶᠢᠨ"]
    assert tokens(ANALYZERS["text"], "ᠬᠡᠯᠡ\u202fᠶᠢᠨ\u202fᠢ") == ["ᠬᠡᠯᠡ", "ᠬᠡᠯᠡᠶᠢᠨ", "ᠬᠡᠯᠡᠶᠢᠨᠢ"]
    # the query parser splits on U+202F (whitespace to Python): queries join the suffix instead
    assert normalize_query_text("ᠬᠡᠯᠡ\u202fᠶᠢᠨ") == "ᠬᠡᠯᠡᠶᠢᠨ"
    assert tokens(ANALYZERS["text"], "ᠬᠡᠯᠡᠶᠢᠨ") == ["ᠬᠡᠯᠡᠶᠢᠨ"]
    assert normalize_query_text("10\u202f000 ᠬᠡᠯᠡ\u202f") == "10 000 ᠬᠡᠯᠡ "


def test_mixed_scripts_split_into_runs():
    assert tokens(ANALYZERS["text"], "民法典Civil Code2020年ᠬᠡᠯᠡ") == [
        "民法",
        "民法典",
        "法典",
        "civil",
        "code2020",
        "年",
        "ᠬᠡᠯᠡ",
    ]


# ----------------------------------------------------------------------------------------------- bigrams


def test_bigrams():
    assert tokens(ANALYZERS["bigram"], "担保物权") == ["担保", "保物", "物权"]
    assert tokens(ANALYZERS["bigram"], "法") == ["法"]
    assert tokens(ANALYZERS["bigram"], "民法 Law 典") == ["民法", "典"]
    assert tokens(ANALYZERS["bigram"], "Law ᠬᠡᠯᠡ") == []


# ----------------------------------------------------------------------------------------------- pinyin


def test_pinyin_index_tokens():
    toks = set(tokens(ANALYZERS["pinyin"], "担保物权"))
    assert {"danbaowuquan", "dbwq", "danbao", "db", "wuquan", "wq", "dan", "bao", "wu", "quan"} <= toks
    assert tokens(ANALYZERS["pinyin"], "擔保") == tokens(ANALYZERS["pinyin"], "担保")
    assert tokens(ANALYZERS["pinyin"], "Law ᠬᠡᠯᠡ 2020") == []


def test_pinyin_reads_polyphonic_characters_in_their_word():
    toks = set(tokens(ANALYZERS["pinyin"], "重庆银行"))
    assert {"chongqing", "cq", "yinhang", "yh", "chong", "hang"} <= toks
    assert "zhong" not in toks and "xing" not in toks


def test_pinyin_initials_are_pypinyin_first_letters():
    from pypinyin import Style, lazy_pinyin

    for word in ["担保物权", "执行难", "诉源治理", "中华人民共和国", "长春", "银行"]:
        expected = "".join(lazy_pinyin(word, style=Style.FIRST_LETTER, errors="ignore"))
        assert expected in tokens(ANALYZERS["pinyin"], word)


def test_pinyin_u_umlaut_is_indexed_with_v_and_u():
    assert {"falv", "falu", "lv", "lu", "fl"} <= set(tokens(ANALYZERS["pinyin"], "法律"))


def test_pinyin_query_tokens():
    analyzer = ANALYZERS["pinyin"]
    assert tokens(analyzer, "danbao wuquan", mode="query") == ["danbao", "wuquan"]
    assert tokens(analyzer, "DBWQ", mode="query") == ["dbwq"]
    assert tokens(analyzer, "担保 abc", mode="query") == ["abc"]
    assert tokens(analyzer, "dan-bao, wu quan", mode="query") == ["dan", "bao", "wu", "quan"]
    assert tokens(analyzer, "fǎlǜ", mode="query") == ["falv"]
    assert tokens(analyzer, "judgments", mode="query") == ["judgments"]


@pytest.mark.parametrize("query", ["danbao wuquan", "danbaowuquan", "dbwq", "dan bao wu quan", "DanBao"])
def test_pinyin_queries_meet_index_tokens(query):
    indexed = set(tokens(ANALYZERS["pinyin"], "担保物权"))
    assert set(tokens(ANALYZERS["pinyin"], query, mode="query")) <= indexed


# ----------------------------------------------------------------------------------------------- ISBN / CLC


@pytest.mark.parametrize(
    "value", ["978-7-301-04815-3", "7-301-04815-7", "9787301048153", "ISBN 978 7 301 04815 3", "ISBN-10: 7301048157"]
)
def test_isbn_forms_give_the_same_isbn13(value):
    toks = tokens(ANALYZERS["isbn"], value)
    assert toks[0] == "9787301048153"
    assert "7301048157" in toks


def test_isbn_several_invalid_and_979():
    analyzer = ANALYZERS["isbn"]
    assert tokens(analyzer, "978-7-301-04815-3; 978-7-5620-3876-4") == [
        "9787301048153",
        "7301048157",
        "9787562038764",
        "7562038767",
    ]
    assert tokens(analyzer, "979-10-90636-07-1") == ["9791090636071"]
    assert tokens(analyzer, "978-7-301-04815-0") == ["9787301048150"]
    assert tokens(analyzer, "abc") == []
    assert [t.text for t in analyzer("7-301-04815-7", tokenize=False)] == ["9787301048153"]


def test_clc_prefixes():
    assert tokens(ANALYZERS["clc"], "D923.2") == ["d", "d9", "d92", "d923", "d923.2"]
    assert tokens(ANALYZERS["clc"], "D92", mode="query") == ["d92"]
    assert tokens(ANALYZERS["clc"], " d923.2 ", mode="query") == ["d923.2"]
    assert tokens(ANALYZERS["clc"], "D923.2; F832") == ["d", "d9", "d92", "d923", "d923.2", "f", "f8", "f83", "f832"]


# ----------------------------------------------------------------------------------------------- helpers


def test_lone_surrogates_do_not_break_analysis():
    for analyzer in ANALYZERS.values():
        list(analyzer("擔保\ud800物權 978-7-301-04815-3", positions=True, chars=True))
    assert tokens(ANALYZERS["text"], "擔保\ud800物權") == ["担保", "物权"]


def test_normalize_query_text():
    assert normalize_query_text("擔保\x00物權\x7f") == "担保物权"
    assert normalize_query_text("ＡＢＣ　１２３\t\n") == "ABC 123\t\n"
    assert normalize_query_text("……") == "......"


def test_has_han_and_is_latin_query():
    assert has_han("关于 law") and has_han("⾔") and not has_han("law ᠬᠡᠯᠡ")
    assert is_latin_query("danbao wuquan") and is_latin_query("Café 2020") and is_latin_query("ＤＢＷＱ")
    assert not is_latin_query("担保 abc") and not is_latin_query("ᠬᠡᠯᠡ") and not is_latin_query("2020")


def test_analyzers_pickle_and_compare_equal():
    for analyzer in ANALYZERS.values():
        assert pickle.loads(pickle.dumps(analyzer)) == analyzer
    assert text_analyzer() == text_analyzer()


def test_sectioned_analyzer_weights_each_section_and_keeps_phrases_inside_one():
    analyzer = SectionedAnalyzer(text_analyzer())
    value = sections([("担保物权", 4.0), ("", 2.0), ("程啸", 2.0), ("研究 judgments", 1.0)])
    got = [(t.text, t.boost, t.pos) for t in analyzer(value, positions=True, mode="index")]
    assert [(text, boost) for text, boost, _ in got] == [
        ("担保", 4.0),
        ("担保物", 4.0),
        ("担保物权", 4.0),
        ("物权", 4.0),
        ("程啸", 2.0),
        ("研究", 1.0),
        ("judgment", 1.0),
    ]
    positions = [pos for _, _, pos in got]
    assert positions[:4] == [0, 0, 0, 0]  # sub-words share their word's position
    assert positions[4] == SECTION_GAP and positions[5] == 2 * SECTION_GAP and positions[6] == 2 * SECTION_GAP + 1
    # A query (no section marks) is analysed exactly as by the wrapped analyzer.
    assert tokens(analyzer, "擔保物權 Judgments", mode="query") == tokens(
        text_analyzer(), "擔保物權 Judgments", "query"
    )
    # Section marks typed into a text cannot forge a boost.
    assert [t.boost for t in analyzer(sections([("a\x1d9\x1eb", 1.0)]))] == [1.0, 1.0]
    assert pickle.loads(pickle.dumps(analyzer)) == analyzer


def test_sectioned_field_scores_by_section_weight():
    schema = Schema(id=ID(stored=True), body=TEXT(analyzer=SectionedAnalyzer(text_analyzer())))
    ix = RamStorage().create_index(schema)
    with ix.writer() as writer:
        writer.add_document(id="summary", body=sections([("民法总论", 4.0), ("本书讨论担保物权", 1.0)]))
        writer.add_document(id="title", body=sections([("担保物权", 4.0), ("本书讨论民法总论", 1.0)]))
    with ix.searcher() as searcher:
        hits = searcher.search(QueryParser("body", schema).parse("担保物权"))
        assert [h["id"] for h in hits] == ["title", "summary"]
        # Phrases match inside a section, never across the gap between two.
        assert len(searcher.search(QueryParser("body", schema).parse('"民法总论 本书"'))) == 0


def test_nfkc_tables_cover_every_changing_character():
    """The NFKC tables scan only some ranges of Unicode: check that no character outside them needs them."""
    ranges = analysis._NFKC_SCAN_RANGES
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000 or any(lo <= cp < hi for lo, hi in ranges):
            continue
        ch = chr(cp)
        assert unicodedata.normalize("NFKC", ch) == ch and unicodedata.category(ch)[0] != "M", hex(cp)


def test_segmenter_loads_first_in_a_fresh_process():
    """get_jieba() before anything else (it needs the t2s converter while holding the init lock)."""
    code = "from search_index.analysis import get_jieba; print(get_jieba().has_word('担保物权'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


# ----------------------------------------------------------------------------------------------- properties


def _reference_nfkc(text):
    text = text.translate(analysis._DELETE_TABLE)
    return "\u202f".join(unicodedata.normalize("NFKC", part) for part in text.split("\u202f"))


@given(st.text())
def test_normalization_is_nfkc_with_offsets(text):
    normalized, starts, ends = analysis._nfkc_with_offsets(text)
    assert normalized == _reference_nfkc(text)
    if starts is None:
        assert len(normalized) == len(text)
    else:
        assert len(starts) == len(ends) == len(normalized)
        assert all(0 <= a < b <= len(text) for a, b in zip(starts, ends, strict=True))


@given(st.text(), st.sampled_from(["index", "query"]), st.sampled_from(sorted(ANALYZERS)))
def test_analyzers_never_raise_and_offsets_stay_in_bounds(text, mode, name):
    last_pos = -1
    for t in ANALYZERS[name](text, mode=mode, positions=True, chars=True):
        assert t.text
        assert 0 <= t.startchar <= t.endchar <= len(text)
        assert t.pos > last_pos
        last_pos = t.pos
    list(ANALYZERS[name](text, mode=mode, tokenize=False))


@given(st.text(alphabet=st.sampled_from("担保物权擔保實現法院人民調解张爱玲沈從文的 ，。…㈱ab1ᠬᠡᠯ\u202f\u180b")))
def test_chinese_token_offsets_match_the_original(text):
    t2s = get_t2s().convert
    for token, start, end, _pos in spans(ANALYZERS["text"], text):
        if has_han(token):
            assert token in t2s(unicodedata.normalize("NFKC", text[start:end]))


# ----------------------------------------------------------------------------------------------- Whoosh end to end

DOCS = [
    {"id": "1", "title": "实现担保物权案件审理指南", "isbn": "978-7-301-04815-3", "clc": "D923.2"},
    {"id": "2", "title": "Judgment enforcement in China", "isbn": "9787562038764", "clc": "D925.1"},
    {"id": "3", "title": "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ\u202fᠶᠢᠨ ᠳᠦᠷᠢᠮ", "isbn": "", "clc": "H212"},
    {"id": "4", "title": "婚姻家庭纠纷的人民调解", "isbn": "", "clc": "D923.9"},
]


@pytest.fixture(scope="module")
def index():
    schema = Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=text_analyzer(), stored=True, chars=True),
        title_bigram=TEXT(analyzer=bigram_analyzer(), phrase=False),
        title_pinyin=TEXT(analyzer=pinyin_analyzer(), phrase=False),
        isbn=TEXT(analyzer=isbn_analyzer(), phrase=False),
        clc=TEXT(analyzer=clc_analyzer(), phrase=False),
        raw=STORED,
    )
    ix = RamStorage().create_index(schema)
    with ix.writer() as writer:
        for doc in DOCS:
            writer.add_document(
                id=doc["id"],
                title=doc["title"],
                title_bigram=doc["title"],
                title_pinyin=doc["title"],
                isbn=doc["isbn"],
                clc=doc["clc"],
                raw=doc,
            )
    return ix


def _ids(ix, field, querystring):
    with ix.searcher() as searcher:
        q = QueryParser(field, ix.schema).parse(normalize_query_text(querystring))
        return sorted(hit["id"] for hit in searcher.search(q, limit=None))


@pytest.mark.parametrize(
    ("field", "querystring", "expected"),
    [
        ("title", "擔保物權", ["1"]),
        ("title", "担保物权", ["1"]),
        ("title", '"担保物权案件"', ["1"]),
        ("title", "judgments", ["2"]),
        ("title", "JUDGMENT enforcing", ["2"]),
        ("title", "ᠬᠡᠯᠡ", ["3"]),
        ("title", "ᠬᠡᠯᠡ\u202fᠶᠢᠨ", ["3"]),
        ("title", "ᠬᠡᠯᠡᠶᠢᠨ", ["3"]),
        ("title", "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ", ["3"]),
        ("title", "调解", ["4"]),
        ("title_bigram", "物权案件", ["1"]),
        ("title_pinyin", "danbao wuquan", ["1"]),
        ("title_pinyin", "danbaowuquan", ["1"]),
        ("title_pinyin", "dbwq", ["1"]),
        ("title_pinyin", "tiaojie", ["4"]),
        ("isbn", "7-301-04815-7", ["1"]),
        ("isbn", "ISBN 7-5620-3876-7", ["2"]),
        ("isbn", "12345", []),
        ("clc", "D92", ["1", "2", "4"]),
        ("clc", "D923", ["1", "4"]),
        ("clc", "d923.2", ["1"]),
    ],
)
def test_queries_find_the_right_documents(index, field, querystring, expected):
    assert _ids(index, field, querystring) == expected


def test_highlights_use_our_offsets(index):
    with index.searcher() as searcher:
        q = QueryParser("title", index.schema).parse(normalize_query_text("擔保物權"))
        hit = searcher.search(q)[0]
        retokenized = hit.highlights("title")  # re-analyses the stored text with chars=True
        results = searcher.search(q)
        results.fragmenter = highlight.PinpointFragmenter()  # uses the character offsets stored at index time
        pinpointed = results[0].highlights("title")
    for snippet in (retokenized, pinpointed):
        assert "<b" in snippet and "</b>" in snippet
        assert snippet.replace('<b class="match term0">', "").replace('<b class="match term1">', "").count("担保") == 1
        assert "担保" in snippet and "物权" in snippet

    text = DOCS[0]["title"]
    snippet = highlight.highlight(
        text,
        {"担保物权"},
        text_analyzer(),
        highlight.ContextFragmenter(),
        highlight.HtmlFormatter(tagname="b"),
        mode="index",  # the text is analysed as indexed (with sub-words), as Whoosh's hit highlighter does
    )
    assert "<b" in snippet and "担保物权</b>" in snippet
