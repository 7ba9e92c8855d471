"""The data-readiness audit: can this data be trusted to say who is engaged, and what to mind.

:func:`audit_data` measures, as of T and under the settings in force:

=======================  =========================================================================
measure                  meaning
=======================  =========================================================================
judged contacts          contacts with at least ``min_sends`` eligible sends: enough tracked
                         history to be placed in a level (the others are *everyone else*)
machine opens            share of the window's opens the classifier (:mod:`engagekit.data.machine`)
                         flags as a machine's, by reason
scanner clicks           share of the window's clicks it flags as a link scanner's, by reason
sends without tracking   share of the window's sends in campaigns with no open and no click at
                         all: tracking was off (plain-text mail) or the export lacks activity, so
                         these sends lower everyone's rates without saying anything
synthesised sends        campaigns whose recipients were made up on import (the export listed
                         none; everyone subscribed at send time is assumed to have received it)
level changes            the previous-rule -> new-rule matrix: each contact's level when every open
                         and click counts (the rule before confirmed engagement) against its level
                         under the settings in force
send volume              sends per day (by the campaign's sent date, UTC), in all and to Gmail
                         addresses, against Gmail's bulk-sender threshold of 5,000 a day
=======================  =========================================================================

The window and "up to T" are those of the levels (:func:`~engagekit.engagement.features.window_bounds`);
send volume looks at all sends up to T, since Gmail treats a sender that once reached the threshold
as a bulk sender from then on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagekit.config import ENGAGEMENT_RULE_LABELS, EVERY_OPEN_AND_CLICK, EngagementConfig
from engagekit.data.dataset import Dataset
from engagekit.data.machine import REASONS, classify_events
from engagekit.data.schema import LEVEL_LABELS, EventType
from engagekit.engagement.features import window_bounds
from engagekit.engagement.levels import compute_levels
from engagekit.engagement.transitions import Transitions, compute_transitions
from engagekit.timeutil import AsOf, as_timestamp

GMAIL_BULK_SENDER_DAILY = 5_000
"""Messages a day to personal Gmail accounts from which Gmail counts a sender as a bulk sender."""
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
GMAIL_SPAM_RATE_LIMIT = 0.003
GMAIL_SPAM_RATE_TARGET = 0.001
GMAIL_REQUIREMENTS = (
    "SPF and DKIM with an aligned DMARC policy, a user-reported spam rate below "
    f"{GMAIL_SPAM_RATE_LIMIT:.1%} in Postmaster Tools (aim for under {GMAIL_SPAM_RATE_TARGET:.1%}), "
    "and one-click unsubscribe (the RFC 8058 List-Unsubscribe-Post header) in marketing mail, "
    "honoured within 2 days"
)
"""What Gmail requires of a bulk sender (its sender guidelines, in force since February 2024)."""


@dataclass(frozen=True)
class Audit:
    """The audit of one dataset as of one time (see the module notes for each measure).

    Attributes
    ----------
    as_of : pandas.Timestamp
    config : EngagementConfig
    contacts, judged : int
    opens, machine_opens, clicks, scanner_clicks : int
        Opens and clicks of window emails up to ``as_of``, and those flagged.
    flag_reasons : pandas.Series
        Flagged events by reason code.
    sends, untracked_sends : int
        Window sends, and those in campaigns with no open or click recorded.
    untracked_campaigns : pandas.DataFrame
        ``campaign_id``, ``name``, ``sends`` of the window's campaigns without tracking.
    synthesised_campaigns : pandas.DataFrame
        ``campaign_id``, ``name``, ``sends`` (synthesised) of campaigns whose sends were made up.
    level_change : Transitions
        Previous rule (every open and click counts) -> the settings in force.
    daily_sends : pandas.DataFrame
        ``day``, ``sends``, ``gmail_sends``, every day with a send up to ``as_of``.
    """

    as_of: pd.Timestamp
    config: EngagementConfig
    contacts: int
    judged: int
    opens: int
    machine_opens: int
    clicks: int
    scanner_clicks: int
    flag_reasons: pd.Series
    sends: int
    untracked_sends: int
    untracked_campaigns: pd.DataFrame
    synthesised_campaigns: pd.DataFrame
    level_change: Transitions
    daily_sends: pd.DataFrame

    @property
    def changed(self) -> int:
        """Contacts whose level differs between the previous rule and the settings in force."""
        counts = self.level_change.counts.to_numpy()
        return int(counts.sum() - np.trace(counts))

    @property
    def peak_day(self) -> pd.Series | None:
        """The day with the most sends to Gmail addresses (``None`` without sends)."""
        if self.daily_sends.empty:
            return None
        return self.daily_sends.loc[self.daily_sends["gmail_sends"].idxmax()]

    @property
    def bulk_sender(self) -> bool:
        """Whether any day reached Gmail's bulk-sender threshold in sends to Gmail addresses."""
        return bool((self.daily_sends["gmail_sends"] >= GMAIL_BULK_SENDER_DAILY).any())

    def lines(self) -> list[str]:
        """The audit in sentences, one finding a line."""
        start, end = window_bounds(self.as_of, self.config)
        rule = ENGAGEMENT_RULE_LABELS[self.config.engagement]
        out = [
            f"Data-readiness audit as of {self.as_of:%Y-%m-%d %H:%M} UTC; emails sent "
            f"{start:%Y-%m-%d} to {end:%Y-%m-%d} count; engagement: {rule}.",
            f"Judged: {self.judged:,} of {self.contacts:,} contacts ({_share(self.judged, self.contacts)}) "
            f"have at least {self.config.min_sends} eligible sends; the others are Everyone else.",
            f"Machine opens: {self.machine_opens:,} of {self.opens:,} opens "
            f"({_share(self.machine_opens, self.opens)}){self._reasons(('source', 'proxy', 'prefetcher'))}.",
            f"Scanner clicks: {self.scanner_clicks:,} of {self.clicks:,} clicks "
            f"({_share(self.scanner_clicks, self.clicks)}){self._reasons(('source', 'burst', 'early_click'))}"
            f"; {'counted' if self.config.count_scanner_clicks else 'left out'}.",
            f"Sends without tracking: {self.untracked_sends:,} of {self.sends:,} "
            f"({_share(self.untracked_sends, self.sends)}), in {len(self.untracked_campaigns)} campaign(s) "
            "with no open and no click recorded.",
        ]
        if self.synthesised_campaigns.empty:
            out.append("Synthesised sends: none; every send is in the data.")
        else:
            names = ", ".join(self.synthesised_campaigns["name"].head(5))
            more = len(self.synthesised_campaigns) - 5
            out.append(
                f"Synthesised sends: {int(self.synthesised_campaigns['sends'].sum()):,} send(s) in "
                f"{len(self.synthesised_campaigns)} campaign(s) were assumed from activity "
                f"({names}{f' and {more} more' if more > 0 else ''}).")
        out.append(
            f"Level changes from counting every open and click to '{rule}': {self.changed:,} of "
            f"{self.contacts:,} contacts ({_share(self.changed, self.contacts)}) change level.")
        peak = self.peak_day
        if peak is None:
            out.append("Send volume: no sends yet.")
        else:
            out.append(
                f"Send volume: at most {int(peak['gmail_sends']):,} sends a day to Gmail addresses "
                f"({peak['day']:%Y-%m-%d}; {int(self.daily_sends['sends'].max()):,} a day in all), "
                f"{'at or above' if self.bulk_sender else 'below'} Gmail's bulk-sender threshold "
                f"of {GMAIL_BULK_SENDER_DAILY:,} a day. "
                + ("Gmail therefore requires " if self.bulk_sender else "From there on Gmail requires ")
                + GMAIL_REQUIREMENTS + ".")
        return out

    def level_change_table(self) -> pd.DataFrame:
        """The previous-rule -> new-rule matrix with level labels (rows: every open and click)."""
        counts = self.level_change.counts.copy()
        counts.index = [LEVEL_LABELS[level] for level in counts.index]
        counts.columns = [LEVEL_LABELS[level] for level in counts.columns]
        counts.index.name = "every open and click"
        counts.columns.name = ENGAGEMENT_RULE_LABELS[self.config.engagement]
        return counts

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _reasons(self, codes: tuple[str, ...]) -> str:
        found = [(code, int(self.flag_reasons.get(code, 0))) for code in codes]
        found = [f"{_REASON_NAMES[code]} {count:,}" for code, count in found if count]
        return f": {', '.join(found)}" if found else ""


