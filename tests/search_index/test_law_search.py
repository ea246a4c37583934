"""Law names and article citations in search (docs/search.md, "Law names", "Article citations"): a short form
finds the full name and back, every way of writing an article finds the works citing it (full texts
included), the citation is highlighted, the articles of the law a query names are a facet, and a
librarian's edit of a name takes effect without a restart."""

import pytest

from library.services import Person, book_create, paper_attach_file, paper_create
from search_index import laws, searcher, services
from search_index.models import LawName
from search_index.services import Filters
from tests.conftest import apply_index_outbox

pytestmark = pytest.mark.django_db

PUBLIC = Filters()


def keys(result):
    return sorted((h.type, h.id) for h in result.items)


@pytest.fixture
def corpus(db):
    laws.forget()
    records = {
        "msf_full": book_create(title="民事诉讼法理解与适用", contributors=[Person("沈德咏")], year=2022,
                                subjects=["中华人民共和国民事诉讼法"]),
        "msf_short": book_create(title="民诉法实务问答", contributors=[Person("江必新")], year=2021,
                                 summary="围绕起诉与受理的常见问题。"),
        "interpretation": book_create(title="民诉解释条文理解", year=2022,
                                      summary="逐条解读最高人民法院关于适用《中华人民共和国民事诉讼法》的解释第二百四十七条等。"),
        "company": book_create(title="公司法务操作指引", year=2020, summary="企业内部合规。"),
        "mortgage_book": book_create(title="抵押权实务", year=2021,
                                     summary="结合民法典物权编第395条、第396条讨论抵押财产的范围。"),
    }
    paper = paper_create(title="抵押权实现问题研究", authors=["王某"], year=2023, visibility="public",
                         abstract="讨论抵押权的实现。")
    paper_attach_file(paper=paper, filename="a.txt", data=(
        "第一章 概述。根据《中华人民共和国民法典》第三百九十四条第一款的规定，为担保债务的履行，债务人不转移财产的占有，"
        "将该财产抵押给债权人的，债务不履行时，债权人有权就该财产优先受偿。另见民法典关于流押的第四百零一条。").encode())
    records["paper_full_text"] = paper
    records["paper_abstract"] = paper_create(title="论抵押权的设立", authors=["李某"], year=2022, visibility="public",
                                             abstract="《民法典》394条规定了抵押权的定义，本文讨论其设立。")
    criminal = paper_create(title="非法证据排除研究", authors=["赵某"], year=2021, visibility="public",
                            abstract="讨论证据规则。")
    paper_attach_file(paper=criminal, filename="b.txt", data="依照刑诉法第56条，采用刑讯逼供等非法方法收集的供述应当排除。".encode())
    records["criminal"] = criminal
    services.index_rebuild()
    yield records
    laws.forget()


# --- §1 law names ---------------------------------------------------------------------------------------


MSF = ("msf_full", "msf_short", "interpretation")  # the third names the law inside the interpretation's title


def test_a_short_form_finds_works_that_use_the_full_name(corpus):
    result = services.search("民诉法", filters=PUBLIC)
    assert keys(result) == sorted(("book", corpus[k].pk) for k in MSF)
    assert result.expansions == [{"from": "民诉法", "to": "民事诉讼法", "law": "f0183", "title": "中华人民共和国民事诉讼法",
                                  "forms": ["民事诉讼法", "民诉"]}]  # 民诉 finds whatever 民诉法 finds


def test_the_full_name_finds_works_that_use_a_short_form(corpus):
    for query in ("民事诉讼法", "中华人民共和国民事诉讼法", "《中华人民共和国民事诉讼法》"):
        result = services.search(query, filters=PUBLIC)
        assert keys(result) == sorted(("book", corpus[k].pk) for k in MSF), query
        assert [e["to"] for e in result.expansions] == ["民事诉讼法"]


def test_an_interpretation_short_form_finds_its_official_title(corpus):
    result = services.search("民诉法解释", filters=PUBLIC)
    assert keys(result) == [("book", corpus["interpretation"].pk)]
    assert result.expansions[0]["title"] == "最高人民法院关于适用《中华人民共和国民事诉讼法》的解释"


