"""Did-you-mean for Chinese typed with a wrong character that sounds the same (issue 16 §2): corrections come
from the titles and authors of records the caller may see, at a bounded cost."""

from unittest import mock

import pytest
from django.test import Client

from library.services import Person, book_create, paper_create
from search_index import analysis, searcher, services
from search_index.services import Filters
from tests.search_index.conftest import build_catalog

pytestmark = pytest.mark.django_db

PUBLIC = Filters()
LOGGED_IN = Filters(include_internal=True)


@pytest.fixture
def homophones(db):
    """The shared catalog plus books whose titles and authors the typos below sound like, and an internal
    paper holding the only 财产保全 of the library."""
    records = build_catalog()
    records["wangliming"] = book_create(title="民法总论", contributors=[Person("王利明")], year=2017)
    records["zhixing"] = book_create(title="民事执行程序研究", contributors=[Person("江必新")], year=2018)
    records["susong"] = book_create(title="民事诉讼法学", contributors=[Person("张卫平")], year=2019)
    records["chengbao"] = book_create(title="农村土地承包经营权流转", contributors=[Person("丁关良")], year=2019)
    records["zhangcheng"] = book_create(title="公司章程研究", contributors=[Person("钱玉林")], year=2020)
    records["baoquan"] = paper_create(title="财产保全内部操作规程", year=2024, visibility="internal",
                                      abstract="诉讼中的查封、扣押、冻结。")
    services.index_rebuild()
    return records


def suggest(query: str, filters: Filters = PUBLIC) -> tuple[bool, str | None]:
    """The did-you-mean of the words as typed (``as_typed``: the correction offered, not applied)."""
    result = services.search(query, filters=filters, as_typed=True)
    return result.matched_all_terms, result.suggestion


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("担保无权", "担保物权"),  # a subject and title word, one character misheard
        ("王利名", "王利明"),  # an author of a book
        ("执型", "执行"),  # a word inside a title (执行程序 → its dictionary word 执行)
        ("民事诉送", "民事诉讼"),
        ("担保物全", "担保物权"),
        ("擔保無權", "担保物权"),  # traditional characters: the suggestion is in the index's simplified form
        ("王力明", "王利明"),
        ("民事诉送法", "民事诉讼法"),
    ],
)
def test_a_misheard_chinese_word_is_corrected_to_the_visible_word_that_sounds_the_same(homophones, query, expected):
    assert suggest(query) == (False, expected)


def test_a_heteronym_is_read_every_way(homophones):
    """长 reads chang in 长程 but zhang in 章程 (pypinyin's heteronyms of the typed character)."""
    assert suggest("长程") == (False, "章程")


def test_one_syllable_one_fuzzy_pinyin_step_away_is_a_near_homophone(homophones):
    """陈 (chen) typed for 承 (cheng): an/ang, en/eng, in/ing, z/zh, c/ch, s/sh, n/l, f/h, every other character
    as typed."""
    assert suggest("陈包经营") == (False, "承包经营")


def test_the_rest_of_a_mixed_query_is_kept_and_its_latin_words_corrected_as_before(homophones):
    assert suggest("王利名 judgmnt") == (False, "王利明 judgment")
    assert suggest("title:担保无权") == (False, "title:担保物权")
    assert services.search("作者：王利名", filters=PUBLIC, as_typed=True).suggestion == "作者:王利明"


def test_a_misheard_word_inside_a_longer_run_is_corrected_on_its_own(homophones):
    """王利名民法总论 (author and title typed together) sounds like nothing whole: its unknown word is looked up."""
    assert suggest("王利名民法总论") == (False, "王利明民法总论")


def test_no_suggestion_when_the_query_finds_what_was_typed(homophones):
    result = services.search("担保物权", filters=PUBLIC)

    assert (result.count, result.matched_all_terms, result.suggestion) == (4, True, None)


@pytest.mark.parametrize("query", ["量子纠缠", "利名", "汪丽敏"])
def test_no_suggestion_without_a_whole_word_that_sounds_the_same(homophones, query):
    """Nothing sounds like 量子纠缠; 利明 is only part of the name 王利明; 汪丽敏 shares no character with 王利明."""
    assert suggest(query) == (False, None)


def test_an_excluded_word_is_not_corrected(homophones):
    assert suggest("担保物权 -王利名") == (True, None)


def test_did_you_mean_never_names_a_chinese_word_only_internal_papers_hold(homophones, anon_api, judge_api):
    """财产保全 is only in an internal paper's title: anonymous readers get no suggestion, a judge does."""
    anonymous = anon_api.get("/api/v1/search", {"q": "财产保权"}).json()
    judge = judge_api.get("/api/v1/search", {"q": "财产保权"}).json()

    assert (anonymous["count"], anonymous["suggestion"]) == (0, None)
    assert (judge["count"], judge["suggestion"]) == (1, "财产保全")  # the paper, found by 财产 alone
    assert "财产保全" not in Client().get("/", {"q": "财产保权"}).content.decode()


