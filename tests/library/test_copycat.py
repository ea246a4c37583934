"""Copy cataloguing over SRU (library/sru.py, library/copycat.py) against a local SRU server the tests start
(tests/library/sru_server.py): the CQL the server receives, candidates read from real and built responses,
importing one record, the local match, and every way the other library's server can fail."""

import re

import pytest
from django.core.exceptions import ValidationError

from core.errors import InvalidInput
from library import copycat, sru
from library.models import Book, SruTarget
from library.services import book_create
from library.sru import SruError
from tests.library.sru_server import (
    EXPLAIN,
    dc_record,
    diagnostic_response,
    marc21_record,
    search_response,
)
from tests.realdata import shared

pytestmark = pytest.mark.django_db

ISBN_QUERY = 'bath.isbn = "7-5037-1744-0"'


def make_target(server, **fields) -> SruTarget:
    return copycat.sru_target_create(**{"name": "测试图书馆", "base_url": server.url, "internal_network": True,
                                        **fields})


def three_records() -> str:
    return search_response([
        marc21_record(title="民法总论", subtitle="第二版", isbn="9787301048153", author="王泽鉴", publisher="北京大学出版社",
                      year=2009, control="LC001"),
        marc21_record(title="债法原理", isbn="9787301048160", author="王泽鉴", publisher="北京大学出版社", year=2013,
                      control="LC002"),
        marc21_record(title="物权", author="王泽鉴", year=2010, control="LC003"),
    ], total=23)


# --- the query the other library receives --------------------------------------------------------------------


@pytest.mark.parametrize(("by", "term", "query"), [
    ("isbn", "7-5037-1744-0", 'bath.isbn = "7-5037-1744-0"'),
    ("isbn", " 978 7 301 ", 'bath.isbn = "9787301"'),
    ("title", "中国  发展报告", 'dc.title all "中国 发展报告"'),
    ("author", '王"泽鉴*', 'dc.creator all "王\\"泽鉴\\*"'),
])
def test_search_sends_the_cql_of_the_chosen_index(sru_server, by, term, query):
    target = make_target(sru_server)

    copycat.copycat_search(target=target, by=by, term=term)

    assert sru_server.queries() == [query]
    seen = sru_server.requests[0]
    assert {k: seen[k] for k in ("operation", "version", "recordSchema", "recordPacking", "startRecord",
                                 "maximumRecords")} == {
        "operation": "searchRetrieve", "version": "1.2", "recordSchema": "marcxml", "recordPacking": "xml",
        "startRecord": "1", "maximumRecords": "10"}


def test_a_target_with_local_index_names_and_sru_2_asks_in_its_own_terms(sru_server):
    target = make_target(sru_server, version="2.0", record_schema="cnmarcxml", title_index="title",
                         base_url=sru_server.url + "?x-db=books")

    copycat.copycat_search(target=target, by="title", term="法律", page=3)

    seen = sru_server.requests[0]
    assert seen["query"] == 'title all "法律"'
    assert (seen["x-db"], seen["startRecord"], seen["recordSchema"], seen["recordXMLEscaping"]) == (
        "books", "21", "cnmarcxml", "xml")
    assert "operation" not in seen and "version" not in seen


def test_the_second_page_starts_after_the_first(sru_server, settings):
    settings.SRU_PAGE_SIZE = 5
    target = make_target(sru_server)

    copycat.copycat_search(target=target, by="author", term="王泽鉴", page=2)

    assert (sru_server.requests[0]["startRecord"], sru_server.requests[0]["maximumRecords"]) == ("6", "5")


# --- candidates --------------------------------------------------------------------------------------------------


def test_candidates_carry_the_records_fields(sru_server):
    sru_server.answer('dc.creator all "王泽鉴"', three_records())
    target = make_target(sru_server)

    page = copycat.copycat_search(target=target, by="author", term="王泽鉴")

    assert (page.total, page.pages) == (23, 3)
    assert [(c.position, c.fields["title"], c.fields["subtitle"], c.fields["authors"], c.fields["publisher"],
             c.fields["year"], c.fields["isbn"], c.control_number) for c in page.candidates] == [
        (1, "民法总论", "第二版", "王泽鉴", "北京大学出版社", "2009", "978-7-301-04815-3", "LC001"),
        (2, "债法原理", "", "王泽鉴", "北京大学出版社", "2013", "978-7-301-04816-0", "LC002"),
        (3, "物权", "", "王泽鉴", "", "2010", "", "LC003"),
    ]
    assert all(c.local is None and c.token and len(c.digest) == 16 for c in page.candidates)


