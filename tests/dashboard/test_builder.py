"""Widget tests of the segment builder: dependent inputs, value widgets that fit, AND / OR, save."""

from __future__ import annotations

import pytest

from engagekit.segments.definition import SegmentDefinition
from engagekit.segments.memory_engine import MemoryEngine
from engagekit.segments.store import SegmentStore

from dashboard_support import AS_OF, show
from factories import AND_OR_SEGMENT


@pytest.fixture
def builder(app):
    app.switch_page("app_pages/builder.py").run()
    assert not app.exception
    return app


def plain(markdown: str) -> str:
    """Text as shown: the app escapes Markdown characters in names and messages."""
    return markdown.replace("\\", "")


def tree(at) -> dict:
    return at.session_state["builder"]


def key(at, node_id: int, part: str) -> str:
    return f"b{tree(at)['serial']}_{node_id}_{part}"


def criterion_ids(at) -> list[list[int]]:
    return [[row["id"] for row in group["criteria"]] for group in tree(at)["groups"]]


def choose(at, cid: int, source: str, field: str, op: str | None = None):
    at.selectbox(key=key(at, cid, "source")).set_value(source).run()
    at.selectbox(key=key(at, cid, "field")).set_value(field).run()
    if op is not None:
        at.selectbox(key=key(at, cid, "op")).set_value(op).run()
    assert not at.exception, at.exception
    return at


def summary_count(at) -> str:
    return next(m.value for m in at.metric if m.label == "Matching contacts")


def library_count(library, document: dict) -> int:
    engine = MemoryEngine(library.load(), as_of=AS_OF)
    return engine.count(SegmentDefinition.from_json(document))


def test_a_new_segment_starts_with_one_level_criterion(builder):
    [[cid]] = criterion_ids(builder)
    assert builder.selectbox(key=key(builder, cid, "source")).value == "engagement"
    levels = builder.multiselect(key=key(builder, cid, "value"))
    assert levels.options == ["Most engaged", "Somewhat engaged", "Least engaged", "Everyone else"]
    assert "Choose one or more engagement levels." in builder.caption.values[-1] or any(
        "Choose one or more engagement levels." in c.value for c in builder.caption)
    assert summary_count(builder) == "–"
    assert builder.button(key="FormSubmitter:builder_save-Save segment").disabled


def test_source_then_field_then_operator_then_a_fitting_value(builder):
    [[cid]] = criterion_ids(builder)
    choose(builder, cid, "metrics", "open_rate")
    ops = builder.selectbox(key=key(builder, cid, "op"))
    assert ops.value == "eq" and "is at least" in ops.options
    assert builder.number_input(key=key(builder, cid, "value")).label == "Value (%)"

    builder.selectbox(key=key(builder, cid, "op")).set_value("between").run()
    assert builder.number_input(key=key(builder, cid, "value_low")).label == "From (%)"
    assert builder.number_input(key=key(builder, cid, "value_high")).label == "To (%)"

    choose(builder, cid, "contact", "date_added", "before")
    assert builder.date_input(key=key(builder, cid, "value")).value.isoformat() == "2026-10-31"
    builder.selectbox(key=key(builder, cid, "op")).set_value("within_last_days").run()
    assert builder.number_input(key=key(builder, cid, "value")).label == "Days"

    choose(builder, cid, "contact", "first_name", "contains")
    assert builder.text_input(key=key(builder, cid, "value")).label == "Text"
    builder.selectbox(key=key(builder, cid, "op")).set_value("is_blank").run()
    assert any("No value needed" in c.value for c in builder.caption)

    choose(builder, cid, "email_activity", "campaign", "opened")
    campaigns = builder.selectbox(key=key(builder, cid, "value"))
    assert campaigns.label == "Campaign"
    assert campaigns.options[0].startswith("Black Friday weekend: final hours 2026 (2026-11-29")  # newest first

    choose(builder, cid, "ecommerce", "purchase", "has_purchased")
    assert any("No value needed" in c.value for c in builder.caption)
    assert summary_count(builder) != "–"