def test_a_name_inside_a_longer_word_is_not_expanded(corpus):
    result = services.search("公司法务", filters=PUBLIC)
    assert (keys(result), result.expansions) == ([("book", corpus["company"].pk)], [])


def test_a_name_in_a_quoted_phrase_is_searched_as_typed(corpus):
    result = services.search('"民诉法"', filters=PUBLIC)
    assert (keys(result), result.expansions) == ([("book", corpus["msf_short"].pk)], [])


def test_other_words_still_all_required_next_to_an_expanded_name(corpus):
    assert keys(services.search("民诉法 沈德咏", filters=PUBLIC)) == [("book", corpus["msf_full"].pk)]


def test_expansions_are_bounded_in_names_and_in_words():
    dictionary = laws.LawDictionary([laws.law_from_row(row) for row in laws.read_csv()])
    names = searcher.law_query("民诉法 刑诉法 行诉法 消法 国赔法", dictionary)
    assert [e["from"] for e in names.expansions] == ["民诉法", "刑诉法", "行诉法", "消法"]  # MAX_LAW_EXPANSIONS
    # An interpretation adds its official title (7 words) and two short forms: the expanded query stops at
    # MAX_EXPANDED_WORDS (the third gets two of its forms, the fourth none).
    query = "民诉解释 刑诉解释 行诉解释 担保制度解释"
    long = searcher.law_query(query, dictionary)
    assert [(e["from"], len(e["forms"])) for e in long.expansions] == [("民诉解释", 4), ("刑诉解释", 4), ("行诉解释", 3)]
    assert searcher._word_count(searcher._OPERATOR_WORDS.sub(" ", long.text)) == searcher.MAX_EXPANDED_WORDS
    # A query of 31 words still gets its short name expanded, within the same bound.
    crowded = searcher.law_query("民诉法 " + " ".join(["抵押"] * 30), dictionary)
    assert crowded.expansions[0]["forms"] == ["民事诉讼法", "民诉"]
    assert searcher._word_count(searcher._OPERATOR_WORDS.sub(" ", crowded.text)) <= searcher.MAX_EXPANDED_WORDS


def test_a_name_that_holds_nothing_more_is_not_expanded():
    dictionary = laws.LawDictionary([laws.law_from_row(row) for row in laws.read_csv()])
    # 中华人民共和国宪法 and 企业破产法 are found by 宪法 and 破产法 as typed: nothing to add.
    assert searcher.law_query("宪法 破产法", dictionary).expansions == []
    assert searcher.law_query("中华人民共和国专利法", dictionary).expansions[0]["forms"] == ["专利法"]


@pytest.fixture
def code_and_volumes(db):
    """The Civil Code's own text among volumes whose titles start with its short form and score higher on it."""
    laws.forget()
    records = {
        "code": book_create(title="中华人民共和国民法典（大字版）", contributors=[Person("全国人民代表大会")], year=2020),
        **{f"volume{i}": book_create(title=f"民法典{part}理解与适用", year=2020, subjects=["民法典"],
                                     summary=f"民法典{part}逐条释义，民法典的适用。")
           for i, part in enumerate(("物权编", "合同编", "侵权责任编"))},
        "mention": book_create(title="民法典学习读本", year=2021, summary="学习中华人民共和国民法典。"),
    }
    services.index_rebuild()
    yield records
    laws.forget()


@pytest.mark.parametrize("query", ["中华人民共和国民法典", "《中华人民共和国民法典》", "民法典", "中華人民共和國民法典"])
def test_a_query_that_is_a_law_name_ranks_the_record_titled_by_it_first(code_and_volumes, query):
    result = services.search(query, filters=PUBLIC)

    assert result.items[0].id == code_and_volumes["code"].pk
    assert result.count == len(code_and_volumes)  # the boost ranks; it finds nothing more


def test_a_law_name_among_other_words_boosts_no_title(code_and_volumes):
    result = services.search("民法典 理解与适用", filters=PUBLIC)

    assert code_and_volumes["code"].pk not in [h.id for h in result.items]
    assert max(h.score for h in result.items) < searcher.EXACT_TITLE_SCORE


