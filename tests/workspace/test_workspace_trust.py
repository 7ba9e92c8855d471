"""A workspace never serves data of another database or version, keeps workspace lists through
merges, and refuses to be emptied or impersonated by accident (issue: nothing lost, nothing wrong)."""

from __future__ import annotations

import shutil
import threading

import pandas as pd
import pytest

import engagekit as ek
from engagekit.errors import InvalidNameError, WorkspaceError

from postgres import fresh_database


def contacts(*emails: str) -> ek.Dataset:
    frame = pd.DataFrame({
        "contact_id": range(1, len(emails) + 1), "email": list(emails),
        "first_name": "A", "last_name": "B", "date_added": "2026-01-01",
        "email_status": "subscribed",
    })
    return ek.Dataset.from_frames(contacts=frame)


# --- 2: a header-only file ----------------------------------------------------------------------


def test_header_only_import_never_empties_the_workspace(tmp_path):
    ws = ek.Workspace.open(f"sqlite:///{tmp_path}/ws.db")
    ws.import_dataset(contacts("ann@example.com", "bob@example.com"), mode="replace")
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "contacts.csv").write_text("contact_id,email,first_name\n")
    empty, _ = ek.read_any([folder])
    ws.import_dataset(empty)  # the default is a merge: nothing is removed
    assert ws.load().n_contacts == 2
    with pytest.raises(WorkspaceError, match="would empty the workspace"):
        ws.import_dataset(empty, mode="replace")
    assert ws.read_database().n_contacts == 2
    ws.import_dataset(empty, mode="replace", allow_empty=True)  # only when told explicitly
    assert ws.load().n_contacts == 0


# --- 8: workspace lists and merges --------------------------------------------------------------


def test_workspace_lists_stay_workspace_lists_through_merges_and_replaces(tmp_path):
    ws = ek.Workspace.open(f"sqlite:///{tmp_path}/ws.db")
    ws.import_dataset(contacts("ann@example.com", "bob@example.com"), mode="replace")
    ws.lists.add_members("Win-back", [1])
    ws.import_dataset(contacts("cy@example.com"), mode="merge")
    listed = ws.lists.list().set_index("name")
    assert listed.loc["Win-back", "origin"] == "workspace"
    ws.lists.add_members("Win-back", [2])  # still a workspace list: adding is allowed
    ws.import_dataset(contacts("ann@example.com", "bob@example.com"), mode="replace")
    data = ws.load()
    members = data.list_memberships.merge(data.contacts, on="contact_id")
    assert set(members["email"]) == {"ann@example.com", "bob@example.com"}


# --- 9 and 10: the columnar copy ----------------------------------------------------------------


def test_a_deleted_and_recreated_database_never_gets_the_old_copy(tmp_path):
    url = f"sqlite:///{tmp_path}/shop.db"
    ws = ek.Workspace.open(url)
    ws.import_dataset(contacts("old@example.com"), mode="replace")
    assert ws.load().n_contacts == 1  # the copy is written
    ws.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"shop.db{suffix}").unlink(missing_ok=True)
    again = ek.Workspace.open(url)
    again.import_dataset(contacts("new@example.com"), mode="replace")  # the same version number
    assert again.load().contacts["email"].tolist() == ["new@example.com"]


def test_a_restored_backup_gets_its_own_data_not_the_copy_of_the_newer_one(tmp_path):
    url = f"sqlite:///{tmp_path}/shop.db"
    ws = ek.Workspace.open(url)
    ws.import_dataset(contacts("v1@example.com"), mode="replace")
    ws.engine.dispose()
    shutil.copy(tmp_path / "shop.db", tmp_path / "backup.db")
    ws = ek.Workspace.open(url)
    ws.import_dataset(contacts("v2@example.com"), mode="replace")
    assert ws.load().contacts["email"].tolist() == ["v2@example.com"]
    ws.engine.dispose()
    shutil.copy(tmp_path / "backup.db", tmp_path / "shop.db")
    restored = ek.Workspace.open(url)
    assert restored.load().contacts["email"].tolist() == ["v1@example.com"]


def test_databases_sharing_a_stem_never_share_a_copy(tmp_path):
    shop_db = ek.Workspace.open(f"sqlite:///{tmp_path}/shop.db")
    shop_sqlite = ek.Workspace.open(f"sqlite:///{tmp_path}/shop.sqlite")
    shop_db.import_dataset(contacts("db@example.com"), mode="replace")
    shop_sqlite.import_dataset(contacts("sqlite@example.com"), mode="replace")
    assert shop_db.load().contacts["email"].tolist() == ["db@example.com"]
    assert shop_sqlite.load().contacts["email"].tolist() == ["sqlite@example.com"]
    assert shop_db.cache.folder != shop_sqlite.cache.folder


