"""An AppTest run of every dashboard page: no exception, the key elements, the library's numbers."""

from __future__ import annotations

import pytest

import engagekit as ek
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.store import SegmentStore

from dashboard_support import APP, APP_TIMEOUT_SECONDS, AS_OF

LABELS = list(ek.LEVEL_LABELS.values())
PAGES = ["overview", "transitions", "segments", "builder", "settings"]


def plain(markdown: str) -> str:
    """Text as shown: the app escapes Markdown characters in names and messages."""
    return markdown.replace("\\", "")


def go(at, page: str):
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def library_report(workspace, **changes):
    config = ek.EngagementConfig().with_changes(**changes)
    return ek.engagement_report(workspace.load(), as_of=AS_OF, config=config)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs(app, page):
    go(app, page)
    assert app.title[0].value
    sidebar = " ".join(block.value for block in app.sidebar.markdown)
    assert "2026-11-30" in sidebar and "top 20%" in sidebar


def test_overview_shows_the_four_levels_with_the_library_counts(app, library):
    report = library_report(library)
    shown = metrics(app)
    for row in report.level_changes().itertuples():
        assert shown[row.label] == f"{row.current:,}"
    assert shown["Contacts"] == f"{len(report.current.table):,}"
    assert shown["Judged contacts"] == f"{report.current.n_judged:,}"
    assert len(app.get("plotly_chart")) == 3  # level bars, score histogram, shares over time


def test_overview_explains_a_contact(app, library):
    report = library_report(library)
    contact = report.current.table.iloc[0]
    email = library.load().contacts.set_index("contact_id").loc[contact["contact_id"], "email"]
    app.text_input(key="lookup_email").input(f"  {email.upper()} ").run()
    explanation = ek.explain_contact(report.current, int(contact["contact_id"]))
    text = " ".join(block.value for block in app.markdown)
    assert ek.LEVEL_LABELS[explanation.level] in text
    assert explanation.reasons[0] in text


def test_overview_says_when_an_email_is_unknown(app):
    app.text_input(key="lookup_email").input("nobody@nowhere.invalid").run()
    assert "No contact" in app.warning[0].value


def test_transitions_show_movements_and_pick_a_pair(app, library):
    go(app, "transitions")
    transitions = library_report(library).transitions
    shown = metrics(app)
    for name, value in transitions.movement_counts().items():
        assert shown[name.capitalize()] == f"{int(value):,}"
    assert len(app.get("plotly_chart")) == 2  # Sankey and heatmap

    app.selectbox(key="pair_previous").set_value("somewhat_engaged").run()
    app.selectbox(key="pair_current").set_value("least_engaged").run()
    expected = len(transitions.pair("somewhat_engaged", "least_engaged"))
    assert metrics(app)["Somewhat engaged → Least engaged"] == f"{expected:,} contacts"
    table = app.dataframe[0].value
    assert set(table["previous_level"]) <= {"Somewhat engaged"}
    assert len(table) == min(expected, 25)


def test_transitions_save_a_pair_as_a_segment(app, library):
    go(app, "transitions")
    app.button(key="pair_save").click().run()
    assert not app.exception
    segment = SegmentStore(library).get("Most engaged → Least engaged")
    engine = MemoryEngine(library.load(), as_of=AS_OF)
    expected = len(library_report(library).transitions.pair("most_engaged", "least_engaged"))
    assert engine.count(segment.definition) == expected
    assert "Saved segment" in plain(app.success[0].value)

    app.button(key="pair_save").click().run()  # the same name again: the library refuses
    assert "already exists" in plain(app.error[0].value)


def test_segments_list_prebuilt_with_live_counts(app, library):
    go(app, "segments")
    table = app.dataframe[0].value
    counts = library_report(library).current.counts()
    assert table["Segment"].tolist()[:4] == LABELS
    assert table["Contacts"].tolist()[:4] == counts.tolist()
    # A pre-built segment can be copied, not edited, renamed or deleted.
    assert app.button(key="segments_edit").disabled
    assert app.button(key="segments_delete").disabled
    assert not app.button(key="segments_copy").disabled


def test_segments_copy_rename_and_delete(app, library):
    go(app, "segments")
    app.selectbox(key="segments_selected").set_value("Least engaged").run()
    app.button(key="segments_copy").click().run()
    assert not app.exception
    assert app.selectbox(key="segments_selected").value == "Least engaged (copy)"
    assert not app.button(key="segments_delete").disabled

    app.text_input(key="segments_rename_name").input("Win-back").run()
    app.button(key="segments_rename").click().run()
    assert app.selectbox(key="segments_selected").value == "Win-back"
    assert "Win-back" in SegmentStore(library).names()

    app.button(key="segments_delete").click().run()
    assert "cannot be undone" in app.warning[-1].value
    app.button(key="segments_delete_yes").click().run()
    assert "Win-back" not in SegmentStore(library).names()
    assert not app.exception