@pytest.mark.parametrize(("title", "key"), [
    ("中华人民共和国民法典", "中华人民共和国民法典"),
    ("《中華人民共和國民法典》（2020年版）", "中华人民共和国民法典"),
    ("民法典 (大字版)【含司法解释】", "民法典"),
    ("The Civil Code", "thecivilcode"),
    ("长" * 121, ""),
])
def test_the_title_key_compares_titles_as_law_names(title, key):
    assert laws.title_key(title) == key


@pytest.mark.parametrize(("typed", "searched"), [
    ("民事诉讼法学", '(民事诉讼法 ANDMAYBE "民事诉讼法学")'),
    ("刑法学 张明楷", '(刑法 ANDMAYBE "刑法学") 张明楷'),
    ("法学", "法学"),
    ("比较法学", "比较法学"),
    ("犯罪学", "犯罪学"),
    ('"民事诉讼法学"', '"民事诉讼法学"'),
    ("title:刑法学", "title:刑法学"),
])
def test_a_discipline_after_a_law_name_makes_its_suffix_optional(typed, searched):
    assert searcher._discipline_optional(typed) == searched


def test_the_discipline_finds_the_textbook_titled_by_the_law_after_those_titled_by_the_discipline(db):
    laws.forget()
    discipline = book_create(title="民事诉讼法学", contributors=[Person("张卫平")], year=2019)
    law_titled = book_create(title="民事诉讼法", contributors=[Person("江伟")], year=2018, summary="高等学校法学教材。")
    book_create(title="刑法学", contributors=[Person("张明楷")], year=2021)
    services.index_rebuild()

    for query in ("民事诉讼法学", "民事訴訟法學"):
        result = services.search(query, filters=PUBLIC)
        assert [h.id for h in result.items] == [discipline.pk, law_titled.pk], query
    laws.forget()


def test_a_short_form_written_two_ways_is_kept_and_searched_as_typed():
    """劳动争议解释（一） and 劳动争议解释一 are the same words: each held the other, so both were left out of the
    group and a judge's 建工解释一 searched only the long titles, never the words typed (the attack on issue 19).
    Of forms with the same words the first (the typed one) stays."""
    dictionary = laws.LawDictionary([laws.law_from_row(row) for row in laws.read_csv()])
    for typed in ("劳动争议解释（一）", "劳动争议解释一", "建工解释一", "破产法解释三"):
        expansion = searcher.law_query(typed, dictionary).expansions[0]
        assert expansion["forms"][0] == typed, expansion


def test_a_typed_title_too_long_for_a_phrase_is_searched_as_typed_not_replaced_by_a_short_form():
    """A title of more than MAX_PHRASE_WORDS words cannot be one of the group's phrases: it was replaced by its
    short form alone (房屋租赁合同解释), so the works titled with the words typed were no longer required to hold
    them, and those holding only the title were not found.  Like every other such title, it is searched as typed."""
    dictionary = laws.LawDictionary([laws.law_from_row(row) for row in laws.read_csv()])
    title = "最高人民法院关于审理城镇房屋租赁合同纠纷案件具体应用法律若干问题的解释"
    assert len(searcher._tokens(title)) > searcher.MAX_PHRASE_WORDS
    found = searcher.law_query(title, dictionary)
    assert (found.expansions, found.text) == ([], title)


# --- §2 article citations -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["民法典第三百九十四条", "民法典第394条", "《民法典》394条", "民法典394",
                                   "《中华人民共和国民法典》第三百九十四条", "民法典第三百九十四条第一款",
                                   "民法典物权编第394条"])
def test_every_form_of_a_citation_finds_the_works_citing_the_article(corpus, query):
    result = services.search(query, filters=PUBLIC)
    assert keys(result) == sorted([("paper", corpus["paper_full_text"].pk), ("paper", corpus["paper_abstract"].pk)])
    assert [(c["law"], c["article"]) for c in result.citations] == [("f0186", 394)]


def test_an_article_listed_after_a_citation_is_cited_too(corpus):
    assert keys(services.search("民法典第396条", filters=PUBLIC)) == [("book", corpus["mortgage_book"].pk)]
    assert keys(services.search("民法典第401条", filters=PUBLIC)) == [("paper", corpus["paper_full_text"].pk)]


