"""Bounded work per search: limits on the query's shape, a time budget, per-client rates, and did-you-mean
drawn only from records the caller may see."""

from unittest import mock

import pytest
from whoosh.searching import Searcher

from search_index import searcher
from search_index.services import Filters

pytestmark = pytest.mark.django_db

PUBLIC = Filters()


def _refused(response, limit: int) -> str:
    body = response.json()
    assert response.status_code == 400, body
    assert (body["code"], body["field"], body["limit"]) == ("bad_request", "q", limit)
    assert body["detail"].startswith("q：")
    return body["detail"]


def test_deep_nesting_is_a_400_naming_q_and_the_limit(catalog, anon_api):
    """400 with the nesting limit, not the parser's RecursionError text (or a 500)."""
    deep = "(" * 495 + "担保 物权" + ")" * 495

    detail = _refused(anon_api.get("/api/v1/search", {"q": deep}), searcher.MAX_NESTING)

    assert detail == "q：括号嵌套过深，最多 8 层"


def test_a_limit_is_explained_in_english_with_accept_language_en(catalog, anon_api):
    deep = "(" * 495 + "担保 物权" + ")" * 495

    response = anon_api.get("/api/v1/search", {"q": deep}, headers={"Accept-Language": "en"})

    assert (response.status_code, response.json()) == (400, {"detail": "q: brackets nested deeper than 8 levels",
                                                              "code": "bad_request", "field": "q", "limit": 8})


def test_nesting_at_the_limit_is_searched(catalog, anon_api):
    at_limit = "(" * searcher.MAX_NESTING + "担保" + ")" * searcher.MAX_NESTING

    response = anon_api.get("/api/v1/search", {"q": at_limit})

    assert (response.status_code, response.json()["count"]) == (200, 4)


def test_a_300_word_phrase_is_a_400(catalog, anon_api):
    phrase = '"' + " ".join(["担保"] * 300) + '"'

    detail = _refused(anon_api.get("/api/v1/search", {"q": phrase}), searcher.MAX_PHRASE_WORDS)

    assert detail == "q：引号内短语过长，最多 12 个词"


def test_a_phrase_at_the_limit_is_searched_one_word_more_is_not(catalog, anon_api):
    words = ["担保", "物权", "实现", "程序"] * 4
    at_limit = '"' + " ".join(words[: searcher.MAX_PHRASE_WORDS]) + '"'
    over = '"' + " ".join(words[: searcher.MAX_PHRASE_WORDS + 1]) + '"'

    assert anon_api.get("/api/v1/search", {"q": at_limit}).status_code == 200
    _refused(anon_api.get("/api/v1/search", {"q": over}), searcher.MAX_PHRASE_WORDS)


def test_more_words_than_the_limit_is_a_400_operators_and_prefixes_do_not_count(catalog, anon_api):
    words = [f"w{i}" for i in range(searcher.MAX_QUERY_WORDS)]
    at_limit = "title:" + " AND ".join(words)

    assert anon_api.get("/api/v1/search", {"q": at_limit}).status_code == 200
    detail = _refused(anon_api.get("/api/v1/search", {"q": at_limit + " extra"}), searcher.MAX_QUERY_WORDS)
    assert detail == "q：检索词过多，最多 32 个词"


def test_a_han_run_counts_its_words(catalog):
    """One unbroken run of Chinese is many words to the engine, and is counted so."""
    run = "担保物权实现程序问题研究" * 9  # four words each time

    with pytest.raises(searcher.QueryTooComplex) as refused:
        searcher.search(run, filters=PUBLIC)

    assert refused.value.limit == searcher.MAX_QUERY_WORDS


def test_wildcards_expand_to_nothing(catalog):
    """There is no wildcard syntax: ``dan*`` and ``dan?`` search the word dan, never the terms it starts."""
    parsed = searcher.parse("dan* wu?", searcher._searcher().schema, fields=["body"])

    assert parsed == searcher.parse("dan wu", searcher._searcher().schema, fields=["body"])


