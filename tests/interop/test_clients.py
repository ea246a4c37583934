"""Existing clients against a live server: sickle harvests /oai across resumption pages, sruthi reads /sru's
explain and pages through a search, and pymarc reads the MARCXML records back."""

import io

import pymarc
import pytest
import requests
import sruthi
from lxml import etree
from sickle import Sickle

from library.models import Book, Paper
from library.services import book_create, copy_create, paper_create
from search_index import services as search
from tests.interop.conftest import SECRET, SRW, build_catalogue
from tests.live import assert_clean_log, start_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(tmp_path):
    build_catalogue()
    for i in range(1, 8):
        book = book_create(title=f"民法学习丛书 第{i}卷", contributors=["编委会"], year=2010 + i)
        copy_create(book=book, barcode=f"S{i}")
    for i in range(1, 4):
        paper_create(title=f"公开成果 {i}", visibility=Paper.Visibility.PUBLIC, kind="case_study", year=2022)
    search.index_rebuild()  # the server reads the index of the test's SEARCH_INDEX_DIR (tmp_path / "index")
    with start_server(tmp_path, workers=2, env={"OAI_PAGE_SIZE": "4", "INTEROP_RATE": "0",
                                                "SITE_URL": "http://127.0.0.1"}) as (base, log):
        yield base, log


def test_sickle_harvests_every_public_record_across_pages(live):
    base, log = live
    expected = [f"oai:127.0.0.1:book/{pk}" for pk in Book.objects.order_by("pk").values_list("pk", flat=True)]
    expected += [f"oai:127.0.0.1:paper/{pk}" for pk in
                 Paper.objects.filter(visibility="public").order_by("pk").values_list("pk", flat=True)]
    assert len(expected) == 14  # four pages of four

    records = list(Sickle(f"{base}/oai").ListRecords(metadataPrefix="oai_dc"))
    headers = list(Sickle(f"{base}/oai").ListIdentifiers(metadataPrefix="marcxml", set="paper:case_study"))
    # OAI-PMH's POST binding (form-encoded arguments, no CSRF token), resumption tokens included.
    posted = list(Sickle(f"{base}/oai", http_method="POST").ListIdentifiers(metadataPrefix="oai_dc"))

    assert [r.header.identifier for r in records] == expected
    assert [h.identifier for h in posted] == expected
    assert all(SECRET not in r.raw for r in records)
    assert records[0].metadata["title"] == ["民法典评注 : 物权编"]
    assert len(headers) == 3
    assert_clean_log(log)


def test_sruthi_explains_and_pages_through_a_search_and_pymarc_reads_the_records(live):
    base, log = live

    info = sruthi.explain(f"{base}/sru")
    found = sruthi.searchretrieve(f"{base}/sru", query='dc.title = "民法学习丛书"', maximum_records=3,
                                  record_schema="info:srw/schema/1/marcxml-v1.1")
    records = list(found)

    assert info.database["title"] == "法官书苑"
    assert info.config["maximumRecords"] == 50
    assert found.count == 7
    assert len(records) == 7  # three pages of at most three
    page = requests.get(f"{base}/sru", params={"query": 'dc.title = "民法学习丛书"', "maximumRecords": 10},
                        timeout=60)
    datas = etree.fromstring(page.content).iterfind(".//srw:recordData/marc:record", SRW)
    marc = pymarc.parse_xml_to_array(io.BytesIO(b"<collection xmlns='http://www.loc.gov/MARC21/slim'>"
                                                + b"".join(etree.tostring(d) for d in datas) + b"</collection>"))
    assert sorted(r["245"]["a"] for r in marc) == sorted(f"民法学习丛书 第{i}卷" for i in range(1, 8))
    assert {r["852"]["b"] for r in marc} == {"院本部"}
    anywhere = sruthi.searchretrieve(f"{base}/sru", query="民法典", record_schema="dc")
    assert anywhere.count == 2
    # SRU 1.2's POST binding answers as GET does, without a CSRF token.
    params = {"operation": "searchRetrieve", "version": "1.2", "query": 'dc.title = "民法学习丛书"',
              "maximumRecords": "10"}
    posted = requests.post(f"{base}/sru", data=params, timeout=60)
    assert posted.status_code == 200
    assert posted.content == requests.get(f"{base}/sru", params=params, timeout=60).content
    assert_clean_log(log)
