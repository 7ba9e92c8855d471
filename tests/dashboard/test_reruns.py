"""What one rerun of a page costs: the settings are resolved and the data token read once."""

from __future__ import annotations

import pytest

import engagekit as ek
from engagekit.workspace.database import Database

from test_pages import go

PAGES = ["overview", "transitions", "segments", "builder", "campaigns", "contact", "settings"]


@pytest.mark.parametrize("page", PAGES)
def test_a_rerun_resolves_the_settings_once(app, page, monkeypatch):
    go(app, page)
    calls = {"settings": 0, "token": 0}
    resolve, token = ek.resolve_settings, Database.data_token

    def counted_resolve(*args, **kwargs):
        calls["settings"] += 1
        return resolve(*args, **kwargs)

    def counted_token(self, *args, **kwargs):
        calls["token"] += 1
        return token(self, *args, **kwargs)

    monkeypatch.setattr(ek, "resolve_settings", counted_resolve)
    monkeypatch.setattr(Database, "data_token", counted_token)
    app.run()
    assert not app.exception, app.exception
    assert calls == {"settings": 1, "token": 1}


def test_settings_applied_in_a_run_are_read_again(app, library):
    go(app, "settings")
    app.slider(key="set_most").set_value(10).run()
    app.button(key="apply_settings").click().run()
    sidebar = " ".join(block.value for block in app.sidebar.markdown)
    assert "top 10%" in sidebar  # not the settings memoised before Apply
