"""Deterministic CDNOW-like transactions at any size, drawn from the models fitted to CDNOW.

Each customer is drawn from BG/NBD (purchase rate λ ~ Gamma(r, α), dropout p ~ Beta(a, b), both per week, with
Fader, Hardie & Lee's CDNOW parameters) and spends per order from Gamma–Gamma (Fader, Hardie & Lee's 2005
figures: p = 6.25, q = 3.74, γ = 15.44). As in CDNOW, customers are acquired over the first 12 weeks and observed
for 78 weeks. Customers are added until the target row count is reached, then the file is cut there at a customer
boundary, so the row count is exact to within one customer's purchases.

Three shapes of file (``SHAPES``):

* ``customer`` – sorted by customer then date, text ids ("C00000001"): what suits a per-customer pipeline;
* ``date-int`` – sorted by date as real exports are (within a day, in no customer order), integer ids;
* ``date-text`` – sorted by date, text ids.

Usage: python benchmarks/generate.py ROWS [--shape customer|date-int|date-text] [--out benchmarks/data] [--seed 1]
       [--csv]
Writes ``cdnowlike_<ROWS>.parquet`` (``cdnowlike_<ROWS>_<shape>.parquet`` for the date-sorted shapes; and ``.csv``
with ``--csv``), skipping files that already exist.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # per week
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
START = np.datetime64("1997-01-01")
ACQUISITION_WEEKS = 12
OBSERVED_WEEKS = 78
ROWS_PER_CUSTOMER = 2.9  # about CDNOW's; only sizes the batches


SHAPES = ("customer", "date-int", "date-text")


def transactions(rows: int, seed: int = 1, shape: str = "customer") -> pd.DataFrame:
    """About ``rows`` transactions (``customer_id``, ``date``, ``amount``) in one of :data:`SHAPES`; the same
    purchases in every shape."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}")
    frame = _by_customer(rows, seed)
    if shape == "customer":
        return frame
    if shape == "date-int":
        frame["customer_id"] = frame["customer_id"].str.slice(1).astype(np.int64)
    # a stable sort by day with a random key inside each day: exports list a day's orders by time, not by customer
    noise = np.random.default_rng(seed + 1).random(len(frame))
    order = np.lexsort((noise, frame["date"].to_numpy()))
    return frame.take(order).reset_index(drop=True)


def _by_customer(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts, total, next_id = [], 0, 0
    while total < rows:
        n = max(1000, int((rows - total) / ROWS_PER_CUSTOMER * 1.05))
        part = _customers(rng, n, next_id)
        parts.append(part)
        total += len(part)
        next_id += n
    frame = pd.concat(parts, ignore_index=True)
    if len(frame) > rows:  # cut at the customer boundary at or after the target row
        last = frame["customer_id"].iat[rows - 1]
        frame = frame.iloc[: int(np.searchsorted(frame["customer_id"].to_numpy(), last, side="right"))]
    return frame.reset_index(drop=True)


def _customers(rng: np.random.Generator, n: int, first_id: int) -> pd.DataFrame:
    lam = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], n)
    p = rng.beta(BGNBD["a"], BGNBD["b"], n)
    acquired = rng.uniform(0, ACQUISITION_WEEKS, n)
    window = OBSERVED_WEEKS - acquired
    # Repeat purchases follow a Poisson process of rate λ until the customer drops out, which happens after each
    # repeat purchase with probability p: the first min(N, K) arrival times of the process, K ~ Geometric(p).
    arrivals = rng.poisson(lam * window)
    lives = rng.geometric(p)
    owner = np.repeat(np.arange(n), arrivals)
    times = rng.uniform(0, 1, owner.size) * window[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    starts = np.concatenate([[0], np.cumsum(arrivals)[:-1]])
    rank = np.arange(owner.size) - starts[owner]
    keep = rank < lives[owner]
    owner, times = owner[keep], times[keep]
    # One first purchase per customer at acquisition, then the repeats.
    who = np.concatenate([np.arange(n), owner])
    weeks = np.concatenate([acquired, acquired[owner] + times])
    nu = rng.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["v"], n)
    amount = np.round(rng.gamma(GAMMA_GAMMA["p"], 1 / nu[who]), 2)
    day = START + (weeks * 7).astype("timedelta64[D]")
    order = np.lexsort((day, who))
    ids = np.char.add("C", np.char.zfill((first_id + who[order]).astype(str), 8))
    return pd.DataFrame({"customer_id": ids.astype(object), "date": day[order], "amount": amount[order]})


def write(rows: int, out: Path, *, seed: int = 1, csv: bool = False, shape: str = "customer") -> dict[str, Path]:
    """Write the Parquet (and CSV) files for ``rows`` unless present; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"cdnowlike_{rows}" if shape == "customer" else f"cdnowlike_{rows}_{shape}"
    paths = {"parquet": out / f"{stem}.parquet"}
    if csv:
        paths["csv"] = out / f"{stem}.csv"
    if all(p.exists() for p in paths.values()):
        return paths
    frame = transactions(rows, seed, shape)
    if not paths["parquet"].exists():
        frame.to_parquet(paths["parquet"], index=False)
    if csv and not paths["csv"].exists():
        frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(paths["csv"], index=False)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", type=int)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--csv", action="store_true")
    parser.add_argument("--shape", choices=SHAPES, default="customer")
    args = parser.parse_args()
    for kind, path in write(args.rows, args.out, seed=args.seed, csv=args.csv, shape=args.shape).items():
        print(f"{kind}: {path} ({path.stat().st_size / 1e6:,.1f} MB)")


if __name__ == "__main__":
    main()
