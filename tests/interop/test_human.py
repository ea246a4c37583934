"""What a person sees of /sru and /oai: each answer names our stylesheet and the /opendata page before its
root element (XML clients skip both), the stylesheets turn real answers into readable pages (run here with
libxslt, the XSLT engine of Chromium; tests/web/test_browser_interop.py runs them in the browser), and
/opendata explains the interfaces with examples that work."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from lxml import etree, html

from interop import catalogue as cat
from interop import oai
from library import services
from tests.interop.conftest import SECRET, SRW, xml

PROLOG = re.compile(rb"^<\?xml version='1\.0' encoding='UTF-8'\?>\s*"
                    rb'<\?xml-stylesheet type="text/xsl" href="/static/interop/(sru|oai)\.xsl"\?>\s*'
                    rb"<!-- (.*?) -->\s*<", re.S)


def transform(name: str, content: bytes):
    """The answer as the browser's page: an lxml HTML tree."""
    stylesheet = etree.XSLT(etree.parse(finders.find(f"interop/{name}.xsl")))
    page = stylesheet(etree.fromstring(content).getroottree())
    assert not [e for e in stylesheet.error_log if e.level_name == "ERROR"], stylesheet.error_log
    return html.fromstring(str(page))


def text(node) -> str:
    return " ".join(node.text_content().split())


@pytest.mark.parametrize(("path", "params", "name"), [
    ("/sru", {}, "sru"), ("/sru", {"query": "民法"}, "sru"), ("/sru", {"operation": "scan"}, "sru"),
    ("/oai", {"verb": "Identify"}, "oai"), ("/oai", {"verb": "Nothing"}, "oai"),
])
def test_every_answer_names_the_stylesheet_and_the_page_outside_its_root(catalogue, path, params, name):
    response = Client().get(path, params)

    found = PROLOG.match(response.content)
    assert found, response.content[:300]
    assert found.group(1).decode() == name
    assert "http://127.0.0.1:8000/opendata" in found.group(2).decode()
    assert "法官书苑" in found.group(2).decode()
    root = xml(response)  # the root element is the protocol's, as before
    assert root.getprevious().tag is etree.Comment
    stylesheet = Client().get(f"/static/interop/{name}.xsl")
    stylesheet.close()  # a file response: closed here, not by the garbage collector in some later test
    assert stylesheet.status_code == 200


def test_the_stylesheets_follow_static_url(catalogue, settings):
    settings.STATIC_URL = "/assets/"

    content = Client().get("/sru").content

    assert b'<?xml-stylesheet type="text/xsl" href="/assets/interop/sru.xsl"?>' in content
    links = transform("sru", content).xpath("//link[@rel='stylesheet']/@href")
    assert links == ["/assets/shuyuan.css", "/assets/interop/interop.css"]


def test_explain_as_a_page_lists_the_indexes_schemas_and_a_search_form(catalogue):
    page = transform("sru", Client().get("/sru").content)

    assert "SRU 接口说明" in text(page.xpath("//h1")[0])
    assert text(page.xpath("//h2")[0]) == "法官书苑 Judges' Library"
    rows = page.xpath("//table[@id='indexes']/tbody/tr")
    assert [text(r.xpath("td")[0]) for r in rows] == [f"{s}.{n}" for s, n, _t in cat.EXPLAINED_INDEXES]
    assert "主题词、关键词、中图法分类号" in text(rows[4])
    assert page.xpath("//form[@action='sru']//input[@name='query']")
    assert "recordSchema=marcxml" in text(page)
    assert page.xpath("//a[@href='opendata']")


def test_search_results_as_a_page_show_records_holdings_and_the_next_page(catalogue):
    content = Client().get("/sru", {"query": "dc.date > 1000", "maximumRecords": "2", "sortKeys": "dc.date,,0"}).content

    page = transform("sru", content)

    assert "共 4 条" in text(page.xpath("//p[@id='count']")[0])
    assert text(page.xpath("//code[@id='query']")[0]) == "dc.date > 1000"
    titles = [text(h) for h in page.xpath("//article/h3")]
    assert titles == ["民法典适用中的物权问题", "民法典评注 : 物权编"]  # newest first
    holdings = [[text(td) for td in tr.xpath("td")] for tr in page.xpath("//table[@class='holdings']/tbody/tr")]
    assert holdings == [["法官书苑 院本部", "D923/1", "在架 1 册，共 1 册"], ["法官书苑 棋盘井法庭", "D923/1", "在架 1 册，共 1 册"]]
    form = page.xpath("//form[@class='pager']")[0]
    hidden = {i.get("name"): i.get("value") for i in form.xpath("input[@type='hidden']")}
    assert hidden == {"query": "dc.date > 1000", "maximumRecords": "2", "sortKeys": "dc.date,,0",
                      "operation": "searchRetrieve", "version": "1.2", "startRecord": "3"}
    # The next page the form asks for is the one the server gives.
    following = Client().get("/sru", hidden)
    assert [p.text for p in xml(following).iterfind(".//srw:recordPosition", SRW)] == ["3", "4"]


