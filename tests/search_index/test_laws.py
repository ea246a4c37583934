"""The law-name dictionary and the citation reader (search_index.laws), without an index: the data file, name
matching on word boundaries, article numbers in Arabic and Chinese numerals, and citations however they are
written."""

import csv
import re

import cn2an
import pytest
from hypothesis import given
from hypothesis import strategies as st

from search_index import laws
from search_index.models import LawName


@pytest.fixture(scope="module")
def dictionary():
    return laws.LawDictionary([laws.law_from_row(row) for row in laws.read_csv()])


# --- the data file --------------------------------------------------------------------------------------


def test_the_data_file_has_several_hundred_laws_each_with_a_real_looking_official_title():
    rows = laws.read_csv()
    kinds = {}
    for row in rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    assert kinds == {"law": 314, "interpretation": 395, "regulation": 617}
    assert len({row["code"] for row in rows}) == len({row["title"] for row in rows}) == len(rows)
    assert all(re.fullmatch(r"[fjx]\d{4}", row["code"]) for row in rows)
    # Laws are titled 中华人民共和国…法 (or are NPC decisions and rules), interpretations are the courts' or
    # procuratorates'.
    interpretations = [row["title"] for row in rows if row["kind"] == "interpretation"]
    assert all(t.startswith(("最高人民法院", "最高人民检察院", "人民法院", "人民检察院")) for t in interpretations)


def test_every_short_form_names_one_law_only():
    assert laws.conflicts(laws.law_from_row(row) for row in laws.read_csv()) == {}


def test_the_common_short_forms_are_there(dictionary):
    expected = {
        "民诉法": "中华人民共和国民事诉讼法", "民事诉讼法": "中华人民共和国民事诉讼法", "刑诉": "中华人民共和国刑事诉讼法",
        "刑诉法": "中华人民共和国刑事诉讼法", "行诉法": "中华人民共和国行政诉讼法", "行诉": "中华人民共和国行政诉讼法",
        "公司法": "中华人民共和国公司法", "民法典": "中华人民共和国民法典",
        "民诉解释": "最高人民法院关于适用《中华人民共和国民事诉讼法》的解释",
        "民诉法解释": "最高人民法院关于适用《中华人民共和国民事诉讼法》的解释",
        "担保制度解释": "最高人民法院关于适用《中华人民共和国民法典》有关担保制度的解释",
    }
    assert {form: dictionary.forms[laws.normalize_form(form)][0].title for form in expected} == expected
    assert dictionary.forms["物权编"] == (dictionary.by_code["f0186"], "物权编")


def test_the_table_is_filled_from_the_data_file_and_loading_again_adds_nothing(db):
    from search_index import services

    assert LawName.objects.count() == len(laws.read_csv())
    LawName.objects.filter(code="f0183").update(short_forms="民诉法")  # a librarian's edit
    assert services.law_names_load() == 0
    assert LawName.objects.get(code="f0183").short_forms == "民诉法"
    LawName.objects.filter(code="f0001").delete()
    assert services.law_names_load() == 1


# --- the process's dictionary: how soon an edit reaches it ------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(laws, "_clock", fake)
    laws.forget()
    yield fake
    laws.forget()


def _another_process_adds(form: str) -> None:
    """An edit this process sends no signal for, as one saved by another worker process reaches it: only
    through the table."""
    from django.db.models import F, Value
    from django.db.models.functions import Concat
    from django.utils import timezone

    LawName.objects.filter(code="f0183").update(short_forms=Concat(F("short_forms"), Value("\n" + form)),
                                                updated_at=timezone.now())


def _names(dictionary, form: str) -> str | None:
    found = dictionary.forms.get(laws.normalize_form(form))
    return found[0].code if found else None


def test_another_process_edit_is_read_after_the_check_interval_and_not_before(
        db, settings, clock, django_assert_num_queries):
    settings.LAW_DICTIONARY_CHECK_SECONDS = 5
    first = laws.current()
    _another_process_adds("诉讼法典")

    clock.now += 4.9
    with django_assert_num_queries(0):  # within the interval: not even the version is asked
        assert laws.current() is first
    assert _names(first, "诉讼法典") is None

    clock.now += 0.2  # 5.1 s after the first check
    with django_assert_num_queries(2):  # the version, then the table
        edited = laws.current()
    assert _names(edited, "诉讼法典") == "f0183"

    clock.now += 5.1  # unchanged since: the version is asked, the dictionary kept
    with django_assert_num_queries(1):
        assert laws.current() is edited
    clock.now += 1
    with django_assert_num_queries(0):
        assert laws.current() is edited


