"""Pareto/NBD fit: our vectorised, overflow-free likelihood (clv_core.paretonbd) against lifetimes' ParetoNBDFitter,
in the same run, on the distinct (frequency, recency, T) rows of CDNOW and of CDNOW-like files.

Both fit the same weighted distinct rows in weeks. lifetimes runs as the app ran it before (fixed start at 1,
Nelder–Mead, tol 1e-8). The table gives wall time, the ratio lifetimes ÷ ours (above 1: we are faster), each fit's
log-likelihood by our evaluation (lifetimes' own is NaN when a heavy buyer overflows it) and the parameters.

Usage: python benchmarks/bench_paretonbd.py [--rows 1000000 5000000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from lifetimes import ParetoNBDFitter  # noqa: E402

from clv_core import paretonbd  # noqa: E402
from clv_core.ingest import ingest  # noqa: E402
from clv_core.samples import sample_bytes  # noqa: E402
from clv_core.summary import summarise  # noqa: E402


def distinct_rows(table):
    g = table.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")
    return tuple(g[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "w"))


def lifetimes_fit(x, t_x, T, w) -> dict:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fitter = ParetoNBDFitter().fit(x, t_x, T, weights=w, initial_params=np.ones(4), tol=1e-8)
    return {k: float(v) for k, v in fitter.params_.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    args = parser.parse_args()
    datasets = [("CDNOW master", summarise(ingest(*sample_bytes("cdnow")), time_unit="weeks").table)]
    for rows in args.rows:
        datasets.append((f"CDNOW-like {rows:,} rows", summarise(generate.transactions(rows), time_unit="weeks").table))
    header = f"{'data':<26}{'distinct rows':>14}{'ours s':>9}{'lifetimes s':>13}{'ratio':>8}"
    header += "  log-likelihood (ours | lifetimes' params)"
    print(header)
    print("-" * len(header))
    for name, table in datasets:
        x, t_x, T, w = distinct_rows(table)
        start = time.perf_counter()
        ours = paretonbd.fit(x, t_x, T, w)
        ours_s = time.perf_counter() - start
        ll_ours = float(np.dot(w, paretonbd.row_log_likelihood(ours.params, x, t_x, T)))
        start = time.perf_counter()
        theirs = lifetimes_fit(x, t_x, T, w)
        theirs_s = time.perf_counter() - start
        ll_theirs = float(np.dot(w, paretonbd.row_log_likelihood(theirs, x, t_x, T)))
        print(
            f"{name:<26}{len(x):>14,}{ours_s:>9.2f}{theirs_s:>13.2f}{theirs_s / ours_s:>7.1f}×  "
            f"{ll_ours:,.2f} | {ll_theirs:,.2f}"
        )
        print(f"{'':<26}ours: " + ", ".join(f"{k} {v:.4f}" for k, v in ours.params.items()))


if __name__ == "__main__":
    main()
