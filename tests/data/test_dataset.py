"""The dataset: one place that casts and checks the canonical tables."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engagekit as ek
from engagekit.data.arrow import dictionary_at
from engagekit.data.dataset import as_codes
from engagekit.data.event_arrays import event_codes

from factories import tiny_dataset


def contacts(**changes) -> pd.DataFrame:
    frame = pd.DataFrame({
        "contact_id": [1, 2], "email": ["a@example.com", "b@example.com"], "first_name": ["A", None],
        "last_name": [None, "B"], "date_added": ["2026-01-05", None], "email_status": ["subscribed"] * 2,
    })
    return frame.assign(**changes)


def test_from_frames_casts_every_table_to_its_canonical_dtypes():
    data = ek.Dataset.from_frames(contacts=contacts(contact_id=["1", "2"]))
    assert data.contacts["contact_id"].dtype == "int64"
    assert str(data.contacts["date_added"].dtype) == "datetime64[us]"
    assert list(data.email_events.columns)[:4] == ["contact_id", "campaign_id", "event_type", "occurred_at"]
    assert data.summary() == {"contacts": 2, "contact_tags": 0, "lists": 0, "list_memberships": 0,
                              "campaigns": 0, "email_events": 0, "orders": 0}


@pytest.mark.parametrize(("frame", "message"), [
    (contacts(email=["a@example.com", "a@example.com"]), "duplicate email"),
    (contacts(contact_id=[1, 1]), "duplicate contact_id"),
    (contacts(email=["a@example.com", None]), "blank value"),
])
def test_integrity_errors_say_what_and_where(frame, message):
    with pytest.raises(ek.DataError, match=message):
        ek.Dataset.from_frames(contacts=frame)


def test_a_reference_to_an_unknown_contact_is_refused():
    with pytest.raises(ek.DataError, match="unknown contact_id"):
        tiny_dataset({1: "2026-11-01"}, [(9, 1, "open", "2026-11-02")])


def test_custom_fields_keep_their_types():
    frame = contacts(points=["10", None], city=["Oslo", None], joined=["2026-02-01", None])
    data = ek.Dataset.from_frames(contacts=frame, custom_fields={"points": "number", "city": "text",
                                                                 "joined": "date"})
    assert data.contacts["points"].dtype == "float64"
    assert str(data.contacts["joined"].dtype) == "datetime64[us]"
    assert data.contacts["city"].iloc[0] == "Oslo" and pd.isna(data.contacts["city"].iloc[1])


def test_the_activity_index_is_built_once_or_taken_as_given():
    data = tiny_dataset({1: "2026-11-01"}, [(1, 1, "open", "2026-11-02")])
    assert data.activity is data.activity
    given = ek.ActivityIndex.build(data)
    trusted = ek.Dataset.trusted(custom_fields={}, activity=given,
                                 **{name: getattr(data, name) for name in data.summary()})
    assert trusted.activity is given


def test_replace_checks_again_and_builds_a_new_index():
    data = tiny_dataset({1: "2026-11-01"}, [(1, 1, "open", "2026-11-02")])
    index = data.activity
    smaller = data.replace(email_events=data.email_events.iloc[:0])
    assert smaller.activity is not index and smaller.activity.n_deliveries == 0


def test_the_natural_as_of_is_midnight_after_the_last_send_or_now():
    data = tiny_dataset({1: "2026-11-01 08:00", 2: "2026-11-29 18:00"}, [])
    assert data.last_sent_at() == pd.Timestamp("2026-11-29 18:00")
    assert data.default_as_of(now="2027-01-01") == pd.Timestamp("2026-11-30")
    assert data.default_as_of(now="2026-11-29 20:00") == pd.Timestamp("2026-11-29 20:00")
    assert tiny_dataset({}, []).default_as_of(now="2027-01-01") == pd.Timestamp("2027-01-01")


# -- event texts held as codes ------------------------------------------------------------------
_TEXTS = st.lists(st.one_of(st.none(), st.sampled_from(["send", "open", "click", "b", "ä", ""])),
                  max_size=30)


@given(values=_TEXTS, seed=st.integers(0, 2**16))
@settings(max_examples=60, deadline=None)
def test_coded_text_keeps_every_value_and_has_the_same_codes_in_any_row_order(values, seed):
    coded = as_codes(pd.Series(values, dtype="object"))
    assert coded.astype(object).where(coded.notna(), None).tolist() == values
    shuffled = pd.Series(values, dtype="object").sample(frac=1, random_state=seed)
    again = as_codes(shuffled)
    assert list(again.cat.categories) == list(coded.cat.categories) == sorted(set(values) - {None})
    # taken back by position, the codes name the same texts as the plain text column does
    rows = shuffled.index.to_numpy()
    codes, distinct = dictionary_at(coded, rows)
    plain_codes, plain_distinct = dictionary_at(pd.Series(values, dtype="str"), rows)
    assert [distinct[c] if c >= 0 else None for c in codes] == \
        [plain_distinct[c] if c >= 0 else None for c in plain_codes]
    assert event_codes(coded).tolist() == event_codes(pd.Series(values, dtype="str")).tolist()


def test_a_dataset_holds_event_texts_as_codes_and_a_copy_of_it_is_equal():
    ds = tiny_dataset({1: "2026-11-01 09:00"}, [(1, 1, "send", "2026-11-01 09:00"),
                                                (1, 1, "open", "2026-11-01 10:00"),
                                                (2, 1, "send", "2026-11-01 09:00")])
    events = ds.email_events
    for column in ("event_type", "user_agent", "ip", "link"):
        assert isinstance(events[column].dtype, pd.CategoricalDtype), column
    again = ek.Dataset.from_frames(**{name: getattr(ds, name) for name in
                                      ("contacts", "contact_tags", "lists", "list_memberships",
                                       "campaigns", "orders")},
                                   email_events=events.astype({"event_type": "str"}),
                                   custom_fields=ds.custom_fields)
    pd.testing.assert_frame_equal(again.email_events, events)
