"""The one analysis of a dataset: its model decision, and each model fitted once per dataset, time unit and period."""

from __future__ import annotations

import pytest

from clv_core import models, validation
from clv_core.analysis import Analysis
from clv_core.errors import ClvError
from clv_core.samples import sample_bytes
from tests.conftest import load


@pytest.fixture
def fits_made(monkeypatch):
    """Every purchase-model fit made, as (the last day it saw, model)."""
    made = []
    fit = models.fit_purchases

    def counted(summary, model="bgnbd", **kwargs):
        made.append((summary.observation_end, model))
        return fit(summary, model, **kwargs)

    monkeypatch.setattr(models, "fit_purchases", counted)
    monkeypatch.setattr(validation, "fit_purchases", counted)
    return made


def test_each_model_is_fitted_once_per_period_whatever_asks_for_it(fits_made):
    tx = load(*sample_bytes("cdnow_sample"))
    analysis = Analysis(tx)
    end = str(validation.default_calibration_end(tx).date())
    decision = analysis.decision()
    analysis.fits()
    analysis.base()
    comparison = analysis.comparison()
    with_challenger = analysis.backtest(end, challenger=True)
    calibration = [f for f in fits_made if f[0] == decision.scorecard.holdout.calibration_end]
    whole = [f for f in fits_made if f[0] == tx.observation_end]
    assert len(calibration) + len(whole) == len(fits_made)
    assert sorted(m for _, m in calibration) == sorted(models.REGISTRY)  # the scorecard's, reused by Validation
    assert sorted(m for _, m in whole) == sorted(models.REGISTRY)  # the decision's winner is the comparison's too
    assert decision.scorecard is analysis.scorecard()
    assert set(with_challenger.metrics.index) == {*decision.scorecard.metrics.index, validation.ML_LABEL}
    assert with_challenger.metrics.loc[decision.label].equals(decision.scorecard.metrics.loc[decision.label])
    assert list(comparison["model"]) == [m.label for m in models.REGISTRY.values()]


def test_a_model_that_cannot_be_fitted_is_said_once_and_not_tried_again(fits_made):
    tiny = load("customer_id,date,amount\n" + "".join(f"c{i},2024-01-0{1 + i % 5},10\n" for i in range(30)))
    analysis = Analysis(tiny, model="bgnbd")
    for _ in range(3):
        with pytest.raises(ClvError, match="bought more than once"):
            analysis.fits()
    assert len(fits_made) == 1
    assert "bought more than once" in analysis.comparison().set_index("model").loc["BG/NBD", "note"]


def test_without_a_holdout_the_decision_is_bgnbd_and_says_why():
    tiny = load("customer_id,date,amount\na,2024-01-05,10\nb,2024-01-06,20\n")
    decision = Analysis(tiny).decision()
    assert (decision.model, decision.chosen_by) == ("bgnbd", "fallback")
    assert decision.line().startswith("Model: BG/NBD for purchases, Gamma–Gamma for spend (BG/NBD by default")
