"""search_index.generations on its own: where the index lives, the ``current`` pointer, opening the current
generation, swapping a new one in atomically and cleaning up, and what a missing or damaged index looks like.

No database: a generation is a directory of Whoosh files, built here with the module's own functions
(each test has its own SEARCH_INDEX_DIR, tests/conftest.py)."""

import fcntl
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.query import Term

from search_index import generations
from search_index.index_schema import INDEX_NAME, SCHEMA_VERSION, build_schema


def built_generation(keys=()) -> Path:
    """A complete generation (not yet current) holding one book document per key."""
    path = generations.new_generation_dir()
    ix = generations.create_index(path)
    if keys:
        writer = ix.writer()
        for key in keys:
            writer.add_document(key=key, type="book", pk=key)
        writer.commit()
    ix.close()
    generations.mark_schema_version(path)
    return path


def keys_in_current() -> list[str]:
    ix = generations.open_index()
    try:
        with ix.searcher() as s:
            return sorted(hit["key"] for hit in s.search(Term("type", "book"), limit=None))
    finally:
        ix.close()


def leftovers() -> list[str]:
    """Temporary pointers a swap left behind."""
    return sorted(p.name for p in generations.root().glob(".current-*"))


# --- where the index lives --------------------------------------------------------------------------------


def test_paths_follow_the_setting_at_each_call(settings, tmp_path):
    assert generations.root() == Path(settings.SEARCH_INDEX_DIR)
    assert generations.current_link() == Path(settings.SEARCH_INDEX_DIR) / "current"
    settings.SEARCH_INDEX_DIR = str(tmp_path / "elsewhere")
    assert generations.root() == tmp_path / "elsewhere"
    assert generations.current_link() == tmp_path / "elsewhere" / "current"


def test_a_new_generation_directory_is_named_for_the_utc_time_and_unique():
    assert not generations.root().exists()
    with time_machine.travel(datetime(2026, 11, 25, 16, 40, 5, tzinfo=UTC), tick=False):
        first = generations.new_generation_dir()
        second = generations.new_generation_dir()
    for path in (first, second):
        assert path.parent == generations.root()  # parents made as needed
        assert path.is_dir() and list(path.iterdir()) == []
        assert re.fullmatch(r"gen-20261125T164005-[0-9a-f]{6}", path.name), path.name
    assert first != second  # the same second, still two directories
    assert generations.current_generation() is None  # making one does not make it current


# --- nothing there yet ------------------------------------------------------------------------------------


@pytest.mark.parametrize("root_exists", [False, True])
def test_without_an_index_open_index_raises_index_missing(root_exists):
    if root_exists:
        generations.root().mkdir(parents=True)
    assert generations.current_generation() is None
    assert generations.index_exists() is False
    with pytest.raises(generations.IndexMissing, match="rebuild_index") as raised:
        generations.open_index()
    assert "尚未建立" in str(raised.value)
    assert generations.root().exists() is root_exists  # looking never creates anything


# --- creating and opening -----------------------------------------------------------------------------------


def test_ensure_index_creates_an_empty_current_generation_once():
    assert generations.ensure_index(log_position=0) is True
    name = generations.current_generation()
    assert name is not None and name.startswith("gen-")
    link = generations.current_link()
    # A relative symlink to a sibling: the whole directory can be moved or mounted elsewhere.
    assert link.is_symlink() and os.readlink(link) == name and (generations.root() / name).is_dir()
    assert generations.index_exists() is True
    assert (generations.root() / name / "SCHEMA_VERSION").read_text() == SCHEMA_VERSION
    ix = generations.open_index()
    try:
        assert ix.doc_count() == 0 and ix.schema.names() == build_schema().names()
        assert ix.indexname == INDEX_NAME
    finally:
        ix.close()
    # Found made: nothing is created or swapped, the generation stays.
    assert generations.ensure_index(log_position=0) is False
    assert generations.current_generation() == name
    assert sorted(p.name for p in generations.root().glob("gen-*")) == [name]