def test_did_you_mean_expands_at_most_the_capped_number_of_words(catalog):
    """Each misspelled word costs a walk of the term dictionary: only MAX_SUGGEST_WORDS of them are tried."""
    misspelled = " ".join(["danbaa", "wuquen", "xingfe", "zhangmingkaa", "judgmant", "enforcemant"] * 2)

    with mock.patch.object(Searcher, "suggest", autospec=True, side_effect=Searcher.suggest) as suggest:
        result = searcher.search(misspelled, filters=PUBLIC)

    words = {call.args[2] for call in suggest.call_args_list}
    assert len(words) == searcher.MAX_SUGGEST_WORDS
    assert result.suggestion.split()[:2] == ["danbao", "wuquan"]


def test_a_search_past_its_time_budget_is_a_503_with_retry_after(catalog, anon_api, settings):
    settings.SEARCH_TIME_LIMIT = 0

    response = anon_api.get("/api/v1/search", {"q": "担保物权"})

    assert (response.status_code, response["Retry-After"]) == (503, "10")
    assert response.json() == {"detail": "检索超时（0 秒）：系统繁忙或查询过于复杂，请稍后再试或简化查询",
                               "code": "unavailable"}


# --- rate limits ------------------------------------------------------------------------------------------


def test_anonymous_search_is_limited_per_address(catalog, anon_api, settings):
    settings.SEARCH_RATE_ANONYMOUS = 3

    statuses = [anon_api.get("/api/v1/search", {"q": "担保"}).status_code for _ in range(4)]
    refused = anon_api.get("/api/v1/search", {"q": "担保"})

    assert statuses == [200, 200, 200, 429]
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 61


def test_the_forwarded_address_counts_only_behind_a_trusted_proxy(catalog, anon_api, settings):
    settings.SEARCH_RATE_ANONYMOUS = 1
    settings.TRUSTED_PROXY_COUNT = 0

    first = anon_api.get("/api/v1/search", {"q": "担保"}, headers={"X-Forwarded-For": "198.51.100.1"})
    spoofed = anon_api.get("/api/v1/search", {"q": "担保"}, headers={"X-Forwarded-For": "198.51.100.2"})
    settings.TRUSTED_PROXY_COUNT = 1
    other_client = anon_api.get("/api/v1/search", {"q": "担保"}, headers={"X-Forwarded-For": "198.51.100.3"})

    assert (first.status_code, spoofed.status_code, other_client.status_code) == (200, 429, 200)


def test_logged_in_users_have_their_own_higher_limit(catalog, anon_api, judge_api, settings):
    settings.SEARCH_RATE_ANONYMOUS = 1
    settings.SEARCH_RATE_USER = 3

    anonymous = [anon_api.get("/api/v1/search", {"q": "担保"}).status_code for _ in range(2)]
    judge = [judge_api.get("/api/v1/search", {"q": "担保"}).status_code for _ in range(4)]

    assert (anonymous, judge) == ([200, 429], [200, 200, 200, 429])


# --- did-you-mean and visibility -------------------------------------------------------------------------


def test_did_you_mean_never_names_a_word_only_internal_papers_hold(catalog, anon_api, librarian_api):
    """zhixingnan (执行难) is only in an internal paper's title: anonymous readers get no suggestion, a librarian does."""
    anonymous = anon_api.get("/api/v1/search", {"q": "zhixingnam"}).json()
    librarian = librarian_api.get("/api/v1/search", {"q": "zhixingnam"}).json()

    assert (anonymous["count"], anonymous["suggestion"]) == (0, None)
    assert librarian["suggestion"] == "zhixingnan"


def test_did_you_mean_keeps_a_public_correction_for_anonymous_readers(catalog, anon_api):
    body = anon_api.get("/api/v1/search", {"q": "danbaa"}).json()

    assert body["suggestion"] == "danbao"
