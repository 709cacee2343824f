"""The whole pipeline at scale, each step beside a baseline measured in the same run.

Data: benchmarks/generate.py (CDNOW-like customers drawn from the fitted BG/NBD and Gamma–Gamma), made on first use.
For each step the table gives the median wall time of ``--repeats`` runs (one run when a run takes over 20 s), the
ratio baseline ÷ ours (above 1: we are faster) and the peak memory the step allocated (tracemalloc, in a separate
run so tracing does not slow the timed ones; pyarrow's own buffers are not traced).

Steps and baselines:

* load — ``clv_core.ingest`` (sniffing, parsing, every cleaning rule and the quality report) vs ``pandas.read_parquet``
  / ``read_csv`` that already know the format and clean nothing;
* summary — ``clv_core.summary.summarise`` vs ``lifetimes.utils.summary_data_from_transaction_data`` (results checked
  identical);
* cohort matrices and RFM — ``clv_core`` vs a straightforward pandas ``groupby`` implementation;
* BG/NBD + Gamma–Gamma fit — on the distinct (frequency, recency, T) rows with weights vs lifetimes on every customer
  (parameters compared);
* scoring — precompute + 12-month CLV per customer vs lifetimes' ``customer_lifetime_value``;
* slider move — a new discount rate and margin on the precomputed forecast vs the same product over a
  (customers × months) matrix;
* Cox PH and Kaplan–Meier — on the first 1M customers (or all, if fewer): ``clv_core.survival`` vs lifelines defaults.

Then a separate process runs Parquet → summary → fit → scoring end to end and reports wall time and peak RSS.

Usage: python benchmarks/bench_scale.py [--rows 1000000 10000000] [--repeats 3] [--csv]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from lifelines import CoxPHFitter, KaplanMeierFitter  # noqa: E402
from lifetimes import BetaGeoFitter, GammaGammaFitter  # noqa: E402
from lifetimes.utils import summary_data_from_transaction_data  # noqa: E402

from clv_core import cohorts, rfm, survival  # noqa: E402
from clv_core.economics import Economics, discount_factors, precompute, scenario  # noqa: E402
from clv_core.ingest import ingest  # noqa: E402
from clv_core.models import fit_purchases, fit_spend  # noqa: E402
from clv_core.summary import summarise  # noqa: E402

SLOW = 20.0  # seconds: a step slower than this is run once
SURVIVAL_CUSTOMERS = 1_000_000
FIT_CUSTOMERS = 1_000_000


@dataclass
class Row:
    step: str
    ours: float
    baseline_name: str
    baseline: float | None
    ours_mb: float
    baseline_mb: float | None
    note: str = ""


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        if times[-1] > SLOW:
            break
    return statistics.median(times), result


def traced_mb(fn) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def compare(step, ours, baseline_name, baseline, repeats, *, note="", memory=True) -> tuple[Row, object, object]:
    ours_s, ours_result = timed(ours, repeats)
    base_s, base_result = timed(baseline, repeats) if baseline else (None, None)
    ours_mb = traced_mb(ours) if memory else float("nan")
    base_mb = traced_mb(baseline) if (baseline and memory) else None
    row = Row(step, ours_s, baseline_name, base_s, ours_mb, base_mb, note)
    print(f"  {step}: {ours_s:.3f} s" + (f" vs {base_s:.3f} s" if base_s is not None else ""), flush=True)
    return row, ours_result, base_result


# --- straightforward pandas baselines ---------------------------------------------------------------------------


def pandas_cohorts(data: pd.DataFrame) -> pd.DataFrame:
    month = data["date"].dt.year * 12 + data["date"].dt.month
    first = month.groupby(data["customer_id"]).transform("min")
    frame = pd.DataFrame(
        {"cohort": first, "age": month - first, "customer": data["customer_id"], "amount": data["amount"]}
    )
    cells = frame.groupby(["cohort", "age"]).agg(active=("customer", "nunique"), revenue=("amount", "sum"))
    sizes = frame.groupby("cohort")["customer"].nunique()
    return (cells["active"].unstack() / sizes.to_numpy()[:, None]).join(cells["revenue"].unstack(), rsuffix="_rev")


def pandas_rfm(data: pd.DataFrame) -> pd.DataFrame:
    end = data["date"].max().normalize()
    g = data.groupby("customer_id").agg(last=("date", "max"), orders=("date", "size"), revenue=("amount", "sum"))
    recency = (end - g["last"]).dt.days
    r = pd.qcut(recency.rank(method="first"), 5, labels=[5, 4, 3, 2, 1]).astype(int)
    f = pd.qcut(g["orders"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    m = pd.qcut(g["revenue"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    fm = np.floor((f + m) / 2 + 0.5).astype(int)
    g["segment"] = (r.astype(str) + fm.astype(str)).map(rfm.SEGMENT_OF_CELL)
    return g


def lifetimes_fit(table: pd.DataFrame):
    bgf = BetaGeoFitter().fit(table["frequency"], table["recency"], table["T"])
    repeat = table[(table["frequency"] > 0) & (table["monetary_value"] > 0)]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    return bgf, ggf


# --- the benchmark ------------------------------------------------------------------------------------------------


def run(rows: int, repeats: int, csv: bool) -> list[Row]:
    paths = generate.write(rows, HERE / "data", csv=csv)
    parquet = paths["parquet"]
    data = parquet.read_bytes()
    out = []
    print(f"{rows:,} rows", flush=True)
    row, tx, _ = compare(
        "load Parquet", lambda: ingest(data, parquet.name), "pandas.read_parquet", lambda: pd.read_parquet(parquet), 1
    )
    out.append(row)
    if csv:
        text = paths["csv"].read_bytes()
        row, _, _ = compare(
            "load CSV",
            lambda: ingest(text, paths["csv"].name),
            "pandas.read_csv(parse_dates)",
            lambda: pd.read_csv(paths["csv"], parse_dates=["date"], dtype={"customer_id": str}),
            1,
        )
        out.append(row)
    frame = tx.data[["customer_id", "date", "amount"]]
    row, summary, theirs = compare(
        "summary",
        lambda: summarise(tx, time_unit="weeks"),
        "lifetimes summary_data_from_transaction_data",
        lambda: summary_data_from_transaction_data(frame, "customer_id", "date", "amount", freq="D", freq_multiplier=7),
        repeats,
    )
    ours = summary.btyd
    same = ours.index.equals(theirs.index) and np.allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-9)
    row.note = f"{len(ours):,} customers; identical: {'yes' if same else 'NO'}"
    out.append(row)

    row, _, _ = compare(
        "cohort matrices (monthly)",
        lambda: cohorts.build_cohorts(tx, period="month"),
        "pandas groupby",
        lambda: pandas_cohorts(frame),
        repeats,
    )
    out.append(row)
    days = summarise(tx, time_unit="days")
    row, _, _ = compare(
        "RFM scores, segments, lifecycle",
        lambda: rfm.rfm(days, previous_gap_days=rfm.previous_gaps(tx)),
        "pandas groupby + qcut",
        lambda: pandas_rfm(frame),
        repeats,
    )
    out.append(row)

    def ours_fit():
        return fit_purchases(summary, "bgnbd"), fit_spend(summary)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row, (fit, spend), (bgf, ggf) = compare(
            "BG/NBD + Gamma–Gamma fit",
            ours_fit,
            "lifetimes on every customer",
            lambda: lifetimes_fit(summary.table),
            repeats,
        )
    theirs_params = {**bgf.params_.to_dict(), **ggf.params_.to_dict()}
    diff = max(abs(v / theirs_params[k] - 1) for k, v in {**fit.params, **spend.params}.items())
    distinct = len(summary.table[["frequency", "recency", "T"]].drop_duplicates())
    row.note = f"{distinct:,} distinct rows; parameters differ by ≤ {diff:.1e} (relative)"
    out.append(row)

    if len(summary.table) > FIT_CUSTOMERS:  # the target size, from the larger file's first customers
        first = replace(summary, table=summary.table.iloc[:FIT_CUSTOMERS])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row, _, _ = compare(
                f"BG/NBD + Gamma–Gamma fit, {FIT_CUSTOMERS:,} customers",
                lambda: (fit_purchases(first, "bgnbd"), fit_spend(first)),
                "lifetimes on every customer",
                lambda: lifetimes_fit(first.table),
                repeats,
            )
        distinct = len(first.table[["frequency", "recency", "T"]].drop_duplicates())
        row.note = f"{distinct:,} distinct rows"
        out.append(row)

    econ = Economics(annual_discount_rate=0.10, gross_margin=0.30, horizon_months=12)
    t = summary.table
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # lifetimes sets this only in fit()

    def lifetimes_clv():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ggf.customer_lifetime_value(
                bgf, t["frequency"], t["recency"], t["T"], t["monetary_value"], time=12,
                discount_rate=econ.monthly_discount_rate, freq="W",
            )  # fmt: skip

    row, result, theirs_clv = compare(
        "scoring (precompute + 12-month CLV)",
        lambda: scenario(precompute(fit, spend, summary), econ),
        "lifetimes customer_lifetime_value",
        lifetimes_clv,
        1,
    )
    gap = abs(result.total_clv / (theirs_clv.sum() * econ.gross_margin) - 1)
    row.note = f"base totals differ by {gap:.1%} (lifetimes' month is 4.345 weeks)"
    out.append(row)

    base = precompute(fit, spend, summary)
    moved = replace(econ, annual_discount_rate=0.12, gross_margin=0.35)
    held = {"full": base.distinct_cumulative[base.rows]}  # the (customers × months) matrix a direct version keeps

    def matrix_product():
        increments = np.diff(held["full"][:, : moved.horizon_months + 1], axis=1)
        clv = increments @ discount_factors(moved, moved.horizon_months) * base.expected_order_value
        return clv * moved.gross_margin

    row, moved_result, direct = compare(
        "slider move (discount rate, margin)",
        lambda: scenario(base, moved),
        "(customers × months) matrix product",
        matrix_product,
        max(repeats, 5),
    )
    same = np.allclose(moved_result.customers["clv"].to_numpy(), direct)
    row.note = f"{len(t):,} customers; per-customer CLV identical: {'yes' if same else 'NO'}"
    out.append(row)
    held.clear()

    surv = survival.survival_data(tx, survival.ChurnDefinition(inactivity_days=180, grace_days=0)).table
    surv = surv.iloc[:SURVIVAL_CUSTOMERS]
    covariates = ["first order value", "acquisition quarter"]
    matrix, _ = survival.design_matrix(surv, covariates)
    direct_data = matrix.assign(duration=surv["duration_days"].to_numpy(), event=surv["churned"].to_numpy(dtype=int))
    row, cox, lifelines_cox = compare(
        "Cox PH",
        lambda: survival.cox(surv, duration_col="duration_days", event_col="churned", covariates=covariates),
        "lifelines CoxPHFitter default",
        lambda: CoxPHFitter().fit(direct_data, "duration", "event"),
        repeats,
    )
    ours_hr = cox.summary["hazard ratio"].to_numpy()
    same = np.allclose(ours_hr, np.exp(lifelines_cox.params_.to_numpy()), rtol=1e-6)
    row.note = (
        f"{len(surv):,} customers, {len(ours_hr)} covariate(s); hazard ratios identical: {'yes' if same else 'NO'}"
    )
    out.append(row)
    row, _, _ = compare(
        "Kaplan–Meier (all customers)",
        lambda: survival.kaplan_meier(surv["duration_days"], surv["churned"]),
        "lifelines KaplanMeierFitter",
        lambda: KaplanMeierFitter().fit(surv["duration_days"], surv["churned"]),
        repeats,
    )
    row.note = f"{len(surv):,} customers, with bands and the at-risk table"
    out.append(row)
    return out


def end_to_end(path: Path) -> dict:
    """Parquet bytes → ingest → summary → BG/NBD + Gamma–Gamma → scored customers, in this process."""
    start = time.perf_counter()
    tx = ingest(path.read_bytes(), path.name)
    summary = summarise(tx, time_unit="weeks")
    fit, spend = fit_purchases(summary, "bgnbd"), fit_spend(summary)
    scored = scenario(precompute(fit, spend, summary), Economics()).customers
    return {
        "seconds": time.perf_counter() - start,
        "peak_mb": peak_rss_mb(),
        "customers": len(scored),
        "rows": tx.report.rows_kept,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: Linux carries that across exec, so a child
    started from a large parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(rows: int, table: list[Row]) -> None:
    print(f"\n### {rows:,} transactions\n")
    print("| step | clv_core (s) | baseline | baseline (s) | baseline ÷ ours | peak MB ours / baseline | note |")
    print("|---|---:|---|---:|---:|---:|---|")
    for r in table:
        ratio = f"{r.baseline / r.ours:.1f}×" if r.baseline else "–"
        base = f"{r.baseline:.3f}" if r.baseline is not None else "–"
        mb = f"{r.ours_mb:,.0f} / {r.baseline_mb:,.0f}" if r.baseline_mb is not None else f"{r.ours_mb:,.0f}"
        print(f"| {r.step} | {r.ours:.3f} | {r.baseline_name} | {base} | {ratio} | {mb} | {r.note} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--csv", action="store_true", help="also time loading the CSV form (written on first use)")
    parser.add_argument("--end-to-end", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.end_to_end:
        print(json.dumps(end_to_end(args.end_to_end)))
        return
    tables = {rows: run(rows, args.repeats, args.csv) for rows in args.rows}
    flows = {}
    for rows in args.rows:
        path = generate.write(rows, HERE / "data")["parquet"]
        done = subprocess.run(
            [sys.executable, __file__, "--end-to-end", str(path)], capture_output=True, text=True, check=True
        )
        flows[rows] = json.loads(done.stdout.strip().splitlines()[-1])
    for rows, table in tables.items():
        print_table(rows, table)
    print("\n### End to end, one process: Parquet → clean → summary → BG/NBD + Gamma–Gamma → CLV per customer\n")
    print("| transactions | customers | wall time (s) | peak RSS (MB) |")
    print("|---:|---:|---:|---:|")
    for flow in flows.values():
        print(f"| {flow['rows']:,} | {flow['customers']:,} | {flow['seconds']:.1f} | {flow['peak_mb']:,.0f} |")


if __name__ == "__main__":
    main()
