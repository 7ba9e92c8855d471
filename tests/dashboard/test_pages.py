"""An AppTest run of every dashboard page: no exception, the key elements, the library's numbers."""

from __future__ import annotations

import json
import sqlite3

import pytest
from streamlit import config as streamlit_config

import engagekit as ek
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.store import SegmentStore

from dashboard_support import APP, APP_TIMEOUT_SECONDS, AS_OF, show

LABELS = list(ek.LEVEL_LABELS.values())
PAGES = ["overview", "transitions", "segments", "builder", "lists", "settings"]
MANAGE = "Copy, edit or delete"


def data_source(at):
    return show(at, "settings_view", "Data source")


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
    text = plain(" ".join(block.value for block in app.markdown))
    for levels in (report.current, report.previous):  # both levels are explained
        explanation = ek.explain_contact(levels, int(contact["contact_id"]))
        assert ek.LEVEL_LABELS[explanation.level] in text
        assert explanation.reasons[0] in text
    assert f"contact?email={email.replace('@', '%40')}" in text


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
    pair = transitions.pair("somewhat_engaged", "least_engaged")
    assert metrics(app)["Somewhat engaged → Least engaged"] == f"{len(pair):,} contacts"
    table = app.dataframe[0].value
    contacts = library.load().contacts.set_index("contact_id")
    assert set(table["email"]) <= set(contacts.loc[pair["contact_id"], "email"])
    assert len(table) == min(len(pair), 25)


def test_contact_tables_read_well(app):
    go(app, "transitions")
    table = app.dataframe[0]
    shown = json.loads(table.proto.columns)
    assert shown["last_open_at"]["label"] == "Last engagement (in window)"
    assert shown["last_engagement_ever_at"]["label"] == "Last engagement (ever)"
    assert shown["open_rate"]["type_config"]["format"] == "percent"
    assert shown["email"]["width"] == 270  # an address is never cut off
    assert table.proto.HasField("placeholder") and table.proto.placeholder == ""  # blanks stay blank

    go(app, "segments")
    app.multiselect(key="segments_columns").set_value(
        ["email", "loyalty_points", "open_rate", "date_added", "last_open_at",
         "days_since_last_engagement", "score"]).run()
    table = app.dataframe[1]
    shown = json.loads(table.proto.columns)
    assert shown["days_since_last_engagement"] == {
        "label": "Days since last engagement (in window)", "type_config": {"type": "number", "format": "%d"}}
    assert table.value["days_since_last_engagement"].dtype == "float64"  # the data is untouched
    assert shown["score"]["type_config"]["format"] == "%.2f"
    assert shown["loyalty_points"]["label"] == "Loyalty points"
    assert shown["open_rate"]["type_config"]["format"] == "percent"
    assert shown["date_added"]["type_config"]["format"] == "YYYY-MM-DD"
    assert shown["last_open_at"]["type_config"]["format"] == "YYYY-MM-DD HH:mm"
    assert "Loyalty points" in app.multiselect(key="segments_columns").options


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
    assert table["name"].tolist()[:4] == LABELS
    assert table["contacts"].tolist()[:4] == counts.tolist()
    show(app, "segments_view", MANAGE)
    # A pre-built segment can be copied, not edited, renamed or deleted.
    assert app.button(key="segments_edit").disabled
    assert app.button(key="segments_delete").disabled
    assert not app.button(key="segments_copy").disabled


def test_segments_copy_rename_and_delete(app, library):
    go(app, "segments")
    app.selectbox(key="segments_selected").set_value("Least engaged").run()
    show(app, "segments_view", MANAGE)
    app.button(key="segments_copy").click().run()
    assert not app.exception
    assert app.selectbox(key="segments_selected").value == "Least engaged (copy)"
    assert not app.button(key="segments_delete").disabled

    app.text_input(key="segments_rename_name").input("Win-back").run()
    app.button(key="segments_rename").click().run()
    assert app.selectbox(key="segments_selected").value == "Win-back"
    assert "Win-back" in SegmentStore(library).names()

    app.button(key="segments_delete").click().run()
    assert "you can undo it" in app.warning[-1].value
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
    assert list(table.columns) == ["email", "tags", "open_rate", "open_contact"] and len(table) == 1
    assert table["open_contact"].iloc[0].startswith("contact?email=")  # each member links to its page


def test_segments_add_to_a_new_list_twice(app, library):
    go(app, "segments")
    app.selectbox(key="segments_selected").set_value("Most engaged").run()
    show(app, "segments_view", "Add to list")
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
    show(app, "segments_view", MANAGE)
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