def test_records_packed_as_strings_are_read_too(sru_server):
    sru_server.answer('dc.title all "物权"', search_response([marc21_record(title="物权", year=2010)], packing="string"))

    page = copycat.copycat_search(target=make_target(sru_server), by="title", term="物权")

    assert [c.fields["title"] for c in page.candidates] == ["物权"]


def test_the_local_book_is_shown_beside_a_candidate_with_what_differs(sru_server):
    local = book_create(title="民法总论", isbn="9787301048153", publisher="北大出版社", year=2009, contributors=["王泽鉴"])
    sru_server.answer('dc.creator all "王泽鉴"', three_records())

    page = copycat.copycat_search(target=make_target(sru_server), by="author", term="王泽鉴")

    first = page.candidates[0]
    assert first.local == local
    assert first.local_fields["publisher"] == "北大出版社"
    assert first.differences == ["subtitle", "publisher"]
    assert [c.local for c in page.candidates[1:]] == [None, None]


def test_a_record_that_cannot_be_read_is_listed_with_the_reason(sru_server):
    broken = "<record xmlns='http://www.loc.gov/MARC21/slim'><leader>x</leader><datafield tag='2!5'/></record>"
    sru_server.answer('dc.title all "坏"', search_response([broken, marc21_record(title="好书")]))

    page = copycat.copycat_search(target=make_target(sru_server), by="title", term="坏")

    assert page.candidates[0].token == "" and "2!5" in page.candidates[0].problem
    assert page.candidates[1].fields["title"] == "好书"


def test_dublin_core_records_become_candidates(sru_server):
    record = dc_record(title="Zürich : ein Lesebuch", creators=["叶震 主编"], publisher="北京 : 中国统计出版社",
                       date="[2007?]", identifiers=["990002180740203961", "URN:ISBN:978-3-259-00518-7"])
    sru_server.answer('dc.title all "Zürich"', search_response([record], schema="dc"))

    page = copycat.copycat_search(target=make_target(sru_server, record_schema="dc"), by="title", term="Zürich")

    fields = page.candidates[0].fields
    assert (fields["title"], fields["subtitle"], fields["authors"], fields["publisher"], fields["year"],
            fields["isbn"]) == ("Zürich", "ein Lesebuch", "叶震", "中国统计出版社", "2007", "978-3-259-00518-7")


def test_a_dublin_core_identifier_is_the_isbn_by_the_imports_rule(sru_server):
    """The first identifier shaped like an ISBN (validators.isbn_token, as MARC's 020): a qualifier after it is
    no reason to miss it, a system number is no ISBN."""
    record = dc_record(title="民法总论", identifiers=["(aleph)000095383BNU03", "990002180740203961",
                                                    "ISBN 7-301-04815-7 (pbk.)"])
    sru_server.answer('dc.title all "民法总论"', search_response([record], schema="dc"))

    page = copycat.copycat_search(target=make_target(sru_server, record_schema="dc"), by="title", term="民法总论")

    assert page.candidates[0].fields["isbn"] == "978-7-301-04815-3"


@pytest.mark.parametrize("schema", ["marcxml", "dc"])
def test_a_wrong_check_digit_is_reported_alike_from_marc_and_dublin_core(sru_server, schema):
    """Reported, not dropped (docs/design.md, Catalog): listed with the reason and no token to import it."""
    record = (marc21_record(title="民法总论", isbn="7-301-04815-0 (pbk.)") if schema == "marcxml"
              else dc_record(title="民法总论", identifiers=["ISBN 7-301-04815-0 (pbk.)"]))
    sru_server.answer('dc.title all "民法总论"', search_response([record], schema=schema))
    target = make_target(sru_server, record_schema=schema)

    candidate = copycat.copycat_search(target=target, by="title", term="民法总论").candidates[0]
    imported = copycat.copycat_import(target=target, token=copycat.sign_record(target, record.encode()))

    assert (candidate.problem, candidate.token) == ("ISBN 校验位错误：7-301-04815-0", "")
    assert (imported.outcome, imported.reason, Book.objects.count()) == (
        "failed", "ISBN 校验位错误：7-301-04815-0", 0)


