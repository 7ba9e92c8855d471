"""The session: which settings are in force, one as-of time for everything it hands out."""

from __future__ import annotations

import pandas as pd
import pytest

import engagekit as ek

NOW = "2027-01-10 09:00"


@pytest.fixture
def url(tmp_path, sample_dataset):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(sample_dataset, mode="replace")
    return url


def test_as_of_follows_the_data_when_nothing_is_pinned(url):
    settings = ek.Session.open(url, now=NOW).settings
    last_sent = ek.Workspace.open(url).last_sent_at()
    assert settings.as_of_rule == "data"
    assert settings.as_of == last_sent.normalize() + pd.Timedelta(days=1)
    assert settings.data_as_of == settings.as_of


def test_data_still_being_sent_is_judged_as_of_now(url):
    settings = ek.Session.open(url, now="2026-11-20 15:00").settings
    assert (settings.as_of, settings.as_of_rule) == (pd.Timestamp("2026-11-20 15:00"), "data")


def test_a_pinned_date_wins_over_the_data_and_a_given_one_over_both(url):
    session = ek.Session.open(url, now=NOW)
    pinned = session.save_settings(session.config, as_of="2026-10-01")
    assert (pinned.as_of, pinned.settings.as_of_rule) == (pd.Timestamp("2026-10-01"), "pinned")
    given = ek.Session.open(url, as_of="2026-09-01", now=NOW)
    assert (given.as_of, given.settings.as_of_rule) == (pd.Timestamp("2026-09-01"), "given")
    assert "as-of time 2026-09-01 00:00 UTC" in given.settings.override_note()


def test_saved_settings_are_in_force_and_overrides_are_named(url):
    saved = ek.EngagementConfig(min_sends=4)
    ek.Workspace.open(url).save_settings(saved)
    session = ek.Session.open(url, changes={"most_engaged_share": 0.1}, now=NOW)
    assert session.config == saved.with_changes(most_engaged_share=0.1)
    assert session.settings.overrides == ("most_engaged_share",)
    assert session.settings.override_note() == (
        "For this run only: most engaged share 10% (saved: 20%).")
    assert ek.Session.open(url, now=NOW).settings.override_note() is None


def test_an_unknown_setting_is_refused(url):
    with pytest.raises(ek.ConfigError, match="Unknown setting"):
        ek.Session.open(url, changes={"min_sendz": 2})


def test_everything_the_session_hands_out_is_at_its_as_of(url):
    session = ek.Session.open(url, as_of="2026-11-30", now=NOW)
    assert session.report.current.as_of == session.as_of
    assert session.engine("memory").as_of == session.engine("sql").as_of == session.as_of
    for segment in session.segments():
        ids = session.member_ids(segment)
        assert session.count(segment) == len(ids) == session.count(segment, engine="sql")
        assert session.audience(segment).as_of == session.as_of


def test_segments_are_named_or_given(url):
    session = ek.Session.open(url, as_of="2026-11-30", now=NOW)
    definition = ek.level_segment("least_engaged")
    assert session.count("least ENGAGED") == session.count(definition) == session.count(definition.to_json())
    with pytest.raises(ek.NotFoundError):
        session.count("No such segment")


def test_with_settings_keeps_the_data_and_the_as_of(url):
    session = ek.Session.open(url, now=NOW)
    other = session.with_settings(changes={"min_sends": 1})
    assert other.dataset is session.dataset
    assert (other.as_of, other.settings.as_of_rule) == (session.as_of, session.settings.as_of_rule)
    assert other.levels.n_judged >= session.levels.n_judged


def test_preview_recuts_without_recomputing_and_matches_a_fresh_computation(url):
    session = ek.Session.open(url, as_of="2026-11-30", now=NOW)
    candidate = session.config.with_changes(min_sends=5, most_engaged_share=0.3)
    preview = session.preview(candidate)
    fresh = ek.compute_levels(session.dataset, as_of=session.as_of, config=candidate)
    assert preview.table["level"].tolist() == fresh.table["level"].tolist()


def test_explain_by_email_or_id_for_both_levels(url):
    session = ek.Session.open(url, as_of="2026-11-30", now=NOW)
    contact = session.dataset.contacts.iloc[3]
    by_email = session.explain(contact["email"].upper())
    assert by_email.contact_id == int(contact["contact_id"])
    previous = session.explain(int(contact["contact_id"]), previous=True)
    assert previous.level == session.report.previous.table.set_index("contact_id").loc[
        int(contact["contact_id"]), "level"]
    with pytest.raises(ek.NotFoundError, match="no contact with email"):
        session.explain("nobody@example.com")


def test_an_empty_workspace_opens_with_no_data(tmp_path):
    session = ek.Session.open(f"sqlite:///{tmp_path / 'empty.db'}", now=NOW)
    assert not session.has_data
    assert session.settings.as_of == pd.Timestamp(NOW)
    assert int(session.levels.counts().sum()) == 0


def test_a_replace_is_undone_with_the_same_ids_lists_and_members(url):
    session = ek.Session.open(url)
    before = session.dataset
    session.add_to_list("Least engaged", "Win-back")
    members_before = session.workspace.lists.list().set_index("name").loc["Win-back", "members"]
    session = ek.Session.open(url)
    replacement = session.replace_data(ek.generate_sample(40, seed=99), what="a small sample")
    assert replacement.summary().startswith("Replaced the workspace data with a small sample: it now has 40")
    assert replacement.workspace_lists == ("Win-back",)

    ek.Session.open(url).undo_replace(replacement)
    after = ek.Session.open(url).dataset
    pd.testing.assert_frame_equal(after.contacts, before.contacts)
    assert len(after.email_events) == len(before.email_events)
    lists = session.workspace.lists.list().set_index("name")
    assert lists.loc["Win-back", "origin"] == "workspace"
    assert lists.loc["Win-back", "members"] == members_before


def test_lists_are_made_renamed_and_deleted_through_the_session(url):
    session = ek.Session.open(url)
    assert session.list_names(editable=True) == []
    session.create_list("Fans")
    session.rename_list("fans", "Big fans")
    assert session.list_names(editable=True) == ["Big fans"]
    assert set(session.list_names()) > {"Big fans"}  # the imported lists too
    imported = session.lists().loc[lambda frame: ~frame["editable"], "name"].iloc[0]
    with pytest.raises(ek.ReadOnlyListError):
        session.rename_list(imported, "Mine now")
    assert session.delete_list("Big fans") == "Big fans"
    assert session.list_names(editable=True) == []
