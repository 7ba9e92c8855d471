"""Lists: make an empty one, rename it, delete it after a confirmation; add a segment to one."""

from __future__ import annotations

import engagekit as ek

from dashboard_support import show
from test_pages import go, plain


def lists_of(library) -> dict[str, tuple[str, int]]:
    frame = library.lists.list()
    return {row.name: (row.origin, int(row.members)) for row in frame.itertuples()}


def test_create_rename_and_delete_a_list(app, library):
    go(app, "lists")
    table = app.dataframe[0].value
    assert set(table["name"]) == set(lists_of(library))  # the imported lists are listed
    app.text_input(key="lists_new_name").input("Win-back December")
    app.button(key="FormSubmitter:lists_create-Create list").click().run()
    assert not app.exception, app.exception
    assert "Created the empty list 'Win-back December'" in plain(app.success[0].value)
    assert lists_of(library)["Win-back December"] == ("workspace", 0)

    assert app.selectbox(key="lists_chosen").options == ["Win-back December"]  # only lists made here
    app.text_input(key="lists_rename_name").input("Win-back January").run()
    app.button(key="lists_rename").click().run()
    assert "Renamed 'Win-back December' to 'Win-back January'" in plain(app.success[0].value)
    assert app.selectbox(key="lists_chosen").value == "Win-back January"

    app.button(key="lists_delete").click().run()
    assert "cannot be undone" in app.warning[0].value
    assert "Win-back January" in lists_of(library)  # nothing deleted before the confirmation
    app.button(key="lists_delete_yes").click().run()
    assert "Deleted the list 'Win-back January'" in plain(app.success[0].value)
    assert "Win-back January" not in lists_of(library)


def test_a_list_name_taken_is_refused_in_the_library_words(app, library):
    library.lists.create("Fans")
    go(app, "lists")
    app.text_input(key="lists_new_name").input("fans")
    app.button(key="FormSubmitter:lists_create-Create list").click().run()
    assert "A list called 'Fans' already exists" in plain(app.error[0].value)


def test_add_to_list_offers_only_lists_made_here_and_counts_who_cannot_be_emailed(app, library):
    library.lists.create("Fans")
    go(app, "segments")
    app.selectbox(key="segments_selected").set_value("Least engaged").run()
    show(app, "segments_view", "Add to list")
    choices = app.selectbox(key="segments_list_choice").options
    imported = [name for name, (origin, _) in lists_of(library).items() if origin == "import"]
    assert imported and not set(imported) & set(choices)
    assert "Fans" in choices
    app.selectbox(key="segments_list_choice").set_value("Fans").run()
    app.button(key="segments_add_to_list").click().run()
    session = ek.Session.open(library.url)
    members = session.members("Least engaged", ["email_status"])
    unreachable = int((members["email_status"] != "subscribed").sum())
    assert unreachable > 0
    message = plain(app.success[0].value)
    assert f"Added {len(members):,} contacts to list 'Fans'" in message
    assert f"{unreachable:,} of them cannot be emailed" in message
