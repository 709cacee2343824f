"""File → per-customer summary and file → scored customers on files shaped like real exports, each beside
lifetimes and DuckDB baselines measured in the same run.

Files (benchmarks/generate.py, made on first use, as CSV): sorted by date with integer ids and with text ids (what
exports look like), and sorted by customer with text ids (for comparison). Every pipeline runs in its own process,
as a user or a batch job would run it: the table gives the process's wall time (imports included), the ratio
baseline ÷ ours (above 1: we are faster) and the process's peak resident memory.

* summary — ours: ``clv_core.ingest.ingest`` (sniffing, parsing, every cleaning rule, the quality report) then
  ``summarise`` (weeks); lifetimes: ``pandas.read_csv`` with the format known in advance then
  ``summary_data_from_transaction_data`` (freq D, ×7); DuckDB: ``read_csv`` and one GROUP BY that computes the
  same four columns (repeat purchase days, first → last day, first day → end, mean spend per repeat day). The
  three summaries are compared (customers, Σ frequency, Σ T, Σ monetary value) and the table says whether they
  agree.
* scored — ours: ``python -m clv_core score FILE --model bgnbd`` (12-month CLV per customer written to CSV, BG/NBD
  and Gamma–Gamma fitted on the distinct rows); lifetimes: its summary, ``BetaGeoFitter`` and ``GammaGammaFitter``
  on every customer, ``customer_lifetime_value`` (12 months, monthly discount 0.01), written to CSV; DuckDB: its
  summary, then the same lifetimes models (DuckDB fits no models).

Usage: python benchmarks/bench_exports.py [--rows 1000000 10000000] [--shapes date-int date-text customer]
       [--skip-lifetimes-above 3000000] [--steps summary score] [--repeats 1]
lifetimes takes minutes on 10M rows; ``--skip-lifetimes-above`` leaves it out above that many rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

DUCKDB_SUMMARY = """
WITH days AS (
    SELECT customer_id, CAST(date AS DATE) AS day, SUM(amount) AS spend
    FROM read_csv('{path}', header = true, columns = {columns})
    GROUP BY customer_id, day
), firsts AS (
    SELECT customer_id, MIN(day) AS first_day FROM days GROUP BY customer_id
), last_day AS (SELECT MAX(day) AS end_day FROM days)
SELECT d.customer_id,
       COUNT(*) - 1 AS frequency,
       DATEDIFF('day', f.first_day, MAX(d.day)) / 7.0 AS recency,
       DATEDIFF('day', f.first_day, (SELECT end_day FROM last_day)) / 7.0 AS "T",
       COALESCE(SUM(d.spend) FILTER (WHERE d.day > f.first_day) / NULLIF(COUNT(*) - 1, 0), 0) AS monetary_value
