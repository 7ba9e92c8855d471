"""Workspace storage: import, load, ids kept across imports, atomicity, snapshots, PostgreSQL."""

import contextlib
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

import engagekit as ek
from engagekit.data.schema import TABLES
from engagekit.workspace.database import insert_frame
from engagekit.workspace.tables import WorkspaceTables

from factories import assert_same_index, tiny_dataset
from postgres import fresh_database, postgres_url


@pytest.fixture
def workspace(tmp_path):
    return ek.Workspace.open(f"sqlite:///{tmp_path}/ws.db")


def small(extra_contact=False):
    lists = pd.DataFrame({"list_id": [1, 2], "name": ["VIP", "Newsletter"]})
    members = pd.DataFrame({"list_id": [1, 2], "contact_id": [1, 2], "added_at": [None, "2026-01-01"]})
    dataset = tiny_dataset({1: "2026-11-01"}, [(1, 1, "send", "2026-11-01"), (1, 1, "open", "2026-11-02")],
                           n_contacts=3, lists=lists, list_memberships=members)
    if extra_contact:
        contacts = pd.concat([dataset.contacts.iloc[[2]].assign(contact_id=10, email="new@example.com"),
                              dataset.contacts], ignore_index=True)
        dataset = dataset.replace(contacts=contacts)
    return dataset


def test_sqlite_is_set_up_for_concurrency(workspace):
    with workspace.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_import_then_load_round_trips(workspace, sample_dataset):
    result = workspace.import_dataset(sample_dataset)
    assert result.counts["contacts"] == sample_dataset.n_contacts
    loaded = ek.Workspace.open(workspace.url).load()
    for name in ("contacts", "lists", "campaigns", "orders"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(sample_dataset, name), check_dtype=False)
    assert loaded.custom_fields == sample_dataset.custom_fields
    assert len(loaded.email_events) == len(sample_dataset.email_events)
    # the columnar copy exists and holds the activity index
    assert any(workspace.cache.folder.glob("*/activity/format"))


def test_database_read_matches_columnar_copy(workspace, sample_dataset):
    workspace.import_dataset(sample_dataset)
    from_db = workspace.read_database()
    levels_db = ek.compute_levels(from_db, as_of="2026-11-30").table
    levels_mem = ek.compute_levels(sample_dataset, as_of="2026-11-30").table
    pd.testing.assert_frame_equal(levels_db, levels_mem)


def test_ids_stay_stable_and_workspace_lists_survive_reimport(workspace):
    workspace.import_dataset(small())
    tables = workspace.tables
    with workspace.transaction() as conn:
        conn.execute(sa.insert(tables.lists).values(list_id=7, name="Win-back", name_key="win-back",
                                                   origin="workspace"))
        conn.execute(sa.insert(tables.list_memberships).values(list_id=7, contact_id=3))
    workspace.import_dataset(small(extra_contact=True))
    data = workspace.load()
    ids = dict(zip(data.contacts["email"], data.contacts["contact_id"], strict=True))
    assert ids["c1@example.com"] == 1 and ids["c3@example.com"] == 3
    assert ids["new@example.com"] == 4
    assert set(data.lists["name"]) == {"VIP", "Newsletter", "Win-back"}
    kept = data.list_memberships[data.list_memberships["list_id"] == 7]
    assert kept["contact_id"].tolist() == [3]


def test_failed_import_leaves_workspace_unchanged(workspace, monkeypatch):
    workspace.import_dataset(small())
    before = workspace.data_version()

    def broken(conn, table, frame):
        if table.name == "orders":
            raise sa.exc.IntegrityError("INSERT", {}, Exception("disk full"))
        insert_frame(conn, table, frame)

    monkeypatch.setattr("engagekit.workspace.importer.insert_frame", broken)
    with pytest.raises(ek.WorkspaceError, match="unchanged"):
        workspace.import_dataset(small(extra_contact=True))
    assert workspace.data_version() == before
    assert workspace.load().n_contacts == 3


