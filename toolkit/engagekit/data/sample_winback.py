"""The sample's past win-back test: a campaign with a holdout and a known true effect.

So that measuring a campaign can be tried on the sample and checked against the truth:

- the *target* is a share of the contacts subscribed and on a list for a month before the send;
  they carry the tag :data:`WINBACK.tag`;
- a stable holdout of :data:`WINBACK.holdout_share` of them (:func:`engagekit.data.holdout.holdout_mask`
  with :data:`WINBACK.seed`) is not emailed; the others receive the campaign (send events, some
  opens and clicks);
- the success event is an order within :data:`WINBACK.success_days` days of the send: every
  target contact orders in that window with probability ``baseline_rate``, plus ``true_lift`` when
  it was emailed (the generator's other orders of the target in that window are replaced by
  these), so the true absolute lift is exactly :data:`WINBACK.true_lift`.

A plan made on the sample with the tag as its segment, the same send date, holdout share, seed and
success event reproduces these groups and measures this lift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagekit.data.holdout import holdout_mask

_SECOND = 1_000_000
_DAY = 86_400 * _SECOND


@dataclass(frozen=True)
class WinbackTest:
    """The parameters of the sample's win-back test."""

    name: str = "Win-back: we miss you"
    tag: str = "winback-test"
    days_before_end: int = 40
    target_share: float = 0.3
    holdout_share: float = 0.2
    seed: int = 2026
    success_event: str = "order"
    success_days: int = 14
    baseline_rate: float = 0.04
    true_lift: float = 0.05

    def send_time(self, end: pd.Timestamp) -> pd.Timestamp:
        return (end - pd.Timedelta(days=self.days_before_end)).normalize() + pd.Timedelta(hours=10)


WINBACK = WinbackTest()


def add_winback_test(
    rng: np.random.Generator, tables: dict[str, pd.DataFrame], end: pd.Timestamp,
    test: WinbackTest = WINBACK,
) -> dict[str, pd.DataFrame]:
    """``tables`` (the sample's frames) with the win-back test added (see the module notes)."""
    contacts, campaigns = tables["contacts"], tables["campaigns"]
    send = test.send_time(end)
    window_end = send + pd.Timedelta(days=test.success_days)
    # Like every campaign of the sample, it goes to list members, here of a month's standing.
    joined = tables["list_memberships"].groupby("contact_id")["added_at"].min()
    on_a_list = contacts["contact_id"].map(joined) < send - pd.Timedelta(days=30)
    eligible = (contacts["email_status"] == "subscribed") & on_a_list & (
        contacts["date_added"] < send - pd.Timedelta(days=30))
    ids = contacts.loc[eligible.to_numpy(), "contact_id"].to_numpy(np.int64)
    target = np.sort(ids[rng.random(ids.size) < test.target_share])
    held_out = holdout_mask(target, test.holdout_share, test.seed)
    emailed = target[~held_out]

    campaign_id = int(campaigns["campaign_id"].max()) + 1 if len(campaigns) else 1
    campaign = pd.DataFrame({"campaign_id": [campaign_id], "name": [test.name],
                             "sent_at": [send.as_unit("us")]})

    # The win-back orders replace the target's other orders in the window: the truth stays exact.
    orders = tables["orders"]
    in_window = (orders["ordered_at"] >= send) & (orders["ordered_at"] < window_end)
    orders = orders[~(in_window & orders["contact_id"].isin(target))]
    rate = np.where(held_out, test.baseline_rate, test.baseline_rate + test.true_lift)
    buyers = target[rng.random(target.size) < rate]
    at = _times(rng, send, buyers.size, test.success_days * _DAY)
    first_number = int(orders["order_id"].str[4:].astype(int).max()) + 1 if len(orders) else 1
    new_orders = pd.DataFrame({
        "order_id": [f"ORD-{first_number + i:06d}" for i in range(buyers.size)],
        "contact_id": buyers,
        "ordered_at": at,
        "amount": np.round(np.maximum(rng.lognormal(np.log(38.0), 0.6, buyers.size), 5.0), 2),
    })

    # Emailed contacts get the send; about a third open it, and an emailed buyer clicked first.
    opened = emailed[rng.random(emailed.size) < 0.3]
    clicked = np.intersect1d(emailed, buyers)
    events = pd.concat([
        _event_rows(emailed, campaign_id, "send", np.full(emailed.size, send.as_unit("us"))),
        _event_rows(opened, campaign_id, "open", _times(rng, send, opened.size, 2 * _DAY)),
        _event_rows(clicked, campaign_id, "click", at[np.isin(buyers, clicked)] - pd.Timedelta(minutes=5)),
    ], ignore_index=True)
    events = events[events["occurred_at"] < end]

    tags = pd.DataFrame({"contact_id": target, "tag": test.tag})
    # Campaign ids follow sent time, as the generator numbers them: renumber with the new one in.
    campaigns = pd.concat([campaigns, campaign], ignore_index=True).sort_values(
        "sent_at", kind="stable", ignore_index=True)
    renumber = dict(zip(campaigns["campaign_id"], range(1, len(campaigns) + 1), strict=True))
    campaigns["campaign_id"] = campaigns["campaign_id"].map(renumber)
    events = pd.concat([tables["email_events"], events], ignore_index=True)
    events["campaign_id"] = events["campaign_id"].map(renumber)
    return {
        **tables,
        "campaigns": campaigns,
        "email_events": events,
        "orders": pd.concat([orders, new_orders], ignore_index=True),
        "contact_tags": pd.concat([tables["contact_tags"], tags], ignore_index=True),
    }


def _times(rng: np.random.Generator, start: pd.Timestamp, n: int, span_us: int) -> np.ndarray:
    offsets = rng.integers(_SECOND, span_us, n)
    offsets -= offsets % _SECOND
    return (np.datetime64(start.to_datetime64(), "us").astype(np.int64) + offsets).view("datetime64[us]")


def _event_rows(contact_ids: np.ndarray, campaign_id: int, kind: str, times) -> pd.DataFrame:
    return pd.DataFrame({"contact_id": contact_ids, "campaign_id": campaign_id, "event_type": kind,
                         "occurred_at": np.asarray(times, dtype="datetime64[us]")})


def simulate_test(n: int, *, baseline_rate: float, true_lift: float, holdout_share: float,
                  seed: int) -> tuple[int, int, int, int]:
    """Successes and sizes of a test drawn like the sample's (for checking the measurement).

    Returns ``(treatment_successes, treatment_size, holdout_successes, holdout_size)``.

    Examples
    --------
    >>> t, nt, h, nh = simulate_test(10_000, baseline_rate=0.04, true_lift=0.05, holdout_share=0.2, seed=1)
    >>> nt + nh, round(t / nt - h / nh, 2)
    (10000, 0.05)
    """
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    held_out = holdout_mask(ids, holdout_share, seed)
    success = rng.random(n) < np.where(held_out, baseline_rate, baseline_rate + true_lift)
    return (int(success[~held_out].sum()), int((~held_out).sum()), int(success[held_out].sum()),
            int(held_out.sum()))


__all__ = ["WINBACK", "WinbackTest", "add_winback_test", "simulate_test"]
