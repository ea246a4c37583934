"""A small catalogue for the outside interfaces: books with copies at two locations, public and internal papers."""

import pytest
from lxml import etree

from library.models import Copy
from library.services import book_create, copy_create, paper_create
from search_index import services as search

SRW = {"srw": "http://www.loc.gov/zing/srw/", "diag": "http://www.loc.gov/zing/srw/diagnostic/",
       "marc": "http://www.loc.gov/MARC21/slim", "dc": "http://purl.org/dc/elements/1.1/",
       "oai": "http://www.openarchives.org/OAI/2.0/", "zr": "http://explain.z3950.org/dtd/2.0/",
       "sru2": "http://docs.oasis-open.org/ns/search-ws/sruResponse",
       "diag2": "http://docs.oasis-open.org/ns/search-ws/diagnostic"}
#: The internal paper's title: it must never be in any answer.
SECRET = "执行难问题内部调研"


def xml(response) -> etree._Element:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    return etree.fromstring(response.content)


def build_catalogue() -> dict:
    civil = book_create(title="民法典评注", subtitle="物权编", contributors=["王利明", "李四"],
                        publisher="法律出版社", year=2020,
                        clc="D923", subjects=["民法", "物权"], summary="民法典物权编逐条评注")
    copy_create(book=civil, barcode="C1")
    copy_create(book=civil, barcode="C2", location="棋盘井法庭")
    copy_create(book=civil, barcode="C3", status=Copy.Status.LOST)
    contract = book_create(title="合同法总论", contributors=["韩世远"], isbn="7-301-04815-7", year=2018,
                           subjects=["合同法"], publisher="法律出版社")
    copy_create(book=contract, barcode="K1")
    law = book_create(title="The Concept of Law", contributors=["H. L. A. Hart"], year=2012, language="en",
                      subjects=["Jurisprudence"])
    public = paper_create(title="民法典适用中的物权问题", authors=["张法官"], keywords=["物权", "民法典"],
                          year=2023, kind="article", visibility="public", abstract="公开的调研成果")
    secret = paper_create(title=SECRET, authors=["王利明"], keywords=["民法", "物权"], year=2023,
                          kind="article", visibility="internal", abstract="民法典 物权 院内")
    return {"civil": civil, "contract": contract, "law": law, "public": public, "secret": secret}


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    """Many requests from one address; the rate limit has tests of its own (they set INTEROP_RATE)."""
    settings.INTEROP_RATE = 0


@pytest.fixture
def catalogue(db):
    made = build_catalogue()
    search.index_rebuild()
    return made
