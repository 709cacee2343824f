"""The Spark engine (local mode) gives the embedded engine's summary, fits and CLV on CDNOW."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.models import fit_purchases, fit_spend
from clv_core.summary import summarise
from tests.conftest import load, run_cli

NUMBERS = ("frequency", "recency", "T", "monetary_value", "orders", "total_revenue", "days_since_last_purchase")

# one worker runs these together: one Spark session for all of them
pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def cdnow(cdnow_master_path, tmp_path_factory):
    """CDNOW cleaned by the embedded loader, written as Parquet (what a pipeline would hand Spark)."""
    tx = load(cdnow_master_path.read_bytes(), cdnow_master_path.name)
    folder = tmp_path_factory.mktemp("cdnow")
    tx.data[["customer_id", "date", "amount"]].to_parquet(folder / "cdnow.parquet", index=False)
    return tx, folder / "cdnow.parquet"


@pytest.fixture(scope="module")
def spark():
    from clv_core import spark as engine

    session = engine.session("local[2]")
    yield session
    session.stop()


def test_the_summary_is_the_embedded_engines(spark, cdnow):
    from clv_core import spark as engine

    tx, path = cdnow
    for unit in ("weeks", "days"):
        table, end = engine.summarise(engine.read_transactions(spark, path), time_unit=unit)
        ours = table.toPandas().sort_values("customer_id", ignore_index=True)
        theirs = summarise(tx, time_unit=unit).table.sort_values("customer_id", ignore_index=True)
        assert end == tx.observation_end and len(ours) == 23_570
        for column in NUMBERS:
            np.testing.assert_allclose(ours[column].astype(float), theirs[column].astype(float), rtol=1e-12)
        assert (pd.to_datetime(ours["last_purchase"]) == theirs["last_purchase"]).all()
    cut, _ = engine.summarise(engine.read_transactions(spark, path), observation_end="1997-09-30")
    assert cut.count() == len(summarise(tx, observation_end="1997-09-30").table)


def test_fits_on_sufficient_statistics_and_distributed_scoring_match(spark, cdnow):
    from clv_core import spark as engine

    tx, path = cdnow
    table, _ = engine.summarise(engine.read_transactions(spark, path), time_unit="weeks")
    table = table.cache()
    purchase, spend = engine.fit(table, "bgnbd", "weeks")
    embedded = summarise(tx, time_unit="weeks")
    np.testing.assert_allclose(
        list(purchase.params.values()), list(fit_purchases(embedded, "bgnbd").params.values()), rtol=1e-6
    )
    np.testing.assert_allclose(list(spend.params.values()), list(fit_spend(embedded).params.values()), rtol=1e-6)
    assert purchase.customers == 23_570
    econ = Economics(horizon_months=24, annual_discount_rate=0.15)
    ours = engine.score(table, purchase, spend, econ).toPandas().sort_values("customer_id", ignore_index=True)
    theirs = Analysis(tx, model="bgnbd").scenario(econ).customers.sort_values("customer_id", ignore_index=True)
    assert list(ours["customer_id"]) == list(theirs["customer_id"])
    for column in ("p_alive", "expected_purchases", "expected_avg_value", "clv"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-6, atol=1e-9)


def test_csv_files_in_a_directory_read_like_one_parquet_file(spark, cdnow, tmp_path):
    from clv_core import spark as engine

    tx, path = cdnow
    data = tx.data[["customer_id", "date", "amount"]].rename(columns={"customer_id": "client", "date": "day"})
    half = len(data) // 2
    data.iloc[:half].to_csv(tmp_path / "part-1.csv", index=False, date_format="%Y-%m-%d")
    data.iloc[half:].to_csv(tmp_path / "part-2.csv", index=False, date_format="%Y-%m-%d")
    purchases = engine.read_transactions(spark, tmp_path, customer="client", date="day")
    ours, _ = engine.summarise(purchases)
    theirs, _ = engine.summarise(engine.read_transactions(spark, path))
    ours, theirs = (t.toPandas().sort_values("customer_id", ignore_index=True) for t in (ours, theirs))
    assert list(ours["customer_id"]) == list(theirs["customer_id"])  # ids read as text: leading zeros kept
    for column in NUMBERS:  # sums over other partitions: equal to rounding
        np.testing.assert_allclose(ours[column].astype(float), theirs[column].astype(float), rtol=1e-12)


def test_the_command_line_gives_the_same_summary_on_either_engine(spark, cdnow, tmp_path):
    """In this process: the command's Spark session is the fixture's (a second JVM would add 10-20 s)."""
    _, path = cdnow
    outputs = {}
    for engine in ("embedded", "spark"):
        out = tmp_path / f"{engine}.csv"
        done = run_cli("summary", str(path), "--engine", engine, "--out", str(out))
        assert done.returncode == 0, done.stderr
        outputs[engine] = pd.read_csv(out, dtype={"customer_id": str}).sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(outputs["spark"], outputs["embedded"], check_dtype=False)


def test_make_test_runs_these_on_one_worker(request):
    """make test's ``--dist loadgroup`` keeps a group on one worker (one Spark session, one PostgreSQL cluster, one
    wheel build at a time); pytest 9.2 with pytest-xdist 3.8 spread them silently (pytest-xdist#1386)."""
    if getattr(request.config.option, "loadgroup", False):
        assert request.node.nodeid.endswith("@spark"), request.node.nodeid
