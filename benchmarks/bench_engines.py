"""Which aggregation engine for the per-customer summary: the measurement behind the choice in the README.

Each engine computes the same per-customer aggregates (purchase days, first and last day, spend) from the same
cleaned pandas frame (``customer_id`` text, ``date``, ``amount``), in the same run:

* clv_core — numpy on customer runs (cleaned rows are already in customer order; no hashing, no sorting);
* DuckDB and Polars — a group-by over the pandas frame, including converting it (timed only when installed:
  ``.venv/bin/pip install duckdb polars``; they are not project dependencies);
* pandas groupby on the text ids (what clv_core did before);
* lifetimes' ``summary_data_from_transaction_data`` (the reference).

Usage: python benchmarks/bench_engines.py [--rows 10000000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from _timing import median_seconds  # noqa: E402
from lifetimes.utils import summary_data_from_transaction_data  # noqa: E402

from clv_core.ingest import ingest  # noqa: E402
from clv_core.summary import summarise  # noqa: E402


def pandas_groupby(frame: pd.DataFrame) -> pd.DataFrame:
    day = frame["date"].dt.normalize()
    per_day = frame.groupby(["customer_id", day])["amount"].sum().reset_index()
    return per_day.groupby("customer_id").agg(
        days=("date", "size"), first=("date", "min"), last=("date", "max"), spend=("amount", "sum")
    )


def duckdb_sql(frame: pd.DataFrame) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    con.register("t", frame)
    return con.execute(
        "with d as (select customer_id, date_trunc('day', date) as day, sum(amount) as s from t group by 1, 2) "
        "select customer_id, count(*) as days, min(day), max(day), sum(s) from d group by 1 order by 1"
    ).df()


def polars_groupby(frame: pd.DataFrame) -> pd.DataFrame:
    import polars as pl

    p = pl.from_pandas(frame)
    d = p.group_by(["customer_id", pl.col("date").dt.truncate("1d").alias("day")]).agg(pl.col("amount").sum())
    out = d.group_by("customer_id").agg(
        pl.len().alias("days"),
        pl.col("day").min().alias("first"),
        pl.col("day").max().alias("last"),
        pl.col("amount").sum(),
    )
    return out.sort("customer_id").to_pandas()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    path = generate.write(args.rows, HERE / "data")["parquet"]
    tx = ingest(path.read_bytes(), path.name)
    frame = tx.data[["customer_id", "date", "amount"]]
    engines = {
        "clv_core (numpy on customer runs)": lambda: summarise(tx, time_unit="weeks"),
        "DuckDB (SQL over the pandas frame)": lambda: duckdb_sql(frame),
        "Polars (from the pandas frame)": lambda: polars_groupby(frame),
        "pandas groupby on text ids": lambda: pandas_groupby(frame),
        "lifetimes summary_data_from_transaction_data": lambda: summary_data_from_transaction_data(
            frame, "customer_id", "date", "amount", freq="D", freq_multiplier=7
        ),
    }
    needs = {"DuckDB": "duckdb", "Polars": "polars"}
    print(f"{len(frame):,} transactions, {tx.customers:,} customers; median of {args.repeats} runs\n")
    print("| engine | seconds |")
    print("|---|---:|")
    for name, fn in engines.items():
        module = next((m for key, m in needs.items() if name.startswith(key)), None)
        if module and importlib.util.find_spec(module) is None:
            print(f"| {name} | not installed |")
            continue
        print(f"| {name} | {median_seconds(fn, args.repeats):.2f} |", flush=True)


if __name__ == "__main__":
    main()