def test_a_range_cites_each_article(corpus):
    result = services.search("民法典第394条至第396条", filters=PUBLIC)
    assert [c["article"] for c in result.citations] == [394, 395, 396]
    assert keys(result) == sorted([("paper", corpus["paper_full_text"].pk), ("paper", corpus["paper_abstract"].pk),
                                   ("book", corpus["mortgage_book"].pk)])


def test_another_law_and_another_article_are_not_found(corpus):
    assert keys(services.search("民法典第56条", filters=PUBLIC)) == []
    assert keys(services.search("刑诉法第56条", filters=PUBLIC)) == [("paper", corpus["criminal"].pk)]
    assert keys(services.search("刑事诉讼法第五十六条", filters=PUBLIC)) == [("paper", corpus["criminal"].pk)]


def test_an_interpretation_cited_by_its_title_is_found_by_its_short_form(corpus):
    assert keys(services.search("民诉解释第247条", filters=PUBLIC)) == [("book", corpus["interpretation"].pk)]


def test_the_citation_is_highlighted_in_the_snippet(corpus):
    result = services.search("民法典第394条", filters=PUBLIC)
    by_id = {(h.type, h.id): h.highlights for h in result.items}
    text = by_id[("paper", corpus["paper_full_text"].pk)]["text"]
    assert "<mark>《中华人民共和国民法典》第三百九十四条第一款</mark>的规定" in text
    assert by_id[("paper", corpus["paper_abstract"].pk)]["summary"] == (
        "<mark>《民法典》394条</mark>规定了抵押权的定义，本文讨论其设立。")


def test_the_articles_of_the_named_law_are_a_facet(corpus):
    result = services.search("民法典", filters=PUBLIC)
    assert result.facets["article"] == {"394": 2, "395": 1, "396": 1, "401": 1}
    cited = services.search("民法典第394条", filters=PUBLIC)
    assert cited.facets["article"] == {"394": 2, "401": 1}
    assert "article" not in services.search("抵押权", filters=PUBLIC).facets


def test_the_article_filter_keeps_the_works_citing_it(corpus):
    result = services.search("民法典", filters=Filters(article=401))
    assert keys(result) == [("paper", corpus["paper_full_text"].pk)]
    with pytest.raises(services.QueryError):
        services.search("抵押权", filters=Filters(article=401))


def test_one_article_alone_finds_the_code_and_the_volume_of_its_book_after_the_works_citing_it(corpus):
    """Routine walk (issue 20): 民法典第394条 found only the works citing it; a judge looking the article up wants
    the Code's text and the commentary on its 物权编 too — after the citing works, which stay first."""
    from search_index import switches

    code = book_create(title="中华人民共和国民法典", year=2020)
    volume = book_create(title="民法典物权编理解与适用", year=2020, summary="逐条解读物权编。")
    book_create(title="民法典合同编理解与适用", year=2020)
    book_create(title="担保物权研究", year=2019, summary="抵押权与质权。")  # neither cites it nor names the Code
    services.index_rebuild()
    citing = sorted([("paper", corpus["paper_full_text"].pk), ("paper", corpus["paper_abstract"].pk)])

    for query in ("民法典第394条", "《中华人民共和国民法典》第三百九十四条", "民法典第三百九十四条第一款"):
        ranked = [(h.type, h.id) for h in services.search(query, filters=PUBLIC).items]
        assert sorted(ranked[:2]) == citing and ranked[2:] == [("book", code.pk), ("book", volume.pk)], query
    # An article of another book: the Code, not the 物权编 volume (nor the 合同编 one: it is not the 侵权责任编's).
    assert keys(services.search("民法典第1165条", filters=PUBLIC)) == [("book", code.pk)]
    # Other words, the article facet, or the switch off: the citing works only, as before.
    assert keys(services.search("民法典第394条 抵押", filters=PUBLIC)) == citing
    assert keys(services.search("民法典第394条", filters=Filters(article=394))) == citing
    with switches.off(switches.LAW_BOOKS):
        assert keys(services.search("民法典第394条", filters=PUBLIC)) == citing


