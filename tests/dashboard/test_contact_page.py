"""The Contact page: reached by email, both levels explained, activity, lists and segments."""

from __future__ import annotations

import engagekit as ek

from dashboard_support import APP, APP_TIMEOUT_SECONDS


def open_contact(email: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    if email is not None:
        at.query_params["email"] = email
    at.run()
    at.switch_page("app_pages/contact.py").run()
    assert not at.exception, at.exception
    return at


def facts(at) -> dict[str, str]:
    """The fact cards of the page: label -> value, as shown."""
    found = {}
    for element in at.markdown:
        label, _, value = element.value.partition("\n\n#### ")
        if value:
            found[label.removeprefix(":small[:gray[").removesuffix("]]").replace("\\", "")] = \
                value.replace("\\", "")
    return found


def test_a_contact_shows_both_levels_its_activity_and_segments(workspace_url):
    session = ek.Session.open(workspace_url)
    contact = session.dataset.contacts.iloc[10]
    at = open_contact()
    at.text_input(key="contact_email").set_value(contact["email"].upper()).run()
    assert not at.exception, at.exception
    card = session.contact_card(int(contact["contact_id"]))
    text = " ".join(m.value for m in at.markdown).replace("\\", "")
    for previous in (False, True):
        explanation = session.explain(card.contact_id, previous=previous)
        assert ek.LEVEL_LABELS[explanation.level] in text
        assert explanation.reasons[0].replace("\\", "") in text
    for segment in card.segments:
        assert segment in text
    shown = facts(at)
    assert shown["Orders"] == f"{(card.timeline['what'] == 'Ordered').sum():,}"
    assert len(at.dataframe[0].value) == len(card.timeline)


def test_a_link_with_the_email_opens_the_contact(workspace_url):
    email = ek.Session.open(workspace_url).dataset.contacts["email"].iloc[3]
    at = open_contact(email)
    assert at.text_input(key="contact_email").value == email
    assert at.subheader


def test_an_unknown_email_says_so(workspace_url):
    at = open_contact()
    at.text_input(key="contact_email").set_value("nobody@example.com").run()
    assert not at.exception
    assert "There is no contact with email address" in at.error[0].value.replace("\\", "")


def test_a_contact_who_engaged_only_before_the_window_says_when(workspace_url):
    session = ek.Session.open(workspace_url)
    emailed = session.members(
        {"version": 1, "criteria": {"type": "and", "group": [
            {"source": "metrics", "field": "eligible_sends", "op": "gte", "value": 1}]}},
        ["email", "last_open_at", "last_engagement_ever_at"])
    only_before = emailed[emailed["last_open_at"].isna() & emailed["last_engagement_ever_at"].notna()]
    assert len(only_before)
    row = only_before.iloc[0]
    at = open_contact(row["email"])
    shown = facts(at)
    assert shown["Last engagement (ever)"] == f"{row['last_engagement_ever_at']:%Y-%m-%d}"
    assert shown["Last engagement (in window)"] == "None"
    text = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert f"Last engagement ever: {row['last_engagement_ever_at']:%Y-%m-%d}" in text
    assert "before the window" in text
