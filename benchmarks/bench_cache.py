"""What the app's shared store (clv_app.cache) costs per cached call, against st.cache_resource in the same run.

Every page rerun asks the store for a dozen results, so a hit must cost next to nothing. The baseline is the
Streamlit cache the store replaced, on the same function and arguments (a frozen-dataclass key, as the app uses).
Also: how long sizing a value takes when it is stored (once per computation), on CDNOW master and on 1M rows.

Usage: python benchmarks/bench_cache.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st

from clv_app import cache
from clv_core.ingest import IngestOptions, ingest
from clv_core.samples import sample_bytes

CALLS = 20_000


def per_call(fn, *args) -> float:
    fn(*args)  # computed once: every timed call is a hit
    start = time.perf_counter()
    for _ in range(CALLS):
        fn(*args)
    return (time.perf_counter() - start) / CALLS


def main() -> None:
    tx = ingest(*sample_bytes("cdnow"))

    @st.cache_resource(max_entries=16, show_spinner=False)
    def baseline(key: str, options: IngestOptions, unit: str, _tx):
        return len(_tx.data)

    @cache.shared()
    def ours(key: str, options: IngestOptions, unit: str, _tx):
        return len(_tx.data)

    ours_s = per_call(ours, tx.content_hash, tx.options, "weeks", tx)
    base_s = per_call(baseline, tx.content_hash, tx.options, "weeks", tx)
    print(f"A cached call that finds its result (mean of {CALLS:,} calls, same function and key):\n")
    print("| cache | seconds per hit | baseline ÷ ours |")
    print("|---|---:|---:|")
    print(f"| clv_app.cache.shared | {ours_s:.6f} | {base_s / ours_s:,.0f} |")
    print(f"| baseline: st.cache_resource | {base_s:.6f} | 1 |")
    print("\nSizing a value when it is stored (once per computation):\n")
    print("| value | MB measured | pandas deep MB | seconds |")
    print("|---|---:|---:|---:|")
    for label, value in (("CDNOW master's transactions", tx), ("1M rows' transactions", ingest(*_rows(1_000_000)))):
        start = time.perf_counter()
        size = cache.sizeof(value)
        seconds = time.perf_counter() - start
        deep = value.data.memory_usage(index=True, deep=True).sum()
        print(f"| {label} | {size / 1e6:,.0f} | {deep / 1e6:,.0f} | {seconds:.4f} |")


def _rows(n: int) -> tuple[bytes, str]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": rng.integers(1, 300_000, n),
            "date": (np.datetime64("2023-01-01") + np.sort(rng.integers(0, 730, n)).astype("timedelta64[D]")).astype(
                str
            ),
            "amount": rng.integers(100, 20_000, n) / 100,
        }
    )
    return frame.to_csv(index=False).encode(), "orders.csv"


if __name__ == "__main__":
    main()
