import sys

import pytest

from tests.library.sru_server import sru_server  # noqa: F401 - a fixture: the local SRU server


@pytest.fixture
def block_parsers(monkeypatch):
    """Call it to make the parsers unimportable in this (the web) process: any extraction that still
    works ran elsewhere.  Build test files first: ``make_docx`` needs python-docx."""

    def block() -> None:
        for name in [m for m in sys.modules if m == "pypdf" or m.startswith(("pypdf.", "docx"))]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, "pypdf", None)
        monkeypatch.setitem(sys.modules, "docx", None)

    return block
