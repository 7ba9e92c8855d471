"""Slip risk: learnt from the workspace's history, backtested on a later date, applied as of T."""

from __future__ import annotations

import pandas as pd
import pytest

import engagekit as ek

AS_OF = pd.Timestamp("2026-11-30")


@pytest.fixture(scope="module")
def risk(sample_dataset):
    return ek.slip_risk(sample_dataset, as_of=AS_OF, config=ek.EngagementConfig())


def test_the_backtest_ranks_who_slipped_better_than_chance_and_the_baseline(risk):
    backtest = risk.backtest
    assert backtest.tested_at == AS_OF - pd.Timedelta(days=30)
    assert backtest.auc > 0.7
    assert backtest.top_decile_precision > backtest.slipped / backtest.contacts  # better than random
    assert backtest.top_decile_precision > backtest.baseline_top_decile_precision
    calibration = backtest.calibration
    # calibrated in the large, and the riskiest bin slips far more often than the safest
    observed_rate = backtest.slipped / backtest.contacts
    assert abs(calibration["predicted"].mean() - calibration["observed"].mean()) < 0.05
    assert calibration["observed"].iloc[-1] > 3 * observed_rate > calibration["observed"].iloc[0]


def test_every_judged_contact_gets_a_risk_and_the_others_none(risk, sample_dataset):
    levels = ek.compute_levels(sample_dataset, as_of=AS_OF).table.set_index("contact_id")["level"]
    judged = levels != "everyone_else"
    assert risk.risk[judged.to_numpy()].between(0, 1).all()
    assert risk.risk[~judged.to_numpy()].isna().all()


def test_a_short_history_says_so_in_one_sentence(sample_dataset):
    with pytest.raises(ek.DataError, match="history is too short to learn slip risk"):
        ek.slip_risk(sample_dataset, as_of=pd.Timestamp("2026-02-01"), config=ek.EngagementConfig())


def test_the_session_shows_it_in_members_and_explanations(tmp_path, sample_dataset, risk):
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ek.Workspace.open(url).import_dataset(sample_dataset, mode="replace")
    session = ek.Session.open(url, as_of=AS_OF)
    # the same data gives the same model and the same risks
    pd.testing.assert_series_equal(session.slip_risk().risk, risk.risk)
    members = session.members("Most engaged", ["email", "slip_risk"])
    assert members["slip_risk"].between(0, 1).all() and "slip_risk" in session.member_columns()
    contact = int(session.member_ids("Most engaged")[0])
    reasons = session.explain(contact, with_risk=True).reasons
    assert reasons[-1].startswith("Slip risk: ") and "dropping a level in the next 30 days" in reasons[-1]
