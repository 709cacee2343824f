"""The model work of a first visit to the CLV forecast page and then the Model validation page, against the same
work done step by step (each step fitting its own models, as the app did before one analysis held them), in the
same run.

* baseline: the scorecard (three models on the calibration period), the chosen model and Gamma–Gamma on the whole
  history, the forecast base, the comparison table (three models on the whole history, fitted again), then the
  Validation page's backtest with the ML challenger (the three calibration fits again, plus the challenger);
* ours: ``clv_core.analysis.Analysis`` asked for the same results (decision, fits, base, comparison, backtest with
  the challenger): each model fitted once per period, the challenger added to the scorecard's fits.

Prints wall time and purchase-model fits per step. Usage: python benchmarks/bench_model_work.py [--sample cdnow]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clv_core import economics, models, validation
from clv_core.analysis import Analysis
from clv_core.ingest import ingest
from clv_core.samples import sample_bytes
from clv_core.summary import summarise

FITS = {"n": 0}


def counted(fit):
    def wrapper(*args, **kwargs):
        FITS["n"] += 1
        return fit(*args, **kwargs)

    return wrapper


def step(rows: list, name: str, fn) -> object:
    FITS["n"] = 0
    start = time.perf_counter()
    out = fn()
    rows.append((name, time.perf_counter() - start, FITS["n"]))
    return out


def baseline(tx) -> list:
    rows: list = []
    end = str(validation.default_calibration_end(tx).date())
    card = step(rows, "scorecard", lambda: validation.backtest(tx, calibration_end=end, challenger=False))
    model = models.label_to_key(card.best)
    summary = summarise(tx, time_unit="weeks")
    fit, spend = step(rows, "fits", lambda: (models.fit_purchases(summary, model), models.fit_spend(summary)))
    step(rows, "forecast base", lambda: economics.precompute(fit, spend, summary))
    step(rows, "comparison table", lambda: models.compare_models(summary))
    step(rows, "validation page", lambda: validation.backtest(tx, calibration_end=end, challenger=True))
    return rows


def ours(tx) -> list:
    rows: list = []
    analysis = Analysis(tx)
    end = str(validation.default_calibration_end(tx).date())
    step(rows, "scorecard", analysis.decision)  # the holdout test; the winner's fit follows in the next rows
    step(rows, "fits", analysis.fits)
    step(rows, "forecast base", analysis.base)
    step(rows, "comparison table", analysis.comparison)
    step(rows, "validation page", lambda: analysis.backtest(end, challenger=True))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", default="cdnow", help="a bundled sample (cdnow, cdnow_sample, retail)")
    args = parser.parse_args()
    wrapped = counted(models.fit_purchases)
    for module in (models, validation):  # validation imported the function by name
        module.fit_purchases = wrapped
    tx = ingest(*sample_bytes(args.sample))
    before, after = baseline(tx), ours(tx)
    print(f"{args.sample}: {tx.customers:,} customers, weeks\n")
    print("| step | baseline s | fits | ours s | fits | baseline / ours |")
    print("|---|---:|---:|---:|---:|---:|")
    for (name, b, bn), (_, o, on) in zip(before, after, strict=True):
        print(f"| {name} | {b:.1f} | {bn} | {o:.1f} | {on} | {b / max(o, 1e-3):.1f}× |")
    total_b, total_o = sum(r[1] for r in before), sum(r[1] for r in after)
    fits_b, fits_o = sum(r[2] for r in before), sum(r[2] for r in after)
    print(f"| **total** | {total_b:.1f} | {fits_b} | {total_o:.1f} | {fits_o} | {total_b / total_o:.1f}× |")


if __name__ == "__main__":
    main()
