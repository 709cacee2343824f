"""The embedded engine against Spark (local mode) on the same Parquet file: summary, fit and CLV per customer.

    python benchmarks/bench_spark.py --rows 10000000 [--master local[2]]

The embedded engine is the baseline, measured in the same run; the table gives seconds per step and the ratio
embedded ÷ Spark (above 1: Spark is faster). Both read the same file: the embedded engine through the full
loader (sniffing, parsing, cleaning rules and the quality report), Spark as clean purchases. The Spark figures
include starting its session. On one 2-core machine Spark mostly pays for its overhead; the point of the engine
is a cluster, where the summary and the scoring spread over the executors and the driver fits on the compressed
sufficient statistics alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

from clv_core.economics import Economics  # noqa: E402
from clv_core.forecast import score_table  # noqa: E402
from clv_core.ingest import ingest  # noqa: E402
from clv_core.models import fit_purchases, fit_spend  # noqa: E402
from clv_core.summary import summarise  # noqa: E402


def embedded(path: Path, econ: Economics) -> dict[str, float]:
    times, start = {}, time.perf_counter()
    tx = ingest(path.read_bytes(), path.name)
    times["read + clean"] = time.perf_counter() - start
    start = time.perf_counter()
    summary = summarise(tx, time_unit="weeks")
    times["summary"] = time.perf_counter() - start
    start = time.perf_counter()
    purchase, spend = fit_purchases(summary, "bgnbd"), fit_spend(summary)
    times["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    scored = score_table(summary.table, purchase, spend, econ)
    times["score"] = time.perf_counter() - start
    times["customers"] = len(scored)
    times["total CLV"] = float(scored["clv"].sum())
    return times


def on_spark(path: Path, econ: Economics, master: str) -> dict[str, float]:
    from pyspark.sql import functions as F

    from clv_core import spark

    times, start = {}, time.perf_counter()
    session = spark.session(master)
    times["start Spark"] = time.perf_counter() - start
    start = time.perf_counter()
    purchases = spark.read_transactions(session, path).cache()
    purchases.count()
    times["read + clean"] = time.perf_counter() - start
    start = time.perf_counter()
    table, _ = spark.summarise(purchases, time_unit="weeks")
    table = table.cache()
    table.count()
    times["summary"] = time.perf_counter() - start
    start = time.perf_counter()
    purchase, spend = spark.fit(table, "bgnbd", "weeks")
    times["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    result = spark.score(table, purchase, spend, econ).agg(F.count("*"), F.sum("clv")).first()
    times["score"] = time.perf_counter() - start
    times["customers"], times["total CLV"] = int(result[0]), float(result[1])
    session.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    path = generate.write(args.rows, HERE / "data")["parquet"]
    econ = Economics()
    ours = embedded(path, econ)
    theirs = on_spark(path, econ, args.master)
    print(f"\n{args.rows:,} transactions, {ours['customers']:,} customers ({args.master})\n")
    print("| step | embedded (s, baseline) | Spark (s) | embedded ÷ Spark |")
    print("|---|---:|---:|---:|")
    for step in ("start Spark", "read + clean", "summary", "fit", "score"):
        if step not in ours:
            print(f"| {step} | – | {theirs[step]:,.1f} | – |")
            continue
        a, b = ours[step], theirs[step]
        print(f"| {step} | {a:,.1f} | {b:,.1f} | {a / b:,.2f} |")
    total_a = sum(ours[s] for s in ("read + clean", "summary", "fit", "score"))
    total_b = sum(theirs[s] for s in ("start Spark", "read + clean", "summary", "fit", "score"))
    print(f"| **total** | **{total_a:,.1f}** | **{total_b:,.1f}** | **{total_a / total_b:,.2f}** |")
    gap = abs(theirs["total CLV"] / ours["total CLV"] - 1)
    print(f"\nSame answer: {theirs['customers']:,} customers on both; total CLV differs by {gap:.1e} (relative).")


if __name__ == "__main__":
    main()
