"""Cached results are shared objects (clv_app.cache): a tour of every page must leave them as computed.

A page that changed a cached table in place would change it for every other session on the same data; this test
compares what the caches hold after the tour with the same results computed afresh by clv_core.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from clv_app import memo, sources
from clv_core import cohorts, economics, models, next_purchase, rfm, segments
from clv_core.analysis import Analysis
from clv_core.ingest import ingest
from clv_core.samples import sample_bytes
from clv_core.summary import summarise
from tests.app.conftest import APP
from tests.app.test_pages import PAGE_FILES


def test_a_tour_of_every_page_leaves_the_shared_results_unchanged():
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    for page in PAGE_FILES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    at.switch_page("pages/segments.py").run()
    at.toggle(key="seg-f-slip").set_value(True).run()  # filters build new frames from the shared ones
    assert not at.exception

    tx = at.session_state[sources.TRANSACTIONS]
    fresh_tx = ingest(*sample_bytes(sources.DEFAULT_SAMPLE))
    pd.testing.assert_frame_equal(tx.data, fresh_tx.data)

    # The session's analysis, as the pages ask it: cache hits, so these are the shared objects the tour used.
    shared = Analysis(tx, memo=memo.AnalysisMemo())
    pd.testing.assert_frame_equal(shared.summary().table, summarise(fresh_tx, time_unit="weeks").table)
    fresh_rfm = rfm.rfm(summarise(fresh_tx, time_unit="days"), previous_gap_days=rfm.previous_gaps(fresh_tx))
    pd.testing.assert_frame_equal(shared.rfm().table, fresh_rfm.table)
    fresh_cohorts = cohorts.build_cohorts(fresh_tx, period="month")
    pd.testing.assert_frame_equal(shared.cohorts("month").retention, fresh_cohorts.retention)

    summary = summarise(fresh_tx, time_unit="weeks")
    model = shared.model  # the holdout test's choice, which every page used
    fit, spend = models.fit_purchases(summary, model), models.fit_spend(summary)
    fresh_base = economics.precompute(fit, spend, summary)
    for name in ("p_alive", "rows", "distinct_cumulative", "expected_order_value", "historical_revenue"):
        np.testing.assert_array_equal(getattr(shared.base(), name), getattr(fresh_base, name), err_msg=name)

    # Tables derived from the shared results are shared too (clv_app.memo): the scenario at the default sliders
    # and the segments page's scored table must also be as computed.
    econ = economics.Economics(0.10, 0.30, 12, 1.0, 25.0)
    pd.testing.assert_frame_equal(shared.scenario(econ).customers, economics.scenario(fresh_base, econ).customers)
    due = next_purchase.next_purchases(fit, summary, econ.horizon_months).table
    fresh_scored = segments.scored_customers(
        economics.scenario(fresh_base, econ).customers,
        rfm_table=fresh_rfm.table,
        attributes=cohorts.first_purchase_attributes(fresh_tx),
        cuts=segments.ValueGroupCuts(95, 80, 50, 20),
        extra=(due[["next_purchase_date", "buys_within_horizon"]],),
    )
    pd.testing.assert_frame_equal(shared.scored(econ, segments.ValueGroupCuts(95, 80, 50, 20)), fresh_scored)
