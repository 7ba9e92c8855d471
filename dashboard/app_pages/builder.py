"""Segment builder: groups of criteria joined by AND / OR, a live count and summary, then save.

The criteria are keyed widgets outside any form on purpose: each criterion's field list depends
on its source, its operators on the field and its value input on the operator, so every choice
must rerun the page to draw the next input. The name and the Save button are an ``st.form``:
typing a name needs no rerun. The tree itself is a plain dict in ``st.session_state``
(see ``builder_model``).
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

import engagekit as ek

import builder_model as model
import state
import widgets

TREE = "builder"
JOIN_LABELS = {"and": "all of them (AND)", "or": "any of them (OR)"}
MULTI_KINDS = {"levels", "statuses", "sunset_statuses", "list_ids", "tags"}
WHOLE_KINDS = {"days": "Days", "campaign_count": "Campaigns"}
PREVIEW_ROWS = 10
PREVIEW_COLUMNS = ["email", "first_name", "last_name", "email_status", "current_level"]

st.title("Segment builder")
data = state.require_data()
catalog = state.catalog()
as_of = state.settings().as_of
tree = st.session_state.setdefault(TREE, model.new_tree())


def key(row: dict, part: str) -> str:
    return f"b{tree['serial']}_{row['id']}_{part}"


def init(widget_key: str, value) -> None:
    """Give a widget its value from the tree the first time it is drawn."""
    if widget_key not in st.session_state:
        st.session_state[widget_key] = value


# --- what a criterion can say (all from the library's catalog) -----------------------------------

SOURCES = list(dict.fromkeys(spec.source for spec in catalog.fields()))


def field_label(source: str, field: str) -> str:
    spec = catalog.field(source, field)
    label = spec.label if spec else field
    return label[:1].upper() + label[1:]  # a custom field's label is lower case, made for sentences


def operators(row: dict) -> dict:
    return {op.name: op for op in catalog.operators_for(row["source"], row["field"])}


def is_share(row: dict) -> bool:
    spec = catalog.field(row["source"], row["field"])
    return spec is not None and spec.kind == "share"


def default_value(kind: str):
    return {
        "none": None, "number": 0.0, "number_range": [0.0, 1.0], "text": "",
        "date": (as_of - dt.timedelta(days=30)).date().isoformat(), "days": 30,
        "campaign_count": 3, "campaign_id": None,
    }.get(kind, [])


def forget_widgets(row: dict, *parts: str) -> None:
    for part in parts:
        for suffix in ("", "_low", "_high"):
            st.session_state.pop(key(row, part + suffix), None)


def reset_operator(row: dict) -> None:
    ops = operators(row)
    row["op"] = next(iter(ops))
    row["value"] = default_value(ops[row["op"]].value.kind)
    forget_widgets(row, "op", "value")


def source_changed(row: dict) -> None:
    row["source"] = st.session_state[key(row, "source")]
    row["field"] = catalog.field_names(row["source"])[0]
    forget_widgets(row, "field")
    reset_operator(row)


def field_changed(row: dict) -> None:
    row["field"] = st.session_state[key(row, "field")]
    reset_operator(row)


def operator_changed(row: dict) -> None:
    ops = operators(row)
    before = ops[row["op"]].value.kind if row["op"] in ops else None
    row["op"] = st.session_state[key(row, "op")]
    if ops[row["op"]].value.kind != before:
        row["value"] = default_value(ops[row["op"]].value.kind)
        forget_widgets(row, "value")


# --- value inputs that fit the operator ----------------------------------------------------------


def value_input(row: dict, spec) -> object:
    """Draw the input for the criterion's value and return the value for the definition."""
    kind, widget_key, label = spec.kind, key(row, "value"), "Value"
    choices = dict(spec.choices or ())
    if kind == "none":
        st.caption("No value needed.")
        return None
    if kind in MULTI_KINDS:
        init(widget_key, [v for v in (row["value"] or []) if v in choices or kind == "tags"])
        return st.multiselect(
            {"levels": "Levels", "statuses": "Statuses", "sunset_statuses": "Statuses", "list_ids": "Lists",
             "tags": "Tags"}[kind],
            list(choices), key=widget_key, format_func=lambda v: str(choices.get(v, v)),
            accept_new_options=kind == "tags", placeholder="Choose one or more",
        )
    if kind == "campaign_id":
        init(widget_key, row["value"] if row["value"] in choices else None)
        return st.selectbox("Campaign", list(choices), key=widget_key, index=None,
                            format_func=lambda v: str(choices.get(v, v)), placeholder="Choose a campaign")
    if kind == "text":
        init(widget_key, row["value"] or "")
        return st.text_input("Text", key=widget_key, placeholder="Text to compare with")
    if kind == "date":
        init(widget_key, dt.date.fromisoformat(row["value"]) if row["value"] else as_of.date())
        picked = st.date_input("Date", key=widget_key, format="YYYY-MM-DD")
        return picked.isoformat() if picked else None
    if kind in WHOLE_KINDS:
        init(widget_key, int(row["value"] or 1))
        return int(st.number_input(WHOLE_KINDS[kind], min_value=1, step=1, key=widget_key))
    share = is_share(row)
    scale = 100.0 if share else 1.0
    unit = " (%)" if share else ""
    if kind == "number_range":
        low, high = row["value"] if isinstance(row["value"], list) and len(row["value"]) == 2 else [0.0, 1.0]
        init(widget_key + "_low", float(low) * scale)
        init(widget_key + "_high", float(high) * scale)
        left, right = st.columns(2)
        low = left.number_input("From" + unit, key=widget_key + "_low", step=1.0)
        high = right.number_input("To" + unit, key=widget_key + "_high", step=1.0)
        return [low / scale, high / scale]
    init(widget_key, float(row["value"] or 0.0) * scale)
    return st.number_input(label + unit, key=widget_key, step=1.0) / scale


