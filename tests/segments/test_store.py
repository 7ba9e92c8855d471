"""Saved segments: names, pre-built segments, atomic writes and concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from engagekit.errors import DuplicateNameError, NotFoundError, WorkspaceError
from engagekit.segments.definition import SCHEMA_VERSION, SegmentDefinition
from engagekit.segments.store import (
    MAX_NAME_LENGTH,
    PREBUILT,
    InvalidNameError,
    ReadOnlySegmentError,
    SegmentStore,
    as_definition,
    copy_name,
)
from engagekit.workspace import Workspace
from engagekit.workspace.database import run_atomically
from engagekit.workspace.tables import build_tables

from postgres import fresh_database


def level_is(*levels: str) -> dict:
    return {
        "version": SCHEMA_VERSION,
        "criteria": {"type": "and", "group": [
            {"source": "engagement", "field": "current_level", "op": "is", "value": list(levels)},
        ]},
    }


@pytest.fixture
def postgres_url():
    """A fresh, empty database on the test server (see tests/postgres.py), dropped afterwards."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ws.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request):
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def store(url, tmp_path):
    return SegmentStore(Workspace.open(url, cache_dir=tmp_path / "cache"))


# -- pre-built segments ------------------------------------------------------------------------
def test_prebuilt_segments_come_first_one_per_level(store):
    store.create("Zebra", level_is("most_engaged"))
    store.create("alpha", level_is("least_engaged"))
    names = [segment.name for segment in store.list()]
    assert names == ["Most engaged", "Somewhat engaged", "Least engaged", "Everyone else",
                     "alpha", "Zebra"]
    least = store.get("least ENGAGED")
    assert least.prebuilt and least.id is None and least.kind == "pre-built"
    assert least.definition.to_dict()["criteria"]["group"][0]["value"] == ["least_engaged"]


@pytest.mark.parametrize("action", [
    lambda store: store.update("Most engaged", level_is("least_engaged")),
    lambda store: store.rename("most engaged", "Top"),
    lambda store: store.delete("Most engaged"),
])
def test_prebuilt_segments_are_read_only(store, action):
    with pytest.raises(ReadOnlySegmentError, match="pre-built.*copy it"):
        action(store)
    assert store.get("Most engaged") == PREBUILT[0]


def test_editable_refuses_prebuilt_segments(store):
    mine = store.create("Mine", level_is("most_engaged"))
    assert store.editable("MINE") == mine
    with pytest.raises(ReadOnlySegmentError, match="cannot be deleted"):
        store.editable("Least engaged", "deleted")


def test_saved_segments_are_listed_in_natural_order(store):
    for name in ["b (copy 10)", "B (copy 2)", "a", "B", "b (copy)"]:
        store.create(name, level_is("most_engaged"))
    assert store.names()[len(PREBUILT):] == ["a", "B", "b (copy)", "B (copy 2)", "b (copy 10)"]


def test_custom_segments_cannot_take_a_prebuilt_name(store):
    with pytest.raises(DuplicateNameError, match="pre-built"):
        store.create("  everyone ELSE ", level_is("everyone_else"))
    store.create("Mine", level_is("everyone_else"))
    with pytest.raises(DuplicateNameError, match="pre-built"):
        store.rename("Mine", "Least Engaged")


# -- create, read, edit, rename, delete --------------------------------------------------------
def test_create_stores_definition_with_its_version_and_times(store):
    saved = store.create("  VIP buyers  ", level_is("most_engaged", "somewhat_engaged"))
    assert saved.name == "VIP buyers" and saved.id is not None and not saved.prebuilt
    assert saved.created_at == saved.updated_at is not None
    with store.workspace.engine.connect() as conn:
        row = conn.execute(sa.select(build_tables().segments)).mappings().one()
    assert row["name_key"] == "vip buyers"
    assert row["schema_version"] == SCHEMA_VERSION
    assert json.loads(row["definition"])["version"] == SCHEMA_VERSION
    again = store.get("vip BUYERS")
    assert again == saved
    assert again.definition == SegmentDefinition.from_json(level_is("most_engaged", "somewhat_engaged"))


def test_get_by_id_and_by_digit_name(store):
    saved = store.create("Buyers", level_is("most_engaged"))
    assert store.get(saved.id) == saved
    assert store.get(str(saved.id)) == saved
    numbered = store.create("2026", level_is("most_engaged"))
    assert store.get("2026") == numbered, "a name wins over an id"


