"""A server that answers with far more records than it was asked for yields one page of candidates (the attack
of issue 18: 15,843 small records under the size cap took a web worker past its timeout)."""

import pytest

from library import copycat
from tests.library.sru_server import marc21_record, search_response, sru_server  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def test_an_answer_with_more_records_than_asked_gives_one_page(sru_server, settings):  # noqa: F811
    settings.SRU_PAGE_SIZE = 10
    flood = search_response([marc21_record(title=f"第{n}本", control=f"F{n}") for n in range(300)], total=300)
    sru_server.answer('dc.title all "书"', flood)
    target = copycat.sru_target_create(name="洪水图书馆", base_url=sru_server.url, internal_network=True)

    page = copycat.copycat_search(target=target, by="title", term="书")

    assert sru_server.requests[-1]["maximumRecords"] == "10"
    assert [c.position for c in page.candidates] == list(range(1, 11))
    assert page.total == 300
