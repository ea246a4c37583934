"""A server that answers with far more records than it was asked for yields one page of candidates (the attack
of issue 18: 15,843 small records under the size cap took a web worker past its timeout)."""

import pytest

from library import copycat, sru
from tests.library.sru_server import SRW, marc21_record, search_response, sru_server  # noqa: F401 - a fixture

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


@pytest.mark.parametrize(("total", "following", "position"), [
    ("1", "²", "²"),  # digits to str.isdigit, not to int()
    ("1", "9" * 5000, "9" * 5000),  # past Python's limit for converting digits
    ("1", "-3", "-1"),
])
def test_odd_positions_in_an_answer_are_ignored_not_a_500(sru_server, total, following, position):  # noqa: F811
    """recordPosition and nextRecordPosition that are no whole number (attack round 18b: "²" or 5,000 digits
    made int() raise, a 500 on the librarian's search): the record keeps its place in the page."""
    record = marc21_record(title="怪书", control="Q1")
    sru_server.answer('dc.title all "怪书"', (
        f'<?xml version="1.0"?><searchRetrieveResponse xmlns="{SRW}"><version>1.2</version>'
        f"<numberOfRecords>{total}</numberOfRecords><records><record><recordSchema>marcxml</recordSchema>"
        f"<recordPacking>xml</recordPacking><recordData>{record}</recordData>"
        f"<recordPosition>{position}</recordPosition></record></records>"
        f"<nextRecordPosition>{following}</nextRecordPosition></searchRetrieveResponse>"))
    target = copycat.sru_target_create(name="怪图书馆", base_url=sru_server.url, internal_network=True)

    answer = sru.search(target, by="title", term="怪书")
    page = copycat.copycat_search(target=target, by="title", term="怪书")

    assert answer.next_position is None
    assert [r.position for r in answer.records] == [1]
    assert page.total == 1
    assert [c.control_number for c in page.candidates] == ["Q1"]


@pytest.mark.parametrize("total", ["²", "9" * 5000, "-5", ""])
def test_a_count_that_is_no_whole_number_is_a_plain_error(sru_server, total):  # noqa: F811
    sru_server.answer('dc.title all "怪书"', (
        f'<?xml version="1.0"?><searchRetrieveResponse xmlns="{SRW}"><version>1.2</version>'
        f"<numberOfRecords>{total}</numberOfRecords></searchRetrieveResponse>"))
    target = copycat.sru_target_create(name="怪图书馆", base_url=sru_server.url, internal_network=True)

    with pytest.raises(sru.SruError) as raised:
        copycat.copycat_search(target=target, by="title", term="怪书")

    assert raised.value.code == "sru_not_sru"