@pytest.mark.parametrize(("name", "schema", "first_title"), [
    ("dp2/sample_cnmarcxml.xml", "cnmarcxml", "'94中国发展报告"),
    ("dp2/sample_unimarcxml.xml", "unimarcxml", None),
    ("dp2/sample_marcxml.xml", "marcxml", None),
    ("dp2/sample_dc.xml", "dc", "'94中国发展报告"),
])
def test_real_sru_responses_give_ten_readable_candidates(sru_server, name, schema, first_title):
    data = shared(name).read_bytes()
    sru_server.answer(ISBN_QUERY, data)

    page = copycat.copycat_search(target=make_target(sru_server, record_schema=schema), by="isbn",
                                  term="7-5037-1744-0")

    assert page.total == int(re.search(rb"<numberOfRecords>(\d+)<", data).group(1))
    assert [c.position for c in page.candidates] == list(range(1, 11))
    assert [c.problem for c in page.candidates] == [""] * 10
    assert all(c.fields["title"] for c in page.candidates)
    if first_title:
        assert page.candidates[0].fields["title"] == first_title


def test_a_real_cnmarc_record_imports_with_its_fields(sru_server):
    sru_server.answer(ISBN_QUERY, shared("dp2/sample_cnmarcxml.xml").read_bytes())
    target = make_target(sru_server, record_schema="cnmarcxml")
    candidate = copycat.copycat_search(target=target, by="isbn", term="7-5037-1744-0").candidates[0]

    result = copycat.copycat_import(target=target, token=candidate.token)

    assert result.outcome == "created"
    book = result.book
    assert (book.title, book.publisher, book.year, book.isbn) == ("'94中国发展报告", "中国统计出版社", 1994, "9787503717444")
    assert book.copies.count() == 0 and book.call_number == ""


# --- importing ---------------------------------------------------------------------------------------------------


def test_import_creates_the_book_and_importing_again_leaves_it(sru_server):
    sru_server.answer('dc.creator all "王泽鉴"', three_records())
    target = make_target(sru_server)
    candidate = copycat.copycat_search(target=target, by="author", term="王泽鉴").candidates[0]

    first = copycat.copycat_import(target=target, token=candidate.token)
    again = copycat.copycat_import(target=target, token=candidate.token)

    book = Book.objects.get()
    assert (first.outcome, first.book) == ("created", book)
    assert (book.title, book.subtitle, book.isbn, book.publisher, book.year) == (
        "民法总论", "第二版", "9787301048153", "北京大学出版社", 2009)
    assert list(book.contributors.values_list("name", flat=True)) == ["王泽鉴"]
    assert (again.outcome, again.book) == ("unchanged", book)
    # After the import the search shows the record beside the book it became.
    shown = copycat.copycat_search(target=target, by="author", term="王泽鉴").candidates[0]
    assert (shown.local, shown.differences) == (book, [])


def test_holdings_and_call_numbers_of_the_other_library_are_not_copied(sru_server):
    record = marc21_record(title="行政法", year=2001).replace(
        "</record>", '<datafield tag="852" ind1=" " ind2=" "><subfield code="b">他馆</subfield>'
                     '<subfield code="p">T0001</subfield></datafield>'
                     '<datafield tag="090" ind1=" " ind2=" "><subfield code="a">D912.1</subfield></datafield></record>')
    sru_server.answer('dc.title all "行政法"', search_response([record]))
    target = make_target(sru_server)
    candidate = copycat.copycat_search(target=target, by="title", term="行政法").candidates[0]

    result = copycat.copycat_import(target=target, token=candidate.token)

    assert result.book.copies.count() == 0
    assert result.book.call_number == ""


