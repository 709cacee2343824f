"""The shared results are bounded by the memory they hold, and heavy work is limited per visitor and per server."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from clv_app import cache, memo, sources
from clv_core import analysis as analysis_
from clv_core.errors import ClvError
from clv_core.ingest import IngestOptions, detect_columns, ingest, resolve_mapping
from clv_core.samples import sample_bytes


def test_two_sessions_asking_at_once_share_one_computation():
    store, calls = cache.Store(budget_bytes=1_000_000), []

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


def test_a_failure_is_not_kept_and_the_next_call_tries_again():
    store = cache.Store(budget_bytes=1_000_000)

    def fails():
        raise ClvError("no")

    with pytest.raises(ClvError):
        store.compute(("d",), fails)
    assert store.get(("d",)) is cache.MISSING
    assert store.compute(("d",), lambda: "D") == "D"


def test_the_store_drops_the_least_recently_used_once_past_its_byte_budget():
    store = cache.Store(budget_bytes=25_000_000)
    for name in "abc":
        store.compute((name,), lambda: np.zeros(1_000_000))  # 8 MB each
    store.get(("a",))  # used again: "b" is now the oldest
    store.compute(("d",), lambda: np.zeros(1_000_000))
    assert store.get(("b",)) is cache.MISSING
    assert all(store.get((k,)) is not cache.MISSING for k in "acd")
    assert store.held_bytes() <= 25_000_000
    big = store.compute(("huge",), lambda: np.zeros(4_000_000))  # 32 MB: over the budget, kept alone
    assert store.get(("huge",)) is big and len(store) == 1 and store.held_bytes() == big.nbytes


def test_sizes_are_measured_close_to_what_pandas_reports_for_a_real_dataset():
    tx = ingest(*sample_bytes("cdnow_sample"))
    measured = tx.data.memory_usage(index=True, deep=True).sum()
    assert 0.8 * measured <= cache.sizeof(tx) <= 3 * measured  # the report and options are small beside the data
    assert cache.sizeof(pd.DataFrame({"id": ["x" * 1_000] * 10_000})) > 10_000_000  # text counted, not pointers


def test_a_cached_result_expires_after_its_time_to_live(monkeypatch):
    store = cache.Store(budget_bytes=1_000_000)
    now = [100.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    store.compute(("db",), lambda: b"rows", ttl=600)
    now[0] += 599
    assert store.get(("db",)) == b"rows"
    now[0] += 2
    assert store.get(("db",)) is cache.MISSING and store.held_bytes() == 0


def test_loading_many_datasets_holds_no_more_than_the_budget(monkeypatch):
    store = cache.Store(budget_bytes=30_000_000)
    monkeypatch.setattr(cache, "_store", store)
    rng = np.random.default_rng(0)
    for i in range(5):
        rows = 100_000
        csv = pd.DataFrame(
            {
                "customer_id": rng.integers(0, 20_000, rows).astype(str),
                "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D"),
                "amount": rng.gamma(2, 20, rows).round(2) + i,
            }
        ).to_csv(index=False)
        file_hash, raw = sources.read_file(csv.encode(), f"file-{i}.csv")
        sources.load(file_hash, raw, resolve_mapping(raw.frame, detect_columns(raw.frame)), IngestOptions())
        assert store.held_bytes() <= 30_000_000 or len(store) == 1
    assert 1 <= len(store) < 10  # the first files' tables went to make room


def run_in_threads(jobs: cache.Jobs, plan: list[tuple[str, float]]) -> list[tuple[str, str, float]]:
    """Each (visitor, seconds) holds a heavy slot that long; returns (visitor, event, time) in order."""
    events: list[tuple[str, str, float]] = []
    lock = threading.Lock()
    start = time.monotonic()

    def work(visitor: str, seconds: float) -> None:
        with jobs.slot("a test job", visitor=visitor):
            with lock:
                events.append((visitor, "start", time.monotonic() - start))
            time.sleep(seconds)
            with lock:
                events.append((visitor, "end", time.monotonic() - start))

    threads = []
    for visitor, seconds in plan:
        threads.append(threading.Thread(target=work, args=(visitor, seconds)))
        threads[-1].start()
        time.sleep(0.05)  # in this order
    for t in threads:
        t.join()
    return events


def most_at_once(events: list[tuple[str, str, float]], who=lambda v: True) -> int:
    running = peak = 0
    for visitor, event, _ in events:
        if who(visitor):
            running += 1 if event == "start" else -1
            peak = max(peak, running)
    return peak


def test_the_server_runs_at_most_its_number_of_heavy_jobs_at_once():
    events = run_in_threads(cache.Jobs(per_server=2), [("ann", 0.4), ("bob", 0.4), ("cy", 0.4), ("dee", 0.4)])
    assert most_at_once(events) == 2
    assert [e for e in events if e[1] == "start"][2][2] >= 0.35  # the third began only when one had ended


def test_one_visitor_runs_one_heavy_job_at_a_time_while_others_go_on():
    events = run_in_threads(cache.Jobs(per_server=3), [("ann", 0.4), ("ann", 0.4), ("bob", 0.1)])
    assert most_at_once(events, lambda v: v == "ann") == 1
    bob = next(t for v, e, t in events if v == "bob" and e == "end")
    ann_second = [t for v, e, t in events if v == "ann" and e == "start"][1]
    assert bob < ann_second  # bob did not queue behind ann


def test_work_nested_in_a_slot_runs_in_it_and_a_long_wait_is_a_message():
    jobs = cache.Jobs(per_server=1, max_wait_s=0.3)
    with jobs.slot("outer", visitor="ann"), jobs.slot("inner", visitor="ann"):  # no deadlock on itself
        assert jobs.running() == {"ann": "outer"}
        failed = []

        def other() -> None:
            try:
                with jobs.slot("backtest", visitor="bob"):
                    pass
            except ClvError as exc:
                failed.append(str(exc))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert failed and "1 large jobs are running on this server" in failed[0] and "Try again later" in failed[0]
    assert jobs.running() == {}


def test_heavy_app_work_takes_a_slot_and_light_work_does_not(monkeypatch):
    jobs = cache.Jobs(per_server=1)
    monkeypatch.setattr(cache, "_jobs", jobs)
    seen = {}
    from clv_core import models

    fit = models.fit_purchases

    def watched_fit(*args, **kwargs):
        seen["during fit"] = list(jobs.running().values())
        return fit(*args, **kwargs)

    monkeypatch.setattr(models, "fit_purchases", watched_fit)
    summarise = analysis_.summarise

    def watched_summary(*args, **kwargs):
        seen["during summary"] = list(jobs.running().values())
        return summarise(*args, **kwargs)

    monkeypatch.setattr(analysis_, "summarise", watched_summary)
    tx = ingest(*sample_bytes("cdnow_sample"))
    analysis_.Analysis(tx, model="bgnbd", memo=memo.AnalysisMemo()).fits()
    assert seen["during fit"] == ["fitting the models"] and jobs.running() == {}
    assert seen["during summary"] == []  # the summary (light) ran outside any slot


@pytest.mark.parametrize("value", ["0", "-5", "lots", float("inf"), float("nan"), 0.5, None, [3]])
def test_a_limit_that_is_not_a_whole_number_of_at_least_one_keeps_its_default(monkeypatch, value):
    from clv_app import access, settings

    tiny = 1e-7  # a fraction of a byte, in MB
    section = {"cache_mb": tiny, "heavy_jobs": value, "max_rows": value, "workspace_quota_mb": tiny}
    if value != 0.5:  # half a megabyte is a (small) budget; half a job or half a row is nothing
        section.update(cache_mb=value, workspace_quota_mb=value)
    monkeypatch.setattr(access, "section", lambda name: section if name == "limits" else None)
    assert settings.limits() == settings.ServerLimits()  # 0.5 heavy jobs would be none at all; inf would crash


def test_sessions_waiting_for_the_same_heavy_result_take_no_slot(monkeypatch):
    jobs = cache.Jobs(per_server=1)
    monkeypatch.setattr(cache, "_jobs", jobs)
    slots, slot = [], jobs.slot

    def counted(work, visitor=None):
        slots.append(work)
        return slot(work, visitor)

    monkeypatch.setattr(jobs, "slot", counted)
    store, started = cache.Store(budget_bytes=1_000_000), threading.Event()

    def slow():
        started.set()
        time.sleep(0.3)
        return "fit"

    results = []
    ask = lambda: results.append(store.compute(("fit",), slow, heavy="fitting"))  # noqa: E731
    threads = [threading.Thread(target=ask)]
    threads[0].start()
    started.wait()
    threads += [threading.Thread(target=ask) for _ in range(3)]  # three more sessions while it runs
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join()
    assert results == ["fit"] * 4 and slots == ["fitting"]  # one computation, one slot: the others only waited


def test_a_page_waiting_for_a_result_being_prepared_is_told_and_a_stopped_one_gives_back_the_key(monkeypatch):
    """A page asking for what another thread (the background preparation) is computing says why it waits; a page
    stopped by its visitor meanwhile (Streamlit raises from removing the notice) leaves the key free."""

    class Stopped(Exception):
        pass

    shown = []

    class Notice:
        def empty(self):
            shown.append("removed")
            raise Stopped

    monkeypatch.setattr(cache, "_notice", lambda message: shown.append(message) or Notice())
    store, started, release = cache.Store(budget_bytes=1_000_000), threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait()
        return "decision"

    background = threading.Thread(target=lambda: store.compute(("decision",), slow))
    background.start()
    started.wait()
    outcome = []

    def page():
        try:
            outcome.append(store.compute(("decision",), lambda: "computed again"))
        except Stopped:
            outcome.append("stopped")

    waiting = threading.Thread(target=page)
    waiting.start()
    time.sleep(0.2)
    release.set()
    for t in (background, waiting):
        t.join()
    assert outcome == ["stopped"] and shown[0].startswith("Being prepared") and shown[1] == "removed"
    lock = store._locks.get(("decision",))
    assert lock is None or not lock.locked()  # the key is free
    assert store.compute(("decision",), lambda: "computed again") == "decision"  # and the value kept


def test_a_page_stopped_while_its_job_waits_gives_back_every_lock(monkeypatch):
    """Streamlit raises from the next element call once the visitor stops or reruns the page: here, from removing
    the "waiting" notice just after the slot was taken. The slot and the visitor's turn must not stay taken."""

    class Stopped(Exception):
        pass

    class Notice:
        def empty(self):
            raise Stopped

    monkeypatch.setattr(cache, "_notice", lambda message: Notice())
    jobs = cache.Jobs(per_server=1, max_wait_s=2)  # a slot left taken makes the last job fail, not hang
    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with jobs.slot("a long fit", visitor="ann"):
            inside.set()
            release.wait()

    outcome = []

    def second() -> None:
        try:
            with jobs.slot("a backtest", visitor="bob"):
                outcome.append("ran")
        except Stopped:
            outcome.append("stopped")

    threads = [threading.Thread(target=first)]
    threads[0].start()
    inside.wait()
    threads.append(threading.Thread(target=second))
    threads[1].start()
    time.sleep(0.2)  # bob is waiting for the slot, with a notice
    release.set()
    for t in threads:
        t.join()
    assert outcome == ["stopped"]
    assert jobs.running() == {} and jobs.visitors() == 0  # nothing held, and no visitor remembered
    with jobs.slot("the next job", visitor="cy"):  # the one slot is free
        assert jobs.running() == {"cy": "the next job"}


