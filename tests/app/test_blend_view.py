"""The Model validation page shows the blend where it beats both, beside them, and says so where it does not."""

from __future__ import annotations

from clv_core import validation
from clv_core.analysis import Analysis
from clv_core.samples import sample_bytes
from tests.app.conftest import text_of
from tests.conftest import load


def test_a_blend_that_beats_both_is_shown_beside_them(app):
    app.selectbox(key="data-sample").set_value("retail").run()
    app.switch_page("pages/validation.py").run()
    assert not app.exception, app.exception
    analysis = Analysis(load(*sample_bytes("retail")), time_unit="weeks")
    mix = analysis.blend(str(validation.default_calibration_end(analysis.transactions).date()))
    assert mix.sentence in text_of(app)
    shown = next(d.value for d in app.dataframe if mix.label in d.value.index)
    assert list(shown.index) == [mix.model, validation.ML_LABEL, mix.label]
    assert shown.loc[mix.label, "MAE (spend)"] == mix.metrics["MAE (spend)"]