def test_a_token_is_refused_when_tampered_or_for_another_target(sru_server):
    sru_server.answer('dc.title all "物权"', search_response([marc21_record(title="物权", year=2010)]))
    target = make_target(sru_server)
    other = make_target(sru_server, name="另一馆")
    token = copycat.copycat_search(target=target, by="title", term="物权").candidates[0].token

    with pytest.raises(InvalidInput) as tampered:
        copycat.copycat_import(target=target, token=token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(InvalidInput) as elsewhere:
        copycat.copycat_import(target=other, token=token)

    assert (tampered.value.field, tampered.value.code) == ("token", "bad_signature")
    assert (elsewhere.value.field, elsewhere.value.code) == ("token", "bad_signature")
    assert Book.objects.count() == 0


# --- failures in plain words -------------------------------------------------------------------------------------


def test_zero_hits_is_an_empty_page(sru_server):
    page = copycat.copycat_search(target=make_target(sru_server), by="isbn", term="9780000000002")

    assert (page.total, page.candidates) == (0, [])


@pytest.mark.parametrize("sru2", [False, True])
def test_a_diagnostic_is_told_in_plain_words(sru_server, sru2):
    sru_server.answer('dc.title all "x"', diagnostic_response(16, "dc.title", "Unsupported index", sru2=sru2))

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=make_target(sru_server), by="title", term="x")

    assert refused.value.code == "sru_diagnostic"
    assert refused.value.detail == ("测试图书馆：对方服务器不支持所用的检索点（请在检索目标中改用它的检索点名称）"
                                    " [info:srw/diagnostic/1/16]（Unsupported index；dc.title）")


def test_a_slow_server_times_out(sru_server, settings):
    settings.SRU_READ_TIMEOUT = 0.5
    sru_server.answer('dc.title all "慢"', search_response([]), delay=3)

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=make_target(sru_server), by="title", term="慢")

    assert refused.value.code == "sru_timeout"
    assert refused.value.detail == "测试图书馆 没有及时回答（超时），请稍后再试"


@pytest.mark.parametrize("with_length", [True, False])
def test_an_oversized_answer_is_refused(sru_server, settings, with_length):
    settings.SRU_MAX_RESPONSE = 100_000
    huge = search_response([marc21_record(title="大" * 400)] * 200)
    assert len(huge.encode()) > 200_000
    sru_server.answer('dc.title all "大"', huge, with_length=with_length)

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=make_target(sru_server), by="title", term="大")

    assert refused.value.code == "sru_too_large"


def test_an_http_error_and_a_page_that_is_not_sru_are_told(sru_server):
    sru_server.answer('dc.title all "a"', "<html><body>Not here</body></html>", status=404)
    sru_server.answer('dc.title all "b"', "<html><body>Hello</body></html>")
    sru_server.answer('dc.title all "c"', "no xml at all")
    target = make_target(sru_server)

    codes = []
    for term in "abc":
        with pytest.raises(SruError) as refused:
            copycat.copycat_search(target=target, by="title", term=term)
        codes.append(refused.value.code)

    assert codes == ["sru_http", "sru_not_sru", "sru_not_xml"]


def test_a_server_that_is_not_there_is_unreachable(settings):
    settings.SRU_INTERNAL_HOSTS = ["127.0.0.1:9"]
    target = SruTarget.objects.create(name="关闭的", base_url="http://127.0.0.1:9/sru", internal_network=True)

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=target, by="title", term="x")

    assert refused.value.code == "sru_unreachable"


# --- SSRF --------------------------------------------------------------------------------------------------------


def test_a_private_address_is_refused_unless_the_target_is_on_the_court_network(sru_server):
    with pytest.raises(ValidationError) as not_saved:
        make_target(sru_server, internal_network=False)
    target = SruTarget.objects.create(name="外网目标", base_url=sru_server.url)  # as if saved before the rule

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=target, by="title", term="x")

    assert list(not_saved.value.message_dict) == ["base_url"]
    assert refused.value.code == "sru_refused"
    assert sru_server.requests == []


def test_with_any_host_allowed_only_a_target_on_the_court_network_reaches_a_private_address(sru_server, settings):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    sru_server.answer('dc.title all "内网"', search_response([marc21_record(title="内网的书")]))
    inside = make_target(sru_server)
    outside = SruTarget.objects.create(name="外网目标", base_url=sru_server.url)  # as if saved before the rule

    page = copycat.copycat_search(target=inside, by="title", term="内网")
    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=outside, by="title", term="内网")

    assert [c.fields["title"] for c in page.candidates] == ["内网的书"]
    assert refused.value.code == "sru_refused"
    assert len(sru_server.requests) == 1


