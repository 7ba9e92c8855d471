"""engagekit dashboard: the router. Run with ``make dashboard`` or
``streamlit run dashboard/streamlit_app.py``; it opens the workspace in ``$ENGAGEKIT_WORKSPACE``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# Pages import the shared modules next to this file (state, charts, widgets) by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import engagekit as ek  # noqa: E402

import state  # noqa: E402
import widgets  # noqa: E402

# A local image: the tab icon must not come from a font host an offline deployment cannot reach.
ICON = Path(__file__).resolve().parent / "static" / "icon.png"
st.set_page_config(page_title="engagekit", page_icon=str(ICON), layout="wide")
# Tables' built-in CSV download bypasses the spreadsheet-safe export, wherever the app is started.
st.set_option("client.disableDataExport", True)


def login_required() -> bool:
    """Login is on only when the secrets have an ``[auth]`` section (Streamlit OIDC)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml at all: a local machine
        return False


if login_required() and not st.user.is_logged_in:
    st.title("engagekit")
    st.write("Sign in to see your engagement dashboard.")
    st.button("Sign in", type="primary", on_click=st.login)
    st.stop()

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/insights:", default=True),
    st.Page("app_pages/transitions.py", title="Transitions", icon=":material/swap_vert:"),
    st.Page("app_pages/segments.py", title="Segments", icon=":material/group:"),
    st.Page("app_pages/builder.py", title="Segment builder", icon=":material/tune:"),
    st.Page("app_pages/lists.py", title="Lists", icon=":material/list_alt:"),
    st.Page("app_pages/campaigns.py", title="Campaigns", icon=":material/campaign:"),
    st.Page("app_pages/contact.py", title="Contact", icon=":material/person_search:", url_path="contact"),
    st.Page("app_pages/settings.py", title="Data and settings", icon=":material/settings:"),
]
navigation = st.navigation(pages)
state.start_run()
try:
    state.workspace()
except ek.EngagekitError as error:  # a workspace that cannot be opened: say so, on every page
    st.title("engagekit")
    widgets.show_error(error)
    if state.workspace_url() != ek.default_url():
        st.button("Back to the configured workspace", key="back_to_default",
                  on_click=lambda: state.use_workspace(ek.default_url()))
    else:
        st.caption("Set ENGAGEKIT_WORKSPACE to a database URL this server can open, then reload.")
    st.stop()
state.sidebar()
if login_required() and st.user.is_logged_in:
    with st.sidebar:
        st.text(f"Signed in as {st.user.get('email') or st.user.get('name') or 'you'}")  # not Markdown
        st.button("Sign out", on_click=st.logout)
navigation.run()