def test_ensure_index_creates_and_swaps_while_holding_the_creation_lock(monkeypatch):
    """Two workers' first requests at once: the second waits on .create.lock and then finds the index made,
    instead of creating its own and deleting the first one's generation in swap_in."""
    probes = []
    real_create = generations.create_index

    def create_and_probe(path):
        with open(generations.root() / ".create.lock", "a") as other:  # another process's open of the lock
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                probes.append("held")
            else:
                probes.append("free")
                fcntl.flock(other, fcntl.LOCK_UN)
        return real_create(path)

    monkeypatch.setattr(generations, "create_index", create_and_probe)
    assert generations.ensure_index(log_position=0) is True
    assert probes == ["held"]
    # Released afterwards: a second caller gets the lock at once and finds the index.
    with open(generations.root() / ".create.lock", "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(other, fcntl.LOCK_UN)
    assert generations.ensure_index(log_position=0) is False and probes == ["held"]


@pytest.mark.parametrize("version", [None, "", str(int(SCHEMA_VERSION) - 1), SCHEMA_VERSION + "0"])
def test_an_index_of_another_schema_version_is_refused(version):
    path = built_generation(["book:1"])
    marker = path / "SCHEMA_VERSION"
    if version is None:
        marker.unlink()
    else:
        marker.write_text(version)
    generations.swap_in(path)
    with pytest.raises(generations.IndexMissing, match="版本过旧"):
        generations.open_index()
    assert generations.index_exists() is True  # there, but not usable: a rebuild is needed
    marker.write_text(SCHEMA_VERSION + "\n")  # surrounding whitespace is not a different version
    assert keys_in_current() == ["book:1"]


def test_an_index_with_other_fields_is_refused_even_with_the_right_version_file():
    path = generations.new_generation_dir()
    FileStorage(str(path)).create_index(Schema(key=ID(unique=True, stored=True), pk=STORED()), indexname=INDEX_NAME)
    generations.mark_schema_version(path)
    generations.swap_in(path)
    with pytest.raises(generations.IndexMissing, match="版本过旧"):
        generations.open_index()


# --- the swap ----------------------------------------------------------------------------------------------


def test_swap_in_points_current_at_the_new_generation_and_deletes_the_old():
    old = built_generation(["book:old"])
    generations.swap_in(old)
    assert keys_in_current() == ["book:old"]
    new = built_generation(["book:new1", "book:new2"])
    assert keys_in_current() == ["book:old"]  # a built generation is invisible until swapped in
    generations.swap_in(new)
    assert generations.current_generation() == new.name
    assert keys_in_current() == ["book:new1", "book:new2"]
    assert not old.exists()
    assert leftovers() == []


def test_the_pointer_switches_in_one_step_and_is_never_absent(monkeypatch):
    """At every filesystem operation of a swap, ``current`` names the old generation or the new one: it is
    replaced by a rename over it, never removed and re-made (a reader in between would find no index)."""
    old = built_generation(["book:old"])
    generations.swap_in(old)
    new = built_generation(["book:new"])
    seen = []

    def spy(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            seen.append((name, generations.current_generation()))
            result = real(*args, **kwargs)
            seen.append((name, generations.current_generation()))
            return result

        monkeypatch.setattr(module, name, wrapper)

    for name in ("symlink", "replace", "rename", "unlink", "remove", "rmdir"):
        spy(os, name)
    spy(shutil, "rmtree")
    generations.swap_in(new)
    monkeypatch.undo()

    assert ("replace", new.name) in seen  # the switch itself is one os.replace
    pointers = [pointer for _, pointer in seen]
    assert None not in pointers
    switch = pointers.index(new.name)
    assert set(pointers[:switch]) == {old.name} and set(pointers[switch:]) == {new.name}
    # Old files are deleted only once the pointer no longer names them.
    assert all(pointer == new.name for name, pointer in seen if name in ("rmtree", "unlink", "rmdir"))


def test_a_searcher_open_on_the_old_generation_keeps_answering_until_closed():
    old = built_generation([f"book:{i}" for i in range(5)])
    generations.swap_in(old)
    ix = generations.open_index()
    searcher = ix.searcher()
    assert searcher.doc_count() == 5
    generations.swap_in(built_generation(["book:new"]))
    assert not old.exists()  # its files are deleted …
    # … but the ones this searcher has open stay readable: postings and stored fields.
    assert sorted(h["key"] for h in searcher.search(Term("type", "book"), limit=None)) == [f"book:{i}" for i in range(5)]
    assert searcher.stored_fields(3) == {"key": "book:3", "type": "book", "pk": "book:3"}
    # Readers opened from now on get the new generation.
    assert keys_in_current() == ["book:new"]
    searcher.close()
    ix.close()
    # The old generation cannot be opened again.
    with pytest.raises(whoosh_index.EmptyIndexError):
        whoosh_index.open_dir(str(old), indexname=INDEX_NAME)


def test_swap_in_removes_every_other_generation_and_nothing_else():
    generations.ensure_index(log_position=0)
    first = generations.root() / generations.current_generation()
    half_built = generations.new_generation_dir()  # a rebuild that died before its swap
    (half_built / "_catalog_0.toc").write_bytes(b"partial")
    (generations.root() / "gen-not-a-directory").write_text("x")
    (generations.root() / "backup").mkdir()
    (generations.root() / "backup" / "gen-keep").mkdir()
    (generations.root() / "NOTES.txt").write_text("运维记录")
    new = built_generation(["book:1"])

    generations.swap_in(new)

    assert sorted(p.name for p in generations.root().iterdir() if p.is_dir() and not p.is_symlink()) == [
        "backup", new.name]
    assert not first.exists() and not half_built.exists()
    assert (generations.root() / "backup" / "gen-keep").is_dir()  # only the index directory's own generations
    assert (generations.root() / "NOTES.txt").read_text() == "运维记录"
    assert (generations.root() / ".create.lock").exists()
    assert leftovers() == []
    assert keys_in_current() == ["book:1"]


def test_swapping_in_the_current_generation_again_keeps_it():
    path = built_generation(["book:1"])
    generations.swap_in(path)
    generations.swap_in(path)
    assert generations.current_generation() == path.name and path.is_dir()
    assert keys_in_current() == ["book:1"] and leftovers() == []


# --- damage ------------------------------------------------------------------------------------------------


def _toc(path: Path) -> Path:
    (toc,) = path.glob(f"_{INDEX_NAME}_*.toc")
    return toc


@pytest.mark.parametrize("damage", ["no files", "toc garbage", "toc truncated", "toc empty", "segment gone"])
def test_a_damaged_generation_is_reported_as_index_missing(damage):
    path = built_generation(["book:1", "book:2"])
    generations.swap_in(path)
    if damage == "no files":
        for child in path.iterdir():
            child.unlink()
    elif damage == "toc garbage":
        _toc(path).write_bytes(b"\x00garbage" * 20)
    elif damage == "toc truncated":
        toc = _toc(path)
        toc.write_bytes(toc.read_bytes()[:40])
    elif damage == "toc empty":
        _toc(path).write_bytes(b"")
    else:
        for segment_file in path.glob("*.seg"):
            segment_file.unlink()
        for segment_file in path.glob("*.trm"):
            segment_file.unlink()
    try:
        ix = generations.open_index()
    except generations.IndexMissing as exc:
        assert "rebuild_index" in str(exc) and "无法读取" in str(exc) and exc.__cause__ is not None
    else:
        # Whoosh reads segment files lazily: the damage shows when a reader opens them, as one of UNREADABLE
        # (what search_index.services turns into "unavailable, run rebuild_index").
        assert damage == "segment gone"
        with pytest.raises(generations.UNREADABLE):
            with ix.searcher() as s:
                list(s.search(Term("type", "book")))
        ix.close()
    # There but unreadable: ensure_index does not paper over it with an empty index (a rebuild is needed).
    assert generations.index_exists() is True
    assert generations.ensure_index(log_position=0) is False
    assert generations.current_generation() == path.name


def test_a_pointer_to_a_missing_directory_is_no_index_and_ensure_index_replaces_it():
    generations.root().mkdir(parents=True)
    os.symlink("gen-20260101T000000-000000", generations.current_link())
    assert generations.current_generation() == "gen-20260101T000000-000000"
    assert generations.index_exists() is False
    with pytest.raises(generations.IndexMissing, match="无法读取"):
        generations.open_index()
    assert generations.ensure_index(log_position=0) is True
    assert generations.current_generation() != "gen-20260101T000000-000000"
    assert keys_in_current() == [] and leftovers() == []


def test_a_pointer_that_is_a_regular_file_is_no_index_and_is_replaced_by_a_link():
    generations.root().mkdir(parents=True)
    generations.current_link().write_bytes(b"gen-\x00\xff damaged")
    assert generations.current_generation() is None
    assert generations.index_exists() is False
    with pytest.raises(generations.IndexMissing, match="尚未建立"):
        generations.open_index()
    path = built_generation(["book:1"])
    generations.swap_in(path)
    assert generations.current_link().is_symlink() and generations.current_generation() == path.name
    assert keys_in_current() == ["book:1"] and leftovers() == []


def test_a_pointer_that_is_a_directory_makes_the_swap_fail_without_debris():
    """``current`` as a directory: a copy of the index directory that followed symlinks (scp -r, cp -rL, rsync -L)
    turns the link into a full copy of the generation.  A rename cannot replace a directory by a link: the swap
    fails, and must leave neither its temporary link nor (ensure_index) its new generation behind, and must not
    touch the copied directory or the other generations."""
    generations.root().mkdir(parents=True)
    generations.current_link().mkdir()
    (generations.current_link() / "copied.toc").write_bytes(b"copied")
    assert generations.current_generation() is None and generations.index_exists() is False
    path = built_generation(["book:1"])
    with pytest.raises(IsADirectoryError):
        generations.swap_in(path)
    assert path.is_dir()  # nothing deleted after a failed switch
    assert (generations.current_link() / "copied.toc").read_bytes() == b"copied"
    assert leftovers() == []
    before = sorted(p.name for p in generations.root().glob("gen-*"))
    with pytest.raises(IsADirectoryError):
        generations.ensure_index(log_position=0)
    assert leftovers() == []
    assert sorted(p.name for p in generations.root().glob("gen-*")) == before  # no generation made per attempt