def test_settings_choose_what_counts_as_engagement(app, library):
    go(app, "settings")
    assert app.radio(key="set_engagement").value == "confirmed_opens"
    assert not app.checkbox(key="set_count_scanner").value
    app.radio(key="set_engagement").set_value("clicks_only").run()
    expected = library_report(library, engagement="clicks_only").current.counts()
    assert app.dataframe[0].value["preview"].tolist() == expected.tolist()
    app.button(key="apply_settings").click().run()
    assert library.load_settings()[0].engagement == "clicks_only"
    go(app, "overview")
    assert metrics(app)["Least engaged"] == f"{expected['least_engaged']:,}"


def test_data_page_shows_the_readiness_audit(app, library):
    data_source(go(app, "settings"))
    audit = ek.audit_data(library.load(), as_of=AS_OF)
    shown = metrics(app)
    assert shown["Judged contacts"] == f"{audit.judged:,}"
    assert shown["Contacts changing level"] == f"{audit.changed:,}"
    assert shown["Machine opens"] == ek.format_share(audit.machine_opens / audit.opens)
    text = plain(" ".join(block.value for block in app.markdown))
    assert "bulk-sender threshold" in text and "one-click unsubscribe" in text
    matrix = app.dataframe[-1].value  # the audit's previous-rule -> new-rule matrix
    assert int(matrix.select_dtypes("number").to_numpy().sum()) == audit.contacts


def test_settings_show_the_library_error_for_impossible_shares(app):
    go(app, "settings")
    app.slider(key="set_most").set_value(70).run()
    app.slider(key="set_least").set_value(50).run()
    assert "add up to more than 100%" in plain(app.error[0].value)
    assert app.button(key="apply_settings").disabled


def test_settings_change_the_as_of_date(app, library):
    go(app, "settings")
    assert app.checkbox(key="set_follow").value  # nothing pinned: the as-of follows the data
    assert app.text_input(key="set_as_of").disabled
    app.checkbox(key="set_follow").uncheck().run()
    app.text_input(key="set_as_of").input("2026-10-31").run()
    app.button(key="apply_settings").click().run()
    go(app, "overview")
    expected = ek.engagement_report(library.load(), as_of="2026-10-31").current.counts()
    assert metrics(app)["Least engaged"] == f"{expected['least_engaged']:,}"
    assert "2026-10-31 00:00 (fixed in the workspace settings)" in " ".join(block.value for block in app.sidebar.markdown)
    assert library.load_settings()[1] == ek.as_timestamp("2026-10-31")


