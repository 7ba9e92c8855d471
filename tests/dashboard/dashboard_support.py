"""Constants and helpers shared by the dashboard tests (AppTest and browser)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "streamlit_app.py"
AS_OF = "2026-11-30"
APP_TIMEOUT_SECONDS = 60


def show(at, key: str, view: str):
    """Pick ``view`` in the page's view control (``key``) and run the page."""
    at.segmented_control(key=key).set_value(view).run()
    assert not at.exception, at.exception
    return at