def test_snapshots_store_and_load(workspace, sample_dataset):
    workspace.import_dataset(sample_dataset)
    levels = ek.compute_levels(workspace.load(), as_of="2026-11-30")
    snapshot_id = workspace.store_snapshot(levels)
    assert workspace.store_snapshot(levels) == snapshot_id
    stored = workspace.load_snapshot(snapshot_id)
    assert stored.thresholds == levels.thresholds
    assert stored.table["level"].tolist() == levels.table["level"].tolist()
    assert len(workspace.snapshots.list()) == 1
    with pytest.raises(ek.NotFoundError):
        workspace.load_snapshot(999)


def test_indexes_added_to_the_schema_later_are_made_when_an_older_workspace_opens(tmp_path):
    url = f"sqlite:///{tmp_path}/ws.db"
    workspace = ek.Workspace.open(url)
    workspace.import_dataset(small())
    added = {"counted_deliveries": "ix_counted_deliveries_times", "orders": "ix_orders_contact_metrics",
             "snapshot_levels": "ix_snapshot_levels_level"}
    with workspace.database.transaction() as conn:  # as a workspace made before them has it
        for name in added.values():
            conn.exec_driver_sql(f"DROP INDEX {name}")
    workspace.engine.dispose()
    reopened = ek.Workspace.open(url)
    inspector = sa.inspect(reopened.engine)
    for table, name in added.items():
        assert name in {index["name"] for index in inspector.get_indexes(table)}
    assert reopened.load().n_contacts == 3


def test_bad_url_is_a_clear_error():
    with pytest.raises(ek.WorkspaceError, match="Not a database URL"):
        ek.Workspace.open("definitely not a url")


@pytest.mark.postgres
def test_postgres_workspace_works_the_same(sample_dataset, tmp_path):
    with fresh_database() as url:
        check_postgres_workspace(ek.Workspace.open(url, cache_dir=tmp_path), sample_dataset)


def check_postgres_workspace(workspace, sample_dataset):
    workspace.import_dataset(sample_dataset)
    from_db = workspace.read_database()
    pd.testing.assert_frame_equal(
        ek.compute_levels(from_db, as_of="2026-11-30").table,
        ek.compute_levels(sample_dataset, as_of="2026-11-30").table,
    )
    levels = ek.compute_levels(workspace.load(), as_of="2026-11-30")
    assert workspace.load_snapshot(workspace.store_snapshot(levels)).thresholds == levels.thresholds
    workspace.import_dataset(small(), mode="replace")  # imports merge by default
    assert workspace.load().n_contacts == 3
    workspace.engine.dispose()


def test_a_postgres_import_leaves_the_planner_statistics_of_the_new_data(sample_dataset, tmp_path):
    # Without them the first segment queries after an import are planned for empty tables.
    with fresh_database() as url:
        workspace = ek.Workspace.open(url, cache_dir=tmp_path)
        workspace.import_dataset(sample_dataset)
        with workspace.engine.connect() as conn:
            rows = dict(conn.execute(sa.text(
                "SELECT relname, reltuples FROM pg_class WHERE relname IN ('contacts', 'email_events')")).all())
        workspace.engine.dispose()
    assert rows == {"contacts": len(sample_dataset.contacts), "email_events": len(sample_dataset.email_events)}


def test_postgres_rows_stored_for_segments_are_read_from_their_indexes_alone(sample_dataset, tmp_path):
    # Snapshot and counting rows are VACUUMed once stored, so index-only scans read no table
    # page; the levels' shares per snapshot have their statistics, so the planner takes them.
    with fresh_database() as url:
        workspace = ek.Workspace.open(url, cache_dir=tmp_path)
        workspace.import_dataset(sample_dataset)
        engine = ek.SqlEngine(workspace, as_of="2026-11-30")
        clicked = {"source": "email_activity", "field": "last_n_days", "op": "clicked", "value": 30}
        assert engine.count({"version": 1, "criteria": {"type": "and", "group": [
            {"source": "engagement", "field": "current_level", "op": "is", "value": ["somewhat_engaged"]},
            clicked]}}) > 0
        with workspace.engine.connect() as conn:
            pages = dict(conn.execute(sa.text(
                "SELECT relname, relpages = relallvisible FROM pg_class "
                "WHERE relname IN ('snapshot_levels', 'counted_deliveries')")).all())
            statistics = set(conn.execute(sa.text("SELECT stxname FROM pg_statistic_ext")).scalars())
        workspace.engine.dispose()
    assert pages == {"snapshot_levels": True, "counted_deliveries": True}
    assert "st_snapshot_levels_level" in statistics