def test_names_are_unique_ignoring_case(store):
    store.create("Win-back", level_is("least_engaged"))
    with pytest.raises(DuplicateNameError, match="'Win-back' already exists"):
        store.create("WIN-BACK", level_is("most_engaged"))
    assert [s.name for s in store.list()][4:] == ["Win-back"]


def test_unicode_names_compare_by_casefold(store):
    store.create("Straße", level_is("least_engaged"))
    with pytest.raises(DuplicateNameError):
        store.create("STRASSE", level_is("least_engaged"))


@pytest.mark.parametrize(("name", "message"), [
    ("", "blank"),
    ("   ", "blank"),
    ("x" * (MAX_NAME_LENGTH + 1), "at most 200"),
    ("two\nlines", "line breaks"),
    (None, "must be text"),
])
def test_bad_names_are_refused(store, name, message):
    with pytest.raises(InvalidNameError, match=message):
        store.create(name, level_is("least_engaged"))


def test_longest_name_is_accepted(store):
    assert len(store.create("é" * MAX_NAME_LENGTH, level_is("least_engaged")).name) == MAX_NAME_LENGTH


def test_update_replaces_the_definition_and_keeps_created_at(store):
    saved = store.create("Target", level_is("least_engaged"))
    updated = store.update("target", level_is("most_engaged"))
    assert updated.created_at == saved.created_at
    assert updated.updated_at >= saved.updated_at
    assert store.get("Target").definition == as_definition(level_is("most_engaged"))


def test_rename_allows_a_change_of_case_but_not_a_clash(store):
    store.create("first", level_is("least_engaged"))
    store.create("second", level_is("least_engaged"))
    assert store.rename("first", "FIRST").name == "FIRST"
    with pytest.raises(DuplicateNameError, match="'second'"):
        store.rename("FIRST", "Second")
    assert store.rename("first", "Third").name == "Third"
    assert [s.name for s in store.list()][4:] == ["second", "Third"]


def test_delete_and_unknown_names_suggest_close_ones(store):
    store.create("Re-engage", level_is("least_engaged"))
    assert store.delete("re-engage").name == "Re-engage"
    with pytest.raises(NotFoundError, match="no segment named 'Re-engage'"):
        store.get("Re-engage")
    with pytest.raises(NotFoundError, match="did you mean 'Least engaged'"):
        store.delete("Leest engaged")
    with pytest.raises(NotFoundError):
        store.get(12345)


def test_invalid_definition_is_refused_before_writing(store):
    from engagekit.errors import EngagekitError

    with pytest.raises(EngagekitError):
        store.create("Broken", {"version": SCHEMA_VERSION, "criteria": {"type": "and", "group": []}})
    assert len(store.list()) == len(PREBUILT)


# -- copy --------------------------------------------------------------------------------------
def test_copies_get_unique_names(store):
    first = store.copy("least engaged")
    second = store.copy("Least engaged")
    third = store.copy("Least engaged (copy)")
    assert [first.name, second.name, third.name] == [
        "Least engaged (copy)", "Least engaged (copy 2)", "Least engaged (copy 3)"]
    assert not first.prebuilt and first.definition == PREBUILT[2].definition
    store.update("Least engaged (copy)", level_is("most_engaged"))
    assert store.get("Least engaged").definition == PREBUILT[2].definition


def test_copy_with_a_chosen_name(store):
    store.create("Mine", level_is("most_engaged"))
    assert store.copy("mine", "  Yours ").name == "Yours"
    with pytest.raises(DuplicateNameError):
        store.copy("Mine", "yours")


@pytest.mark.parametrize(("name", "taken", "expected"), [
    ("A", set(), "A (copy)"),
    ("A", {"a (copy)", "a (copy 2)"}, "A (copy 3)"),
    ("A (copy 7)", {"a (copy)"}, "A (copy 2)"),
    ("Sale (copycat)", set(), "Sale (copycat) (copy)"),
    ("x" * MAX_NAME_LENGTH, set(), "x" * (MAX_NAME_LENGTH - 7) + " (copy)"),
])
def test_copy_name(name, taken, expected):
    assert copy_name(name, taken) == expected
    assert len(copy_name(name, taken)) <= MAX_NAME_LENGTH


# -- atomicity and retries ---------------------------------------------------------------------
def test_a_failing_operation_leaves_nothing_behind(store):
    table = build_tables().segments

    def half_done(conn):
        store._insert(conn, "Half", as_definition(level_is("most_engaged")))
        raise RuntimeError("crash in the middle")

    with pytest.raises(RuntimeError):
        run_atomically(store.workspace, half_done)
    with store.workspace.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def locked() -> OperationalError:
    return OperationalError("INSERT ...", {}, Exception("database is locked"))