def test_the_articles_of_a_book_of_the_civil_code():
    code = laws.Law(code="f0186", title="中华人民共和国民法典", parts=("总则编", "物权编", "合同编", "人格权编",
                                                                     "婚姻家庭编", "继承编", "侵权责任编"))
    assert [laws.part_of(code, n) for n in (1, 204, 205, 394, 462, 463, 1164, 1258, 1259)] == [
        "总则编", "总则编", "物权编", "物权编", "物权编", "合同编", "侵权责任编", "侵权责任编", None]
    assert laws.part_of(laws.Law(code="f0001", title="中华人民共和国专利法"), 5) is None


def test_a_year_after_a_law_name_is_no_article(corpus):
    result = services.search("公司法2023", filters=PUBLIC)
    assert result.citations == []


# --- editing the dictionary -----------------------------------------------------------------------------


def test_an_admin_edit_takes_effect_on_the_next_search_without_a_restart(corpus):
    assert services.search("诉讼法典", filters=PUBLIC).expansions == []
    law = LawName.objects.get(code="f0183")
    law.short_forms += "\n诉讼法典"
    law.save()
    # The same process, its dictionary already built: its own save has it ask the table again at once.
    result = services.search("诉讼法典", filters=PUBLIC)
    assert [e["to"] for e in result.expansions] == ["民事诉讼法"]
    assert keys(result) == sorted(("book", corpus[k].pk) for k in MSF)


def test_a_new_short_form_is_cited_after_the_records_mentioning_it_are_reindexed(corpus, django_capture_on_commit_callbacks):
    paper = paper_create(title="新简称的引用", authors=["钱某"], year=2024, visibility="public",
                         abstract="依据诉讼法典第十条。")
    apply_index_outbox()
    assert keys(services.search("民事诉讼法第10条", filters=PUBLIC)) == []
    from jobs.models import Job
    from search_index import tasks

    with django_capture_on_commit_callbacks(execute=False):
        law = LawName.objects.get(code="f0183")
        law.short_forms += "\n诉讼法典"
        law.save()
        job = services.law_name_changed(forms=["诉讼法典"])
    assert job.payload == {"forms": ["诉讼法典"]}
    tasks.reindex_citing.call(job.pk)  # what the worker does
    assert Job.objects.get(pk=job.pk).summary == {"books": 0, "papers": 1}
    apply_index_outbox()
    assert keys(services.search("民事诉讼法第10条", filters=PUBLIC)) == [("paper", paper.pk)]


# --- the API and the page -------------------------------------------------------------------------------


def test_the_api_reports_expansions_citations_and_the_article_facet(corpus, anon_api):
    body = anon_api.get("/api/v1/search", {"q": "民诉法"}).json()
    assert body["expansions"] == [{"from": "民诉法", "to": "民事诉讼法", "law": "f0183", "title": "中华人民共和国民事诉讼法",
                                   "forms": ["民事诉讼法", "民诉"]}]
    assert (body["citations"], body["law"]["name"]) == ([], "民事诉讼法")
    cited = anon_api.get("/api/v1/search", {"q": "《民法典》394条"}).json()
    assert cited["citations"] == [{"law": "f0186", "name": "民法典", "title": "中华人民共和国民法典", "article": 394,
                                   "text": "《民法典》394条"}]
    assert cited["facets"]["article"] == {"394": 2, "401": 1}
    narrowed = anon_api.get("/api/v1/search", {"q": "民法典", "article": 401}).json()
    assert [item["id"] for item in narrowed["items"]] == [corpus["paper_full_text"].pk]
    refused = anon_api.get("/api/v1/search", {"q": "抵押权", "article": 401})
    assert refused.status_code == 400 and refused.json()["detail"].startswith("article")


