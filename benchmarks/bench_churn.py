"""A churn multiplier the forecast has not prepared yet, and an economics-slider move with what the forecast page
draws from it, at a million customers, each beside a baseline measured in the same run.

Data: benchmarks/generate.py's CDNOW-like file sorted by date with integer ids (about 1M customers at 2.9M rows),
summarised in weeks; each purchase model and Gamma–Gamma fitted once (not timed).

* new churn value — ``economics.precompute`` for a multiplier of 1.1 (every customer's expected purchases at each
  of 60 month boundaries, the model evaluated on the distinct (x, T) pairs for all months at once) against the
  same base built month by month with lifetimes' conditional expectation (BG/NBD, MBG/NBD) or ours per month
  (Pareto/NBD), which is what the app did before; the bases are checked equal.
* slider move — ``economics.scenario`` plus what the forecast page draws from it: the headline, value by RFM
  segment (the customers' segments looked up once per base), the top customers, the CLV histogram and the
  predicted-vs-historical chart, against the same with pandas' group-by and ``nlargest`` on the customer table.

Usage: python benchmarks/bench_churn.py [--rows 2900000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from _timing import median_seconds  # noqa: E402

from clv_core import charts, economics, forecast, rfm  # noqa: E402
from clv_core.economics import Economics  # noqa: E402
from clv_core.models import FitResult, fit_purchases, fit_spend  # noqa: E402
from clv_core.summary import summarise  # noqa: E402


class MonthByMonth(FitResult):
    """The fit, with every month boundary evaluated separately for every history (the app before all months at
    once on the distinct (x, T) pairs)."""

    def cumulative_factors(self, ts, f, r, T):
        alive = self.probability_alive(f, r, T)
        grid = np.stack([self.expected_purchases(t, f, r, T) for t in ts], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(alive[:, None] > 0, grid / alive[:, None], 0.0), np.arange(len(grid)), alive


def month_by_month(fit: FitResult) -> FitResult:
    return MonthByMonth(**{f.name: getattr(fit, f.name) for f in dataclasses.fields(fit)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_900_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    summary = summarise(generate.transactions(args.rows, shape="date-int"), time_unit="weeks")
    t = summary.table
    print(f"{len(t):,} customers, {len(t.groupby(['frequency', 'recency', 'T'])):,} distinct histories, weeks\n")
    spend = fit_spend(summary)
    print("| model | new churn value, ours s | month by month s | ratio | bases equal |")
    print("|---|---:|---:|---:|---|")
    bases = {}
    for key in ("bgnbd", "mbgnbd", "paretonbd"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_purchases(summary, key)
        start = time.perf_counter()
        ours = economics.precompute(fit, spend, summary, churn_multiplier=1.1)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        theirs = economics.precompute(month_by_month(fit), spend, summary, churn_multiplier=1.1)
        theirs_s = time.perf_counter() - start
        same = np.allclose(ours.distinct_cumulative, theirs.distinct_cumulative, rtol=1e-9, atol=1e-12)
        print(f"| {fit.purchase_model.label} | {ours_s:.2f} | {theirs_s:.2f} | {theirs_s / ours_s:.1f}× | {same} |")
        bases[key] = ours
    base = bases["bgnbd"]
    segments = pd.Series(rfm.rfm(summary).table["segment"].to_numpy(), index=summary.table["customer_id"])
    econ = Economics(annual_discount_rate=0.1, gross_margin=0.3, horizon_months=12, churn_multiplier=1.1)

    codes = forecast.group_codes(segments, base.customer_id)  # once per base: the page keeps it (clv_app.memo)

    def figures(result):
        return charts.clv_histogram(result.customers["clv"], horizon_months=13), charts.predicted_vs_historical(
            result.customers
        )

    def ours():
        result = economics.scenario(base, replace(econ, horizon_months=13))
        by_segment = forecast.clv_by_group(result.customers, segments, codes=codes)
        return result.total_clv, by_segment, forecast.top_customers(result.customers), figures(result)

    def baseline():
        result = economics.scenario(base, replace(econ, horizon_months=13))
        table = result.customers.assign(segment=segments.reindex(result.customers["customer_id"]).to_numpy())
        by_segment = table.groupby("segment").agg(total_clv=("clv", "sum"), mean_p_alive=("p_alive", "mean"))
        return result.total_clv, by_segment, result.customers.nlargest(100, "clv"), figures(result)

    print("\n| step | ours s | baseline | baseline s | ratio |")
    print("|---|---:|---|---:|---:|")
    ours_s = median_seconds(lambda: economics.scenario(base, replace(econ, horizon_months=13)), args.repeats)
    print(f"| slider move: scenario alone | {ours_s:.3f} | – | – | – |")
    ours_s, base_s = median_seconds(ours, args.repeats), median_seconds(baseline, args.repeats)
    row = f"| slider move + the page's tables and charts | {ours_s:.3f} | pandas group-by and nlargest | {base_s:.3f} |"
    print(f"{row} {base_s / ours_s:.1f}× |")


if __name__ == "__main__":
    main()
