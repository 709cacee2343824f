"""The app's store for work that draws its own progress: one computation per key, shared, bounded."""

from __future__ import annotations

import threading
import time

import pytest

from clv_app.state import _Results


def test_two_sessions_asking_at_once_share_one_computation():
    store, calls = _Results(max_entries=4), []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return object()

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.compute(("k",), slow))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and results[0] is results[1]


def test_least_recently_used_entries_are_dropped_and_failures_are_not_kept():
    store = _Results(max_entries=2)
    store.compute(("a",), lambda: "A")
    store.compute(("b",), lambda: "B")
    assert store.get(("a",)) == "A"  # now "b" is the least recently used
    store.compute(("c",), lambda: "C")
    assert store.get(("b",)) is None and store.get(("a",)) == "A" and store.get(("c",)) == "C"

    def fails():
        raise ValueError("no")

    with pytest.raises(ValueError):
        store.compute(("d",), fails)
    assert store.get(("d",)) is None
