"""Data and settings: where the data comes from, and the rules that cut contacts into levels."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import engagekit as ek

import charts
import state
import widgets

SAMPLE_CONTACTS = 5000
# Widget keys of the engagement settings, and the config field each one edits.
FIELDS = {
    "set_lookback": "lookback_days",
    "set_exclusion": "exclusion_hours",
    "set_min_sends": "min_sends",
    "set_previous": "previous_period_days",
    "set_open_weight": "open_weight",
    "set_click_weight": "click_weight",
    "set_engagement": "engagement",
    "set_count_scanner": "count_scanner_clicks",
    "set_count_orders": "count_orders",
}

st.title("Data and settings")
flash = st.session_state.pop("settings_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

SETTINGS_VIEW, DATA_VIEW = "Engagement settings", "Data source"
VIEW = "settings_view"
PREVIEWED = "settings_previewed"  # the candidate settings the preview on screen shows
UNDO_REPLACE = "settings_replaced"  # the last Replacement, to undo
view = widgets.view_picker(VIEW, [SETTINGS_VIEW, DATA_VIEW])


# --- engagement settings --------------------------------------------------------------------------


def load_widgets(config: ek.EngagementConfig, as_of: pd.Timestamp, *, follow: bool) -> None:
    """Set every settings widget to ``config`` and ``as_of`` (runs before the widgets are drawn)."""
    for key, name in FIELDS.items():
        st.session_state[key] = getattr(config, name)
    st.session_state["set_most"] = round(config.most_engaged_share * 100)
    st.session_state["set_least"] = round(config.least_engaged_share * 100)
    st.session_state["set_follow"] = follow
    st.session_state["set_as_of"] = f"{as_of:%Y-%m-%d}"


def what_counts() -> None:
    """What counts as engagement: which opens, whether scanner clicks and orders count."""
    st.radio("What counts as an open", ek.ENGAGEMENT_RULES, key="set_engagement", horizontal=True,
             format_func=ek.ENGAGEMENT_RULE_LABELS.get,
             help="Apple Mail Privacy Protection fetches every email seconds after it is sent: "
             "such machine opens are not a person reading. A click always counts as an open.")
    flags = st.container(horizontal=True)
    flags.checkbox("Count scanner clicks", key="set_count_scanner",
                   help="Clicks a link scanner made (several links within seconds, or before any "
                   "open seconds after the send) are left out unless ticked.")
    flags.checkbox("Count orders as engagement", key="set_count_orders",
                   help="An order counts as engagement with the last email sent to the contact in "
                   "the days before it.")


def reset_to_defaults() -> None:
    load_widgets(ek.EngagementConfig(), state.default_as_of(), follow=True)


def follow_changed() -> None:
    if st.session_state["set_follow"]:  # show the date the data gives
        st.session_state["set_as_of"] = f"{state.default_as_of():%Y-%m-%d}"


def engagement_settings() -> None:
    if not state.has_data():
        st.info("Load data first (the **Data source** view); then the settings apply to it.")
        return
    in_force = state.settings()
    natural_as_of = state.default_as_of()
    if "set_lookback" not in st.session_state:  # first visit, or back from another page
        load_widgets(in_force.config, in_force.as_of, follow=in_force.as_of_rule == "data")

    # No st.form here on purpose: the preview below must follow every change, which needs a
    # rerun per widget; nothing is put in force until "Apply".
    st.caption(
        "Change the rules and watch the level sizes in the preview; nothing changes on the "
        "other pages until you press **Apply**."
    )
    when, window, cut = st.columns(3)
    with when:
        st.checkbox("Use the data's latest date", key="set_follow", on_change=follow_changed,
                    help=f"Levels as of {natural_as_of:%Y-%m-%d %H:%M} UTC, the data's natural "
                    "reference time, which moves on when newer data is imported. Untick to fix "
                    "a date of your own.")
        # A text box, not st.date_input: a date typed into that one reaches the app only when
        # its calendar closes, so Enter or Tab would leave the preview on the old date.
        st.text_input("As of (YYYY-MM-DD)", key="set_as_of", disabled=st.session_state["set_follow"],
                      placeholder="2026-11-30", help="The reference date: levels are computed as "
                      "of its start (00:00 UTC). Press Enter or Tab to see it in the preview.")
        st.number_input("Previous level: days earlier", min_value=1, max_value=3650, step=1,
                        key="set_previous", help="The previous level is computed this many days "
                        "before the as-of date.")
    with window:
        st.number_input("Lookback window (days)", min_value=1, max_value=3650, step=1,
                        key="set_lookback", help="Emails sent in this many days before the as-of "
                        "date count.")
        st.number_input("Leave out the last … hours", min_value=0.0, max_value=720.0, step=1.0,
                        key="set_exclusion", format="%.1f", help="Recent emails are left out with their opens and "
                        "clicks: recipients have not had time to react.")
        st.number_input("Minimum sends to judge", min_value=1, max_value=1000, step=1,
                        key="set_min_sends", help="Contacts with fewer emails in the window are in "
                        "Everyone else.")
    with cut:
        st.slider("Most engaged: top share of judged contacts", 1, 99, key="set_most", format="%d%%")
        st.slider("Least engaged: bottom share of judged contacts", 1, 99, key="set_least",
                  format="%d%%")
        with st.expander("Score weights"):
            st.number_input("Weight of an open", min_value=0.0, step=0.5, key="set_open_weight")
            st.number_input("Weight of a click", min_value=0.0, step=0.5, key="set_click_weight")
    what_counts()

    values = {name: st.session_state[key] for key, name in FIELDS.items()}
    values["most_engaged_share"] = st.session_state["set_most"] / 100
    values["least_engaged_share"] = st.session_state["set_least"] / 100
    try:
        # None: no date fixed, the as-of time follows the data.
        candidate_pin = None if st.session_state["set_follow"] else ek.as_timestamp(
            st.session_state["set_as_of"], name="as-of date")
        candidate = ek.EngagementConfig.create(**values)
    except ek.EngagekitError as error:
        candidate_pin, candidate = None, None
        widgets.show_error(error)
    candidate_as_of = natural_as_of if candidate_pin is None else candidate_pin
    # What Apply will save is what the preview on screen shows: a value typed and sent with the
    # click itself (a date box left by clicking Apply) is previewed first, not applied unseen.
    previewed_before = st.session_state.get(PREVIEWED)
    previewed = None if candidate is None else (
        None if candidate_pin is None else candidate_pin.isoformat(), candidate.to_json())
    st.session_state[PREVIEWED] = previewed

    if candidate is not None:
        now = state.report().current
        preview = state.preview_levels(candidate_as_of, candidate)
        sizes = pd.DataFrame({
            "level": list(ek.LEVELS),
            "label": [ek.LEVEL_LABELS[level] for level in ek.LEVELS],
            "now": now.counts().to_numpy(),
            "preview": preview.counts().to_numpy(),
        })
        st.subheader("Preview of level sizes")
        chart, table = st.columns([3, 2])
        with chart:
            st.caption("Pale: settings in force; solid: the preview.")
            st.plotly_chart(charts.preview_bars(sizes), key="preview_chart")
        with table:
            shown = sizes.assign(
                change=(sizes["preview"] - sizes["now"]).map(ek.format_change),
                share=preview.shares().to_numpy(),
            )[["label", "now", "preview", "change", "share"]]
            st.dataframe(
                shown, hide_index=True, key="preview_table",
                column_config={
                    "label": "Level",
                    "now": st.column_config.NumberColumn("In force", format="localized"),
                    "preview": st.column_config.NumberColumn("Preview", format="localized"),
                    "change": st.column_config.TextColumn("Change", alignment="right"),
                    "share": widgets.share_column("Share"),
                },
            )
            cuts = preview.thresholds
            if cuts.judged:
                st.caption(
                    f"{cuts.judged:,} judged contacts. Score cuts: least engaged at or below "
                    f"{cuts.least_engaged_max:.3f}, most engaged at or above {cuts.most_engaged_min:.3f}."
                )
            else:
                st.caption("No contact has enough sends to be judged with these settings.")

    unchanged = (
        candidate == in_force.config
        and (candidate_pin is not None) == (in_force.as_of_rule != "data")
        and candidate_as_of == in_force.as_of
    )
    buttons = st.container(horizontal=True)
    if buttons.button("Apply", type="primary", disabled=candidate is None or unchanged,
                      key="apply_settings",
                      help="Use these settings on every page and save them in the workspace."):
        if previewed != previewed_before:
            st.info("The preview above now shows your last change: check it, then press Apply again.",
                    icon=":material/visibility:")
        else:
            state.apply_settings(candidate_pin, candidate)
            st.session_state["settings_flash"] = ("Settings applied to every page and saved in "
                                                  "the workspace.")
            st.rerun()
    buttons.button("Reset to defaults", on_click=reset_to_defaults, key="reset_settings",
                   help="Put the default rules and the latest data's date back in the form; "
                   "press Apply to use them.")
    st.caption("Settings are saved in the workspace: they are kept when the dashboard restarts "
               "and apply to everyone who opens this workspace.")


# --- data source --------------------------------------------------------------------------------

PENDING = "pending_import"  # {"source": "files" | "database", "what", "dataset", "report"}
MAPPING_EXAMPLE = """{"contacts": {"table": "crm_people",
              "columns": {"contact_id": "id", "email": "email_address",
                          "first_name": "given", "last_name": "family",
                          "date_added": "created", "email_status": "status",
                          "tags": "labels"},
              "custom_fields": {"city": "town"}},
 "campaigns": {"table": "mailings",
               "columns": {"campaign_id": "id", "name": "subject", "sent_at": "sent"}},
 "email_events": {"table": "activity",
                  "columns": {"contact_id": "person_id", "campaign_id": "mailing_id",
                              "event_type": "kind", "occurred_at": "at"}}}"""


def data_readiness() -> None:
    """The data-readiness audit: can these data say who is engaged, and what to mind."""
    st.subheader("Data readiness")
    result = state.audit()
    cols = st.columns(4)
    cols[0].metric("Judged contacts", f"{result.judged:,}",
                   help="Contacts with enough emails in the window to be placed in a level.")
    cols[1].metric("Machine opens", f"{ek.format_share(result.machine_opens / max(result.opens, 1))}",
                   help="Share of the window's opens fetched by a machine (privacy proxy, prefetch).")
    cols[2].metric("Scanner clicks", f"{ek.format_share(result.scanner_clicks / max(result.clicks, 1))}",
                   help="Share of the window's clicks made by a link scanner.")
    cols[3].metric("Contacts changing level", f"{result.changed:,}",
                   help="When the settings' rule replaces counting every open and click.")
    for line in result.lines()[1:]:
        st.markdown(f"- {widgets.md_escape(line)}")
    matrix = result.level_change_table()
    st.caption(f"Level counting every open and click (rows) against '{matrix.columns.name}' (columns).")
    st.dataframe(matrix.rename_axis(None).rename_axis(None, axis=1), key="audit_matrix")


def import_now(dataset: ek.Dataset, mode: str, what: str) -> None:
    """Import and say what the workspace holds now; a replace can be undone in this session."""
    try:
        with st.spinner(f"Importing {what}…"):
            if mode == "replace" and state.has_data():
                replacement = state.session().replace_data(dataset, what=what)
                message = replacement.summary()
            else:
                result = state.workspace().import_dataset(dataset, mode=mode, allow_empty=False)
                replacement = None
                message = (f"Imported {what}: the workspace now has {result.counts['contacts']:,} "
                           f"contacts and {result.counts['email_events']:,} email events.")
    except ek.EngagekitError as error:
        widgets.show_error(error)
        return
    state.data_changed()
    with st.spinner("Preparing the overview…"):
        state.session().prepare_overview(state.HISTORY_MONTHS)
    for key in (PENDING, "set_lookback"):
        st.session_state.pop(key, None)
    if replacement is not None:
        st.session_state[UNDO_REPLACE] = replacement
    st.session_state["settings_flash"] = message
    st.rerun()


def undo_replace() -> None:
    """The data replaced last in this session, with a button to put it back."""
    replacement = st.session_state.get(UNDO_REPLACE)
    if replacement is None:
        return
    note, button = st.columns([4, 1], vertical_alignment="center")
    note.caption(f"The data before {widgets.md_escape(replacement.what)} replaced it "
                 f"({replacement.previous.n_contacts:,} contacts) is kept until you leave.")
    if button.button("Undo replace", key="settings_undo_replace", icon=":material/undo:"):
        try:
            with st.spinner("Putting the previous data back…"):
                result = state.session().undo_replace(replacement)
        except ek.EngagekitError as error:
            widgets.show_error(error)
            return
        state.data_changed()
        st.session_state.pop(UNDO_REPLACE, None)
        st.session_state.pop("set_lookback", None)
        st.session_state["settings_flash"] = (
            f"Put the previous data back: the workspace has {result.counts['contacts']:,} contacts "
            f"and {result.counts['email_events']:,} email events again.")
        st.rerun()


def import_report(source: str) -> None:
    """The report of data read from ``source`` and not imported yet, with Import and Cancel."""
    pending = st.session_state.get(PENDING)
    if pending is None or pending["source"] != source:
        return
    incoming, report = pending["dataset"], pending["report"]
    with st.container(border=True):
        st.markdown(f"**Import report**: read from {widgets.md_escape(pending['what'])}, "
                    "not imported yet")
        st.write(report.summary())
        issues = report.to_frame()
        if len(issues):
            st.warning(f"{len(issues):,} problem(s) found; the rows they name were skipped or "
                       "left blank. Everything else can be imported.")
            where = "Table" if source == "database" else "File"
            st.dataframe(issues, hide_index=True, key=f"import_issues_{source}", placeholder="",
                         column_config={"file": where, "row": "Row", "column": "Column",
                                        "reason": "Problem", "value": "Value"})
        for note in report.notes:
            st.caption(note)
        mode = st.radio(
            "How to import", ["merge", "replace"], horizontal=True, key=f"import_mode_{source}",
            format_func={"replace": "Replace the workspace data",
                         "merge": "Merge into it (matched by email)"}.get,
        )
        confirmed = mode == "merge" or st.checkbox(
            "Yes, replace: contacts, campaigns and events not in these files are removed",
            key=f"confirm_replace_{source}",
            help="Saved segments and lists made here are kept.",
        )
        buttons = st.container(horizontal=True)
        if buttons.button("Import", type="primary", key=f"confirm_import_{source}",
                          disabled=incoming.n_contacts == 0 or not confirmed):
            import_now(incoming, mode, pending["what"])
        if buttons.button("Cancel", key=f"cancel_import_{source}"):
            st.session_state.pop(PENDING, None)
            st.rerun()


def workspace_section() -> None:
    """The workspace open, what it holds and how ready it is."""
    st.subheader("Workspace")
    st.code(state.display_url(state.workspace_url()), language=None)
    if state.has_data():
        summary = state.dataset().summary()
        cols = st.columns(4)
        for col, table in zip(cols, ["contacts", "lists", "campaigns", "email_events"], strict=True):
            col.metric(table.replace("_", " ").capitalize(), f"{summary[table]:,}")
        data_readiness()
    else:
        st.info("This workspace is empty: load the sample data or import your exports below.")


def sample_section() -> None:
    """Load the invented sample programme."""
    st.subheader("Sample data")
    st.write(
        "An invented email programme: a year of campaigns ending on "
        f"{pd.Timestamp(ek.SAMPLE_END):%d %B %Y}, to try everything out."
    )
    sample_cols = st.columns([1, 1, 2], vertical_alignment="bottom")
    contacts = sample_cols[0].number_input("Contacts", 100, 200_000, SAMPLE_CONTACTS, step=500,
                                           key="sample_contacts")
    replace_ok = not state.has_data() or sample_cols[2].checkbox(
        "Replace the data in this workspace", key="sample_replace_ok",
        help="Loading the sample replaces the contacts, campaigns and events; saved segments and "
        "lists made here are kept.",
    )
    if sample_cols[1].button("Load sample data", disabled=not replace_ok, key="load_sample"):
        with st.spinner("Generating the sample data…"):
            sample = ek.generate_sample(int(contacts), seed=ek.SAMPLE_SEED, end=ek.SAMPLE_END)
        import_now(sample, "replace", "the sample data")


def upload_section() -> None:
    """Upload export files, see the report, then import."""
    st.subheader("Import exports")
    st.write(
        "Upload the files of one export: the canonical CSV layout (contacts.csv, campaigns.csv, "
        "email_events.csv, …), a Constant Contact contact export and campaign reports, or a "
        "Mailchimp audience export and its opens and clicks files. Nothing is imported until you "
        "confirm."
    )
    uploads = st.file_uploader("Export files", type=["csv", "gz", "txt", "zip"],
                               accept_multiple_files=True, key="uploads",
                               help="Up to 200 MB per file. A Mailchimp export's .zip file as "
                               "downloaded, and compressed .csv.gz files, are fine.")
    if st.button("Check the files", disabled=not uploads, key="check_uploads"):
        try:
            with st.spinner("Reading the files…"):
                incoming, report = ek.read_uploads([(upload.name, upload.getvalue())
                                                    for upload in uploads])
        except ek.EngagekitError as error:
            st.session_state.pop(PENDING, None)
            widgets.show_error(error)
        else:
            st.session_state[PENDING] = {"source": "files", "what": "the uploaded files",
                                         "dataset": incoming, "report": report}
    import_report("files")


def database_section() -> None:
    """Read another database by a column mapping."""
    st.subheader("Import from another database")
    st.write(
        "Read contacts, lists, campaigns, email events and orders from any database, e.g. your "
        "CRM. The mapping says which table holds each kind of data and which of its columns hold "
        "each field; only contacts are required. Nothing is imported until you confirm."
    )
    with st.form("database_import", border=False):
        source_url = st.text_input(
            "Source database URL", key="db_url",
            placeholder="postgresql+psycopg://reader@crm-host/crm  or  sqlite:///path/to/crm.db",
            help="A SQLAlchemy database URL. It is only read from, never written to.",
        )
        mapping_text = st.text_area(
            "Column mapping (JSON)", key="db_mapping", height=260, placeholder=MAPPING_EXAMPLE,
            help="For each table (contacts, lists, list_memberships, campaigns, email_events, "
            "orders): the source table and which source column holds each field. See the user "
            "guide, Importing, From a database.",
        )
        read_clicked = st.form_submit_button("Read the database", icon=":material/database:")
    if read_clicked:
        st.session_state.pop(PENDING, None)
        if not source_url.strip() or not mapping_text.strip():
            st.error("Give the database URL and the column mapping.", icon=":material/error:")
        else:
            try:
                with st.spinner("Reading the database…"):
                    incoming, report = ek.read_database(source_url.strip(), mapping_text)
            except ek.EngagekitError as error:  # the library says what and where, password hidden
                widgets.show_error(error)
            else:
                st.session_state[PENDING] = {
                    "source": "database", "dataset": incoming, "report": report,
                    "what": f"the database {state.display_url(source_url.strip())}",
                }
    import_report("database")


def workspace_switch_section() -> None:
    """Open another workspace the deployment allows."""
    st.subheader("Another workspace")
    allowed = ek.allowed_workspace_patterns()
    st.write("Open a workspace by its database URL. This deployment allows: " +
             ", ".join(f"`{state.display_url(pattern)}`" for pattern in allowed) + ".")
    url_cols = st.columns([4, 1], vertical_alignment="bottom")
    url = url_cols[0].text_input("Database URL", key="workspace_url_input", placeholder="sqlite:///…")
    if url_cols[1].button("Open", disabled=not url.strip(), key="open_workspace"):
        try:
            state.use_workspace(url.strip())
        except ek.EngagekitError as error:
            widgets.show_error(error)
        else:
            st.session_state.pop("set_lookback", None)
            st.session_state["settings_flash"] = f"Opened {state.display_url(url.strip())}."
            st.rerun()
    if state.workspace_url() != ek.default_url():
        st.button("Back to the default workspace", key="default_workspace",
                  on_click=lambda: state.use_workspace(ek.default_url()))


def data_source() -> None:
    undo_replace()
    workspace_section()
    sample_section()
    upload_section()
    database_section()
    workspace_switch_section()


if view == SETTINGS_VIEW:
    engagement_settings()
else:
    data_source()