FROM days d JOIN firsts f USING (customer_id)
GROUP BY d.customer_id, f.first_day
"""


def peak_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux carries it across fork and exec, so
    a child started after this script generated a 10M-row file in memory reported the generator's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(kind: str, path: str, out: str) -> None:
    """Run one pipeline in this process and print JSON: customers and checksums of its summary."""
    import numpy as np
    import pandas as pd

    summary = None
    if kind.startswith("ours"):
        sys.path.insert(0, str(ROOT))
        if kind == "ours-score":  # python -m clv_core score, in this process
            from clv_core.cli import main

            if main(["score", path, "--model", "bgnbd", "--out", out]) != 0:
                raise SystemExit("score failed")
            summary = pd.read_csv(out, usecols=["customer_id", "clv"])  # compared by customers only
        else:
            from clv_core.ingest import ingest
            from clv_core.summary import summarise

            summary = summarise(ingest(Path(path).read_bytes(), Path(path).name), time_unit="weeks").table
    else:
        if kind.startswith("lifetimes"):
            from lifetimes.utils import summary_data_from_transaction_data

            frame = pd.read_csv(path, parse_dates=["date"], dtype={"customer_id": str}, date_format="%Y-%m-%d")
            summary = summary_data_from_transaction_data(
                frame, "customer_id", "date", monetary_value_col="amount", freq="D", freq_multiplier=7
            )
        else:
            import duckdb

            columns = "{'customer_id': 'VARCHAR', 'date': 'DATE', 'amount': 'DOUBLE'}"
            summary = duckdb.sql(DUCKDB_SUMMARY.format(path=path, columns=columns)).df()
        if kind.endswith("score"):
            from lifetimes import BetaGeoFitter, GammaGammaFitter

            bgf = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
            repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
            ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
            summary["clv"] = ggf.customer_lifetime_value(
                bgf, summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"], time=12
            )
            summary.to_csv(out)
    peak = peak_mb()
    checks = {c: float(np.round(summary[c].sum(), 3)) for c in ("frequency", "T", "monetary_value") if c in summary}
    print(json.dumps({"customers": len(summary), "peak_mb": peak, "checks": checks}))


def run(kind: str, path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(path), str(Path(tmp) / "out.csv")],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
    if done.returncode:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "error": done.stderr.strip().splitlines()[-1]}
    return {"seconds": seconds, **json.loads(done.stdout.strip().splitlines()[-1])}


def median_run(kind: str, path: Path, repeats: int) -> dict:
    """The run with the median wall time of ``repeats`` (a busy machine's noise is ±30 % on one run)."""
    runs = sorted((run(kind, path) for _ in range(repeats)), key=lambda r: (r["seconds"] != r["seconds"], r["seconds"]))
    return runs[(len(runs) - 1) // 2] if "error" not in runs[0] else runs[0]


def agree(a: dict, b: dict) -> str:
    if "checks" not in a or "checks" not in b:
        return "–"
    same = a["customers"] == b["customers"] and all(
        abs(a["checks"][k] - b["checks"][k]) <= 1e-6 * max(1.0, abs(a["checks"][k]))
        for k in a["checks"]
        if k in b["checks"]
    )
    return "same" if same else "DIFFERENT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--shapes", nargs="*", default=["date-int", "date-text", "customer"], choices=generate.SHAPES)
    parser.add_argument("--skip-lifetimes-above", type=int, default=3_000_000)
    parser.add_argument("--steps", nargs="*", default=["summary", "score"], choices=["summary", "score"])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each pipeline; the median is shown")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    header = (
        f"{'file':<30}{'step':<9}{'ours s':>8}{'lifetimes s':>13}{'÷ ours':>8}{'DuckDB s':>10}{'÷ ours':>8}"
        f"{'ours MB':>9}{'lifetimes MB':>14}{'DuckDB MB':>11}  results"
    )
    print(header)
    print("-" * len(header))
    for rows in args.rows:
        for shape in args.shapes:
            path = generate.write(rows, HERE / "data", csv=True, shape=shape)["csv"]
            for step in args.steps:
                ours = median_run(f"ours-{step}", path, args.repeats)
                skip = rows > args.skip_lifetimes_above
                theirs = (
                    {"seconds": float("nan"), "peak_mb": float("nan")}
                    if skip
                    else median_run(f"lifetimes-{step}", path, args.repeats)
                )
                duck = median_run(f"duckdb-{step}", path, args.repeats)
                results = ", ".join(
                    f"{name} failed: {r['error'][-70:]}" if "error" in r else f"{name} {agree(ours, r)}"
                    for name, r in (("lifetimes", theirs), ("DuckDB", duck))
                )
                if "error" in ours:
                    results = f"ours failed: {ours['error']}"
                print(
                    f"{f'{rows:,} rows, {shape}':<30}{step:<9}{ours['seconds']:>8.1f}{theirs['seconds']:>13.1f}"
                    f"{theirs['seconds'] / ours['seconds']:>7.1f}×{duck['seconds']:>10.1f}"
                    f"{duck['seconds'] / ours['seconds']:>7.2f}×{ours['peak_mb']:>9,.0f}{theirs['peak_mb']:>14,.0f}"
                    f"{duck['peak_mb']:>11,.0f}  {results}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
