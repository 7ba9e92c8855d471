"""CSV injection: text cells that a spreadsheet would run are neutralised, numbers stay numbers."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engagekit.data.safe_csv import FORMULA_PREFIXES, neutralise, neutralise_frame, to_safe_csv


def read_back(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


@pytest.mark.parametrize("payload", ["=1+1", "+41 22", "-2", "@SUM(A1)", "\tx", "\rx",
                                     "=HYPERLINK(\"http://evil\",\"click\")"])
def test_formula_starts_get_a_quote(payload):
    assert neutralise(payload) == "'" + payload


@pytest.mark.parametrize("text", ["Ann", "", "a=b", " =1", "'quoted", "'=already", "Zoë", "1e5"])
def test_plain_text_is_unchanged(text):
    assert neutralise(text) == text


def test_numbers_and_times_stay_numbers():
    frame = pd.DataFrame({
        "n": [-5, 3], "x": [-1.5, float("nan")], "when": pd.to_datetime(["2026-01-05", None]),
        "flag": [True, False], "name": ["-5", None],
    })
    out = read_back(to_safe_csv(frame))
    assert out["n"].tolist() == ["-5", "3"]
    assert out["x"].tolist() == ["-1.5", ""]
    assert out["when"].tolist() == ["2026-01-05 00:00:00", ""]
    assert out["name"].tolist() == ["'-5", ""]


def test_categorical_and_mixed_object_columns():
    frame = pd.DataFrame({
        "level": pd.Categorical(["=a", "b"]),
        "mixed": pd.Series(["@x", 7], dtype=object),
    })
    out = neutralise_frame(frame)
    assert out["level"].tolist() == ["'=a", "b"]
    assert out["mixed"].tolist() == ["'@x", 7]
    assert frame["level"].tolist() == ["=a", "b"], "the input frame is left alone"


def test_writes_to_a_path_and_returns_none(tmp_path):
    path = tmp_path / "out.csv"
    assert to_safe_csv(pd.DataFrame({"email": ["ünïcode@x.com"]}), path) is None
    assert path.read_bytes().decode("utf-8") == "email\r\nünïcode@x.com\r\n"


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",))), min_size=1,
                   max_size=20),
    numbers=st.data(),
)
def test_round_trip_is_exact_but_for_the_prefix(texts, numbers):
    ints = numbers.draw(st.lists(st.integers(-10**12, 10**12), min_size=len(texts),
                                 max_size=len(texts)))
    floats = numbers.draw(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64),
                                   min_size=len(texts), max_size=len(texts)))
    frame = pd.DataFrame({"text": texts, "count": ints, "amount": floats})
    back = read_back(to_safe_csv(frame))
    # Each text comes back as written, or with one quote before it when it would run as a formula.
    assert back["text"].tolist() == [
        "'" + text if text.startswith(FORMULA_PREFIXES) else text for text in texts
    ]
    assert not back["text"].str.startswith(FORMULA_PREFIXES).any()
    assert back["count"].astype("int64").tolist() == ints
    assert back["amount"].astype("float64").tolist() == floats


@pytest.mark.parametrize("address", ["-john@example.com", "+ann@example.co.uk", "-a.b+c@x-y.example"])
def test_addresses_starting_with_minus_or_plus_are_written_as_they_are(address):
    text = to_safe_csv(pd.DataFrame({"email": [address], "first_name": ["-Ann"]}))
    assert text.splitlines()[1] == f"{address},'-Ann"


@pytest.mark.parametrize("formula", ["-2+3", "+cmd|' /C calc'!A0", "=x@example.com",
                                     "-HYPERLINK(\"http://x\")@x.com", "@SUM(A1)"])
def test_formulas_that_look_a_little_like_addresses_are_still_neutralised(formula):
    assert neutralise(formula).startswith("'")
