"""Segment operations: count, members, exports, the send-ready audience and add to a list."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from engagekit.data.sample import generate_sample
from engagekit.data.schema import LEVEL_LABELS
from engagekit.engagement.levels import current_and_previous
from engagekit.errors import NotFoundError, ReadOnlyListError
from engagekit.segments import operations as ops
from engagekit.segments.definition import SCHEMA_VERSION
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.sql_engine import SqlEngine
from engagekit.segments.store import PREBUILT, InvalidNameError
from engagekit.workspace import Workspace
from engagekit.workspace.tables import build_tables

from postgres import fresh_database

AS_OF = pd.Timestamp("2026-11-30")
MOST, SOMEWHAT, LEAST, EVERYONE_ELSE = PREBUILT


def definition(*criteria: dict, kind: str = "and") -> dict:
    return {"version": SCHEMA_VERSION, "criteria": {"type": kind, "group": list(criteria)}}


NOBODY = definition(
    {"source": "engagement", "field": "current_level", "op": "is", "value": ["most_engaged"]},
    {"source": "engagement", "field": "current_level", "op": "is", "value": ["least_engaged"]},
)


@pytest.fixture(scope="module")
def sample():
    data = generate_sample(300, seed=3, end=AS_OF)
    # A hostile first name, to see exports neutralise it.
    contacts = data.contacts.copy()
    contacts.loc[0, "first_name"] = "=HYPERLINK(\"http://evil\")"
    return data.replace(contacts=contacts)


@pytest.fixture
def workspace(sample, tmp_path):
    ws = Workspace.open(f"sqlite:///{tmp_path / 'ws.db'}", cache_dir=tmp_path / "cache")
    ws.import_dataset(sample)
    return ws


@pytest.fixture(params=["memory", "sql"])
def engine(request, workspace):
    if request.param == "sql":
        return SqlEngine(workspace, as_of=AS_OF)
    return MemoryEngine(workspace.load(), as_of=AS_OF)


def levels_by_contact(data) -> tuple[pd.Series, pd.Series]:
    current, previous = current_and_previous(data, as_of=AS_OF)
    return (current.table.set_index("contact_id")["level"].astype(str),
            previous.table.set_index("contact_id")["level"].astype(str))


# -- count and narrowness ----------------------------------------------------------------------
def test_prebuilt_counts_partition_the_contacts(workspace, engine):
    counts = [ops.count(engine, segment) for segment in PREBUILT]
    assert sum(counts) == 300
    current, _ = levels_by_contact(workspace.load())
    assert counts == [int((current == level).sum()) for level in
                      ("most_engaged", "somewhat_engaged", "least_engaged", "everyone_else")]


def test_count_accepts_json_text_and_dicts(engine):
    assert ops.count(engine, NOBODY) == 0
    assert ops.count(engine, LEAST.definition.to_json()) == ops.count(engine, LEAST)


def test_total_contacts(workspace, sample):
    assert ops.total_contacts(workspace) == ops.total_contacts(sample) == 300


@pytest.mark.parametrize(("matched", "total", "warns"), [
    (0, 1000, True),
    (0, 0, False),        # nothing to judge in an empty workspace
    (4, 300, True),       # below the floor of 5 contacts
    (5, 300, False),
    (49, 10_000, True),   # below 0.5 %
    (50, 10_000, False),
    (3, 3, False),        # every contact is never narrow
    (2, 3, True),
])
def test_narrowness_warning(matched, total, warns):
    warning = ops.narrowness_warning(matched, total)
    assert (warning is not None) == warns
    if warns:
        assert "criteria may be too narrow" in warning


def test_narrowness_warning_names_the_numbers():
    assert ops.narrowness_warning(0, 10) == (
        "This segment matches no contacts; its criteria may be too narrow.")
    assert "12 of 10,000 contacts (0.12%)" in ops.narrowness_warning(12, 10_000)


# -- members -----------------------------------------------------------------------------------
def test_members_have_the_default_columns(workspace, engine):
    frame = ops.members_frame(workspace.load(), engine, LEAST)
    assert list(frame.columns) == list(ops.DEFAULT_MEMBER_COLUMNS)
    assert len(frame) == ops.count(engine, LEAST)
    assert set(frame["current_level"]) == {"Least engaged"}


def test_members_with_chosen_columns(workspace, engine):
    data = workspace.load()
    columns = ["contact_id", "city", "loyalty_points", "tags", "lists", "previous_level",
               "open_rate", "score", "current_level"]
    frame = ops.members_frame(data, engine, SOMEWHAT, columns)
    assert list(frame.columns) == columns
    ids = frame["contact_id"].to_numpy()
    assert np.array_equal(ids, np.sort(engine.members(SOMEWHAT.definition)))
    contacts = data.contacts.set_index("contact_id")
    assert frame["city"].tolist() == contacts.loc[ids, "city"].tolist()
    assert pd.api.types.is_float_dtype(frame["loyalty_points"])
    _, previous = levels_by_contact(data)
    assert frame["previous_level"].tolist() == [LEVEL_LABELS[v] for v in previous.loc[ids]]
    tags = data.contact_tags.groupby("contact_id")["tag"].agg(lambda t: "; ".join(sorted(t)))
    assert frame["tags"].tolist() == tags.reindex(ids).fillna("").tolist()


def test_members_of_an_empty_segment(workspace, engine):
    frame = ops.members_frame(workspace.load(), engine, NOBODY, ["email", "score"])
    assert frame.empty and list(frame.columns) == ["email", "score"]


def test_unknown_columns_are_named(workspace, engine):
    with pytest.raises(NotFoundError, match="'shoe_size'.*choose from: contact_id, email"):
        ops.members_frame(workspace.load(), engine, LEAST, ["email", "shoe_size"])
    with pytest.raises(NotFoundError, match="at least one"):
        ops.members_frame(workspace.load(), engine, LEAST, [])


# -- exports -----------------------------------------------------------------------------------
def read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_export_puts_email_first(workspace, engine):
    data = workspace.load()
    text = ops.export_csv(data, engine, EVERYONE_ELSE, fields=["date_added", "email", "last_name"])
    frame = read_csv(text)
    assert list(frame.columns) == ["email", "date_added", "last_name"]
    assert len(frame) == ops.count(engine, EVERYONE_ELSE)
    default = read_csv(ops.export_csv(data, engine, EVERYONE_ELSE))
    assert list(default.columns) == ["email", "first_name", "last_name"]


def test_export_is_spreadsheet_safe(workspace, engine, tmp_path):
    data = workspace.load()
    everyone = definition(
        {"source": "engagement", "field": "current_level", "op": "is",
         "value": ["most_engaged", "somewhat_engaged", "least_engaged", "everyone_else"]})
    path = tmp_path / "out.csv"
    assert ops.export_csv(data, engine, everyone, path, fields=["first_name", "loyalty_points"]) is None
    frame = read_csv(path.read_text(encoding="utf-8"))
    assert len(frame) == 300
    assert "'=HYPERLINK(\"http://evil\")" in frame["first_name"].tolist()
    assert not frame["first_name"].str.startswith("=").any()


def test_audience_leaves_out_unsubscribed_and_bounced(workspace, engine):
    data = workspace.load()
    everyone = definition(
        {"source": "engagement", "field": "current_level", "op": "is_not", "value": ["most_engaged"]})
    audience = ops.build_audience(data, engine, everyone, fields=["first_name"])
    members = ops.members_frame(data, engine, everyone, ["email", "email_status"])
    status = members["email_status"]
    assert audience.left_out == {"unsubscribed": int((status == "unsubscribed").sum()),
                                 "bounced": int((status == "bounced").sum())}
    assert sum(audience.left_out.values()) > 0, "the sample has some, or this test proves nothing"
    assert audience.size == int((status == "subscribed").sum())
    assert list(audience.frame.columns) == ["email", "first_name"]
    sendable = set(members.loc[status == "subscribed", "email"])
    assert set(audience.frame["email"]) == sendable
    assert audience.as_of == AS_OF
    assert read_csv(ops.audience_csv(data, engine, everyone))["email"].tolist() == \
        audience.frame["email"].tolist()


def test_audience_is_evaluated_at_the_engine_time(workspace):
    data = workspace.load()
    earlier = MemoryEngine(data, as_of=AS_OF - pd.Timedelta(days=90))
    now = MemoryEngine(data, as_of=AS_OF)
    assert ops.build_audience(data, earlier, LEAST).as_of == earlier.as_of
    then_members = set(ops.build_audience(data, earlier, LEAST).frame["email"])
    now_members = set(ops.build_audience(data, now, LEAST).frame["email"])
    assert then_members != now_members


# -- add to a list -----------------------------------------------------------------------------
def list_rows(workspace) -> pd.DataFrame:
    with workspace.engine.connect() as conn:
        return pd.read_sql(sa.select(build_tables().lists), conn)


def test_add_to_a_new_list_then_again(workspace, engine):
    max_id = int(list_rows(workspace)["list_id"].max())
    version = workspace.data_version()
    first = ops.add_to_list(workspace, engine, LEAST, "  Win-back ")
    expected = ops.count(engine, LEAST)
    assert (first.created, first.added, first.already_there) == (True, expected, 0)
    assert first.list_id == max_id + 1 and first.list_name == "Win-back"
    assert workspace.data_version() == version + 1
    row = list_rows(workspace).set_index("list_id").loc[first.list_id]
    assert (row["origin"], row["name_key"]) == ("workspace", "win-back")

    again = ops.add_to_list(workspace, engine, LEAST, "WIN-BACK")
    assert (again.created, again.added, again.already_there) == (False, 0, expected)
    assert again.list_id == first.list_id
    assert workspace.data_version() == version + 1, "nothing changed, no reload needed"
    assert "Added 0 contacts to list 'Win-back'" in again.summary()


def test_adding_another_segment_adds_only_newcomers(workspace, engine):
    ops.add_to_list(workspace, engine, LEAST, "Mixed")
    either = definition(
        {"source": "engagement", "field": "current_level", "op": "is",
         "value": ["least_engaged", "most_engaged"]})
    result = ops.add_to_list(workspace, engine, either, "mixed")
    assert result.added == ops.count(engine, MOST)
    assert result.already_there == ops.count(engine, LEAST)


def test_reloaded_data_shows_the_new_list(workspace, engine):
    before = workspace.load()
    result = ops.add_to_list(workspace, engine, MOST, "Fans")
    after = workspace.load()
    assert after is not before
    members = after.list_memberships[after.list_memberships["list_id"] == result.list_id]
    assert np.array_equal(np.sort(members["contact_id"].to_numpy()),
                          np.sort(engine.members(MOST.definition)))
    assert members["added_at"].notna().all()


def test_workspace_lists_survive_a_reimport(workspace, engine, sample):
    result = ops.add_to_list(workspace, engine, MOST, "Fans")
    workspace.import_dataset(sample)
    data = workspace.load()
    assert "Fans" in set(data.lists["name"])
    kept = data.list_memberships[data.list_memberships["list_id"] == result.list_id]
    assert len(kept) == result.added


def test_imported_lists_and_blank_names_are_refused(workspace, engine):
    imported = list_rows(workspace)["name"].iloc[0]
    with pytest.raises(ReadOnlyListError, match="imported data"):
        ops.add_to_list(workspace, engine, LEAST, imported.upper())
    with pytest.raises(InvalidNameError, match="list name cannot be blank"):
        ops.add_to_list(workspace, engine, LEAST, "  ")


def test_an_empty_segment_still_makes_the_list(workspace, engine):
    result = ops.add_to_list(workspace, engine, NOBODY, "Nobody yet")
    assert (result.created, result.added, result.already_there) == (True, 0, 0)
    assert "Nobody yet" in set(workspace.load().lists["name"])


def without_contacts(data, gone: set[int]):
    """``data`` without the contacts ``gone`` and everything that refers to them."""
    return data.replace(**{
        name: frame[~frame["contact_id"].isin(gone)]
        for name in ("contacts", "contact_tags", "list_memberships", "email_events", "orders")
        for frame in [getattr(data, name)]
    })


def test_members_gone_since_the_engine_was_built_are_skipped(workspace):
    stale = MemoryEngine(workspace.load(), as_of=AS_OF)
    members = stale.members(LEAST.definition)
    gone = set(members[:3].tolist())
    workspace.import_dataset(without_contacts(workspace.load(), gone), mode="replace")
    result = ops.add_to_list(workspace, stale, LEAST, "Stale")
    assert result.added == len(members) - 3
    kept = workspace.load().list_memberships
    assert not kept[kept["list_id"] == result.list_id]["contact_id"].isin(gone).any()


@pytest.mark.postgres
def test_add_to_list_on_postgresql(sample, tmp_path):
    with fresh_database() as url:
        check_add_to_list(Workspace.open(url, cache_dir=tmp_path / "cache"), sample)


def check_add_to_list(ws, sample):
    ws.import_dataset(sample)
    engine = SqlEngine(ws, as_of=AS_OF)
    version = ws.data_version()
    first = ops.add_to_list(ws, engine, LEAST, "Win-back")
    again = ops.add_to_list(ws, engine, LEAST, "win-back")
    assert first.created and first.added == ops.count(engine, LEAST) > 0
    assert (again.added, again.already_there) == (0, first.added)
    assert ws.data_version() == version + 1
    assert "Win-back" in set(ws.load().lists["name"])