def criterion_error(row: dict) -> str | None:
    """The library's verdict on one criterion against this data, so it shows next to it."""
    try:
        ek.check_criterion(ek.Criterion(source=row["source"], field=row["field"], op=row["op"],
                                  value=row["value"]), catalog)
    except ek.SegmentDefinitionError as error:
        return error.reason
    return None


def unfinished_text(row: dict) -> str:
    return operators(row)[row["op"]].value.prompt


def criterion_editor(group: dict, row: dict) -> None:
    # Two rows: what is tested, then the value under it at full width, so that no label is cut
    # ("Current engagement level", "Engagement metrics") and chips of several levels fit.
    source_col, field_col, op_col, copy_col, remove_col = st.columns(
        [3, 4, 3, 0.5, 0.5], vertical_alignment="bottom"
    )
    with source_col:
        init(key(row, "source"), row["source"])
        st.selectbox("Source", SOURCES, key=key(row, "source"), format_func=ek.SOURCE_LABELS.get,
                     on_change=source_changed, args=(row,))
    with field_col:
        fields = catalog.field_names(row["source"])
        init(key(row, "field"), row["field"])
        st.selectbox("Field", fields, key=key(row, "field"),
                     format_func=lambda f: field_label(row["source"], f),
                     on_change=field_changed, args=(row,))
    ops = operators(row)
    with op_col:
        init(key(row, "op"), row["op"])
        st.selectbox("Condition", list(ops), key=key(row, "op"), format_func=lambda o: ops[o].label,
                     on_change=operator_changed, args=(row,))
    copy_col.button("", key=key(row, "duplicate"), icon=":material/content_copy:",
                    help="Duplicate this criterion", on_click=model.duplicate_criterion,
                    args=(tree, group["id"], row["id"]))
    remove_col.button("", key=key(row, "remove"), icon=":material/close:", help="Remove this criterion",
                      on_click=model.remove_criterion, args=(tree, group["id"], row["id"]))
    value_col, _ = st.columns([10, 1])
    with value_col:
        row["value"] = value_input(row, ops[row["op"]].value)
    error = criterion_error(row)
    if error and row["value"] in (None, [], ""):  # not wrong, only unfinished
        st.caption(f":material/info: {unfinished_text(row)}")
    elif error:
        st.error(error, icon=":material/error:")


# --- the page -----------------------------------------------------------------------------------


def place(path: str) -> str:
    """Where a library error points, in the words of this page ("group 2, criterion 1")."""
    numbers = [int(part.split("]")[0]) + 1 for part in path.split("[")[1:]]
    words = ["group", "criterion"]
    return ", ".join(f"{word} {n}" for word, n in zip(words, numbers, strict=False)).capitalize() or path


def start_new() -> None:
    st.session_state[TREE] = model.new_tree()


flash = st.session_state.pop("builder_flash", None)
if flash:
    saved_name, saved_count = flash
    today = "." if saved_count is None else f": {saved_count:,} contacts today."
    st.success(f"Saved **{widgets.md_escape(saved_name)}**{today}", icon=":material/check_circle:")
    st.page_link("app_pages/segments.py", label="See it on the Segments page", icon=":material/group:")

# A segment being edited may have been deleted or renamed elsewhere since it was opened.
saved_names = {segment.name.casefold() for segment in state.segment_store().list()}
if tree["editing"] and tree["editing"].casefold() not in saved_names:
    st.warning(f"The segment **{widgets.md_escape(tree['editing'])}** no longer exists (it was deleted "
               "or renamed elsewhere). Your criteria are kept: save them as a new segment.",
               icon=":material/warning:")
    tree["editing"] = None