_REASON_NAMES = {
    "source": "marked by the source", "proxy": "privacy proxy", "prefetcher": "prefetching client",
    "burst": "several links within seconds", "early_click": "before any open, seconds after the send",
}


def audit_data(data: Dataset, *, as_of: AsOf, config: EngagementConfig | None = None) -> Audit:
    """Audit ``data`` as of ``as_of`` under ``config`` (see the module notes).

    Examples
    --------
    >>> from engagekit.data.sample import generate_sample
    >>> audit = audit_data(generate_sample(300, seed=2), as_of="2026-11-30")
    >>> audit.contacts, audit.machine_opens <= audit.opens, audit.bulk_sender
    (300, True, False)
    >>> print(audit.lines()[0])
    Data-readiness audit as of 2026-11-30 00:00 UTC; emails sent 2026-09-01 to 2026-11-29 count; engagement: Confirmed opens only (machine opens left out).
    """
    config = config or EngagementConfig()
    t = as_timestamp(as_of)
    start, end = window_bounds(t, config)
    campaigns = data.campaigns.set_index("campaign_id")
    events = data.email_events
    sent = events["campaign_id"].map(campaigns["sent_at"])
    verdicts = classify_events(events, data.campaigns, config.machine_rules)
    up_to = (events["occurred_at"] <= t).to_numpy()
    in_window = up_to & ((sent > start) & (sent <= end)).to_numpy()
    kind = events["event_type"].to_numpy(dtype=object)
    is_open, is_click = kind == EventType.OPEN.value, kind == EventType.CLICK.value
    flagged = in_window & verdicts.flagged

    deliveries = events.loc[up_to, ["contact_id", "campaign_id"]].drop_duplicates()
    deliveries = deliveries.assign(sent_at=deliveries["campaign_id"].map(campaigns["sent_at"]))
    window_deliveries = deliveries[(deliveries["sent_at"] > start) & (deliveries["sent_at"] <= end)]
    tracked = events.loc[up_to & (is_open | is_click), "campaign_id"].unique()
    untracked = window_deliveries[~window_deliveries["campaign_id"].isin(tracked)]

    current = compute_levels(data, as_of=t, config=config)
    before = compute_levels(data, as_of=t, config=config.with_changes(**EVERY_OPEN_AND_CLICK))
    return Audit(
        as_of=t,
        config=config,
        contacts=data.n_contacts,
        judged=current.n_judged,
        opens=int((in_window & is_open).sum()),
        machine_opens=int((in_window & verdicts.machine_open).sum()),
        clicks=int((in_window & is_click).sum()),
        scanner_clicks=int((in_window & verdicts.scanner_click).sum()),
        flag_reasons=pd.Series(np.asarray(REASONS)[verdicts.reason_code[flagged]]).value_counts(),
        sends=len(window_deliveries),
        untracked_sends=len(untracked),
        untracked_campaigns=_per_campaign(untracked, campaigns),
        synthesised_campaigns=_per_campaign(
            events.loc[up_to & events["synthesised"].eq(True).fillna(False).to_numpy()], campaigns),
        level_change=compute_transitions(before, current),
        daily_sends=_daily_sends(data, deliveries),
    )


def _per_campaign(rows: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    counts = rows.groupby("campaign_id").size()
    return pd.DataFrame({
        "campaign_id": counts.index.to_numpy(dtype=np.int64),
        "name": campaigns["name"].reindex(counts.index).to_numpy(dtype=object),
        "sends": counts.to_numpy(dtype=np.int64),
    })


def _daily_sends(data: Dataset, deliveries: pd.DataFrame) -> pd.DataFrame:
    domain = data.contacts.set_index("contact_id")["email"].str.rsplit("@", n=1).str[-1]
    to_gmail = deliveries["contact_id"].map(domain).isin(GMAIL_DOMAINS)
    day = deliveries["sent_at"].dt.floor("D")
    daily = pd.DataFrame({"day": day, "sends": 1, "gmail_sends": to_gmail.astype(np.int64)})
    return daily.groupby("day", as_index=False)[["sends", "gmail_sends"]].sum()


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "no data"


__all__ = ["GMAIL_BULK_SENDER_DAILY", "GMAIL_REQUIREMENTS", "Audit", "audit_data"]
