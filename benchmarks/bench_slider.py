"""What an economics-slider move costs on CDNOW master, against lifetimes' own CLV function, in the same run.

* ours: ``clv_core.economics.scenario`` on a precomputed ForecastBase (what the page does on a slider move);
* baseline: ``GammaGammaFitter.customer_lifetime_value`` with the same fitted models, which recomputes the purchase
  model's predictions for every month on every call (what a straightforward app would do).

Also times the one-off work a slider never repeats (fits and the precompute), and a whole page rerun. Usage:
python benchmarks/bench_slider.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import median_seconds

from clv_core.economics import Economics, precompute, scenario
from clv_core.ingest import ingest
from clv_core.models import fit_purchases, fit_spend
from clv_core.samples import sample_bytes
from clv_core.summary import summarise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tx = ingest(*sample_bytes("cdnow"))
    summary = summarise(tx, time_unit="days")  # lifetimes' CLV function assumes daily data with freq="D"
    t = summary.table
    once = {}
    start = time.perf_counter()
    fit, spend = fit_purchases(summary, "bgnbd"), fit_spend(summary)
    once["BG/NBD + Gamma–Gamma fit"] = time.perf_counter() - start
    start = time.perf_counter()
    base = precompute(fit, spend, summary)
    once["precompute (60 month boundaries)"] = time.perf_counter() - start
    econ = Economics(annual_discount_rate=0.12, gross_margin=0.3, horizon_months=12)
    ours = median_seconds(lambda: scenario(base, econ), args.repeats)
    bgf, ggf = fit.fitter(), spend.fitter()
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # lifetimes sets this only in fit()

    def baseline():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ggf.customer_lifetime_value(
                bgf,
                t["frequency"],
                t["recency"],
                t["T"],
                t["monetary_value"],
                time=12,
                discount_rate=0.12 / 12,
                freq="D",
            )

    base_s = median_seconds(baseline, max(1, args.repeats // 2))
    print(f"CDNOW master: {len(t):,} customers; median of {args.repeats} runs")
    print("| step | clv_core (s) | baseline | baseline (s) | ratio baseline/ours |")
    print("|---|---:|---|---:|---:|")
    row = f"| slider move (12-month CLV) | {ours:.4f} | lifetimes customer_lifetime_value | {base_s:.3f} |"
    print(f"{row} {base_s / ours:.0f} |")
    for step, seconds in once.items():
        print(f"| once per dataset/model: {step} | {seconds:.3f} | – | – | – |")
    print(f"| page rerun after a slider move (AppTest, warm caches) | {page_rerun(args.repeats):.3f} | – | – | – |")
    print("\nWhole-page reruns with warm caches (AppTest, server side), CDNOW master:\n")
    print("| page | first visit (s) | rerun, median (s) |")
    print("|---|---:|---:|")
    for page, first, rerun in every_page(args.repeats):
        print(f"| {page} | {first:.2f} | {rerun:.3f} |")


def page_rerun(repeats: int) -> float:
    """Whole forecast page rerun on the default CDNOW data after moving the horizon slider (server side only)."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
    app.run()
    app.switch_page("pages/forecast.py").run()
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        app.slider(key="horizon").set_value(13 + i).run()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def every_page(repeats: int) -> list[tuple[str, float, float]]:
    """Each page's first visit (cold caches for its own work) and the median of ``repeats`` plain reruns."""
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    app = AppTest.from_file(str(root / "app.py"), default_timeout=300)
    app.run()
    out = []
    for page in sorted((root / "pages").glob("*.py")):
        start = time.perf_counter()
        app.switch_page(f"pages/{page.name}").run()
        first = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            app.run()
            times.append(time.perf_counter() - start)
        out.append((page.stem, first, statistics.median(times)))
    return out


if __name__ == "__main__":
    main()