head, new_col = st.columns([4, 1], vertical_alignment="bottom")
with head:
    if tree["editing"]:
        st.info(f"Editing the saved segment **{widgets.md_escape(tree['editing'])}**.",
                icon=":material/edit:")
    else:
        st.caption("Describe who belongs in the segment. Its members are found whenever the segment "
                   "is used, so it is always up to date.")
new_col.button("New segment", key="builder_new", on_click=start_new, icon=":material/add:")

summary = st.container(border=True)  # filled below, once every input has been read

if len(tree["groups"]) > 1:
    init(f"b{tree['serial']}_type", tree["type"])
    tree["type"] = st.radio("Contacts must match", ["and", "or"], horizontal=True,
                            key=f"b{tree['serial']}_type",
                            format_func=lambda t: {"and": "all groups (AND)", "or": "any group (OR)"}[t])
for index, group in enumerate(tree["groups"]):
    if index:
        st.markdown(f"**{tree['type'].upper()}**")
    with st.container(border=True):
        title_col, join_col, remove_col = st.columns([1, 5, 1.2], vertical_alignment="center")
        title_col.markdown(f"**Group {index + 1}**")
        with join_col:
            init(key(group, "type"), group["type"])
            group["type"] = st.radio(
                "Match", ["and", "or"], horizontal=True, key=key(group, "type"),
                format_func=JOIN_LABELS.get, label_visibility="collapsed",
            )
        remove_col.button("Remove group", key=key(group, "remove_group"), icon=":material/delete:",
                          on_click=model.remove_group, args=(tree, group["id"]))
        for row in group["criteria"]:
            with st.container(border=True):
                criterion_editor(group, row)
        if not group["criteria"]:
            st.warning("This group is empty: add a criterion or remove the group.")
        st.button("Add criterion", key=key(group, "add"), icon=":material/add:",
                  on_click=model.add_criterion, args=(tree, group))
st.button("Add group", key="builder_add_group", icon=":material/library_add:",
          on_click=model.add_group, args=(tree,))

definition, problem = None, None
if not tree["groups"]:
    problem = "Add a group with at least one criterion."
else:
    try:
        definition = ek.SegmentDefinition.from_json(model.document(tree))
        ek.check_definition(definition, catalog)
    except ek.SegmentDefinitionError as error:
        definition = None
        problem = f"{place(error.path)}: {error.reason}" if error.path else error.reason

matched, unavailable = state.count_or_reason(definition) if definition is not None else (None, None)
with summary:
    count_col, text_col = st.columns([1, 3], gap="large")
    if unavailable:  # a valid definition that cannot be counted on this data now
        text_col.error(widgets.md_escape(unavailable), icon=":material/error:")
        count_col.metric("Matching contacts", "–")
    elif definition is None:
        text_col.warning(f"Not ready yet. {problem}", icon=":material/pending:")
        count_col.metric("Matching contacts", "–")
    else:
        total = data.n_contacts
        count_col.metric("Matching contacts", f"{matched:,}",
                         help=f"As of {as_of:%Y-%m-%d}, out of {total:,} contacts.",
                         delta=f"{ek.format_share(matched / total)} of contacts" if total else None,
                         delta_color="off", delta_arrow="off")
        with text_col:
            st.markdown("**Who is in it**")
            st.text(definition.describe(catalog))
            warning = ek.narrowness_warning(matched, total)
            if warning:
                st.warning(warning, icon=":material/warning:")
    if matched:
        with st.expander(f"Preview the members ({min(matched, PREVIEW_ROWS):,} of {matched:,})",
                         icon=":material/visibility:"):
            widgets.contacts_table(state.members(definition, PREVIEW_COLUMNS).head(PREVIEW_ROWS),
                                   key="builder_preview")

with st.form("builder_save", border=True):
    name_col, button_col = st.columns([3, 2], vertical_alignment="bottom")
    name = name_col.text_input("Segment name", value=tree["name"], key=f"b{tree['serial']}_name",
                               placeholder="e.g. Lapsed VIP customers")
    label = "Save changes" if tree["editing"] else "Save segment"
    buttons = button_col.container(horizontal=True)  # side by side, level with the name
    saved = buttons.form_submit_button(label, type="primary", icon=":material/save:",
                                       disabled=definition is None)
    save_as_new = tree["editing"] is not None and buttons.form_submit_button(
        "Save as new", icon=":material/add_circle:", disabled=definition is None,
        help="Keep the saved segment as it is and save these criteria under the name above.")
if (saved or save_as_new) and definition is not None:
    store = state.segment_store()
    try:
        if tree["editing"] and not save_as_new:
            segment = store.update(tree["editing"], definition, new_name=name)
        else:
            segment = store.create(name, definition)
    except ek.EngagekitError as error:
        widgets.show_error(error)
    else:
        tree["name"] = tree["editing"] = segment.name
        st.session_state["segments_select_next"] = segment.name
        st.session_state["builder_flash"] = (segment.name, matched)
        st.rerun()