def test_suggestions_come_only_from_records_that_pass_the_filters(homophones):
    """王利明 is the author of a book: searching papers only suggests nothing."""
    assert suggest("王利名", Filters(type="paper")) == (False, None)
    assert suggest("王利名", Filters(type="book")) == (False, "王利明")


def test_the_page_and_the_api_show_the_same_suggestion_and_the_page_keeps_the_filters(homophones, anon_api):
    api = anon_api.get("/api/v1/search", {"q": "担保无权", "type": "book", "as_typed": "true"}).json()
    page = Client().get("/", {"q": "担保无权", "type": "book", "as_typed": "1"}).content.decode()

    assert (api["suggestion"], api["corrected_from"], api["query"]) == ("担保物权", None, "担保无权")
    assert ('<p id="suggestion">您是不是要找：<a href="?q=%E6%8B%85%E4%BF%9D%E7%89%A9%E6%9D%83&amp;type=book">'
            "担保物权</a></p>") in page
    # Some words matched: the results with any of them are listed, and the page does not also say "not found".
    assert f"共 {api['count']} 条结果" in page and "以下为包含任一词的结果" in page and 'id="next-step"' not in page


def test_the_page_says_not_found_and_suggests_when_nothing_matched_as_typed(homophones):
    page = Client().get("/", {"q": "执型", "as_typed": "1"}).content.decode()

    assert "共 0 条结果" in page and "以下为包含任一词的结果" not in page
    assert '您是不是要找：<a href="?q=%E6%89%A7%E8%A1%8C">执行</a>' in page and 'id="next-step"' in page


# --- showing the correction's results (issue 19 §3) --------------------------------------------------------


def titles(result) -> list[str]:
    return sorted(hit.title for hit in result.items)


@pytest.mark.parametrize(("query", "typed", "correction"), [
    ("担保无权", "担保无权", "担保物权"),  # only some words found as typed (担保): the correction finds all
    ("王利名", "王利名", "王利明"),  # an author's name
    ("执型", "执型", "执行"),
    ("擔保無權", "担保无权", "担保物权"),  # traditional characters: compared and reported simplified
    ("王利名　", "王利名", "王利明"),  # an ideographic (full-width) space
])
def test_a_query_that_finds_little_shows_its_corrections_results_and_says_so(homophones, query, typed, correction):
    result = services.search(query, filters=PUBLIC)

    assert (result.corrected_from, result.query, result.suggestion, result.matched_all_terms) == (
        typed, correction, correction, True)
    assert titles(result) == titles(services.search(correction, filters=PUBLIC))


def test_as_typed_answers_the_words_as_typed_and_only_offers_the_correction(homophones):
    result = services.search("王利名", filters=PUBLIC, as_typed=True)

    assert (result.matched_all_terms, result.corrected_from, result.query, result.suggestion) == (
        False, None, "王利名", "王利明")


def test_a_correction_that_finds_only_some_of_its_words_is_offered_not_shown(homophones):
    """王利名 担保: 担保 is found as typed; 王利明 and 担保 are in no record together, so the correction would
    only fall back to any word too: the typed query's results stay, with 您是不是要找."""
    result = services.search("王利名 担保", filters=PUBLIC)

    assert (result.corrected_from, result.query, result.suggestion, result.matched_all_terms) == (
        None, "王利名 担保", "王利明 担保", False)


def test_a_query_that_finds_its_words_is_not_corrected(homophones):
    result = services.search("民法总论", filters=PUBLIC)

    assert (result.count, result.corrected_from, result.suggestion) == (1, None, None)


def test_the_correction_is_searched_under_the_same_filters(homophones):
    """王利明 wrote a book: searching papers only finds nothing to correct to, and nothing is shown."""
    result = services.search("王利名", filters=Filters(type="paper"))

    assert (result.count, result.corrected_from, result.suggestion) == (0, None, None)


def test_a_correction_only_internal_records_hold_is_never_shown_to_anonymous_readers(homophones, anon_api, judge_api):
    """财产保全 is only in an internal paper's title: an anonymous reader gets neither the suggestion nor its
    results; a judge gets the paper as the correction's result (it holds both words)."""
    anonymous = anon_api.get("/api/v1/search", {"q": "财产保权"}).json()
    judge = judge_api.get("/api/v1/search", {"q": "财产保权"}).json()

    assert (anonymous["count"], anonymous["corrected_from"], anonymous["suggestion"]) == (0, None, None)
    assert (judge["count"], judge["corrected_from"], judge["query"], judge["items"][0]["title"]) == (
        1, "财产保权", "财产保全", "财产保全内部操作规程")
    page = Client().get("/", {"q": "财产保权"}).content.decode()
    assert "财产保全" not in page and 'id="correction"' not in page