def test_the_openapi_schema_documents_expansions_and_the_article_parameter(anon_api):
    schema = anon_api.get("/api/v1/openapi.json").json()
    out = schema["components"]["schemas"]["SearchOut"]
    assert {"expansions", "citations", "law"} <= set(out["required"]) | set(out["properties"])
    assert set(schema["components"]["schemas"]["ExpansionOut"]["properties"]) == {"from", "to", "law", "title", "forms"}
    params = {p["name"] for p in schema["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert "article" in params


@pytest.mark.parametrize(("language", "expanded", "cited", "facet"), [
    ("zh-hans", "已将 民诉法 扩展为 民事诉讼法、民诉", "已按条文检索：民法典 第 394 条（引用该条的作品）", "民法典 引用条文"),
    ("en", "Expanded 民诉法 to 民事诉讼法、民诉", "Searched by article: 民法典 article 394 (works citing it)",
     "Articles of 民法典 cited"),
])
def test_the_page_says_what_it_expanded_and_which_article_it_searched(corpus, client, language, expanded, cited, facet):
    headers = {"Accept-Language": language}
    page = client.get("/", {"q": "民诉法"}, headers=headers).content.decode()
    assert expanded in page
    page = client.get("/", {"q": "民法典第三百九十四条"}, headers=headers).content.decode()
    assert cited in page and facet in page
    assert 'href="?q=%E6%B0%91%E6%B3%95%E5%85%B8%E7%AC%AC%E4%B8%89%E7%99%BE%E4%B9%9D%E5%8D%81%E5%9B%9B%E6%9D%A1&amp;article=401"' in page
    assert "<mark>《民法典》394条</mark>" in page


def test_the_page_names_each_form_once_whether_or_not_it_has_book_title_marks(corpus, client):
    """Routine walk (issue 19): 民诉法解释 was "expanded" to its title with 《》 and again without, four lines on a
    phone."""
    import re

    page = client.get("/", {"q": "民诉法解释"}).content.decode()

    [note] = re.findall(r'<p class="meta law-note">(.*?)</p>', page)
    assert note == ("已将 民诉法解释 扩展为 最高人民法院关于适用《中华人民共和国民事诉讼法》的解释、民诉解释、"
                    "民事诉讼法解释")


def test_an_article_no_work_cites_leads_to_the_works_on_the_law(corpus, client):
    """Routine walk (issue 19): 民法典第394条 with no work citing it ended on "try pinyin or traditional
    characters"; the works on the law are one tap away."""
    import re

    page = client.get("/", {"q": "民法典第1260条"}).content.decode()

    assert "共 0 条结果" in page and "用拼音" not in page
    step = re.search(r'<p id="next-step">(.*?)</p>', page, re.S).group(1)
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", step)).strip() == "没有找到引用该条的作品。 检索有关“民法典”的作品"
    assert re.findall(r'href="([^"]+)"', step) == ["?q=%E6%B0%91%E6%B3%95%E5%85%B8"]
    assert services.search("民法典", filters=PUBLIC).count >= 1


def test_a_librarian_edits_a_law_name_in_the_admin_and_the_next_search_uses_it(corpus, client):
    from accounts.models import Role
    from jobs.models import Job
    from tests.conftest import make_user

    client.force_login(make_user("librarian9", Role.LIBRARIAN))
    law = LawName.objects.get(code="f0183")
    assert services.search("诉讼法典", filters=PUBLIC).expansions == []
    response = client.post(f"/admin/search_index/lawname/{law.pk}/change/", {
        "title": law.title, "kind": law.kind, "short_forms": law.short_forms + "\n诉讼法典", "parts": "",
        "source": law.source})
    assert response.status_code == 302
    assert [e["to"] for e in services.search("诉讼法典", filters=PUBLIC).expansions] == ["民事诉讼法"]
    job = Job.objects.get(kind=services.REINDEX_CITING_KIND)
    assert job.payload == {"forms": ["诉讼法典"]}
    # The save says the works are being re-indexed, as which job, and when the edit takes effect where.
    shown = [str(m) for m in client.get(response.url).context["messages"]]
    assert len(shown) == 2 and shown[1].startswith("成功修改了 法律名称")
    assert shown[0] == (f"检索已按新名称扩展（其他服务进程最迟 5 秒后）。提到这些名称的作品正在后台重新索引（后台任务 {job.pk}）；"
                         "完成后，用新名称写的条文引用才能按条文检索到。")
    # A form another law already has is refused.
    taken = client.post(f"/admin/search_index/lawname/{law.pk}/change/", {
        "title": law.title, "kind": law.kind, "short_forms": "刑诉", "parts": "", "source": law.source})
    # Naming the law that holds it (routine walk: the librarian had to search the list for 刑诉 to know whose).
    assert taken.status_code == 200 and "这些名称已属于其他法律：刑诉（中华人民共和国刑事诉讼法）" in taken.content.decode()
