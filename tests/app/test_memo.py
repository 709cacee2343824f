"""clv_app.memo: tables and figures derived from shared results, computed once for every session."""

from __future__ import annotations

import gc
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from clv_app import memo
from clv_core import charts
from tests.app.conftest import APP


@dataclass(frozen=True)
class Result:
    values: np.ndarray


@dataclass(frozen=True)
class Scaled:
    source: Result
    total: float


class Calls:
    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()

    def scaled(self, result: Result, factor: float) -> Scaled:
        with self.lock:
            self.seen.append(factor)
        return Scaled(result, float(result.values.sum()) * factor)


CALLS = Calls()


def scaled(result: Result, factor: float) -> Scaled:  # module level, as memo.of requires
    return CALLS.scaled(result, factor)


def test_computed_once_per_source_and_arguments():
    CALLS.seen.clear()
    a, b = Result(np.arange(4.0)), Result(np.arange(4.0))
    first = memo.of(scaled, a, 2.0)
    assert memo.of(scaled, a, 2.0) is first and first.total == 12.0
    assert memo.of(scaled, a, 3.0).total == 18.0
    assert memo.of(scaled, b, 2.0) is not first  # equal content, another object: its own entry
    assert memo.of(scaled, a, factor=2.0) is not first  # keyword and positional are different calls
    assert CALLS.seen == [2.0, 3.0, 2.0, 2.0]


def test_unhashable_arguments_are_told_apart_by_identity_and_kept_alive():
    source = Result(np.ones(3))
    x, y = pd.Series([1.0]), pd.Series([1.0])
    calls = []

    def record(result, series):  # a local function is fine for a test that keeps it
        calls.append(series)
        return len(calls)

    assert memo.of(record, source, x) == 1 and memo.of(record, source, x) == 1
    assert memo.of(record, source, y) == 2
    alive = weakref.ref(x)
    del x
    gc.collect()
    assert alive() is not None  # the entry holds it, so its id cannot be reused by another object


def test_values_go_with_their_source_even_when_they_refer_back_to_it():
    source = Result(np.arange(1000.0))
    value = memo.of(scaled, source, 1.0)
    assert value.source is source
    gone_source, gone_value = weakref.ref(source), weakref.ref(value)
    del source, value
    gc.collect()
    assert gone_source() is None and gone_value() is None


def test_entries_per_source_are_bounded():
    source = Result(np.ones(2))
    for factor in range(memo.PER_SOURCE + 20):
        memo.of(scaled, source, float(factor))
    assert memo.held(source) == memo.PER_SOURCE
    CALLS.seen.clear()
    memo.of(scaled, source, float(memo.PER_SOURCE + 19))  # most recent: kept
    memo.of(scaled, source, 0.0)  # oldest: dropped, computed again
    assert CALLS.seen == [0.0]


def block(result: Result, n: int) -> np.ndarray:  # module level, as memo.of requires
    return np.ones(n)


def test_values_per_source_are_bounded_by_the_bytes_they_hold_not_counting_the_source(monkeypatch):
    monkeypatch.setattr(memo, "PER_SOURCE_BYTES", 10_000_000)
    source = Result(np.ones(2_000_000))  # 16 MB: each value refers back to it, and that is not the value's size
    for factor in range(5):
        memo.of(scaled, source, float(factor))
    assert memo.held(source) == 5
    for n in range(3):  # 4 MB each: the third takes the values past 10 MB, and the oldest goes
        memo.of(block, source, 500_000 + n)
    kept = [key[1] for key in vars(source)[memo._ATTR]]
    assert (0.0,) not in kept and (500_002,) in kept
    assert sum(entry[3] for entry in vars(source)[memo._ATTR].values()) <= 10_000_000


def test_threads_asking_together_get_equal_results_and_one_is_kept():
    source = Result(np.arange(10.0))
    results, barrier = [], threading.Barrier(8)

    def ask():
        barrier.wait()
        results.append(memo.of(scaled, source, 5.0))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.total for r in results} == {225.0}
    assert memo.held(source) == 1 and memo.of(scaled, source, 5.0).total == 225.0


def test_a_second_session_reuses_the_first_sessions_figures(monkeypatch):
    """The forecast page's histogram and the overview's trend chart are built once for both sessions."""
    built = {"clv_histogram": 0, "trend_chart": 0}
    for name in built:
        original = getattr(charts, name)

        def counting(*args, _original=original, _name=name, **kwargs):
            built[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(charts, name, counting)
    for _ in range(2):  # two sessions, each visiting both pages twice
        at = AppTest.from_file(APP, default_timeout=300)
        at.run()
        for page in ("pages/forecast.py", "pages/overview.py", "pages/forecast.py", "pages/overview.py"):
            at.switch_page(page).run()
            assert not at.exception, (page, at.exception)
    assert built == {"clv_histogram": 1, "trend_chart": 1}
    at.switch_page("pages/forecast.py").run()
    at.slider(key="horizon").set_value(24).run()  # other slider values: another scenario, another figure
    assert not at.exception and built["clv_histogram"] == 2