def fresh_app():
    """A new browser session on the same workspace."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.run()
    assert not at.exception, at.exception
    return at


def test_applied_settings_are_saved_in_the_workspace(app, library):
    go(app, "settings")
    assert "saved in the workspace" in " ".join(caption.value for caption in app.caption)
    app.slider(key="set_most").set_value(10).run()
    app.number_input(key="set_min_sends").set_value(5).run()
    app.button(key="apply_settings").click().run()
    assert "saved in the workspace" in plain(app.success[0].value)
    config, pinned = library.load_settings()
    assert (config.most_engaged_share, config.min_sends, pinned) == (0.1, 5, None)

    later = fresh_app()  # another session, as after a restart
    expected = library_report(library, most_engaged_share=0.1, min_sends=5).current.counts()
    assert metrics(later)["Most engaged"] == f"{expected['most_engaged']:,}"
    sidebar = " ".join(block.value for block in later.sidebar.markdown)
    assert "top 10%" in sidebar and "5 sends" in sidebar and "(follows the data)" in sidebar
    go(later, "settings")
    assert later.slider(key="set_most").value == 10
    assert later.button(key="apply_settings").disabled  # the form shows what is in force


def test_reset_then_apply_saves_the_defaults_and_follows_the_data(app, library):
    go(app, "settings")
    app.checkbox(key="set_follow").uncheck().run()
    app.text_input(key="set_as_of").input("2026-10-31").run()
    app.slider(key="set_least").set_value(30).run()
    app.button(key="apply_settings").click().run()
    assert library.load_settings() == (ek.EngagementConfig(least_engaged_share=0.3),
                                       ek.as_timestamp("2026-10-31"))

    app.button(key="reset_settings").click().run()
    assert app.slider(key="set_least").value == 40
    assert app.checkbox(key="set_follow").value
    assert app.text_input(key="set_as_of").value == AS_OF
    assert library.load_settings()[0].least_engaged_share == 0.3  # nothing saved before Apply
    app.button(key="apply_settings").click().run()
    assert library.load_settings() == (ek.EngagementConfig(), None)
    assert app.button(key="apply_settings").disabled

    later = fresh_app()
    sidebar = " ".join(block.value for block in later.sidebar.markdown)
    assert f"{AS_OF} 00:00 (follows the data)" in sidebar and "bottom 40%" in sidebar


def test_empty_workspace_points_to_settings_and_loads_the_sample(empty_workspace_url):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.run()
    assert not at.exception
    assert "no contacts yet" in at.info[0].value
    data_source(go(at, "settings"))
    at.number_input(key="sample_contacts").set_value(300).run()
    at.button(key="load_sample").click().run()
    assert not at.exception, at.exception
    assert "Imported the sample data" in plain(at.success[0].value)
    assert ek.Workspace.open(empty_workspace_url).load().n_contacts == 300
    go(at, "overview")
    assert set(LABELS) <= set(metrics(at))


def make_source_database(path) -> str:
    """A small CRM-like SQLite database with other table and column names than engagekit's."""
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE crm_people (id INTEGER, email_address TEXT, given TEXT, status TEXT,
                                     points REAL);
            INSERT INTO crm_people VALUES (1, 'Zoe@Example.com', 'Zoe', 'subscribed', 12),
                                          (2, 'not-an-email', 'X', 'subscribed', 1),
                                          (3, 'yann@example.com', NULL, 'unsubscribed', NULL);
            CREATE TABLE mailings (id INTEGER, subject TEXT, sent TEXT);
            INSERT INTO mailings VALUES (7, 'Spring sale', '2026-11-20 09:00');
            CREATE TABLE activity (person_id INTEGER, mailing_id INTEGER, kind TEXT, at TEXT);
            INSERT INTO activity VALUES (1, 7, 'send', '2026-11-20 09:00'),
                                        (1, 7, 'open', '2026-11-20 10:00'),
                                        (3, 7, 'send', '2026-11-20 09:00');
        """)
    return f"sqlite:///{path}"


MAPPING = {
    "contacts": {"table": "crm_people",
                 "columns": {"contact_id": "id", "email": "email_address", "first_name": "given",
                             "email_status": "status"},
                 "custom_fields": {"loyalty_points": "points"}},
    "campaigns": {"table": "mailings", "columns": {"campaign_id": "id", "name": "subject",
                                                   "sent_at": "sent"}},
    "email_events": {"table": "activity", "columns": {"contact_id": "person_id",
                     "campaign_id": "mailing_id", "event_type": "kind", "occurred_at": "at"}},
}


def read_from_database(at, url: str, mapping: str):
    at.text_input(key="db_url").input(url)
    at.text_area(key="db_mapping").input(mapping)
    at.button(key="FormSubmitter:database_import-Read the database").click().run()
    assert not at.exception, at.exception
    return at


def test_import_from_another_database_with_a_mapping(app, library, tmp_path):
    source = make_source_database(tmp_path / "crm.db")
    expected_dataset, expected_report = ek.read_database(source, MAPPING)
    before = library.load().n_contacts
    data_source(go(app, "settings"))
    assert "crm_people" in app.text_area(key="db_mapping").placeholder  # an example to follow
    read_from_database(app, source, json.dumps(MAPPING))
    shown = " ".join(block.value for block in app.markdown)
    assert "Import report" in shown and expected_report.summary() in shown
    problems = app.dataframe[-1].value  # under the preview table of the other tab
    assert problems["value"].tolist() == ["not-an-email"]
    assert "crm_people" in problems["file"].tolist()
    assert library.load().n_contacts == before  # nothing imported before confirming

    app.radio(key="import_mode_database").set_value("merge").run()
    app.button(key="confirm_import_database").click().run()
    assert not app.exception, app.exception
    assert "Imported the database sqlite:///" in plain(app.success[0].value)
    merged = library.load()
    assert {"zoe@example.com", "yann@example.com"} <= set(merged.contacts["email"])
    assert merged.n_contacts == before + expected_dataset.n_contacts
    assert "loyalty_points" in merged.custom_fields


def test_database_import_errors_show_next_to_the_form(app, library, tmp_path):
    source = make_source_database(tmp_path / "crm.db")
    data_source(go(app, "settings"))
    read_from_database(app, source, "{not json")
    assert "invalid database mapping" in plain(app.error[0].value)
    wrong = {"contacts": {"table": "people", "columns": {"contact_id": "id", "email": "mail"}}}
    read_from_database(app, source, json.dumps(wrong))
    assert "no table 'people'" in plain(app.error[0].value)
    assert "crm_people" in plain(app.error[0].value)  # it lists the tables there are
    read_from_database(app, f"sqlite:///{tmp_path / 'missing' / 'crm.db'}", json.dumps(MAPPING))
    assert "no SQLite database file" in plain(app.error[0].value)
    assert "confirm_import_database" not in [button.key for button in app.button]


def test_open_another_workspace_by_url(app, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGEKIT_DASHBOARD_WORKSPACES", f"sqlite:///{tmp_path}/*.db")
    data_source(go(app, "settings"))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    app.text_input(key="workspace_url_input").input(other).run()
    app.button(key="open_workspace").click().run()
    assert not app.exception
    assert other in app.sidebar.code[0].value
    app.text_input(key="workspace_url_input").input("not a url").run()
    app.button(key="open_workspace").click().run()
    assert "Not a database URL" in plain(app.error[0].value)


@pytest.mark.parametrize("wanted", [
    "sqlite:///{tmp}/elsewhere/new.db",
    "sqlite:///{tmp}/../../etc/engagekit.db",
    "postgresql+psycopg://postgres@10.0.0.1:5432/postgres",
])
def test_workspace_box_opens_only_what_the_deployment_allows(app, tmp_path, wanted):
    data_source(go(app, "settings"))
    url = wanted.format(tmp=tmp_path)
    app.text_input(key="workspace_url_input").input(url).run()
    app.button(key="open_workspace").click().run()
    assert not app.exception, app.exception
    assert "may not open" in plain(app.error[0].value)
    assert not (tmp_path / "elsewhere").exists()  # nothing created on the server
    assert url not in app.sidebar.code[0].value


def test_replace_import_waits_for_a_confirmation(app, library, tmp_path):
    source = make_source_database(tmp_path / "crm.db")
    before = library.load().n_contacts
    data_source(go(app, "settings"))
    read_from_database(app, source, json.dumps(MAPPING))
    assert app.radio(key="import_mode_database").value == "merge"  # merge is the default
    app.radio(key="import_mode_database").set_value("replace").run()
    assert app.button(key="confirm_import_database").disabled
    app.checkbox(key="confirm_replace_database").check().run()
    assert not app.button(key="confirm_import_database").disabled
    assert library.load().n_contacts == before


def test_members_table_download_is_the_safe_export(app):
    go(app, "segments")
    keys = [button.key for button in app.get("download_button")]
    assert "segments_members_download" in keys
    assert streamlit_config.get_option("client.disableDataExport") is True


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


def test_a_deleted_segment_can_be_undone(app, library):
    store = SegmentStore(library)
    store.create("Lapsed", {"version": 1, "criteria": {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": ["least_engaged"]}]}})
    go(app, "segments")
    app.selectbox(key="segments_selected").set_value("Lapsed").run()
    show(app, "segments_view", MANAGE)
    app.button(key="segments_delete").click().run()
    app.button(key="segments_delete_yes").click().run()
    assert "Lapsed" not in store.names()
    app.button(key="segments_undo_delete").click().run()
    assert not app.exception, app.exception
    assert "Lapsed" in store.names()
    assert "Restored 'Lapsed'" in plain(app.success[0].value)
    assert app.selectbox(key="segments_selected").value == "Lapsed"


def test_nobody_judged_says_so_instead_of_an_empty_chart(app, library):
    library.save_settings(ek.EngagementConfig(min_sends=1000))
    app.run()
    assert not app.exception, app.exception
    assert any("Nobody is judged yet" in info.value for info in app.info)
    assert len(app.get("plotly_chart")) == 2  # level bars and shares over time, no empty histogram


def test_a_typed_as_of_date_refreshes_the_preview(app, library):
    go(app, "settings")
    app.checkbox(key="set_follow").uncheck().run()
    app.text_input(key="set_as_of").input("2026-10-31").run()  # Enter or Tab sends it
    expected = ek.engagement_report(library.load(), as_of="2026-10-31").current.counts()
    assert app.dataframe[0].value["preview"].tolist() == expected.tolist()


def test_apply_saves_only_the_date_the_preview_shows(app, library):
    go(app, "settings")
    app.checkbox(key="set_follow").uncheck().run()
    app.text_input(key="set_as_of").input("2026-10-31").run()
    # A date typed and sent with the click itself (the box left by clicking Apply) is shown first.
    app.text_input(key="set_as_of").input("2026-09-30")
    app.button(key="apply_settings").click().run()
    assert library.load_settings()[1] is None
    assert "press Apply again" in app.info[0].value
    expected = ek.engagement_report(library.load(), as_of="2026-09-30").current.counts()
    assert app.dataframe[0].value["preview"].tolist() == expected.tolist()
    app.button(key="apply_settings").click().run()
    assert library.load_settings()[1] == ek.as_timestamp("2026-09-30")


def test_a_date_that_is_not_one_says_so(app):
    go(app, "settings")
    app.checkbox(key="set_follow").uncheck().run()
    app.text_input(key="set_as_of").input("end of October").run()
    assert "As-of date 'end of October' is not a date" in plain(app.error[0].value)
    assert app.button(key="apply_settings").disabled


def test_a_replace_can_be_undone(app, library, tmp_path):
    before = library.load()
    library.lists.create("Made here")
    data_source(go(app, "settings"))
    read_from_database(app, make_source_database(tmp_path / "crm.db"), json.dumps(MAPPING))
    app.radio(key="import_mode_database").set_value("replace").run()
    app.checkbox(key="confirm_replace_database").check().run()
    app.button(key="confirm_import_database").click().run()
    assert not app.exception, app.exception
    assert "Replaced the workspace data with the database" in plain(app.success[0].value)
    assert library.load().n_contacts == 2

    app.button(key="settings_undo_replace").click().run()
    assert not app.exception, app.exception
    assert f"{before.n_contacts:,} contacts" in plain(app.success[0].value)
    after = library.load()
    assert after.contacts["email"].tolist() == before.contacts["email"].tolist()
    assert after.contacts["contact_id"].tolist() == before.contacts["contact_id"].tolist()
    assert len(after.email_events) == len(before.email_events)
    assert "Made here" in library.lists.workspace_lists()
    assert "settings_undo_replace" not in [button.key for button in app.button]  # undone once


def test_segments_search_by_name_and_sort(app, library):
    store = SegmentStore(library)
    level = {"source": "engagement", "field": "current_level", "op": "is"}
    store.create("Winter fans", {"version": 1, "criteria": {"type": "and", "group": [
        {**level, "value": ["most_engaged", "somewhat_engaged"]}]}})
    store.create("Autumn lapsed", {"version": 1, "criteria": {"type": "and", "group": [
        {**level, "value": ["least_engaged"]}]}})
    go(app, "segments")
    app.text_input(key="segments_search").input("  ENGAGED ").run()
    assert app.dataframe[0].value["name"].tolist() == ["Most engaged", "Somewhat engaged", "Least engaged"]
    app.text_input(key="segments_search").input("").run()
    app.selectbox(key="segments_sort").set_value("name").run()
    assert app.dataframe[0].value["name"].tolist()[:2] == ["Autumn lapsed", "Everyone else"]
    app.selectbox(key="segments_sort").set_value("contacts").run()
    sizes = app.dataframe[0].value["contacts"].tolist()
    assert sizes == sorted(sizes, reverse=True)
    app.selectbox(key="segments_sort").set_value("updated").run()
    assert app.dataframe[0].value["name"].tolist()[:2] == ["Autumn lapsed", "Winter fans"]  # newest first
    app.text_input(key="segments_search").input("nothing like it").run()
    assert "No segment's name contains 'nothing like it'" in plain(app.info[0].value)


def test_shares_read_alike_on_every_page(app, library):
    """One percentage format: a metric's caption and a table's column show 12.3%, one decimal."""
    report = library_report(library)
    go(app, "overview")
    captions = [caption.value for caption in app.caption]
    for row in report.level_changes().itertuples():
        assert any(caption.startswith(f"{ek.format_share(row.current_share)} of contacts")
                   for caption in captions)
    go(app, "segments")
    shown = json.loads(app.dataframe[0].proto.columns)["share"]["type_config"]
    assert shown["format"] == "percent" and shown["step"] == 0.001  # one decimal, as format_share
    go(app, "settings")
    preview = json.loads(app.dataframe[0].proto.columns)
    assert preview["share"]["type_config"]["step"] == 0.001
    assert preview["now"]["type_config"]["format"] == "localized"  # thousands separators
    assert set(app.dataframe[0].value["change"]) == {"0"}  # no change: no sign