def test_a_save_in_this_process_is_read_on_its_next_search_without_waiting(db, settings, clock):
    settings.LAW_DICTIONARY_CHECK_SECONDS = 5
    assert _names(laws.current(), "诉讼法典") is None
    law = LawName.objects.get(code="f0183")
    law.short_forms += "\n诉讼法典"
    law.save()  # the clock does not move
    assert _names(laws.current(), "诉讼法典") == "f0183"
    law.delete()
    assert _names(laws.current(), "诉讼法典") is None


def test_loading_the_data_file_is_read_on_the_next_search(db, settings, clock, django_capture_on_commit_callbacks):
    from search_index import services

    settings.LAW_DICTIONARY_CHECK_SECONDS = 5
    LawName.objects.filter(code="f0001").delete()
    assert "f0001" not in laws.current().by_code
    with django_capture_on_commit_callbacks(execute=True):
        assert services.law_names_load() == 1  # bulk_create: no signal
    assert "f0001" in laws.current().by_code


def test_a_check_interval_of_zero_asks_the_version_on_every_call(db, settings, clock, django_assert_num_queries):
    settings.LAW_DICTIONARY_CHECK_SECONDS = 0
    first = laws.current()
    for _ in range(2):
        with django_assert_num_queries(1):
            assert laws.current() is first
    _another_process_adds("诉讼法典")
    assert _names(laws.current(), "诉讼法典") == "f0183"


def test_the_csv_columns_are_as_the_readme_says():
    with laws.LAWS_CSV.open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == ["id", "title", "kind", "short_forms", "parts", "source"]


# --- numbers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("394", 394), ("三百九十四", 394), ("一千二百六十", 1260), ("十", 10), ("十一", 11), ("二十", 20),
    ("一百零五", 105), ("两百", 200), ("一千零一", 1001), ("0", None), ("零", None), ("千", None), ("", None),
])
def test_article_numbers(text, value):
    assert laws.parse_number(text) == value


@given(st.integers(min_value=1, max_value=9999))
def test_any_article_number_reads_the_same_in_chinese_numerals_and_digits(n):
    assert laws.parse_number(cn2an.an2cn(n)) == laws.parse_number(str(n)) == n


def test_a_bare_number_after_a_name_is_an_article_unless_it_reads_as_a_year(dictionary):
    def articles(query):
        return [c.article for c in dictionary.query_citations(query)]

    assert (articles("民法典1260"), articles("公司法2023"), articles("刑法1997"), articles("刑法20年")) == ([1260], [], [], [])


@given(st.integers(min_value=1, max_value=1260), st.sampled_from([
    "民法典第{cn}条", "民法典第{n}条", "《民法典》{n}条", "民法典{n}", "《中华人民共和国民法典》第{cn}条", "民法典第{cn}条第一款",
    "《民法典》第{n}条", "民法典物权编第{cn}条", "民法典 第 {n} 条",
]))
def test_every_way_of_writing_an_article_is_one_citation(dictionary, n, pattern):
    query = pattern.format(n=n, cn=cn2an.an2cn(n))
    found = dictionary.query_citations(query)
    assert [(c.law.code, c.article) for c in found] == [("f0186", n)]
    assert query[found[0].start:found[0].end].lstrip("《").startswith(("民法典", "中华人民共和国民法典"))


@given(st.text(alphabet="民法典第条一二三四五六七八九十百千零0123456789《》、，。至的编物权 ", max_size=60))
def test_reading_citations_never_fails_and_spans_point_into_the_text(dictionary, text):
    for citation in dictionary.citations(text) + dictionary.query_citations(text):
        assert 0 <= citation.start < citation.end <= len(text)
        assert citation.article >= 1
        assert "条" in text[citation.start:citation.end] or citation in dictionary.query_citations(text)


# --- citations in texts ---------------------------------------------------------------------------------


def cited(dictionary, text):
    return [(c.law.name, c.article, text[c.start:c.end]) for c in dictionary.citations(text)]


def test_citations_in_a_paragraph(dictionary):
    text = ("根据《中华人民共和国民法典》第三百九十四条第一款、第三百九十五条的规定，以及民法典物权编第四百零一条和"
            "民诉法解释第二百四十七条。本法第5条。公司法2023年修订。刑法第二编第一百条")
    assert cited(dictionary, text) == [
        ("民法典", 394, "《中华人民共和国民法典》第三百九十四条第一款"),
        ("民法典", 395, "第三百九十五条"),
        ("民法典", 401, "民法典物权编第四百零一条"),
        ("最高人民法院关于适用《中华人民共和国民事诉讼法》的解释", 247, "民诉法解释第二百四十七条"),
        ("刑法", 100, "刑法第二编第一百条"),
    ]


def test_an_article_after_a_name_in_the_same_sentence_cites_it(dictionary):
    assert cited(dictionary, "民法典关于流押的第四百零一条") == [("民法典", 401, "第四百零一条")]
    # A sentence in between, or too far: no citation.
    assert cited(dictionary, "民法典。第四百零一条") == []
    assert cited(dictionary, "民法典对于抵押合同的形式和内容作出了详细规定第四百条") == []


