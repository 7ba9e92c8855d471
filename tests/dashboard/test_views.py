"""A view chosen on a page stays chosen after an action's success message and rerun."""

from __future__ import annotations

import json

from engagekit.segments.store import SegmentStore

from dashboard_support import show
from test_pages import (
    MANAGE,
    MAPPING,
    data_source,
    go,
    make_source_database,
    plain,
    read_from_database,
)


def test_the_segments_view_stays_after_a_copy_and_a_rename(app, library):
    go(app, "segments")
    show(app, "segments_view", MANAGE)
    app.button(key="segments_copy").click().run()
    assert "Copied to" in plain(app.success[0].value)
    assert app.segmented_control(key="segments_view").value == MANAGE
    app.text_input(key="segments_rename_name").input("Fans of ours").run()
    app.button(key="segments_rename").click().run()
    assert "Renamed to 'Fans of ours'" in plain(app.success[0].value)
    assert app.segmented_control(key="segments_view").value == MANAGE
    assert "Fans of ours" in SegmentStore(library).names()


def test_the_segments_view_stays_after_adding_to_a_list(app):
    go(app, "segments")
    show(app, "segments_view", "Add to list")
    app.text_input(key="segments_new_list").input("Fans").run()
    app.button(key="segments_add_to_list").click().run()
    assert "to list 'Fans'" in plain(app.success[0].value)
    assert app.segmented_control(key="segments_view").value == "Add to list"
    assert app.selectbox(key="segments_list_choice").value == "Fans"  # ready to add again


def test_a_click_on_the_chosen_view_keeps_it(app):
    go(app, "segments")
    show(app, "segments_view", "Export")
    show(app, "segments_view", None)  # what a second click on the chosen button sends
    assert app.segmented_control(key="segments_view").value == "Export"
    assert "segments_audience" in [button.key for button in app.get("download_button")]


def test_the_data_source_view_stays_after_an_import(app, tmp_path):
    data_source(go(app, "settings"))
    read_from_database(app, make_source_database(tmp_path / "crm.db"), json.dumps(MAPPING))
    app.button(key="confirm_import_database").click().run()
    assert "Imported the database" in plain(app.success[0].value)
    assert app.segmented_control(key="settings_view").value == "Data source"