def test_field_options_follow_the_source(builder, library):
    [[cid]] = criterion_ids(builder)
    builder.selectbox(key=key(builder, cid, "source")).set_value("list_membership").run()
    assert builder.selectbox(key=key(builder, cid, "field")).options == ["Lists"]
    lists = builder.multiselect(key=key(builder, cid, "value"))
    assert sorted(lists.options) == sorted(library.load().lists["name"])
    builder.selectbox(key=key(builder, cid, "source")).set_value("tags").run()
    tags = builder.multiselect(key=key(builder, cid, "value"))
    assert set(tags.options) == set(library.load().contact_tags["tag"])
    builder.selectbox(key=key(builder, cid, "source")).set_value("contact").run()
    fields = builder.selectbox(key=key(builder, cid, "field")).options
    assert {"Email", "Date added", "City", "Birthday"} <= set(fields)  # custom fields too


def test_live_count_and_summary_match_the_library(builder, library):
    [[cid]] = criterion_ids(builder)
    builder.multiselect(key=key(builder, cid, "value")).set_value(["least_engaged"]).run()
    document = {"version": 1, "criteria": {"type": "and", "group": [{"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": ["least_engaged"]}]}]}}
    assert summary_count(builder) == f"{library_count(library, document):,}"
    assert "Current engagement level is Least engaged" in builder.text[0].value


def test_add_and_remove_criteria_and_groups(builder):
    [[first]] = criterion_ids(builder)
    group_id = tree(builder)["groups"][0]["id"]
    builder.button(key=key(builder, group_id, "add")).click().run()
    assert len(criterion_ids(builder)[0]) == 2
    builder.button(key="builder_add_group").click().run()
    assert len(criterion_ids(builder)) == 2
    assert builder.radio(key=f"b{tree(builder)['serial']}_type").value == "and"
    builder.button(key=key(builder, first, "remove")).click().run()
    assert len(criterion_ids(builder)[0]) == 1
    second_group = tree(builder)["groups"][1]["id"]
    builder.button(key=key(builder, second_group, "remove_group")).click().run()
    assert len(criterion_ids(builder)) == 1
    assert not builder.exception


def test_an_invalid_value_is_shown_next_to_its_criterion(builder):
    [[cid]] = criterion_ids(builder)
    choose(builder, cid, "metrics", "eligible_sends", "between")
    builder.number_input(key=key(builder, cid, "value_low")).set_value(10).run()
    builder.number_input(key=key(builder, cid, "value_high")).set_value(2).run()
    assert "the lower bound 10 is above the upper bound 2; swap them" in plain(builder.error[0].value)
    assert "Group 1, criterion 1" in builder.warning[0].value


def test_and_or_groups_save_with_the_library_count(builder, library):
    [[cid]] = criterion_ids(builder)
    builder.multiselect(key=key(builder, cid, "value")).set_value(["least_engaged", "somewhat_engaged"]).run()
    group_id = tree(builder)["groups"][0]["id"]
    builder.button(key=key(builder, group_id, "add")).click().run()
    second = criterion_ids(builder)[0][1]
    choose(builder, second, "contact", "email_status", "is")
    builder.multiselect(key=key(builder, second, "value")).set_value(["subscribed"]).run()

    builder.button(key="builder_add_group").click().run()
    or_group = tree(builder)["groups"][1]["id"]
    builder.radio(key=key(builder, or_group, "type")).set_value("or").run()
    [third] = criterion_ids(builder)[1]
    choose(builder, third, "tags", "tags", "has_any")
    builder.multiselect(key=key(builder, third, "value")).set_value(["newsletter"]).run()
    builder.button(key=key(builder, or_group, "add")).click().run()
    fourth = criterion_ids(builder)[1][1]
    choose(builder, fourth, "metrics", "open_rate", "gte")
    builder.number_input(key=key(builder, fourth, "value")).set_value(50.0).run()

    document = AND_OR_SEGMENT
    expected = library_count(library, document)
    assert summary_count(builder) == f"{expected:,}"

    builder.radio(key=f"b{tree(builder)['serial']}_type").set_value("or").run()
    either = {**document, "criteria": {**document["criteria"], "type": "or"}}
    assert summary_count(builder) == f"{library_count(library, either):,}"
    builder.radio(key=f"b{tree(builder)['serial']}_type").set_value("and").run()

    builder.text_input(key=f"b{tree(builder)['serial']}_name").input("Engaged subscribers")
    builder.button(key="FormSubmitter:builder_save-Save segment").click().run()
    assert not builder.exception, builder.exception
    assert "Saved" in plain(builder.success[0].value)
    saved = SegmentStore(library).get("engaged subscribers")
    assert MemoryEngine(library.load(), as_of=AS_OF).count(saved.definition) == expected
    assert tree(builder)["editing"] == "Engaged subscribers"