def test_concurrent_loads_share_the_cache_folder_without_tripping(tmp_path):
    url = f"sqlite:///{tmp_path}/ws.db"
    ek.Workspace.open(url).import_dataset(ek.generate_sample(150, seed=4), mode="replace")
    errors = []

    def load_many():
        for _ in range(6):
            try:
                ek.Workspace.open(url).load()  # each a fresh object: every load writes the copy
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                errors.append(repr(error))

    threads = [threading.Thread(target=load_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# --- 11: concurrent merges ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_merge_imports_keep_everyone(tmp_path, kind):
    with (fresh_database() if kind == "postgres" else _sqlite(tmp_path)) as url:
        ek.Workspace.open(url, cache_dir=str(tmp_path / "c0")).import_dataset(
            contacts("base@example.com"), mode="replace")
        errors = []

        def merge(number: int):
            try:
                ws = ek.Workspace.open(url, cache_dir=str(tmp_path / f"c{number}"))
                ws.import_dataset(contacts(f"m{number}@example.com"), mode="merge")
                ws.engine.dispose()
            except Exception as error:  # noqa: BLE001
                errors.append(repr(error))

        threads = [threading.Thread(target=merge, args=(n,)) for n in range(1, 6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = ek.Workspace.open(url, cache_dir=str(tmp_path / "check"))
        assert errors == []
        assert set(final.read_database().contacts["email"]) == {
            "base@example.com", *(f"m{n}@example.com" for n in range(1, 6))}
        final.engine.dispose()


class _sqlite:
    def __init__(self, tmp_path):
        self.url = f"sqlite:///{tmp_path}/ws.db"

    def __enter__(self):
        return self.url

    def __exit__(self, *exc):
        return False


# --- 12: PostgreSQL imports with readers, snapshots at once -------------------------------------


@pytest.mark.postgres
def test_postgres_import_does_not_deadlock_with_readers_and_snapshots_race_cleanly(tmp_path):
    with fresh_database() as url:
        ws = ek.Workspace.open(url, cache_dir=str(tmp_path / "c"))
        ws.import_dataset(ek.generate_sample(200, seed=6), mode="replace")
        errors, stop = [], threading.Event()

        def read():
            reader = ek.Workspace.open(url, cache_dir=str(tmp_path / "r"))
            while not stop.is_set():
                try:
                    reader.read_database()
                except Exception as error:  # noqa: BLE001
                    errors.append(repr(error))

        def snapshot(number):
            try:
                own = ek.Workspace.open(url, cache_dir=str(tmp_path / f"s{number}"))
                own.ensure_snapshot(as_of="2026-11-30")
            except Exception as error:  # noqa: BLE001
                errors.append(repr(error))

        readers = [threading.Thread(target=read) for _ in range(2)]
        for thread in readers:
            thread.start()
        for number in range(4):
            ws.import_dataset(ek.generate_sample(200 + number, seed=number), mode="replace")
        snapshots = [threading.Thread(target=snapshot, args=(n,)) for n in range(4)]
        for thread in snapshots:
            thread.start()
        for thread in snapshots:
            thread.join()
        stop.set()
        for thread in readers:
            thread.join()
        assert errors == []
        assert len(ws.snapshots.list()) == 1
        ws.engine.dispose()


# --- 18: look-alike segment names ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["Most\u200b engaged", "Most engaged\u202e", "Most\u2028engaged",
                                  "Most\u00adengaged", "\ufeffMost engaged", "Most\u2060engaged"])
def test_look_alike_names_cannot_impersonate_a_prebuilt_segment(tmp_path, name):
    store = ek.SegmentStore(ek.Workspace.open(f"sqlite:///{tmp_path}/ws.db"))
    with pytest.raises(InvalidNameError):
        store.create(name, ek.level_segment("least_engaged"))


def test_full_width_names_are_the_same_name(tmp_path):
    store = ek.SegmentStore(ek.Workspace.open(f"sqlite:///{tmp_path}/ws.db"))
    with pytest.raises(ek.DuplicateNameError):
        store.create("\uff2dost engaged", ek.level_segment("least_engaged"))


# --- 7: field names a database cannot hold, on both databases -------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_custom_fields_named_like_system_columns_or_sharing_a_long_prefix_import(tmp_path, kind):
    folder = tmp_path / "canonical"
    folder.mkdir()
    long_a, long_b = "Preference " + "x" * 60 + " A", "Preference " + "x" * 60 + " B"
    (folder / "contacts.csv").write_text(
        f"contact_id,email,xmin,ctid,{long_a},{long_b}\n1,ann@example.com,1,2,yes,no\n")
    dataset, _ = ek.read_any([folder])
    with (fresh_database() if kind == "postgres" else _sqlite(tmp_path)) as url:
        ws = ek.Workspace.open(url, cache_dir=str(tmp_path / "c"))
        ws.import_dataset(dataset, mode="replace")
        stored = ws.read_database()
        assert stored.custom_fields == dataset.custom_fields and len(stored.custom_fields) == 4
        row = stored.contacts.iloc[0]
        assert [row[name] for name in stored.custom_fields] == [1.0, 2.0, "yes", "no"]
        ws.engine.dispose()


# --- 15: the send-ready audience keeps valid addresses ------------------------------------------


def test_send_ready_audience_keeps_addresses_starting_with_minus_or_plus(tmp_path):
    url = f"sqlite:///{tmp_path}/ws.db"
    ws = ek.Workspace.open(url)
    ws.import_dataset(contacts("-john@example.com", "+ann@example.com", "bob@example.com"),
                      mode="replace")
    session = ek.Session.open(url, as_of="2026-11-30")
    everyone = ek.SegmentDefinition.from_json(
        '{"version": 1, "criteria": {"type": "and", "group": [{"source": "contact", '
        '"field": "email_status", "op": "is", "value": ["subscribed"]}]}}')
    lines = session.export_csv(everyone).splitlines()[1:]
    assert sorted(line.split(",")[0] for line in lines) == [
        "+ann@example.com", "-john@example.com", "bob@example.com"]