def test_the_report_holds_no_slot_while_it_waits_for_a_fit_someone_else_is_making(monkeypatch):
    """A heavy step that waits for another key while holding a slot would keep that key's owner waiting for the
    slot: the report (whose steps take their own slots) and a fit of the same model, asked at once by one visitor,
    both finish, and quickly."""
    from clv_core import analysis as analysis_module
    from clv_core import cohorts
    from clv_core.economics import Economics

    monkeypatch.setattr(cache, "_jobs", cache.Jobs(per_server=2, max_wait_s=8))
    monkeypatch.setattr(cache, "_visitor", lambda: "alice")
    build = cohorts.build_cohorts

    def slow_cohorts(*args, **kwargs):  # the report's first step: the fit below starts meanwhile
        time.sleep(2)
        return build(*args, **kwargs)

    monkeypatch.setattr(cohorts, "build_cohorts", slow_cohorts)
    tx = ingest(*sample_bytes("cdnow_sample"))
    shared, done = memo.AnalysisMemo(), {}

    def ask(name, work):
        start = time.perf_counter()
        try:
            work(analysis_module.Analysis(tx, model="paretonbd", memo=shared))
            done[name] = ("ok", time.perf_counter() - start)
        except Exception as exc:  # whatever went wrong is reported by the assertion below
            done[name] = (repr(exc), time.perf_counter() - start)

    report = threading.Thread(target=ask, args=("report", lambda a: a.report(Economics(), label="x")))
    fit = threading.Thread(target=ask, args=("fit", lambda a: a.fits()))
    report.start()
    time.sleep(0.5)
    fit.start()
    report.join()
    fit.join()
    assert done["report"][0] == "ok" and done["fit"][0] == "ok", done
    assert max(t for _, t in done.values()) < 8  # nobody waited out the slot timeout


def test_the_readers_integer_hint_is_counted_with_the_ids():
    """Integer ids read from a CSV carry their numbers beside their texts (clv_core.ingest.text.PLAIN_INTEGERS):
    the cache counts both."""
    import pyarrow as pa

    from clv_core.ingest.sniff import _encoded
    from clv_core.ingest.text import PLAIN_INTEGERS, plain_integers

    def column():
        return pd.Series(_encoded(pa.chunked_array([pa.array([str(v) for v in range(100_000, 400_000)])])))

    hinted, plain = column(), column()
    delattr(plain.cat.categories, PLAIN_INTEGERS)
    numbers = plain_integers(hinted.cat.categories)
    assert numbers is not None and plain_integers(plain.cat.categories) is None
    assert cache.sizeof(pd.DataFrame({"id": hinted})) - cache.sizeof(pd.DataFrame({"id": plain})) == numbers.nbytes