def test_a_redirect_from_a_trusted_server_to_another_internal_host_is_refused(sru_server, settings):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    sru_server.answer('dc.title all "x"', "", status=302, location="http://localhost:1/admin")

    with pytest.raises(SruError) as refused:
        copycat.copycat_search(target=make_target(sru_server), by="title", term="x")

    assert refused.value.code == "sru_refused"


def test_a_redirect_to_a_host_not_allowed_is_not_followed(sru_server):
    sru_server.answer('dc.title all "x"', "", status=302, location="http://169.254.169.254/latest/meta-data")
    sru_server.answer('dc.title all "y"', "", status=302, location="file:///etc/passwd")
    target = make_target(sru_server)

    for term in "xy":
        with pytest.raises(SruError) as refused:
            copycat.copycat_search(target=target, by="title", term=term)
        assert refused.value.code == "sru_refused"


def test_a_redirect_within_the_server_is_followed(sru_server):
    sru_server.answer('dc.title all "x"', "", status=302, location=sru_server.url + "?query=moved")
    sru_server.answer("moved", search_response([marc21_record(title="搬家了")]))

    page = copycat.copycat_search(target=make_target(sru_server), by="title", term="x")

    assert [c.fields["title"] for c in page.candidates] == ["搬家了"]


@pytest.mark.parametrize(("url", "internal"), [
    ("ftp://127.0.0.1/sru", True),
    ("http://user:pw@127.0.0.1/sru", True),
    ("http://lx2.loc.gov:210/LCDB", False),  # not among the tests' allowed hosts
    ("javascript:alert(1)", False),
])
def test_a_target_address_that_may_not_be_called_is_refused_when_saved(url, internal):
    with pytest.raises(ValidationError) as refused:
        copycat.sru_target_create(name="坏地址", base_url=url, internal_network=internal)

    assert list(refused.value.message_dict) == ["base_url"]


def test_with_any_host_allowed_an_internal_literal_address_needs_the_flag_and_the_listing(settings):
    settings.SRU_ALLOWED_HOSTS = ["*"]
    settings.SRU_INTERNAL_HOSTS = ["10.1.2.3:8080"]  # another port of the same host: not this target

    with pytest.raises(ValidationError) as unmarked:
        copycat.sru_target_create(name="内网", base_url="http://10.1.2.3/sru")
    with pytest.raises(ValidationError) as unlisted:
        copycat.sru_target_create(name="内网", base_url="http://10.1.2.3/sru", internal_network=True)
    settings.SRU_INTERNAL_HOSTS = ["10.1.2.3:80"]
    target = copycat.sru_target_create(name="内网", base_url="http://10.1.2.3/sru", internal_network=True)

    assert list(unmarked.value.message_dict) == ["base_url"]
    assert unlisted.value.message_dict["internal_network"] == [
        "10.1.2.3:80 不在设置 SRU_INTERNAL_HOSTS 中：只有列在其中的内网服务器（主机:端口）才能标为“位于法院内网”，"
        "请系统管理员核实后添加"]
    assert target.base_url == "http://10.1.2.3/sru"


def test_an_index_name_cannot_carry_cql():
    with pytest.raises(ValidationError) as refused:
        copycat.sru_target_create(name="注入", base_url="http://localhost/sru", title_index='dc.title="x" or 1')

    assert list(refused.value.message_dict) == ["title_index"]


def test_explain_reads_the_database_title_and_indexes(sru_server):
    sru_server.answer("explain", EXPLAIN)

    assert sru.explain(make_target(sru_server)) == {"title": "测试图书馆目录", "indexes": ["bath.isbn", "dc.title"]}
    assert sru_server.requests[0]["operation"] == "explain"


@pytest.mark.parametrize(("name", "title", "count", "some"), [
    # A Swiss archive's SRU 1.2 server (sruthi's fixture).
    ("sruthi/test_explain.xml", "Testarchiv Online Search", 4, ["isad.title", "isad.reference"]),
    # Ex Libris Alma: index titles in the ZeeRex 2.1 namespace inside a 2.0 explain, no database title.
    ("sruthi/test_explain_with_zr2_namespace.xml", "", 375, ["alma.isbn", "alma.title", "alma.creator"]),
    # The Library of Congress's SRU 2.0 gateway (dp2Catalog's notes): the sruResponse namespace; 16 indexes,
    # one of them (Creator) under two names.
    ("dp2/loc_nlsbph_explain_sru20.xml", "NLSBPH -- National Library Service for the Blind and Physically Handicapped",
     17, ["bath.isbn", "dc.title", "dc.creator", "dc.author"]),
])
def test_real_explain_responses_are_read(sru_server, name, title, count, some):
    sru_server.answer("explain", shared(name).read_bytes())

    explained = sru.explain(make_target(sru_server))

    assert explained["title"] == title
    assert len(explained["indexes"]) == count
    assert set(some) <= set(explained["indexes"])