def test_a_record_with_880_fields_shows_the_original_script_first_then_the_romanised_form(catalogue):
    """As the book's own page: the city library's cataloguer reads 日本の茶書, not only "Nihon no chasho"."""
    services.book_create(title="日本の茶書", subtitle="第一巻", title_romanized="Nihon no chasho",
                         subtitle_romanized="Dai ikkan", isbn="9787040501254", language="ja", year=1971,
                         publisher="平凡社", publisher_romanized="Heibonsha",
                         contributors=[services.Person("林屋辰三郎", name_romanized="Hayashiya, Tatsusaburō"),
                                       services.Person("Smith, John", role="editor")])

    page = transform("sru", Client().get("/sru", {"query": "bath.isbn = 9787040501254"}).content)

    article = page.xpath("//article")[0]
    assert text(article.xpath("h3")[0]) == "日本の茶書 : 第一巻"
    assert text(article.xpath("p[@class='meta romanised']")[0]) == "Nihon no chasho : Dai ikkan"
    authors, published = article.xpath("table[@class='facts']/tr")[:2]
    assert text(authors.xpath("td")[0]) == "林屋辰三郎（Hayashiya, Tatsusaburō）；Smith, John"
    assert text(published.xpath("td")[0]) == "平凡社（Heibonsha） 1971"


def test_dublin_core_and_string_packing_render(catalogue):
    dc = transform("sru", Client().get("/sru", {"query": "dc.creator = 韩世远", "recordSchema": "dc"}).content)
    packed = transform("sru", Client().get("/sru", {"query": "dc.creator = 韩世远", "recordPacking": "string"}).content)

    assert text(dc.xpath("//article/h3")[0]) == "合同法总论"
    assert "韩世远" in text(dc.xpath("//article")[0])
    assert "http://127.0.0.1:8000/books/" in "".join(dc.xpath("//article//a/@href"))
    assert "recordPacking=string" in text(packed)
    assert "韩世远" in text(packed.xpath("//pre[@class='record']")[0])


def test_a_diagnostic_as_a_page_says_what_is_wrong_in_chinese_and_english(catalogue):
    page = transform("sru", Client().get("/sru", {"query": "dc.title = 民法", "startRecord": "0"}).content)

    alert = text(page.xpath("//div[@class='diagnostic']")[0])
    assert "诊断 Diagnostic 6" in alert and "参数值不受支持" in alert and "Unsupported parameter value" in alert
    assert "startRecord" in alert


def test_oai_answers_as_pages(catalogue, settings):
    settings.OAI_PAGE_SIZE = 2
    identify = transform("oai", Client().get("/oai", {"verb": "Identify"}).content)
    sets = transform("oai", Client().get("/oai", {"verb": "ListSets"}).content)
    first = Client().get("/oai", {"verb": "ListRecords", "metadataPrefix": "marcxml"}).content
    records = transform("oai", first)
    error = transform("oai", Client().get("/oai", {"verb": "ListRecords", "metadataPrefix": "mods"}).content)

    assert "library@localhost" in text(identify.xpath("//table[@id='identify']")[0])
    assert [text(r.xpath("td")[0]) for r in sets.xpath("//table[@id='sets']/tbody/tr")] == [s for s, _n in oai.sets()]
    assert [text(h) for h in records.xpath("//article/h3")] == ["民法典评注 : 物权编", "合同法总论"]
    assert "共 4 条" in text(records.xpath("//p[@id='resumption']")[0])
    token = etree.fromstring(first).findtext(".//oai:resumptionToken", namespaces=SRW)
    [href] = records.xpath("//a[@id='next-page']/@href")
    assert href == f"oai?verb=ListRecords&resumptionToken={token}"
    following = Client().get("/oai", {"verb": "ListRecords", "resumptionToken": token})
    assert len(xml(following).findall(".//oai:record", SRW)) == 2
    assert "cannotDisseminateFormat" in text(error) and "不提供这种元数据格式" in text(error)


def test_the_opendata_page_explains_the_interfaces_with_examples_that_work(catalogue):
    response = Client().get("/opendata")

    assert response.status_code == 200
    page = html.fromstring(response.content)
    assert [text(r.xpath("td")[0]) for r in page.xpath("//table[@id='cql-indexes']/tbody/tr")] == [
        f"{s}.{n}" for s, n, _t in cat.EXPLAINED_INDEXES]
    assert [text(r.xpath("td")[0]) for r in page.xpath("//table[@id='oai-sets']/tbody/tr")] == [
        s for s, _n in oai.sets()]
    examples = [a.get("href") for a in page.xpath("//main//a[starts-with(@href, 'http://127.0.0.1:8000/')]")]
    assert len(examples) == 9
    for example in examples:
        answer = Client().get(example.removeprefix("http://127.0.0.1:8000"))
        root = xml(answer)
        assert root.find(".//diag:diagnostic", SRW) is None and root.find("oai:error", SRW) is None, example
        assert SECRET not in answer.content.decode()
    assert "library@localhost" in text(page)


def test_every_page_links_to_opendata_in_its_footer(catalogue):
    page = html.fromstring(Client().get("/").content)

    assert page.xpath("//footer//a[@href='/opendata']")


def test_the_stylesheets_are_well_formed_xslt_1():
    for name in ("common", "sru", "oai"):
        tree = etree.parse(str(Path(finders.find(f"interop/{name}.xsl"))))
        assert tree.getroot().get("version") == "1.0"


def test_the_opendata_page_in_english(catalogue):
    page = Client().get("/opendata", headers={"Accept-Language": "en"}).content.decode()

    assert "<h1>Open data</h1>" in page and "Subjects, keywords, CLC class" in page
    assert "Records changed in the last 30 days, MARCXML: " in page
    assert not any(mark in page for mark in "（）：、；。")
