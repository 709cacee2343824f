"""Time loading and summarising transactions against straightforward baselines, in the same run.

Prints a table of median wall times over repeats and the ratio baseline / ours (> 1 means we are faster):

* load:    clv_core.ingest (sniffing, parsing, cleaning, report) vs ``pandas.read_csv`` with the format known
           in advance (what a hand-written notebook does when it already knows the file);
* summary: clv_core.summary.summarise vs lifetimes.utils.summary_data_from_transaction_data (same results).

Usage: python benchmarks/bench_ingest.py [--repeats N] [--scale K]
``--scale K`` concatenates K copies of CDNOW master with renamed customers (K × 69,659 rows).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import median_seconds

from clv_core.ingest import ingest
from clv_core.samples import sample_bytes
from clv_core.summary import summarise


def scaled_cdnow(copies: int) -> bytes:
    data, _ = sample_bytes("cdnow")
    frame = pd.read_csv(io.BytesIO(data), sep=r"\s+", dtype={"customer_id": str})
    frames = [frame.assign(customer_id=frame["customer_id"] + f"-{k}") for k in range(copies)]
    return pd.concat(frames).to_csv(index=False).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    data = scaled_cdnow(args.scale)
    tx = ingest(data, "cdnow.csv")
    rows = []

    ours = median_seconds(lambda: ingest(data, "cdnow.csv"), args.repeats)
    base = median_seconds(
        lambda: pd.read_csv(io.BytesIO(data), dtype={"customer_id": str}, parse_dates=["date"], date_format="%Y%m%d"),
        args.repeats,
    )
    rows.append(("load + clean + report", ours, "pandas.read_csv, format known", base))

    ours = median_seconds(lambda: summarise(tx, time_unit="weeks"), args.repeats)
    base = median_seconds(
        lambda: summary_data_from_transaction_data(
            tx.data, "customer_id", "date", monetary_value_col="amount", freq="D", freq_multiplier=7
        ),
        args.repeats,
    )
    rows.append(("summary (weeks)", ours, "lifetimes summary_data_from_transaction_data", base))

    print(
        f"CDNOW master × {args.scale}: {len(tx.data):,} transactions, {tx.report.customers:,} customers; "
        f"median of {args.repeats} runs"
    )
    print("| step | clv_core (s) | baseline | baseline (s) | ratio baseline/ours |")
    print("|---|---:|---|---:|---:|")
    for step, ours_s, name, base_s in rows:
        print(f"| {step} | {ours_s:.3f} | {name} | {base_s:.3f} | {base_s / ours_s:.2f} |")


if __name__ == "__main__":
    main()
