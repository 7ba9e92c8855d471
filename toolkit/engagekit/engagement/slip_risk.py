"""Slip risk: the chance that a judged contact drops a level over the next period.

The model learns from the workspace's own history, so it needs no outside data:

==============  ======================================================================================
step            rule
==============  ======================================================================================
examples        at each of the ``training_dates`` earlier as-of times t (one period apart, ending one
                period before T so the outcome is known), every judged contact with its features as
                of t, its level and its previous level
label           1 when its level one period after t ranks lower (what the transitions call slipping)
model           scikit-learn's ``HistGradientBoostingClassifier`` (it handles the blanks of contacts
                that never engaged), seeded so the same data gives the same model
backtest        trained on the older dates only and tested on the latest one, the way it is used:
                ROC AUC, the share that slipped among the top tenth of risks, and both against the
                plain baseline "days since last engagement"; a calibration table of predicted
                against observed rates
applied         retrained on every labelled date and applied to the features as of T
==============  ======================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from engagekit.config import EngagementConfig
from engagekit.data.dataset import Dataset
from engagekit.data.schema import level_ranks
from engagekit.engagement.levels import LevelResult, compute_levels
from engagekit.errors import DataError

MODEL_FEATURES: tuple[str, ...] = (
    "eligible_sends", "opened", "clicked", "open_rate", "click_rate", "days_since_last_engagement",
    "sends_since_last_engagement", "bounces", "score", "level_rank", "previous_rank",
)
TRAINING_DATES = 6
MIN_EXAMPLES = 200
MIN_SLIPPED = 20
SEED = 0


@dataclass(frozen=True)
class Backtest:
    """How well the model ranked who slipped on the latest labelled date it did not train on.

    Attributes
    ----------
    tested_at : pandas.Timestamp
    contacts, slipped : int
    auc, baseline_auc : float
        ROC AUC of the model and of "days since last engagement".
    top_decile_precision, baseline_top_decile_precision : float
        Share that slipped among the tenth with the highest risk (by the model, by the baseline).
    calibration : pandas.DataFrame
        ``predicted`` and ``observed`` slip rates per bin of predicted risk.
    """

    tested_at: pd.Timestamp
    contacts: int
    slipped: int
    auc: float
    baseline_auc: float
    top_decile_precision: float
    baseline_top_decile_precision: float
    calibration: pd.DataFrame

    @property
    def lift_over_baseline(self) -> float:
        """Top-decile precision of the model divided by the baseline's."""
        base = self.baseline_top_decile_precision
        return self.top_decile_precision / base if base else float("nan")

    def summary(self) -> str:
        """Sentences for the user.

        Examples
        --------
        >>> b = Backtest(pd.Timestamp("2026-10-31"), 2000, 300, 0.81, 0.70, 0.45, 0.30, pd.DataFrame())
        >>> print(b.summary())
        Tested on 2,000 judged contacts as of 2026-10-31, of whom 300 (15.0%) slipped a level in the next period. ROC AUC 0.81 (days since last engagement alone: 0.70). Among the tenth with the highest risk, 45.0% slipped (baseline: 30.0%, 1.5 times better).
        """
        return (
            f"Tested on {self.contacts:,} judged contacts as of {self.tested_at:%Y-%m-%d}, of whom "
            f"{self.slipped:,} ({self.slipped / self.contacts:.1%}) slipped a level in the next period. "
            f"ROC AUC {self.auc:.2f} (days since last engagement alone: {self.baseline_auc:.2f}). Among "
            f"the tenth with the highest risk, {self.top_decile_precision:.1%} slipped (baseline: "
            f"{self.baseline_top_decile_precision:.1%}, {self.lift_over_baseline:.1f} times better)."
        )


@dataclass(frozen=True)
class SlipRisk:
    """Slip risk as of T: ``risk`` per contact id (``nan`` for contacts not judged) and the backtest."""

    as_of: pd.Timestamp
    risk: pd.Series
    backtest: Backtest


def _examples(levels: dict[pd.Timestamp, LevelResult], at: pd.Timestamp, period: pd.Timedelta,
              labelled: bool) -> pd.DataFrame:
    table = levels[at].table
    frame = table[["contact_id", *MODEL_FEATURES[:-2]]].copy()
    frame["level_rank"] = level_ranks(table["level"])
    frame["previous_rank"] = level_ranks(levels[at - period].table["level"])
    if labelled:
        frame["slipped"] = (level_ranks(levels[at + period].table["level"]) < frame["level_rank"]).astype(int)
    return frame[frame["level_rank"] > 0]  # judged contacts only


