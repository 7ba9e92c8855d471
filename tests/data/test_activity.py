"""The activity index: deliveries, their first events, saving and memory-mapped loading."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import engagekit as ek
from engagekit.data import sorting
from engagekit.data.activity import NEVER
from engagekit.data.event_arrays import positions
from engagekit.data.sorting import stable_order
from engagekit.engagement.features import last_engagement_ever

from factories import tiny_dataset

EVENTS = [
    (1, 1, "send", "2026-11-01 10:00"), (1, 1, "open", "2026-11-01 12:00"),
    (1, 1, "click", "2026-11-01 12:05"), (2, 1, "open", "2026-11-02 09:00"),
    (2, 2, "bounce", "2026-11-10 10:00:01"), (3, 2, "send", "2026-11-10 10:00"),
]


def index():
    return ek.ActivityIndex.build(tiny_dataset({1: "2026-11-01 10:00", 2: "2026-11-10 10:00"}, EVENTS))


def seconds(text: str) -> int:
    return int(np.datetime64(text, "s").astype(np.int64))


def test_a_delivery_is_a_contact_campaign_pair_with_any_event():
    built = index()
    pairs = sorted(zip(built.contact_ids[built.delivery_contact].tolist(),
                       built.campaign_ids[built.delivery_campaign].tolist(), strict=True))
    assert pairs == [(1, 1), (2, 1), (2, 2), (3, 2)]  # an open without a send still counts


def test_first_event_engagement_click_and_bounce_per_delivery():
    built = index()
    by_pair = {(int(built.contact_ids[c]), int(built.campaign_ids[k])): i
               for i, (c, k) in enumerate(zip(built.delivery_contact, built.delivery_campaign, strict=True))}
    first = by_pair[(1, 1)]
    as_seconds = {name: built.seconds(getattr(built, f"delivery_{name}"))
                  for name in ("first", "engaged", "clicked", "bounced")}
    assert as_seconds["first"][first] == seconds("2026-11-01T10:00")
    assert as_seconds["engaged"][first] == seconds("2026-11-01T12:00")  # a click also counts as an open
    assert as_seconds["clicked"][first] == seconds("2026-11-01T12:05")
    assert as_seconds["bounced"][by_pair[(2, 2)]] == seconds("2026-11-10T10:00:01")
    assert as_seconds["engaged"][by_pair[(3, 2)]] == NEVER  # never
    assert built.delivery_engaged[by_pair[(3, 2)]] == built.never


def test_delivery_times_take_four_bytes_while_the_data_spans_less_than_68_years():
    built = index()
    assert built.delivery_first.dtype == np.int32 and built.epoch == seconds("2026-11-01T10:00")
    assert built.delivery_first[0] == 0  # seconds after the earliest event


def test_data_spanning_more_than_68_years_gives_the_same_features_in_eight_byte_times():
    # An email sent 80 years before the others, never opened: it is outside every window, so
    # the features are those of the data without it, whatever the width of the times.
    old = {**{1: "2026-11-01 10:00", 2: "2026-11-10 10:00"}, 3: "1946-11-01 10:00"}
    wide = ek.ActivityIndex.build(tiny_dataset(old, [*EVENTS, (1, 3, "send", "1946-11-01 10:00")]))
    assert wide.delivery_first.dtype == np.int64
    narrow = index()
    for as_of in ("2026-11-01 11:00", "2026-11-01 12:03", "2026-11-12", "2026-12-30"):
        expected = ek.compute_features(narrow, as_of=as_of)
        pd.testing.assert_frame_equal(ek.compute_features(wide, as_of=as_of), expected)
        pd.testing.assert_frame_equal(last_engagement_ever(wide, as_of=as_of),
                                      last_engagement_ever(narrow, as_of=as_of))


def test_deliveries_are_grouped_by_campaign_in_sent_order():
    built = index()
    sent_rank = np.argsort(built.sent_order)
    assert (np.diff(sent_rank[built.delivery_campaign]) >= 0).all()
    assert built.delivery_offsets.tolist() == [0, 2, 4]


def test_saved_and_loaded_memory_mapped_it_is_the_same(tmp_path):
    built = index()
    built.save(tmp_path / "activity")
    loaded = ek.ActivityIndex.load(tmp_path / "activity")
    for name in ("delivery_contact", "delivery_first", "engagement_key", "click_key"):
        assert np.array_equal(getattr(built, name), getattr(loaded, name))
    assert ek.ActivityIndex.load(tmp_path / "missing") is None


def test_an_index_of_another_format_is_not_loaded(tmp_path):
    index().save(tmp_path / "activity")
    (tmp_path / "activity" / "format").write_text("0")
    assert ek.ActivityIndex.load(tmp_path / "activity") is None


def test_no_events_gives_an_empty_index():
    built = ek.ActivityIndex.build(tiny_dataset({1: "2026-11-01"}, []))
    assert built.n_deliveries == 0 and built.n_contacts == 3


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=60), st.booleans(), st.integers(0, 60), st.integers(1, 9))
def test_events_are_grouped_in_a_stable_order_by_delivery(keys, crowded, sorted_up_to, chunk):
    # The rows ride in the low bits of the sorted values (written a chunk at a time); with no
    # room for them (``crowded``) the stable sort orders the keys themselves. Keys mostly in
    # order (sorted up to a point) take timsort, others the quicksort. Every way must be numpy's
    # stable argsort.
    keys = sorted(keys[:sorted_up_to]) + keys[sorted_up_to:]
    key = np.array(keys, dtype=np.int64)
    bound = 2**62 if crowded else 41
    with patch.object(sorting, "_CHUNK", chunk):
        row, ordered = stable_order(key.copy(), bound)
    expected = np.argsort(key, kind="stable")
    assert row.tolist() == expected.tolist()
    assert ordered.tolist() == key[expected].tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.sampled_from(["send", "open", "click"]),
                          st.integers(0, 5)), min_size=1, max_size=40))
def test_grouped_events_keep_each_deliverys_events_in_file_order(rows):
    from engagekit.data.event_arrays import EventArrays

    campaigns = pd.DataFrame({"campaign_id": [1, 2, 3],
                              "sent_at": pd.to_datetime(["2026-11-03", "2026-11-01", "2026-11-02"])})
    events = pd.DataFrame(rows, columns=["contact_id", "campaign_id", "event_type", "hour"])
    events["occurred_at"] = pd.Timestamp("2026-11-04") + pd.to_timedelta(events.pop("hour"), "h")
    arrays = EventArrays.group(events, campaigns, np.arange(1, 6))
    sent_rank = {1: 2, 2: 0, 3: 1}
    expected = sorted(range(len(events)), key=lambda i: (sent_rank[events["campaign_id"][i]],
                                                        events["contact_id"][i], i))
    assert arrays.row.tolist() == expected
    pairs = [(events["campaign_id"][i], events["contact_id"][i]) for i in expected]
    changes = [pair != before for pair, before in zip(pairs[1:], pairs[:-1], strict=True)]
    assert arrays.delivery.tolist() == np.cumsum([0, *changes]).tolist()
    assert arrays.n_deliveries == len(set(pairs))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=1, max_size=30, unique=True),
       st.sampled_from([0, 1, 10**6, 2**40, -(2**40)]), st.booleans(), st.data())
def test_positions_find_each_value_among_ids_wherever_the_ids_lie(ids, offset, shuffled, data):
    # ids near zero, far from it or negative, dense or sparse, sorted or not: each lookup path
    ids = np.array(sorted(ids) if not shuffled else ids, dtype=np.int64) + offset
    picks = data.draw(st.lists(st.integers(0, len(ids) - 1), max_size=40))
    assert positions(ids, ids[picks]).tolist() == picks
    assert positions(ids, ids[picks], of=ids * 3).tolist() == (ids[picks] * 3).tolist()
