"""Real catalogue exports written by other library systems, for the import, export and SRU tests.

``shared(name)`` is a committed file in tests/fixtures/realdata (its README names each file's source, commit
and licence; dp2/, sruthi/ and sickle/ hold SRU and OAI-PMH responses with their licence texts).
``more(name)`` is a file fetched from a public repository during a session into ``SHUYUAN_REALDATA_MORE``
(default /work/realdata-more, with its own README of sources and licences; today Open Library's AGPL records):
such files are not ours to commit, so a test that reads one is skipped, saying so, on a machine
that does not have it.  Every behaviour they show is also tested on the committed files or on records built
in the tests.
"""

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "realdata"
MORE = Path(os.environ.get("SHUYUAN_REALDATA_MORE", "/work/realdata-more"))


def shared(name: str) -> Path:
    path = FIXTURES / name
    assert path.is_file(), f"missing committed fixture {path}"
    return path


def more(name: str) -> Path:
    path = MORE / name
    if not path.is_file():
        pytest.skip(f"{path} is not on this machine (a fetched real export, not committed; see tests/realdata.py)")
    return path