def test_the_page_shows_the_corrections_results_with_a_link_to_the_words_as_typed(homophones, anon_api):
    api = anon_api.get("/api/v1/search", {"q": "擔保無權", "type": "book"}).json()
    page = Client().get("/", {"q": "擔保無權", "type": "book"}).content.decode()

    assert (api["corrected_from"], api["query"]) == ("担保无权", "担保物权")
    assert ('<p id="correction">已显示“担保物权”的结果。\n      <a href="?q=%E6%93%94%E4%BF%9D%E7%84%A1%E6%AC%8A'
            '&amp;as_typed=1&amp;type=book">仍要搜索“擔保無權”？</a></p>') in page
    assert f"共 {api['count']} 条结果" in page and 'id="suggestion"' not in page
    assert "以下为包含任一词的结果" not in page  # the correction's words all matched
    assert "<mark>担保物权</mark>研究" in page
    # The link: the words as typed, with the correction offered as 您是不是要找.
    typed = Client().get("/", {"q": "擔保無權", "type": "book", "as_typed": "1"}).content.decode()
    assert 'id="correction"' not in typed and '您是不是要找：<a href="?q=%E6%8B%85%E4%BF%9D%E7%89%A9%E6%9D%83' in typed


def test_the_english_page_says_it_in_english(homophones):
    page = Client(headers={"accept-language": "en"}).get("/", {"q": "王利名"}, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()

    assert "Showing results for “王利明”." in html and "Search instead for “王利名”?" in html


# --- bounded cost ---------------------------------------------------------------------------------------


def test_at_most_the_capped_number_of_runs_are_looked_up_by_their_sound(homophones):
    misheard = "担保无权 王利名 执型 民事诉送 陈包经营 长程"

    with mock.patch.object(searcher, "_sounds_like", wraps=searcher._sounds_like) as sounds_like:
        result = services.search(misheard, filters=PUBLIC)

    assert [call.args[1] for call in sounds_like.call_args_list] == ["担保无权", "王利名", "执型", "民事诉送"]
    assert result.suggestion == "担保物权 王利明 执行 民事诉讼 陈包经营 长程"


def test_at_most_the_capped_number_of_records_are_read_for_one_run(homophones, monkeypatch):
    monkeypatch.setattr(searcher, "SUGGEST_DOCS", 1)
    run = searcher._Run(searcher._searcher(), PUBLIC, "relevance", 20, 0, searcher._Deadline(2.0))

    with mock.patch.object(run.searcher, "stored_fields", wraps=run.searcher.stored_fields) as read:
        found = searcher._sounds_like(run, "担保无权")

    assert (found, read.call_count) == ("担保物权", 1)


def test_the_suggestion_work_stops_at_the_search_deadline(homophones):
    run = searcher._Run(searcher._searcher(), PUBLIC, "relevance", 20, 0, searcher._Deadline(-1.0))

    with pytest.raises(searcher.SearchTimeout):
        searcher._suggest(run, "担保无权")


# --- the readings are the index's -------------------------------------------------------------------------


def test_the_syllables_compared_are_the_ones_the_pinyin_field_indexes():
    """Read with the index's segmentation and phrase readings (重庆 → chong, not zhong), whole words marked."""
    title = "重庆市民事诉讼法学"
    indexed = {t.text for t in analysis.pinyin_analyzer()(title, mode="index")}

    [read] = analysis.han_syllables(title)

    assert read.syllables == ("chong", "qing", "shi", "min", "shi", "su", "song", "fa", "xue")
    assert set(read.syllables) <= indexed and "minshisusong" in indexed
    assert (3 in read.starts, 7 in read.ends, 4 in read.starts) == (True, True, False)  # 民事诉讼 yes, 事… no


@pytest.mark.parametrize("query", ["D999", "clc:Q9", "clc:TP", "D923.9/77", "K92 担保", "isbn 978x"])
def test_the_letters_of_a_class_or_call_number_are_not_corrected_as_words(homophones, query):
    """D999 (a class the library lacks) was offered as de999, clc:Q9 as clc:qu9: the letter of a class number
    read as a misspelled pinyin syllable (the attack on issue 19).  Letters joined to digits are a code."""
    assert suggest(query)[1] is None


def test_a_latin_word_longer_than_any_indexed_word_is_not_looked_up_within_one_edit(homophones):
    """Whoosh builds a Levenshtein automaton per segment for each word looked up, in time that grows with the
    word: one 999-letter word made a search take 1–3 s (the attack on issue 19).  A word of more than
    MAX_SUGGEST_LETTERS letters is no misspelling of an indexed word; the words up to it are still corrected."""
    longest = "judgmnt" + "s" * (searcher.MAX_SUGGEST_LETTERS - len("judgmnt"))
    too_long = "judgmnt" + "s" * (searcher.MAX_SUGGEST_LETTERS + 1 - len("judgmnt"))

    with mock.patch.object(searcher, "_corrections", wraps=searcher._corrections) as corrections:
        services.search(f"{'x' * 900} {too_long} {longest} judgmnt", filters=PUBLIC)

    assert [call.args[2] for call in corrections.call_args_list] == [longest, longest, "judgmnt", "judgmnt"]
