"""Cached results are shared objects (clv_app.cache): a tour of every page must leave them as computed.

A page that changed a cached table in place would change it for every other session on the same data; this test
compares what the caches hold after the tour with the same results computed afresh by clv_core.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from clv_app import state
from clv_core import cohorts, economics, models, rfm, segments
from clv_core.ingest import ingest
from clv_core.samples import sample_bytes
from clv_core.summary import summarise
from tests.app.conftest import APP
from tests.app.test_pages import PAGE_FILES


def test_a_tour_of_every_page_leaves_the_shared_results_unchanged():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for page in PAGE_FILES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    at.switch_page("pages/segments.py").run()
    at.toggle(key="seg-f-slip").set_value(True).run()  # filters build new frames from the shared ones
    assert not at.exception

    tx = at.session_state[state.TRANSACTIONS]
    fresh_tx = ingest(*sample_bytes(state.DEFAULT_SAMPLE))
    pd.testing.assert_frame_equal(tx.data, fresh_tx.data)

    # The same calls the pages make: cache hits, so these are the shared objects the tour used.
    pd.testing.assert_frame_equal(state.summary(tx, "weeks").table, summarise(fresh_tx, time_unit="weeks").table)
    thresholds = rfm.LifecycleThresholds()
    fresh_rfm = rfm.rfm(summarise(fresh_tx, time_unit="days"), previous_gap_days=rfm.previous_gaps(fresh_tx))
    pd.testing.assert_frame_equal(state.rfm_result(tx, 5, thresholds).table, fresh_rfm.table)
    fresh_cohorts = cohorts.build_cohorts(fresh_tx, period="month")
    pd.testing.assert_frame_equal(state.cohort_table(tx, "month").retention, fresh_cohorts.retention)

    summary = summarise(fresh_tx, time_unit="weeks")
    fit, spend = models.fit_purchases(summary, "bgnbd"), models.fit_spend(summary)
    fresh_base = economics.precompute(fit, spend, summary)
    shared = state.forecast_base(tx, "weeks", "bgnbd", 1.0)
    for name in ("p_alive", "rows", "distinct_cumulative", "expected_order_value", "historical_revenue"):
        np.testing.assert_array_equal(getattr(shared, name), getattr(fresh_base, name), err_msg=name)

    # Tables derived from the shared results are shared too (clv_app.memo): the forecast page's scenario at its
    # default sliders and the segments page's scored table must also be as computed.
    econ = economics.Economics(0.10, 0.30, 12, 1.0, 25.0)
    best = state.scorecard(tx, "weeks").best  # the forecast page's default: the model best on the holdout
    chosen = next(k for k, label in models.MODEL_LABELS.items() if label == best)
    fresh_chosen = economics.precompute(models.fit_purchases(summary, chosen), spend, summary)
    pd.testing.assert_frame_equal(
        state.scenario(tx, "weeks", chosen, econ).customers, economics.scenario(fresh_chosen, econ).customers
    )
    econ = economics.Economics(0.10, 0.30, 12)
    fresh_scored = segments.scored_customers(
        economics.scenario(fresh_base, econ).customers,
        rfm_table=fresh_rfm.table,
        attributes=cohorts.first_purchase_attributes(fresh_tx),
        thresholds=segments.SegmentThresholds(95, 80, 50, 20),
    )
    shared_scored = state.scored(tx, "bgnbd", "weeks", econ, segments.SegmentThresholds(95, 80, 50, 20))
    pd.testing.assert_frame_equal(shared_scored, fresh_scored)