def test_saving_a_taken_name_shows_the_library_error(builder):
    [[cid]] = criterion_ids(builder)
    builder.multiselect(key=key(builder, cid, "value")).set_value(["most_engaged"]).run()
    builder.text_input(key=f"b{tree(builder)['serial']}_name").input("most ENGAGED")
    builder.button(key="FormSubmitter:builder_save-Save segment").click().run()
    assert "pre-built" in plain(builder.error[0].value)


def test_edit_a_saved_segment(app, library):
    store = SegmentStore(library)
    store.create("Lapsed", {"version": 1, "criteria": {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": ["least_engaged"]}]}})
    app.switch_page("app_pages/segments.py").run()
    app.selectbox(key="segments_selected").set_value("Lapsed").run()
    show(app, "segments_view", "Copy, edit or delete")
    app.button(key="segments_edit").click().run()
    app.switch_page("app_pages/builder.py").run()  # AppTest does not follow st.switch_page on rerun
    [[cid]] = criterion_ids(app)
    assert app.multiselect(key=key(app, cid, "value")).value == ["least_engaged"]
    app.multiselect(key=key(app, cid, "value")).set_value(["least_engaged", "everyone_else"]).run()
    app.text_input(key=f"b{tree(app)['serial']}_name").input("Lapsed or unknown")
    app.button(key="FormSubmitter:builder_save-Save changes").click().run()
    assert not app.exception, app.exception
    assert "Lapsed" not in store.names()
    edited = store.get("Lapsed or unknown")
    assert edited.definition.criteria_list()[0].value == ["least_engaged", "everyone_else"]


def open_in_builder(app, library, name: str = "Lapsed"):
    SegmentStore(library).create(name, {"version": 1, "criteria": {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": ["least_engaged"]}]}})
    app.switch_page("app_pages/segments.py").run()
    app.selectbox(key="segments_selected").set_value(name).run()
    show(app, "segments_view", "Copy, edit or delete")
    app.button(key="segments_edit").click().run()
    app.switch_page("app_pages/builder.py").run()
    assert not app.exception, app.exception
    return app


def test_duplicate_a_criterion(builder):
    [[cid]] = criterion_ids(builder)
    builder.multiselect(key=key(builder, cid, "value")).set_value(["somewhat_engaged"]).run()
    builder.button(key=key(builder, cid, "duplicate")).click().run()
    [[first, second]] = criterion_ids(builder)
    assert first == cid and second != cid
    assert builder.multiselect(key=key(builder, second, "value")).value == ["somewhat_engaged"]


def test_save_as_new_keeps_the_original(app, library):
    open_in_builder(app, library)
    [[cid]] = criterion_ids(app)
    app.multiselect(key=key(app, cid, "value")).set_value(["everyone_else"]).run()
    app.text_input(key=f"b{tree(app)['serial']}_name").input("Not judged")
    app.button(key="FormSubmitter:builder_save-Save as new").click().run()
    assert not app.exception, app.exception
    store = SegmentStore(library)
    assert store.get("Lapsed").definition.criteria_list()[0].value == ["least_engaged"]
    assert store.get("Not judged").definition.criteria_list()[0].value == ["everyone_else"]


def test_the_members_can_be_previewed_before_saving(builder, library):
    [[cid]] = criterion_ids(builder)
    builder.multiselect(key=key(builder, cid, "value")).set_value(["most_engaged"]).run()
    preview = builder.dataframe[0].value
    document = {"version": 1, "criteria": {"type": "and", "group": [
        {"source": "engagement", "field": "current_level", "op": "is", "value": ["most_engaged"]}]}}
    assert len(preview) == min(10, library_count(library, document))
    assert set(preview["current_level"]) == {"Most engaged"}


def test_a_segment_deleted_elsewhere_is_saved_as_new(app, library):
    open_in_builder(app, library)
    SegmentStore(library).delete("Lapsed")  # another user, another tab
    app.run()
    assert any("no longer exists" in plain(w.value) for w in app.warning)
    app.button(key="FormSubmitter:builder_save-Save segment").click().run()
    assert not app.exception, app.exception
    assert not app.error
    assert "Lapsed" in SegmentStore(library).names()


def test_slip_risk_is_typed_as_a_percentage_and_stored_as_a_share(builder, library):
    [[cid]] = criterion_ids(builder)
    choose(builder, cid, "metrics", "slip_risk", "gte")
    value = builder.number_input(key=key(builder, cid, "value"))
    assert value.label == "Value (%)"
    value.set_value(40.0).run()
    [[row]] = [group["criteria"] for group in tree(builder)["groups"]]
    assert row["value"] == pytest.approx(0.4)
    document = {"version": 1, "criteria": {"type": "and", "group": [{"type": "and", "group": [
        {"source": "metrics", "field": "slip_risk", "op": "gte", "value": 0.4}]}]}}
    assert summary_count(builder) == f"{library_count(library, document):,}"
    assert "Slip risk is at least 40%" in builder.text[0].value


def test_sunset_status_offers_its_statuses_by_label(builder, library):
    [[cid]] = criterion_ids(builder)
    choose(builder, cid, "engagement", "sunset_status", "is")
    statuses = builder.multiselect(key=key(builder, cid, "value"))
    assert statuses.options == ["Would be sunset (last chance)", "At risk of sunset", "Not affected",
                                "Not emailed (unsubscribed or bounced)"]
    statuses.set_value(["sunset"]).run()
    document = {"version": 1, "criteria": {"type": "and", "group": [{"type": "and", "group": [
        {"source": "engagement", "field": "sunset_status", "op": "is", "value": ["sunset"]}]}]}}
    assert summary_count(builder) == f"{library_count(library, document):,}" != "0"
    assert "Sunset status is Would be sunset (last chance)" in builder.text[0].value


def test_slip_risk_on_a_short_history_says_why_on_the_builder_and_segments_pages(workspace_url):
    from streamlit.testing.v1 import AppTest

    import engagekit as ek

    from dashboard_support import APP, APP_TIMEOUT_SECONDS

    session = ek.Session.open(workspace_url)
    session.save_settings(session.config, as_of="2026-02-01")  # a month after the data begins
    session.store.create("Likely to slip", ek.SegmentDefinition(criteria=ek.all_of(
        ek.where("metrics", "slip_risk", "gte", 0.5))))
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.run()
    at.switch_page("app_pages/segments.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="segments_selected").set_value("Likely to slip").run()
    assert not at.exception, at.exception
    shown = " ".join(plain(e.value) for e in at.error)
    assert "The history is too short to learn slip risk" in shown
    assert any("too short to learn slip risk" in plain(c.value) for c in at.caption)  # beside the list
    at.switch_page("app_pages/builder.py").run()
    [[cid]] = criterion_ids(at)
    choose(at, cid, "metrics", "slip_risk", "gte")
    assert "The history is too short to learn slip risk" in " ".join(plain(e.value) for e in at.error)
    assert summary_count(at) == "–"


def test_a_share_range_upside_down_is_said_in_percentages(builder):
    [[cid]] = criterion_ids(builder)
    choose(builder, cid, "metrics", "open_rate", "between")
    builder.number_input(key=key(builder, cid, "value_low")).set_value(80).run()
    builder.number_input(key=key(builder, cid, "value_high")).set_value(20).run()
    assert plain(builder.error[0].value) == \
        "Open rate: the lower bound 80% is above the upper bound 20%; swap them."
