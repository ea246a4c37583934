"""The judged query set (docs/search.md, "Measured quality"): recall@10 and MRR per kind on the fixed corpus of
tests/fixtures/search_judged, asserted exactly, so that any change in ranking or recall fails here and is
recorded with its before and after figures.

After a change that moves them on purpose: ``.venv/bin/python bench/judged_bench.py --write-expected`` rewrites
expected.json (and prints the table and the ablation for the commit message and docs/search.md).
"""

import json
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings

from search_index import evaluation, laws, searcher, services, switches

pytestmark = pytest.mark.django_db

JUDGED = Path(__file__).resolve().parents[1] / "fixtures" / "search_judged"

#: A query each switch is expected to change (the ablation's rows, one query each): turning the part off must
#: move that query's relevant records, or the switch does nothing.
SWITCHED = {
    switches.LAW_NAMES: "la01",  # 民诉法
    switches.CITATIONS: "ci02",  # 民法典第394条
    switches.SUGGESTIONS: "ty03",  # 执型
    switches.PINYIN: "pf01",  # danbao wuquan
    switches.BIGRAMS: "mx02",  # 担保物权 2017
    switches.T2S: "tr03",  # 王澤鑑
    switches.EXACT_TITLE: "lf07",  # 中华人民共和国民法典
    switches.ROMANIZED_NAMES: "a08",  # 高圣平
    switches.DISCIPLINES: "t02",  # 民事诉讼法学
    switches.JOINED_PINYIN: "pf09",  # wang zejian
}


@pytest.fixture(scope="module")
def judged(django_db_setup, django_db_blocker, tmp_path_factory):
    """The corpus built and indexed once for the module (in a transaction rolled back at its end), every query
    judged with everything on and the SWITCHED queries with their part off."""
    index_dir = tmp_path_factory.mktemp("judged_index")
    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
    try:
        with django_db_blocker.unblock(), override_settings(SEARCH_INDEX_DIR=str(index_dir),
                                                           SEARCH_RATE_ANONYMOUS=0, SEARCH_RATE_USER=0):
            searcher.reset()
            laws.forget()
            keys = evaluation.load_corpus(evaluation.read_corpus(JUDGED / "corpus.json"))
            services.index_rebuild()
            queries = evaluation.read_queries(JUDGED / "queries.tsv")
            report = evaluation.evaluate(queries, keys)
            by_id = {q.id: q for q in queries}
            switched = {}
            for name, qid in SWITCHED.items():
                with switches.off(name):
                    switched[name] = evaluation.judged_ranking(by_id[qid], keys)
            offered = evaluation.judged_ranking(
                evaluation.JudgedQuery("offered", "typo", "user", "程肖 刑法学", ("dbwq-cx",)), keys)
            searcher.reset()
        yield {"report": report, "switched": switched, "queries": queries, "offered": offered}
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
        laws.forget()


def test_the_judged_figures_are_exactly_the_expected_ones(judged):
    """Per kind and overall (n, recall@10, MRR to 4 decimals) and every query's ranks of its relevant records
    equal expected.json; the message lists what moved."""
    expected = json.loads((JUDGED / "expected.json").read_text(encoding="utf-8"))
    actual = judged["report"].figures()

    moved = evaluation.changes(expected, actual)
    assert moved == [], (
        "the judged figures changed (run bench/judged_bench.py --write-expected if on purpose, and put the "
        "before/after table in docs/search.md):\n" + "\n".join(moved)
    )


def test_the_set_covers_every_kind_with_at_least_120_queries(judged):
    kinds = {q.kind for q in judged["queries"]}

    assert kinds == set(evaluation.KINDS)
    assert len(judged["queries"]) >= 120
    assert judged["report"].overall["n"] == len(judged["queries"])


@pytest.mark.parametrize("name", sorted(SWITCHED))
def test_each_switch_changes_what_it_names_and_is_on_again_after(judged, name):
    qid = SWITCHED[name]
    full = next(o for o in judged["report"].outcomes if o.query.id == qid)
    without = judged["switched"][name]

    assert (without.ranks(), without.reciprocal_rank) != (full.ranks(), full.reciprocal_rank)
    assert switches.on(name)


def test_a_typo_the_search_corrects_is_judged_on_the_page_shown(judged):
    outcome = next(o for o in judged["report"].outcomes if o.query.id == "ty02")

    assert (outcome.how, outcome.searched) == (evaluation.CORRECTED, "王利明")
    assert outcome.ranks() == [1, 2, 3]


def test_a_suggestion_only_offered_is_judged_one_click_away(judged):
    """程肖 刑法学 finds records holding some of its words and so does its correction: the page answers the words
    as typed and offers 程啸 刑法学; the reader clicks it and 程啸's book is on the page it opens (after the two
    刑法学 books: 刑法学 is searched as 刑法 with 刑法学 preferred)."""
    assert judged["offered"].how == evaluation.CLICKED
    assert judged["offered"].searched == "程啸 刑法学"
    assert judged["offered"].ranks() == [3]


def test_metrics_of_one_outcome():
    query = evaluation.JudgedQuery("x", "title", "user", "q", ("a", "b"))
    outcome = evaluation.Outcome(query, ["c", "b", "d"], "q")

    assert (outcome.found, outcome.recall, outcome.reciprocal_rank, outcome.ranks()) == (1, 0.5, 0.5, [2])
    assert evaluation.Outcome(query, [], "q").reciprocal_rank == 0.0


def test_an_unknown_switch_is_refused():
    with pytest.raises(ValueError, match="unknown switches"), switches.off("stemming"):
        pass
