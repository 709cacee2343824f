"""Model validation: refit on a calibration period, compare with what happened in the holdout."""

import streamlit as st

from clv_app import links, memo, navigation, session
from clv_app.views import common, first_value, monitoring
from clv_app.views import validation as views
from clv_core import charts, validation
from clv_core.errors import ClvError

navigation.page_guard()

analysis = common.page_start("Model validation")
tx = analysis.transactions
first, last = tx.data["date"].min().date(), tx.observation_end.date()
c1, c2 = st.columns(2)
cal_end = c1.date_input(
    "Calibration end (models see purchases up to this day)",
    validation.default_calibration_end(tx).date(),
    min_value=first,
    max_value=last,
    key="val-end",
    bind="query-params",
)
unit = session.choose(c2.selectbox, "Model time unit (shared with the CLV forecast)", "unit", session.UNITS)
end = str(cal_end)
challenger_ready = analysis.challenger_ready(end)
try:
    with common.steps("Backtesting", ("backtest", analysis.key, end, unit)) as step:
        step(
            f"Refitting BG/NBD, Pareto/NBD, MBG/NBD and Gamma–Gamma on purchases to {cal_end}, then scoring them on "
            "what customers bought afterwards…"
        )
        result = analysis.backtest(end, challenger=challenger_ready)
except ClvError as exc:
    st.error(str(exc), icon=":material/block:")
    st.stop()
h = result.holdout
st.caption(
    f"{len(h.actual):,} customers who bought by {h.calibration_end.date()}; holdout "
    f"{h.calibration_end.date()} → {h.holdout_end.date()} ({h.duration:,.1f} {unit})."
)
views.headline(result)
st.markdown(f"**{validation.verdict(result)}**")
st.caption(analysis.against_decision(result))
# the models' figures now; the challenger's row and notes join them once it is trained (at the end of this page)
scores = st.empty()
with scores.container():
    views.scores(result)
waiting = st.empty()
if not challenger_ready:
    waiting.caption(views.PENDING)
common.first_screen_sent()

probabilistic = [m.name for m in result.models if m.fit is not None]
model = st.selectbox(
    "Model to inspect", probabilistic, probabilistic.index(result.best), key="val-model", bind="query-params"
)
chosen = next(m for m in result.models if m.name == model)
st.plotly_chart(
    memo.of(charts.tracking_chart, analysis.tracking(result, model), h.calibration_end, model),
    width="stretch",
)
left, right = st.columns(2)
left.plotly_chart(
    memo.of(
        charts.actual_vs_predicted_bars,
        memo.of(validation.conditional_by_frequency, h, chosen.predictions),
        "Repeat purchases in calibration",
        "Purchases in the holdout",
        y_title="Mean per customer",
    ),
    width="stretch",
)
right.plotly_chart(
    memo.of(charts.calibration_chart, memo.of(validation.p_alive_calibration, h, chosen.predictions)), width="stretch"
)
st.plotly_chart(
    memo.of(
        charts.actual_vs_predicted_bars,
        memo.of(validation.spend_by_decile, h, chosen.predictions),
        "Decile of predicted holdout spend (10 = highest)",
        "Mean holdout spend per customer: predicted vs actual",
        currency=session.currency(),
    ),
    width="stretch",
)
if not challenger_ready:
    missing = None
    try:
        with st.spinner("Training the ML challenger on the same customers…"):
            result = analysis.backtest(end)
    except ClvError as exc:  # the models' backtest stands; the reason in place of the challenger's row
        missing = f"No ML challenger: {exc}"
    waiting.empty()
    with scores.container():
        views.scores(result)
        if missing:
            st.caption(missing)
challenger = next((m for m in result.models if m.feature_importance is not None), None)
if challenger is not None:
    st.subheader("The ML challenger")
    st.markdown(
        f"Gradient-boosted trees in two stages (will the customer buy again? × how much?), predicted "
        f"out-of-fold for the same {len(h.actual):,} customers; its metrics are in the table above."
    )
    st.plotly_chart(memo.of(charts.importance_chart, challenger.feature_importance), width="stretch")
    st.subheader("A blend of the model and the challenger")
    try:
        mix = analysis.blend(end)
    except ClvError as exc:
        st.caption(f"No blend: {exc}")
    else:
        st.markdown(mix.sentence)
        if mix.beats_both:
            views.blend_table(result, mix)
        if 0 < mix.weight < 1:
            st.caption(
                "The model blended and its weight come from refitting on the first two thirds of the calibration "
                "period and scoring on its last third; the blend is then scored on the holdout above, which never "
                "chose it. The forecast keeps the purchase model: the blend predicts this holdout, not each "
                "customer's CLV."
            )
first_value.backtest_section(analysis)
monitoring.monitoring_section(analysis)
links.publish()
