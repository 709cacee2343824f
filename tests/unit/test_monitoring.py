"""Forecasts watched over time (clv_core.monitoring): origins, the rolling backtest against the one-off holdout
test, per-period behaviour and quality by hand, drift and migration against the Segments page's, the checks'
thresholds, and the monitor command's exit status."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clv_core import monitoring, segments, validation
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.ingest import IngestOptions, ingest
from clv_core.models import MODEL_LABELS
from clv_core.samples import sample_bytes


@pytest.fixture(scope="module")
def cdnow():
    return ingest(*sample_bytes("cdnow_sample"))


@pytest.mark.parametrize("text", ["0M", "25M", "3W", "3", "M3", "3MM", "-1M", "99Y"])
def test_a_period_outside_1_to_24_months_is_refused(text):
    with pytest.raises(ClvError, match="1M to 24M"):
        monitoring.parse_every(text)


def test_origins_step_back_from_the_end_and_keep_a_calibration_period(cdnow):
    # CDNOW: 1997-01-01 → 1998-06-30; every 3 months back, with six months before each
    three = ["1997-06-30", "1997-09-30", "1997-12-30", "1998-03-30"]
    assert [str(o.date()) for o in monitoring.origins(cdnow, 3)] == three
    assert [str(o.date()) for o in monitoring.origins(cdnow, 6)] == ["1997-12-30"]
    with pytest.raises(ClvError, match="too short for a backtest every 12 months"):
        monitoring.origins(cdnow, 12)


def test_each_origin_scores_as_the_holdout_test_of_that_window_does(cdnow):
    rolling = monitoring.rolling_backtest(cdnow, "bgnbd", 3)
    assert len(rolling) == 4 and (rolling["note"] == "").all()
    for row in rolling.itertuples():
        one_off = validation.backtest(
            cdnow, calibration_end=row.origin, holdout_end=row.holdout_end, challenger=False
        ).metrics.loc[MODEL_LABELS["bgnbd"]]
        for measure in monitoring.MEASURES:
            assert rolling.loc[row.Index, measure] == pytest.approx(one_off[measure])


def test_period_behaviour_and_quality_count_by_hand():
    csv = (
        "customer_id,date,amount,channel\n"
        "a,2024-01-10,10,web\na,2024-02-01,20,web\na,2024-02-01,5,web\na,2024-02-15,0,\n"
        "b,2024-01-20,30,shop\nb,2024-02-20,-8,shop\n"
        "c,2024-02-05,7,shop\n" + "".join(f"d{i},2024-01-0{1 + i % 9},4,{('web', 'shop')[i % 2]}\n" for i in range(10))
        # January-only customers, so that the loader reads the channel as an attribute (few values, many rows)
    ).encode()
    tx = ingest(csv, "t.csv", options=IngestOptions(returns="keep", zero_amounts="keep"))
    assert tx.attributes == ("channel",)
    seen = monitoring.period_behaviour(tx, "2024-01-31", "2024-02-29")
    # February: a on 1 and 15 Feb (2 days), b on 20 Feb, c on 5 Feb
    assert sorted(seen["Purchase days per active customer"]) == [1, 1, 2]
    assert sorted(seen["Spend per purchase day"]) == [-8, 0, 7, 25]
    # gaps whose second day is in February: a 10 Jan → 1 Feb (22), 1 → 15 Feb (14); b 20 Jan → 20 Feb (31)
    assert sorted(seen["Days between purchases"]) == [14, 22, 31]
    quality = monitoring.period_quality(tx, "2024-01-31", "2024-02-29")
    assert quality == {"rows": 5, "missing": 0.2, "returns": 0.2, "zero_amounts": 0.2}


def test_drift_tests_and_migration_are_the_ones_the_segments_page_and_scipy_give(cdnow):
    econ = Economics()
    moved = monitoring.drift(cdnow, "bgnbd", 3, economics=econ)
    assert (str(moved.start.date()), str(moved.date_a.date()), str(moved.date_b.date())) == (
        "1997-12-30",
        "1998-03-30",
        "1998-06-30",
    )
    page = segments.migration(cdnow, moved.date_a, moved.date_b, model="bgnbd", time_unit="weeks", economics=econ)
    pd.testing.assert_frame_equal(moved.migration.matrix, page.matrix)
    at_a = monitoring.snapshot(cdnow, moved.date_a, model="bgnbd", time_unit="weeks", economics=econ)
    at_b = monitoring.snapshot(cdnow, moved.date_b, model="bgnbd", time_unit="weeks", economics=econ)
    clv = moved.tests.set_index("measure").loc["Predicted CLV"]
    assert clv["p_value"] == pytest.approx(stats.ks_2samp(at_a["clv"], at_b["clv"]).pvalue)
    assert clv["ks_statistic"] == pytest.approx(stats.ks_2samp(at_a["clv"], at_b["clv"]).statistic)
    assert clv["count_a"] == len(at_a) == clv["count_b"] == len(at_b) == 2357  # one cohort, acquired in 1997 Q1
    assert list(moved.tests["measure"]) == ["Predicted CLV", *monitoring.BEHAVIOUR]


def test_checks_alert_only_beyond_their_thresholds():
    rolling = pd.DataFrame(
        {
            "origin": pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01"]),
            # relative MAE 20 % above the median (1.05) of the earlier two
            monitoring.RELATIVE_MAE: [1.0, 1.1, 1.26],
            "revenue % error": [0.0, 0.05, -0.12],
            "note": "",
        }
    )
    quality = pd.DataFrame({"missing": [0.30, 0.34]})  # a mostly blank optional column: a 4-point rise
    tests = pd.DataFrame(
        {
            "measure": ["Predicted CLV", "Spend per purchase day", "Days between purchases"],
            "median_a": [1.0, 20.0, 30.0],
            "median_b": [1.5, 20.0, 31.0],
            "ks_statistic": [0.2, 0.02, np.nan],
            "p_value": [0.03, 0.001, np.nan],  # a tiny move with a tiny p; no values at all
        }
    )
    moved = monitoring.Drift(*pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01"]), tests, quality, None)
    strict = monitoring.checks(rolling, moved, monitoring.Thresholds())
    assert strict["alert"].tolist() == [True, True, False, True, False, False]
    assert "20.0 % above the median" in strict["says"][0] and "under-predicted by 12.0 %" in strict["says"][1]
    assert "not tested" in strict["says"][5]
    loose = monitoring.checks(rolling, moved, monitoring.Thresholds(0.25, 0.15, 0.03, 0.01))
    assert loose["alert"].tolist() == [False, False, True, False, False, False]
    assert monitoring.checks(rolling, moved, monitoring.Thresholds(ks_statistic=0.01))["alert"].tolist()[4]
    # the latest origin failed: said, and the error checks read the last origin that was scored
    failed = rolling.assign(note=["", "", "did not converge"])
    found = monitoring.checks(failed, moved, monitoring.Thresholds())
    assert found["check"][0] == "Refit at the latest origin" and found["alert"][0]
    assert "did not converge" in found["says"][0]
    with pytest.raises(ClvError):
        monitoring.Thresholds(ks_p=1.0)


def test_a_backtest_whose_every_refit_fails_is_an_error_not_an_all_clear(cdnow, monkeypatch):
    def fail(*args, **kwargs):
        raise ClvError("the model did not converge")

    monkeypatch.setattr(monitoring, "fit_purchases", fail)
    with pytest.raises(ClvError, match="No origin of the rolling backtest could be scored"):
        monitoring.rolling_backtest(cdnow, "bgnbd", 3)


def test_a_threshold_moved_refits_nothing(cdnow, monkeypatch):
    analysis = Analysis(cdnow, model="bgnbd")
    first = analysis.monitoring(3, monitoring.Thresholds(), Economics())
    monkeypatch.setattr(monitoring, "fit_purchases", lambda *a, **k: pytest.fail("refitted"))
    second = analysis.monitoring(3, monitoring.Thresholds(revenue_error=0.5), Economics())
    assert second.rolling is first.rolling and len(second.alerts) < len(first.alerts)


def test_the_monitor_command_exits_3_on_an_alert_and_0_within_thresholds(tmp_path, cdnow):
    path = tmp_path / "orders.txt"
    path.write_bytes(sample_bytes("cdnow_sample")[0])
    base = [sys.executable, "-m", "clv_core", "monitor", str(path), "--model", "bgnbd"]
    out = tmp_path / "report.json"
    alert = subprocess.run([*base, "--out", str(out)], capture_output=True, text=True)
    assert alert.returncode == 3, alert.stderr
    printed, report = json.loads(alert.stdout), json.loads(out.read_text())
    assert printed["status"] == report["status"] == "alert"
    assert printed["message"] in alert.stderr
    # the same numbers as the analysis the app makes
    app = Analysis(cdnow, model="bgnbd").monitoring(3, monitoring.Thresholds(), Economics())
    assert [c["value"] for c in report["checks"]] == pytest.approx(app.checks["value"].tolist())
    assert len(report["rolling_backtest"]) == 4 and report["drift"]["migration"]
    calm = subprocess.run(
        [*base, "--min-ks-p", "0", "--max-revenue-error", "1", "--max-mae-increase", "1"],
        capture_output=True,
        text=True,
    )
    assert calm.returncode == 0, calm.stderr
    assert json.loads(calm.stdout)["message"].startswith("All ")
    wrong = subprocess.run([*base, "--every", "3W"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "1M to 24M" in wrong.stderr and "Traceback" not in wrong.stderr
    csv = subprocess.run([*base, "--out", str(tmp_path / "r.csv")], capture_output=True, text=True)
    assert csv.returncode == 2 and "name it .json" in csv.stderr
