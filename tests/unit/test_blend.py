"""The blend of the purchase model and the ML challenger (issue 24, point 4): weighted on the calibration period
alone, never on the holdout it is scored on, and never part of the model decision."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from clv_core import validation
from clv_core.analysis import Analysis
from clv_core.samples import sample_bytes
from tests.conftest import load


@pytest.fixture(scope="module")
def retail():
    analysis = Analysis(load(*sample_bytes("retail")))
    end = str(validation.default_calibration_end(analysis.transactions).date())
    return analysis, analysis.backtest(end), analysis.blend(end)


def test_the_weight_is_the_best_on_the_calibration_periods_own_split(retail):
    analysis, tested, mix = retail
    inner = validation.backtest(
        analysis.transactions,
        calibration_end=mix.inner_end,
        holdout_end=tested.holdout.calibration_end,
        time_unit=tested.holdout.summary.time_unit,
    )
    assert mix.model == inner.best  # the model blended is chosen there too, not on the holdout
    model = next(m for m in inner.models if m.name == mix.model).predictions["spend"]
    ml = next(m for m in inner.models if m.name == validation.ML_LABEL).predictions["spend"]
    actual = inner.holdout.actual["spend"]
    errors = {w: validation.mae(actual, w * model + (1 - w) * ml) for w in validation.BLEND_WEIGHTS}
    assert mix.weight == min(errors, key=errors.get)
    assert 0 < mix.weight < 1 and mix.beats_both  # on this sample the blend wins: the page shows it
    outer_model = next(m for m in tested.models if m.name == mix.model).predictions["spend"].to_numpy()
    outer_ml = next(m for m in tested.models if m.name == validation.ML_LABEL).predictions["spend"].to_numpy()
    np.testing.assert_allclose(mix.predictions["spend"], mix.weight * outer_model + (1 - mix.weight) * outer_ml)
    assert mix.metrics == validation.score(tested.holdout.actual, mix.predictions)


def test_the_holdout_chooses_nothing(retail):
    """Another holdout outcome (every customer's spend tenfold) changes the blend's score, not its weight or
    model: they were fixed before the holdout was looked at."""
    analysis, tested, mix = retail
    holdout = tested.holdout
    other = replace(tested, holdout=replace(holdout, actual=holdout.actual.assign(spend=holdout.actual["spend"] * 10)))
    again = validation.blend(other, analysis.transactions)
    assert (again.model, again.weight) == (mix.model, mix.weight)
    assert again.metrics["MAE (spend)"] != mix.metrics["MAE (spend)"]


def test_the_blend_is_never_the_model_decision(retail):
    analysis, tested, mix = retail
    assert mix.label not in tested.metrics.index and mix.label not in tested.ranking
    assert analysis.decision().model in ("bgnbd", "paretonbd", "mbgnbd")


def test_a_blend_at_an_end_of_the_scale_is_said_to_add_nothing():
    analysis = Analysis(load(*sample_bytes("cdnow_sample")))
    mix = analysis.blend(str(validation.default_calibration_end(analysis.transactions).date()))
    assert mix.weight in (0.0, 1.0)  # on CDNOW's calibration split the challenger adds nothing to Pareto/NBD
    assert mix.sentence.startswith("No blend:") and not mix.beats_both
