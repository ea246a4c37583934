"""What a process loads once is loaded before a search's time budget starts, and a server loads it at its start.

Under load the first search of a fresh gunicorn worker spent its 2 s budget importing pypinyin (for the names
written in pinyin), loading the segmenter's and the law names' dictionaries, and answered "检索超时"
(tests/shuyuan/test_faults.py, test_multiworker.py and test_fresh_install.py failed now and then on the loaded
machine).  ``searcher.warm`` runs at a server's start (shuyuan/wsgi.py); these tests check that a warmed fresh
process's first searches load nothing, not how long they take.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from search_index import generations, laws, searcher, services
from tests.live import ROOT, database_url
from tests.search_index.conftest import build_catalog

PUBLIC = services.Filters()

#: One query of each kind a search can take: words, traditional characters, pinyin and its initials, Mongolian,
#: English, an ISBN, a call number, a class, field prefixes, a law's short form, a citation, a name written in
#: Chinese, both did-you-means.
QUERIES = ["担保物权", "擔保物權", "danbao wuquan", "dbwq", "ᠮᠣᠩᠭᠣᠯ", "judgments", "978-7-301-04815-3", "D923.2",
           "clc:D92", 'title:"民法物权" author:王泽鉴', "民诉法", "民法典第三百九十四条", "张明楷", "担保无权", "judgmnt"]

SCRIPT = r"""
import cProfile, gc, json, pstats, sys

import shuyuan.wsgi  # what a server process runs at its start: the system checks, then the warm-up

from django.db import connections

from core import chinese
from search_index import analysis, laws, searcher, services

filled = {
    "segmenter": analysis._jieba_instance is not None,
    "t2s": chinese._t2s is not None,
    "nfkc": analysis._nfkc_tables_cache is not None,
    "readings": analysis._word_syllables.cache_info().currsize > 0 and analysis.char_readings.cache_info().currsize > 0,
    "law names": laws._current is not None and len(laws._current.dictionary) > 1000,
    "numerals": "cn2an" in sys.modules,
    "numpy.ma": "numpy.ma" in sys.modules,
    "no searcher left open": getattr(searcher._local, "state", None) is None,
    "no connection left open": all(c.connection is None for c in connections.all()),
    "objects frozen": gc.get_freeze_count() > 0,
}
def caches():
    return [analysis._jieba_instance, chinese._t2s, analysis._nfkc_tables_cache, laws._current and laws._current.dictionary]


before = caches()
modules = set(sys.modules)
profile = cProfile.Profile()
answers = {}
profile.enable()
for query in json.loads(sys.argv[1]):
    result = services.search(query, filters=services.Filters())
    answers[query] = [result.count, result.corrected_from, result.query]
profile.disable()
called = pstats.Stats(profile).stats
print(json.dumps({
    "filled": filled,
    "imported": sorted(set(sys.modules) - modules),
    "modules run": sorted(f for f, _line, name in called if name == "<module>"),
    "regular expressions compiled": sum(s[1] for (f, _l, name), s in called.items()
                                        if name == "compile" and f.endswith("_compiler.py")),
    "loaders run": sorted(name for (f, _l, name) in called
                          if name in ("_load_user_dict", "__post_init__", "_load_phrases_dict", "_load_pinyin_dict")),
    "caches replaced": [a is not b for a, b in zip(before, caches())],
    "answers": answers,
}, ensure_ascii=False))
"""


@pytest.mark.django_db(transaction=True)
def test_a_warmed_process_first_searches_load_nothing(settings, tmp_path):
    """A server process imports shuyuan.wsgi, which warms it: then its first search of every kind imports no
    module, compiles no regular expression, builds no dictionary and replaces no cache (everything the budget
    counts is the query's work)."""
    build_catalog()
    services.index_rebuild()
    env = {**os.environ, "DATABASE_URL": database_url(), "SEARCH_INDEX_DIR": settings.SEARCH_INDEX_DIR,
           "CACHE_DIR": str(tmp_path / "cache"), "MEDIA_ROOT": settings.MEDIA_ROOT, "DEBUG": "True",
           "DJANGO_SETTINGS_MODULE": "tests.live_settings", "LOG_LEVEL": "WARNING"}

    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(QUERIES, ensure_ascii=False)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["filled"] == dict.fromkeys(seen["filled"], True)
    assert (seen["imported"], seen["modules run"], seen["regular expressions compiled"], seen["loaders run"],
            seen["caches replaced"]) == ([], [], 0, [], [False] * 4)
    assert seen["answers"] == {
        "担保物权": [4, None, "担保物权"],
        "擔保物權": [4, None, "担保物权"],
        "danbao wuquan": [2, None, "danbao wuquan"],
        "dbwq": [2, None, "dbwq"],
        "ᠮᠣᠩᠭᠣᠯ": [1, None, "ᠮᠣᠩᠭᠣᠯ"],
        "judgments": [1, None, "judgments"],
        "978-7-301-04815-3": [1, None, "978-7-301-04815-3"],
        "D923.2": [2, None, "D923.2"],
        "clc:D92": [6, None, "clc:D92"],
        'title:"民法物权" author:王泽鉴': [1, None, 'title:"民法物权" author:王泽鉴'],
        "民诉法": [0, None, "民诉法"],
        "民法典第三百九十四条": [0, None, "民法典第三百九十四条"],
        "张明楷": [1, None, "张明楷"],
        "担保无权": [4, "担保无权", "担保物权"],
        "judgmnt": [1, "judgmnt", "judgment"],
    }


def test_what_a_process_loads_once_is_not_counted_in_the_time_budget(catalog, settings, monkeypatch):
    """A process never warmed (a management command, a test) loads its dictionaries in the search's
    ``warm_loaders``, before the budget starts: 0.6 s of loading under a 0.5 s budget still answers."""
    settings.SEARCH_TIME_LIMIT = 0.5
    monkeypatch.setattr(searcher, "_loaded", False)
    real = searcher.han_syllables
    cold = [True]

    def first_reading_slow(text):
        if cold and cold.pop():
            time.sleep(0.6)  # the first reading in a process: pypinyin's import and its phrase dictionary
        return real(text)

    monkeypatch.setattr(searcher, "han_syllables", first_reading_slow)

    result = services.search("担保无权", filters=PUBLIC)

    assert (result.corrected_from, result.query, cold, searcher._loaded) == ("担保无权", "担保物权", [], True)


def test_opening_the_index_is_counted_in_the_time_budget(catalog, settings, monkeypatch):
    """The budget starts before the index is opened (or reopened after a commit): nothing after the warm-up is
    left out of it."""
    services.search("担保物权", filters=PUBLIC)  # warmed
    settings.SEARCH_TIME_LIMIT = 0.5
    searcher.reset()
    real_open = searcher._open_searcher
    monkeypatch.setattr(searcher, "_open_searcher", lambda ix: time.sleep(0.6) or real_open(ix))

    with pytest.raises(services.SearchTimeout):
        services.search("担保物权", filters=PUBLIC)


def test_warming_without_an_index_loads_the_dictionaries_and_creates_nothing(db, monkeypatch):
    """A server started before its index exists (a fresh installation) warms what it can and starts: no index
    is created at start (the first search or the worker's loop decides that), nothing is raised."""
    monkeypatch.setattr(searcher, "_loaded", False)
    laws.forget()

    services.warm()

    assert (searcher._loaded, generations.current_generation(), len(laws.current()) > 1000) == (True, None, True)
    assert getattr(searcher._local, "state", None) is None
