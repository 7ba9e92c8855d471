"""Exports people can open and upload: readable headings, email tools' import columns, Excel."""

from __future__ import annotations

import io

import pandas as pd
import pytest

import engagekit as ek


@pytest.fixture
def session(tmp_path, sample_dataset):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(sample_dataset, mode="replace")
    return ek.Session.open(url, as_of="2026-11-30")


@pytest.mark.parametrize(("layout", "headings"), [
    ("columns", ["email", "first_name", "last_name"]),
    ("readable", ["Email address", "First name", "Last name"]),
    ("constant_contact", ["Email address", "First name", "Last name", "Tags"]),
    ("mailchimp", ["Email Address", "First Name", "Last Name", "Tags"]),
])
def test_each_layout_has_its_headings_and_the_same_rows(session, layout, headings):
    text = session.export_csv("Least engaged", layout=layout)
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns) == headings
    members = session.members("Least engaged", ["email"])
    assert list(frame[headings[0]]) == list(members["email"])
    if "Tags" in headings:
        assert set(frame["Tags"]) == {"Least engaged"}  # imported contacts carry the segment's name


def test_the_audience_uses_the_layout_too(session):
    text = session.audience_csv("Least engaged", layout="mailchimp")
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame["Email Address"]) == list(session.audience("Least engaged").frame["email"])


def test_excel_gets_a_byte_order_mark_and_keeps_accents(session, tmp_path):
    text = session.export_csv("Least engaged", excel=True)
    assert text.startswith("\ufeff") and not session.export_csv("Least engaged").startswith("\ufeff")
    path = tmp_path / "out.csv"
    ek.to_safe_csv(pd.DataFrame({"first_name": ["Zoë"]}), path, excel=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") and "Zoë" in path.read_text(encoding="utf-8-sig")


def test_other_fields_get_readable_names(session):
    text = session.export_csv("Least engaged", fields=["current_level", "open_rate"], layout="readable")
    assert text.splitlines()[0] == "Email address,Current engagement level,Open rate"