def test_a_postgres_user_who_does_not_own_the_tables_opens_a_workspace_missing_its_statistics(tmp_path):
    # A read-only role (a dashboard's) cannot make them; counts are only slower without them.
    role, password = f"engagekit_reader_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    try:
        with fresh_database() as url:
            owner = ek.Workspace.open(url, cache_dir=tmp_path / "owner")
            owner.import_dataset(small())
            with owner.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("DROP STATISTICS st_snapshot_levels_level")
                conn.exec_driver_sql(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
                conn.exec_driver_sql(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
            owner.engine.dispose()
            as_reader = sa.engine.make_url(url).set(username=role, password=password)
            reader = ek.Workspace.open(as_reader.render_as_string(hide_password=False),
                                       cache_dir=tmp_path / "reader")
            assert reader.load().n_contacts == 3
            reader.engine.dispose()
    finally:
        admin = sa.create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_postgres_copy_stores_every_row_whatever_their_order(seed, monkeypatch):
    """``COPY`` sends rows in key order, chunk by chunk, each chunk taken from the slice of rows
    it lies in: rows in any order, text keys and blanks must all arrive, once each."""

    import engagekit.workspace.bulk as bulk
    from engagekit.workspace.tables import build_tables

    monkeypatch.setattr(bulk, "COPY_CHUNK", 7)
    rng = np.random.default_rng(seed)
    n = 60
    events = pd.DataFrame({
        "contact_id": rng.integers(1, 9, n), "campaign_id": rng.integers(1, 4, n),
        "event_type": rng.choice(["send", "open", "click"], n),
        "occurred_at": pd.Timestamp("2026-11-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
        "user_agent": rng.choice(["Mozilla/5.0", None, "a,b \"quoted\""], n),
    })
    verdicts = events.drop(columns="user_agent").drop_duplicates(
        ["contact_id", "campaign_id", "event_type", "occurred_at"]).assign(rules_id=1, reason=2)
    if seed == 2:  # already in key order: sent as it is
        events = events.sort_values(["campaign_id", "contact_id"], kind="stable")
    tables = build_tables()
    with fresh_database() as url:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            tables.metadata.create_all(conn)
            conn.execute(sa.insert(tables.machine_rule_sets).values(
                rules_id=1, rules="{}", data_version=1, created_at=pd.Timestamp("2026-11-01")))
            insert_frame(conn, tables.email_events, events)
            insert_frame(conn, tables.machine_verdicts, verdicts)
        with engine.connect() as conn:
            stored = {name: pd.read_sql(sa.select(*[getattr(tables, name).c[c] for c in frame.columns]), conn)
                      for name, frame in (("email_events", events), ("machine_verdicts", verdicts))}
        engine.dispose()
    for name, frame in (("email_events", events), ("machine_verdicts", verdicts)):
        def rows(f):
            return sorted(map(repr, f.astype(object).where(f.notna(), None).itertuples(index=False)))
        assert rows(stored[name]) == rows(frame), name


def test_bulk_insert_writes_times_exactly_as_sqlalchemy_does(workspace):
    import datetime

    from engagekit.workspace.database import driver_values

    dialect = workspace.engine.dialect
    process = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
    times = [datetime.datetime(2026, 11, 30, 10), datetime.datetime(2026, 1, 2, 3, 4, 5, 123456)]
    ours = driver_values(pd.Series(pd.to_datetime(times + [None])), sa.DateTime(), dialect)
    assert ours == [process(t) for t in times] + [None]


def _assert_same_data(left, right):
    for name in TABLES:
        a, b = getattr(left, name), getattr(right, name)
        if name == "email_events":  # stored without an order
            a, b = (frame.sort_values(list(frame.columns[:4])).reset_index(drop=True) for frame in (a, b))
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)
    assert left.custom_fields == right.custom_fields


def test_data_kept_from_the_import_pass_is_what_the_database_reads_back(workspace, sample_dataset):
    """The columnar copy is written from the import itself: it must be the stored data exactly,
    after a replace, after a merge, and with workspace lists carried through a re-import."""
    workspace.import_dataset(small(), mode="replace")
    tables = workspace.tables
    with workspace.transaction() as conn:
        conn.execute(sa.insert(tables.lists).values(list_id=7, name="Win-back", name_key="win-back",
                                                   origin="workspace"))
        conn.execute(sa.insert(tables.list_memberships).values(list_id=7, contact_id=3))
    for dataset, mode in [(small(extra_contact=True), "replace"), (sample_dataset, "merge")]:
        result = workspace.import_dataset(dataset, mode=mode)
        _assert_same_data(result.stored, workspace.read_database())
        assert workspace.load() is result.stored  # the first load after an import reads nothing back


def test_sqlite_bulk_load_builds_its_indexes_after_the_rows(workspace, monkeypatch):
    import engagekit.workspace.database as database

    monkeypatch.setattr(database, "BULK_ROWS", 1)
    workspace.import_dataset(small(), mode="replace")
    with workspace.engine.connect() as conn:
        names = {row[1] for row in conn.exec_driver_sql("PRAGMA index_list('email_events')")}
    assert "ix_email_events_campaign_contact" in names


def test_a_merge_appends_new_events_without_rewriting_the_stored_ones(workspace, sample_dataset,
                                                                     monkeypatch):
    import engagekit.workspace.importer as importer

    workspace.import_dataset(sample_dataset, mode="replace")
    written = {}

    def spy(conn, table, frame):
        written[table.name] = len(frame)
        insert_frame(conn, table, frame)

    monkeypatch.setattr(importer, "insert_frame", spy)
    campaign = sample_dataset.campaigns.iloc[[-1]].assign(
        campaign_id=sample_dataset.campaigns["campaign_id"].max() + 1, name="Week after",
        sent_at=sample_dataset.campaigns["sent_at"].max() + pd.Timedelta(days=7))
    first = sample_dataset.contacts.iloc[:2]
    week = ek.Dataset.from_frames(
        contacts=first, campaigns=campaign,
        email_events=pd.DataFrame({"contact_id": first["contact_id"].to_numpy(),
                                   "campaign_id": campaign["campaign_id"].iloc[0],
                                   "event_type": "send", "occurred_at": campaign["sent_at"].iloc[0]}),
        custom_fields=sample_dataset.custom_fields)
    result = workspace.import_dataset(week, mode="merge")
    assert written["email_events"] == 2 and written["campaigns"] == 1  # only the new rows
    assert len(result.stored.email_events) == len(sample_dataset.email_events) + 2
    _assert_same_data(result.stored, workspace.read_database())


def _raw_rows(url):
    """Every data table's rows as SQLite holds them: each value with its storage class."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = {}
        for name in WorkspaceTables.DATA_TABLES:
            columns = [row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info('{name}')")]
            values = ", ".join(f'"{c}", typeof("{c}")' for c in columns)
            rows[name] = sorted(map(tuple, conn.exec_driver_sql(f"SELECT {values} FROM {name}")),
                                key=repr)
    engine.dispose()
    return rows


def test_sqlite_staged_load_stores_exactly_what_row_inserts_store(tmp_path, sample_dataset,
                                                                   monkeypatch):
    """The bulk path (Arrow -> staging file -> one INSERT ... SELECT) must store every value,
    blank, flag, time and custom field as the row-by-row inserts do, in the same order, and
    leave no file behind; also with large tables staged in two files at once."""
    import engagekit.workspace.bulk as bulk
    import engagekit.workspace.database as database

    flagged = sample_dataset.email_events.assign(
        machine=pd.array([True, False, None] * (len(sample_dataset.email_events) // 3)
                         + [None] * (len(sample_dataset.email_events) % 3), dtype="boolean"))
    dataset = sample_dataset.replace(email_events=flagged)
    urls = {}
    for path, bulk_rows, split_rows in [("rows", 10**12, 10**12), ("staged", 1, 10**12),
                                        ("split", 1, 40)]:
        monkeypatch.setattr(database, "BULK_ROWS", bulk_rows)
        monkeypatch.setattr(bulk, "SPLIT_ROWS", split_rows)
        (tmp_path / path).mkdir()
        urls[path] = f"sqlite:///{tmp_path / path}/ws.db"
        workspace = ek.Workspace.open(urls[path])
        result = workspace.import_dataset(dataset, mode="replace")
        _assert_same_data(result.stored, workspace.read_database())
        workspace.engine.dispose()
    assert _raw_rows(urls["staged"]) == _raw_rows(urls["rows"]) == _raw_rows(urls["split"])

    def stored_order(url):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            order = conn.exec_driver_sql("SELECT contact_id, campaign_id, event_type, occurred_at "
                                         "FROM email_events ORDER BY rowid").all()
        engine.dispose()
        return order

    assert stored_order(urls["split"]) == stored_order(urls["rows"])
    for path in ("staged", "split"):
        assert not [p.name for p in (tmp_path / path).iterdir() if "staging" in p.name]


def _verdict_rows(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT v.rules_id, s.rules, s.data_version, v.contact_id, v.campaign_id, v.event_type,"
            " v.occurred_at, typeof(v.occurred_at), v.reason FROM machine_verdicts v"
            " JOIN machine_rule_sets s USING (rules_id)"
            " ORDER BY v.rules_id, v.contact_id, v.campaign_id, v.event_type, v.occurred_at").all()
    engine.dispose()
    return rows


def test_verdicts_staged_while_the_events_are_written_are_stored_as_row_inserts_store_them(
        tmp_path, sample_dataset, monkeypatch):
    """The import stages the verdict rows in its second thread and the transaction copies them
    in: the stored verdicts (ids, rules, every value and its order) are those of row inserts,
    for two rule sets, and the copy uses the staged rows rather than writing them again."""
    import engagekit.workspace.bulk as bulk
    import engagekit.workspace.database as database

    saved = ek.EngagementConfig(machine_rules=ek.MachineRules(proxy_seconds=30))
    copied = []
    real_copy = bulk.copy_staged

    def spy(conn, staged):
        copied.append(staged.table)
        real_copy(conn, staged)

    monkeypatch.setattr(database, "copy_staged", spy)
    monkeypatch.setattr(bulk, "SPLIT_ROWS", 2_000)  # each rule set's rows staged in two files
    urls = {}
    # staged: the events and the verdicts (thousands of rows), as millions are at scale
    for path, bulk_rows in [("rows", 10**12), ("staged", 5_000)]:
        monkeypatch.setattr(database, "BULK_ROWS", bulk_rows)
        urls[path] = f"sqlite:///{tmp_path / path}.db"
        workspace = ek.Workspace.open(urls[path])
        workspace.save_settings(saved)  # its rules are stored beside the default ones
        workspace.import_dataset(sample_dataset, mode="replace")
        workspace.engine.dispose()
    assert copied.count("machine_verdicts") == 2  # one copy per rule set, nothing inserted again
    stored = _verdict_rows(urls["rows"])
    assert {row[0] for row in stored} == {1, 2} and len(stored) > 20
    assert _verdict_rows(urls["staged"]) == stored


def test_staged_verdicts_under_another_id_are_not_used(tmp_path, sample_dataset, monkeypatch):
    """Staged rows stand only for the rules and the id they were staged under: verdicts
    written under another id are inserted from the data, as if nothing was staged."""
    import engagekit.workspace.database as database
    from engagekit.workspace.verdicts import stage_verdicts, write_verdicts

    monkeypatch.setattr(database, "BULK_ROWS", 1)
    workspace = ek.Workspace.open(f"sqlite:///{tmp_path / 'ws.db'}")
    workspace.import_dataset(sample_dataset, mode="replace")
    expected = _verdict_rows(workspace.url)
    data = workspace.load()
    with workspace.engine.begin() as conn:
        staged = stage_verdicts(conn, data, [ek.MachineRules()])
        assert list(staged) == [(ek.MachineRules().model_dump_json(), 1)]
        wrong = {(key, 7): rows for (key, _), rows in staged.items()}
        write_verdicts(conn, data, [ek.MachineRules()], data_version=1, staged=wrong)
    assert _verdict_rows(workspace.url) == [(1, *row[1:]) for row in expected]


def test_a_failed_staged_load_leaves_the_workspace_unchanged(workspace, sample_dataset,
                                                              monkeypatch):
    import engagekit.workspace.bulk as bulk
    import engagekit.workspace.database as database

    workspace.import_dataset(small(), mode="replace")
    monkeypatch.setattr(database, "BULK_ROWS", 1)

    def broken(frame, kind, arrow_type):
        raise OSError("disk full")

    monkeypatch.setattr(bulk, "_arrow", broken)
    with pytest.raises(ek.WorkspaceError, match="unchanged.*disk full"):
        workspace.import_dataset(sample_dataset, mode="replace")
    assert workspace.read_database().n_contacts == 3
    folder = sa.engine.make_url(workspace.url).database
    assert not [p for p in Path(folder).parent.iterdir() if "staging" in p.name]


def test_a_staged_load_removes_staging_left_by_a_killed_import(workspace, monkeypatch):
    import os

    import engagekit.workspace.database as database

    monkeypatch.setattr(database, "BULK_ROWS", 1)
    folder = Path(sa.engine.make_url(workspace.url).database).parent
    left = folder / ".ws.db.staging-killed"
    left.mkdir()
    (left / "contacts_0.db").write_bytes(b"rows of a killed import")
    os.utime(left, (0, 0))
    workspace.import_dataset(small(), mode="replace")
    assert not left.exists()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_merge_of_new_campaigns_grows_the_verdicts_and_index_as_a_fresh_build_makes_them(
        tmp_path, sample_dataset, monkeypatch, kind):
    with (fresh_database() if kind == "postgres" else contextlib.nullcontext(
            f"sqlite:///{tmp_path / 'grow.db'}")) as url:
        _check_a_growing_merge(url, tmp_path / "columnar", sample_dataset, monkeypatch)


def _check_a_growing_merge(url, cache_dir, sample_dataset, monkeypatch):
    import engagekit.data.dataset as dataset_module
    import engagekit.workspace.importer as importer
    import engagekit.workspace.verdicts as verdicts
    from engagekit.workspace.verdicts import flagged_events

    workspace = ek.Workspace.open(url, cache_dir=str(cache_dir))
    workspace.import_dataset(sample_dataset, mode="replace")
    grown, written = [], {}
    real = dataset_module.grown_index
    monkeypatch.setattr(dataset_module, "grown_index",
                        lambda *args: grown.append(real(*args)) or grown[-1])

    def spy(conn, table, frame):
        written[table.name] = len(frame)
        insert_frame(conn, table, frame)

    monkeypatch.setattr(importer, "insert_frame", spy)
    monkeypatch.setattr(verdicts, "insert_frame", spy)
    # a week: a new campaign to the first 300 contacts and two new ones, opened on arrival by
    # some (the prefetchers among them may stop being ones), clicked by others
    sent = sample_dataset.campaigns["sent_at"].max() + pd.Timedelta(days=7)
    campaign = pd.DataFrame({"campaign_id": [sample_dataset.campaigns["campaign_id"].max() + 1],
                             "name": ["Week after"], "sent_at": [sent]})
    new_people = pd.DataFrame({"contact_id": [90_001, 90_002],
                               "email": ["new1@example.com", "new2@example.com"],
                               "first_name": None, "last_name": None, "date_added": sent,
                               "email_status": "subscribed"})
    # one of them unsubscribed meanwhile: the stored contacts change, the index still grows
    contacts = pd.concat([sample_dataset.contacts.iloc[:300], new_people], ignore_index=True)
    contacts.loc[0, "email_status"] = "unsubscribed"
    ids = contacts["contact_id"].to_numpy()
    opened, clicked = ids[::2], ids[::5]
    events = pd.DataFrame({
        "contact_id": [*ids, *opened, *clicked],
        "campaign_id": campaign["campaign_id"].iloc[0],
        "event_type": ["send"] * len(ids) + ["open"] * len(opened) + ["click"] * len(clicked),
        "occurred_at": [sent] * len(ids) + [sent + pd.Timedelta(seconds=20)] * len(opened)
                       + [sent + pd.Timedelta(hours=3)] * len(clicked),
        # a link the stored events never had
        "link": [None] * (len(ids) + len(opened)) + ["https://example.com/new-in-december"] * len(clicked)})
    week = ek.Dataset.from_frames(contacts=contacts, campaigns=campaign, email_events=events,
                                  custom_fields=sample_dataset.custom_fields)
    workspace.import_dataset(week, mode="merge")
    assert written["email_events"] == len(events)  # appended, though its links are coded anew
    assert written["contacts"] == 3  # the one that changed and the two new ones, not all again
    _assert_same_data(workspace.load(), workspace.read_database())
    assert grown and grown[0] is not None  # grown, not built again
    with workspace.engine.connect() as conn:  # the verdicts the levels job in SQL reads
        stored_verdicts = pd.read_sql(sa.select(workspace.tables.machine_verdicts), conn)
        rule_sets = pd.read_sql(sa.select(workspace.tables.machine_rule_sets), conn)
    expected = flagged_events(workspace.read_database(), ek.MachineRules())
    assert len(rule_sets) == 1 and rule_sets["data_version"].iloc[0] == workspace.data_version()
    assert written["machine_verdicts"] < len(expected)  # the changed ones, not all again
    key = ["contact_id", "campaign_id", "event_type", "occurred_at"]
    pd.testing.assert_frame_equal(
        *(frame[[*key, "reason"]].astype({"event_type": str}).sort_values(key, ignore_index=True)
          for frame in (stored_verdicts, expected)), check_dtype=False)

    fresh = workspace.read_database()
    for loaded in (workspace.load(), ek.Workspace.open(url, cache_dir=str(cache_dir)).load()):
        assert_same_index(loaded.activity, ek.ActivityIndex.build(fresh))
        # the database keeps events without an order: the flagged ones compared as sets
        flagged = [flagged_events(data, ek.MachineRules()).sort_values(
            ["contact_id", "campaign_id", "event_type", "occurred_at"], ignore_index=True)
            for data in (loaded, fresh)]
        pd.testing.assert_frame_equal(*flagged)


@given(values=st.lists(st.sampled_from(["a", "b", "c", None]), max_size=6),
       other=st.lists(st.sampled_from(["a", "b", "c", None]), max_size=6),
       extra=st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True),
       shuffled=st.randoms())
def test_stored_rows_are_recognised_whatever_categories_code_them(values, other, extra, shuffled):
    from engagekit.workspace.importer import _same_values

    def coded(items, categories):
        categories = sorted(set(filter(None, items)) | set(categories))
        shuffled.shuffle(categories)
        return pd.Series(pd.Categorical(items, categories=categories))

    other = other[:len(values)] + values[len(other):]  # the same length
    assert _same_values(coded(values, extra), coded(other, [])) == (values == other)
    assert _same_values(coded(values, []), coded(values, extra))


_CELLS = {
    "name": st.sampled_from(["Ann", "ann", "", None]),
    "points": st.sampled_from([0.0, -0.0, 1.5, float("nan"), None]),
    "joined": st.sampled_from([pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02"), None]),
    "agent": st.sampled_from(["Mozilla/5.0", "curl", None]),
}


@given(rows=st.lists(st.fixed_dictionaries(_CELLS), min_size=1, max_size=6), data=st.data())
def test_changed_contacts_are_exactly_the_rows_whose_values_differ(rows, data):
    from engagekit.workspace.importer import _changed_rows

    def frame(rows):
        made = pd.DataFrame(rows, columns=list(_CELLS)).assign(contact_id=range(1, len(rows) + 1))
        made["joined"] = pd.to_datetime(made["joined"])
        made["points"] = made["points"].astype("float64")
        made["agent"] = made["agent"].astype("category")
        return made[["contact_id", *_CELLS]]

    edited = [dict(row) for row in rows]
    for row in edited:
        if data.draw(st.booleans()):
            name = data.draw(st.sampled_from(list(_CELLS)))
            row[name] = data.draw(_CELLS[name])
    extra = data.draw(st.lists(st.fixed_dictionaries(_CELLS), max_size=2))
    stored, merged = frame(rows), frame(edited + extra)

    def same(a, b):
        return (pd.isna(a) and pd.isna(b)) or (not pd.isna(a) and not pd.isna(b) and a == b)

    expected = [i for i in range(len(rows))
                if not all(same(stored.iloc[i][c], merged.iloc[i][c]) for c in stored.columns)]
    assert _changed_rows(merged, stored, "contact_id").tolist() == expected
    if len(merged) > 1:  # the stored contacts not first, in their order: no upsert
        assert _changed_rows(merged.iloc[::-1].reset_index(drop=True), stored, "contact_id") is None