def _top_decile_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    top = np.argsort(-scores, kind="stable")[: max(1, len(scores) // 10)]
    return float(labels[top].mean())


def _model():
    """The classifier (scikit-learn's ensemble is imported on use, as it slows every start-up)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, max_leaf_nodes=15,
                                          l2_regularization=1.0, random_state=SEED)


def slip_risk(dataset: Dataset, *, as_of: pd.Timestamp, config: EngagementConfig,
              training_dates: int = TRAINING_DATES) -> SlipRisk:
    """Train on the workspace's history, backtest on the latest labelled date, apply as of ``as_of``.

    Raises :class:`engagekit.DataError` with one sentence when the history is too short.
    """
    period = pd.Timedelta(days=config.previous_period_days)
    dates = [as_of - period * k for k in range(1, training_dates + 1)]  # labelled, newest first
    needed = sorted({as_of, *(d for t in dates for d in (t - period, t, t + period))})
    first_send = dataset.campaigns["sent_at"].min() if len(dataset.campaigns) else pd.NaT
    if pd.isna(first_send) or dates[-1] - period - pd.Timedelta(days=config.lookback_days) < first_send:
        usable = [t for t in dates if not pd.isna(first_send)
                  and t - period - pd.Timedelta(days=config.lookback_days) >= first_send]
        if len(usable) < 2:
            raise DataError(
                f"The history is too short to learn slip risk: it needs campaigns from "
                f"{(dates[1] - period - pd.Timedelta(days=config.lookback_days)):%Y-%m-%d} on (two "
                f"periods of {config.previous_period_days} days plus the {config.lookback_days}-day "
                "window before them).")
        dates = usable
    levels = {t: compute_levels(dataset, as_of=t, config=config) for t in needed}
    examples = {t: _examples(levels, t, period, labelled=True) for t in dates}
    test, train = examples[dates[0]], pd.concat([examples[t] for t in dates[1:]], ignore_index=True)
    for name, frame in (("training", train), ("test", test)):
        if len(frame) < MIN_EXAMPLES or frame["slipped"].sum() < MIN_SLIPPED or (1 - frame["slipped"]).sum() < MIN_SLIPPED:
            raise DataError(
                f"The history has too few judged contacts who slipped (or stayed) to learn slip risk "
                f"({len(frame):,} {name} examples, {int(frame['slipped'].sum()):,} slipped); it needs "
                f"at least {MIN_EXAMPLES} with {MIN_SLIPPED} of each.")

    features = list(MODEL_FEATURES)
    # One thread: the examples are few, and OpenMP's spinning threads slow a busy two-core machine
    # down fifty-fold (measured: 25 s against 0.4 s for one fit).
    with threadpool_limits(limits=1):
        return _fit_and_apply(levels, examples, dates, features, as_of, period)


def _fit_and_apply(levels: dict[pd.Timestamp, LevelResult], examples: dict[pd.Timestamp, pd.DataFrame],
                   dates: list[pd.Timestamp], features: list[str], as_of: pd.Timestamp,
                   period: pd.Timedelta) -> SlipRisk:
    from sklearn.calibration import calibration_curve  # imported on use, as in _model
    from sklearn.metrics import roc_auc_score

    test, train = examples[dates[0]], pd.concat([examples[t] for t in dates[1:]], ignore_index=True)
    backtest_model = _model().fit(train[features], train["slipped"])
    predicted = backtest_model.predict_proba(test[features])[:, 1]
    labels = test["slipped"].to_numpy()
    # Baseline: the longer since the last engagement, the riskier (never engaged: riskiest).
    baseline = test["days_since_last_engagement"].fillna(1e9).to_numpy()
    observed, expected = calibration_curve(labels, predicted, n_bins=10, strategy="quantile")
    backtest = Backtest(
        tested_at=dates[0], contacts=len(test), slipped=int(labels.sum()),
        auc=float(roc_auc_score(labels, predicted)), baseline_auc=float(roc_auc_score(labels, baseline)),
        top_decile_precision=_top_decile_precision(predicted, labels),
        baseline_top_decile_precision=_top_decile_precision(baseline, labels),
        calibration=pd.DataFrame({"predicted": expected, "observed": observed}),
    )

    model = _model().fit(pd.concat([train, test], ignore_index=True)[features],
                         pd.concat([train, test], ignore_index=True)["slipped"])
    now = levels[as_of].table[["contact_id", *MODEL_FEATURES[:-2]]].copy()
    now["level_rank"] = level_ranks(levels[as_of].table["level"])
    now["previous_rank"] = level_ranks(levels[as_of - period].table["level"])
    risk = pd.Series(np.nan, index=pd.Index(now["contact_id"], name="contact_id"), name="slip_risk")
    judged = now["level_rank"].to_numpy() > 0
    if judged.any():
        risk[judged] = model.predict_proba(now.loc[judged, features])[:, 1]
    return SlipRisk(as_of=as_of, risk=risk, backtest=backtest)


__all__ = ["MODEL_FEATURES", "Backtest", "SlipRisk", "slip_risk"]
