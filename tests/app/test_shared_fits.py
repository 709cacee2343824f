"""Expensive work runs once per dataset: sessions asking at the same moment wait for one computation."""

from __future__ import annotations

import threading
import time

from clv_app import memo
from clv_core import economics, models
from clv_core.analysis import Analysis
from clv_core.ingest import ingest
from clv_core.samples import sample_bytes


def test_six_sessions_asking_for_the_same_fit_at_once_share_one_computation(monkeypatch):
    calls = {"fit": 0, "precompute": 0}
    fit, precompute = models.fit_purchases, economics.precompute

    def slow_fit(*args, **kwargs):
        calls["fit"] += 1
        time.sleep(0.3)  # long enough that every thread arrives while the first is still fitting
        return fit(*args, **kwargs)

    def counted_precompute(*args, **kwargs):
        calls["precompute"] += 1
        return precompute(*args, **kwargs)

    monkeypatch.setattr(models, "fit_purchases", slow_fit)
    monkeypatch.setattr(economics, "precompute", counted_precompute)
    tx = ingest(*sample_bytes("cdnow_sample"))
    bases = []
    barrier = threading.Barrier(6)

    def session():
        barrier.wait()
        bases.append(Analysis(tx, model="bgnbd", memo=memo.AnalysisMemo()).base())

    threads = [threading.Thread(target=session) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(bases) == 6 and all(b is bases[0] for b in bases)  # one shared, read-only object
    assert calls == {"fit": 1, "precompute": 1}

    # A different dataset is a different key: its fit runs (once) on its own
    other = ingest(*sample_bytes("cdnow"))
    assert Analysis(other, model="bgnbd", memo=memo.AnalysisMemo()).base() is not bases[0]
    assert calls["fit"] == 2