# --- more real answers: the Deutsche Nationalbibliothek and Swiss servers (sruthi's fixtures, MIT) ----------------


def test_a_real_dnb_answer_gives_its_page_and_a_typed_system_number_is_no_isbn(sru_server):
    """The DNB answers oai_dc with identifiers typed by xsi:type.  A ``dnb:IDN`` (1229450084) has an ISBN-10's
    shape and a valid ISBN-10 check digit; read by shape alone it became "ISBN 978-1-229-45008-1"."""
    sru_server.answer('dc.title all "Zürich"', shared("sruthi/test_searchretrieve_sru11.xml").read_bytes())

    page = copycat.copycat_search(target=make_target(sru_server, record_schema="dc"), by="title", term="Zürich")

    assert (page.total, [c.position for c in page.candidates]) == (790, list(range(10, 20)))
    assert [c.problem for c in page.candidates] == [""] * 10
    assert [(c.fields["title"], c.fields["year"], c.fields["isbn"]) for c in page.candidates[:2]] == [
        ("2021,Nr.1", "2021", ""), ("2021,Nr.2", "2021", "")]
    by_title = {c.fields["title"]: c.fields["isbn"] for c in page.candidates}
    assert by_title["Seeuferweg"] == "978-3-85928-111-0"  # tel:ISBN, the price after it left off
    assert by_title["Vom Zürichsee / Peter Angst"] == "978-3-906929-52-1"
    assert sum(bool(isbn) for isbn in by_title.values()) == 4


def test_a_real_dnb_record_imports_with_its_isbn(sru_server):
    sru_server.answer('dc.title all "Moving Art"', shared("sruthi/response_single_sru11.xml").read_bytes())
    target = make_target(sru_server, record_schema="dc")
    (candidate,) = copycat.copycat_search(target=target, by="title", term="Moving Art").candidates

    result = copycat.copycat_import(target=target, token=candidate.token)

    assert result.outcome == "created"
    assert (result.book.title, result.book.isbn, result.book.year) == ("Moving Art", "9783110426298", 2024)


@pytest.mark.parametrize("name", ["sruthi/test_searchretrieve_slice.xml",
                                  # the same answer with the SRU namespace written without its final "/"
                                  "sruthi/test_searchretrieve_warning.xml"])
def test_a_real_swiss_dublin_core_answer_gives_ten_candidates(sru_server, name):
    sru_server.answer('dc.title all "Zürich"', shared(name).read_bytes())

    page = copycat.copycat_search(target=make_target(sru_server, record_schema="dc"), by="title", term="Zürich")

    assert (page.total, [c.position for c in page.candidates]) == (10, list(range(1, 11)))
    assert all(c.fields["title"].startswith("Zürich") and c.token for c in page.candidates)
    assert (page.candidates[5].fields["title"], page.candidates[5].fields["year"],
            page.candidates[5].fields["isbn"]) == ("Zürich Kartenmaterial", "2007", "978-3-259-00518-7")


def test_records_in_another_schema_than_dublin_core_are_listed_as_unreadable(sru_server):
    """The Stadtarchiv Zürich answers ISAD(G) archival records: no Dublin Core element, so no empty candidate
    with a token to import, but each listed with the reason."""
    sru_server.answer('dc.title all "x"', shared("sruthi/test_searchretrieve.xml").read_bytes())

    page = copycat.copycat_search(target=make_target(sru_server, record_schema="dc"), by="title", term="x")

    assert (page.total, len(page.candidates)) == (12, 10)
    assert {(c.problem, c.token) for c in page.candidates} == {
        ("记录不是 Dublin Core 格式（而是 archivaldescription），请在检索目标中选择对方提供的记录格式", "")}