def test_segments_members_choose_columns_and_narrow_warning(app, library):
    store = SegmentStore(library)
    store.create("One person", {"version": 1, "criteria": {"type": "and", "group": [
        {"source": "contact", "field": "email", "op": "equals",
         "value": library.load().contacts["email"].iloc[0]}]}})
    go(app, "segments")
    app.selectbox(key="segments_selected").set_value("One person").run()
    assert "too narrow" in app.warning[0].value
    app.multiselect(key="segments_columns").set_value(["email", "tags", "open_rate"]).run()
    table = app.dataframe[1].value
    assert list(table.columns) == ["email", "tags", "open_rate"] and len(table) == 1


def test_segments_add_to_a_new_list_twice(app, library):
    go(app, "segments")
    app.selectbox(key="segments_selected").set_value("Most engaged").run()
    app.text_input(key="segments_new_list").input("Fans").run()
    app.button(key="segments_add_to_list").click().run()
    expected = library_report(library).current.counts()["most_engaged"]
    assert f"Added {expected:,} contacts to list 'Fans' (new list)" in plain(app.success[0].value)
    app.selectbox(key="segments_list_choice").set_value("Fans").run()
    app.button(key="segments_add_to_list").click().run()
    assert f"Added 0 contacts to list 'Fans'; {expected:,} were already there" in \
        plain(app.success[0].value)


def test_segments_edit_opens_the_builder(app, library):
    SegmentStore(library).create("Lapsed", {"version": 1, "criteria": {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": ["least_engaged"]}]}})
    go(app, "segments")
    app.selectbox(key="segments_selected").set_value("Lapsed").run()
    app.button(key="segments_edit").click().run()
    assert not app.exception
    tree = app.session_state["builder"]
    assert tree["editing"] == "Lapsed"
    assert tree["groups"][0]["criteria"][0]["value"] == ["least_engaged"]
    assert app.title[0].value == "Segment builder"


def test_settings_preview_then_apply(app, library):
    go(app, "settings")
    app.slider(key="set_most").set_value(10).run()
    app.number_input(key="set_min_sends").set_value(5).run()
    expected = library_report(library, most_engaged_share=0.1, min_sends=5).current.counts()
    preview = app.dataframe[0].value
    assert preview["preview"].tolist() == expected.tolist()
    # Nothing is in force until Apply.
    go(app, "overview")
    assert metrics(app)["Most engaged"] != f"{expected['most_engaged']:,}"

    go(app, "settings")
    app.slider(key="set_most").set_value(10).run()
    app.number_input(key="set_min_sends").set_value(5).run()
    app.button(key="apply_settings").click().run()
    assert "applied" in plain(app.success[0].value)
    go(app, "overview")
    assert metrics(app)["Most engaged"] == f"{expected['most_engaged']:,}"
    sidebar = " ".join(block.value for block in app.sidebar.markdown)
    assert "top 10%" in sidebar and "3 sends" not in sidebar


def test_settings_show_the_library_error_for_impossible_shares(app):
    go(app, "settings")
    app.slider(key="set_most").set_value(70).run()
    app.slider(key="set_least").set_value(50).run()
    assert "at most 1" in plain(app.error[0].value)
    assert app.button(key="apply_settings").disabled


def test_settings_change_the_as_of_date(app, library):
    go(app, "settings")
    app.date_input(key="set_as_of").set_value(ek.as_timestamp("2026-10-31").date()).run()
    app.button(key="apply_settings").click().run()
    go(app, "overview")
    expected = ek.engagement_report(library.load(), as_of="2026-10-31").current.counts()
    assert metrics(app)["Least engaged"] == f"{expected['least_engaged']:,}"


def test_empty_workspace_points_to_settings_and_loads_the_sample(empty_workspace_url):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.run()
    assert not at.exception
    assert "no contacts yet" in at.info[0].value
    go(at, "settings")
    at.number_input(key="sample_contacts").set_value(300).run()
    at.button(key="load_sample").click().run()
    assert not at.exception, at.exception
    assert "Imported the sample data" in plain(at.success[0].value)
    assert ek.Workspace.open(empty_workspace_url).load().n_contacts == 300
    go(at, "overview")
    assert set(LABELS) <= set(metrics(at))


def test_open_another_workspace_by_url(app, tmp_path):
    go(app, "settings")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    app.text_input(key="workspace_url_input").input(other).run()
    app.button(key="open_workspace").click().run()
    assert not app.exception
    assert other in app.sidebar.code[0].value
    app.text_input(key="workspace_url_input").input("not a url").run()
    app.button(key="open_workspace").click().run()
    assert "not a database URL" in plain(app.error[0].value)


def test_login_is_off_without_auth_secrets(app):
    assert not [button for button in app.button if button.label == "Sign in"]


AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
    "client_id": "engagekit", "client_secret": "secret",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}


@pytest.mark.parametrize("signed_in", [False, True])
def test_login_is_required_when_auth_is_configured(workspace_url, signed_in):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": signed_in, "email": "ann@example.com"}
    at.run()
    assert not at.exception, at.exception
    if signed_in:
        assert set(LABELS) <= set(metrics(at))
        assert "Signed in as ann@example.com" in at.sidebar.text.values
    else:
        assert [button.label for button in at.button] == ["Sign in"]
        assert not at.metric  # no page is shown before signing in