def test_a_lock_is_retried(sqlite_url, tmp_path):
    workspace = Workspace.open(sqlite_url, cache_dir=tmp_path)
    attempts = []

    def work(conn):
        attempts.append(1)
        if len(attempts) < 3:
            raise locked()
        return "done"

    assert run_atomically(workspace, work) == "done"
    assert len(attempts) == 3


def test_a_lasting_lock_becomes_a_friendly_error(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setattr("engagekit.workspace.database.RETRY_PAUSE_SECONDS", 0.001)
    workspace = Workspace.open(sqlite_url, cache_dir=tmp_path)

    def work(conn):
        raise locked()

    with pytest.raises(WorkspaceError, match="workspace is busy") as caught:
        run_atomically(workspace, work)
    assert "database is locked" not in str(caught.value)


# -- concurrent writers ------------------------------------------------------------------------
PROCESSES = 4
PER_PROCESS = 25


def _save_segments(url: str, cache_dir: str, prefix: str, barrier, errors) -> None:
    try:
        store = SegmentStore(Workspace.open(url, cache_dir=cache_dir))
        barrier.wait(timeout=60)
        for i in range(PER_PROCESS):
            store.create(f"{prefix} {i}", level_is("least_engaged"))
            store.copy("Least engaged")
    except BaseException as error:  # reported to the parent, which fails the test
        errors.put(f"{prefix}: {type(error).__name__}: {error}")


def run_writers(url: str, cache_dir: Path) -> list[str]:
    # Fork: the children start at once with engagekit imported; each opens its own engine.
    context = multiprocessing.get_context("fork")
    barrier, errors = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_save_segments, args=(url, str(cache_dir), f"writer {k}", barrier, errors))
        for k in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert all(worker.exitcode == 0 for worker in workers), found
    return found


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(url, tmp_path):
    store = SegmentStore(Workspace.open(url, cache_dir=tmp_path / "cache"))
    store.workspace.engine.dispose()  # no pooled connection is carried into the children
    assert run_writers(url, tmp_path / "cache") == []
    names = [segment.name for segment in store.list()[len(PREBUILT):]]
    created = {f"writer {k} {i}" for k in range(PROCESSES) for i in range(PER_PROCESS)}
    copies = {"Least engaged (copy)"} | {
        f"Least engaged (copy {n})" for n in range(2, PROCESSES * PER_PROCESS + 1)
    }
    assert len(names) == 2 * PROCESSES * PER_PROCESS
    assert set(names) == created | copies


def test_update_can_rename_in_the_same_transaction(tmp_path):
    from engagekit.segments import level_segment
    from engagekit.segments.store import SegmentStore
    from engagekit.workspace import Workspace

    store = SegmentStore(Workspace.open(f"sqlite:///{tmp_path}/ws.db"))
    store.create("Old name", level_segment("least_engaged"))
    store.create("Taken", level_segment("most_engaged"))
    updated = store.update("old name", level_segment("somewhat_engaged"), new_name="New name")
    assert updated.name == "New name"
    assert store.get("New name").definition == level_segment("somewhat_engaged")
    from engagekit.errors import DuplicateNameError

    with pytest.raises(DuplicateNameError):
        store.update("New name", level_segment("least_engaged"), new_name="TAKEN")
    assert store.get("New name").definition == level_segment("somewhat_engaged")


def test_a_deleted_segment_goes_to_the_trash_and_can_be_restored(store):
    store.create("VIP", level_is("most_engaged"))
    store.delete("vip")
    assert "VIP" not in store.names() and [s.name for s in store.trash()] == ["VIP"]
    restored = store.restore("VIP")
    assert restored.definition == SegmentDefinition.from_json(level_is("most_engaged"))
    assert "VIP" in store.names() and store.trash() == []
    with pytest.raises(NotFoundError, match="no deleted segment"):
        store.restore("VIP")


def test_restoring_a_name_taken_again_is_refused(store):
    store.create("VIP", level_is("most_engaged"))
    store.delete("VIP")
    store.create("vip", level_is("least_engaged"))
    with pytest.raises(DuplicateNameError):
        store.restore("VIP")
    assert [s.name for s in store.trash()] == ["VIP"]  # still in the trash