@pytest.mark.parametrize("text", [
    "民诉典第十条",  # not a law's name: 民诉 (民事诉讼法) was read out of it, eight characters before the article
    "本书讨论民诉典的第十条",
    "刑诉规则第5条",  # another document (人民检察院刑事诉讼规则), not 刑诉
    "公司法务第3条",  # 公司|法务: no 公司法 ends a word here
    "刑诉规则中的第5条",
])
def test_an_article_near_a_name_inside_another_word_cites_nothing(dictionary, text):
    """Issue 19 §3: a name found near an article must be a word (or words) of the text, followed by what
    introduces the article's matter (关于, 中, 的 …), not the beginning of another word."""
    assert cited(dictionary, text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("民法典第三百九十四条", [("民法典", 394, "民法典第三百九十四条")]),
    ("民法典第394条", [("民法典", 394, "民法典第394条")]),
    ("《民法典》394条", [("民法典", 394, "《民法典》394条")]),
    ("依民法典第394条", [("民法典", 394, "民法典第394条")]),
    ("根据民诉法解释第一百条", [("最高人民法院关于适用《中华人民共和国民事诉讼法》的解释", 100, "民诉法解释第一百条")]),
    ("修改后民诉法第10条", [("民事诉讼法", 10, "民诉法第10条")]),
    ("国家赔偿法第3条", [("国家赔偿法", 3, "国家赔偿法第3条")]),  # segmented 国家赔偿|法: a known form whole
    ("民法典 第394条", [("民法典", 394, "民法典 第394条")]),
    ("民诉法中有关管辖的第三十四条", [("民事诉讼法", 34, "第三十四条")]),
    ("民法典第二编第三百九十四条", [("民法典", 394, "民法典第二编第三百九十四条")]),
])
def test_the_real_forms_of_a_citation_are_still_read(dictionary, text, expected):
    assert cited(dictionary, text) == expected


def test_the_query_still_reads_a_bare_number_after_a_name(dictionary):
    """Query side (民法典394): a name directly followed by its article is a citation however it is segmented."""
    assert [(c.law.name, c.article) for c in dictionary.query_citations("民法典394")] == [("民法典", 394)]


def test_a_range_and_a_list(dictionary):
    assert [c.article for c in dictionary.citations("民法典第394条至第396条")] == [394, 395, 396]
    assert [c.article for c in dictionary.citations("民法典第1条至第500条")] == [1, 500]  # too wide: its ends
    assert [c.article for c in dictionary.citations("刑法第20条、第21条和第22条")] == [20, 21, 22]


def test_traditional_characters_and_full_width_digits(dictionary):
    assert [(c.law.name, c.article) for c in dictionary.citations("民法典第３９４條")] == [("民法典", 394)]


def test_a_text_of_nothing_but_articles_is_read_a_bounded_number_of_times(dictionary):
    text = "第1条" * (laws.MAX_CITATIONS * 3) + "民法典第2条"
    assert dictionary.citations(text) == []  # the citation past the bound is not read


# --- names in queries -----------------------------------------------------------------------------------


def names(dictionary, text):
    return [(m.typed, m.law.code, m.part) for m in dictionary.find_names(text)]


def test_names_are_found_on_word_boundaries_only(dictionary):
    assert names(dictionary, "民诉法 管辖") == [("民诉法", "f0183", None)]
    assert names(dictionary, "民诉法管辖") == [("民诉法", "f0183", None)]
    assert names(dictionary, "公司法务") == []
    assert names(dictionary, "破产法 消法") == [("破产法", "f0026", None), ("消法", "f0207", None)]


def test_the_longest_form_wins(dictionary):
    assert names(dictionary, "最高人民法院关于适用《中华人民共和国民事诉讼法》的解释") == [
        ("最高人民法院关于适用《中华人民共和国民事诉讼法》的解释", "j0378", None)]
    assert names(dictionary, "民诉法解释") == [("民诉法解释", "j0378", None)]
    assert names(dictionary, "民法典物权编") == [("民法典物权编", "f0186", "物权编")]


@given(st.sampled_from(["民诉法", "刑诉", "公司法", "民法典", "担保制度解释", "民事诉讼法"]),
       st.sampled_from(["", " ", "《", "“"]), st.text(alphabet="的研究与问题 ", max_size=6))
def test_a_name_between_other_words_is_found_where_it_was_typed(dictionary, name, mark, tail):
    close = {"《": "》", "“": "”"}.get(mark, mark)
    text = f"{mark}{name}{close} {tail}"
    found = dictionary.find_names(text)
    assert found and (found[0].typed, found[0].start) == (name, len(mark))
