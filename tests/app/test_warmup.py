"""The model pages' heavy work is prepared in the background as soon as a session uses a dataset, so the pages
find it done; a deployment can turn it off."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.runtime import Runtime, RuntimeState
from streamlit.testing.v1 import AppTest

from clv_app import access, cache, serve, warmup
from clv_core import challenger, economics, first_value, models, survival
from tests.app.conftest import APP


@pytest.mark.warm_up
def test_after_the_first_page_the_model_pages_find_their_work_done(monkeypatch):
    monkeypatch.setattr(warmup, "enabled", lambda: True)
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()  # the first page of a session on the bundled sample starts the preparation
    assert not at.exception, at.exception
    assert warmup.wait(timeout=300)

    calls = {"fit": 0, "precompute": 0, "challenger": 0}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(models, "fit_purchases", counted("fit", models.fit_purchases))
    monkeypatch.setattr(economics, "precompute", counted("precompute", economics.precompute))
    monkeypatch.setattr(challenger, "challenger_predictions", counted("challenger", challenger.challenger_predictions))
    at.switch_page("pages/forecast.py").run()
    assert not at.exception, at.exception
    at.switch_page("pages/validation.py").run()
    assert not at.exception, at.exception
    assert calls == {"fit": 0, "precompute": 0, "challenger": 0}  # nothing left to compute for either page
    assert any("ML challenger" in str(d.value.index.tolist()) for d in at.dataframe)


def _count_model_work(monkeypatch) -> dict:
    calls = dict.fromkeys(
        ("fit", "precompute", "challenger", "cox", "parametric", "first-purchase backtest", "new customers"), 0
    )

    def count(module, name, key):
        fn = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[key] += 1
            return fn(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    count(models, "fit_purchases", "fit")
    count(economics, "precompute", "precompute")
    count(challenger, "challenger_predictions", "challenger")
    count(survival, "cox", "cox")
    count(survival, "parametric", "parametric")
    count(first_value, "backtest", "first-purchase backtest")
    count(first_value, "new_customers", "new customers")
    return calls


@pytest.mark.warm_up
def test_the_server_prepares_the_bundled_sample_before_anyone_visits(monkeypatch):
    """What ``python -m clv_app.serve`` (make run) does as the server starts: the first session's model pages,
    the Survival page's Cox and parametric fits included, find their work done."""
    monkeypatch.setattr(warmup, "enabled", lambda: True)

    class Serving:
        state = RuntimeState.NO_SESSIONS_CONNECTED

    with monkeypatch.context() as server:  # a started server, for as long as the preparation looks for one
        server.setattr(Runtime, "exists", classmethod(lambda cls: True))
        server.setattr(Runtime, "instance", classmethod(lambda cls: Serving()))
        assert serve.prepare_when_served(timeout_s=5)
    assert warmup.wait(timeout=300)

    calls = _count_model_work(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=300)
    for page in ("pages/survival.py", "pages/forecast.py", "pages/validation.py", "pages/segments.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    assert calls == dict.fromkeys(calls, 0), calls  # the first visitor's pages computed nothing of their own


def test_the_server_compiles_streamlits_emoji_pattern_before_the_first_page_draws_an_icon(monkeypatch):
    """0.5 s of the first visitor's page on a loaded 2-core machine (a py-spy profile of a first visit found it)."""
    monkeypatch.delitem(sys.modules, "streamlit.emojis", raising=False)
    serve._import_models()
    assert "streamlit.emojis" in sys.modules


def test_the_server_makes_streamlits_once_per_process_repl_check_before_the_first_page(monkeypatch):
    """Streamlit's check whether it runs in a REPL reads the source of every frame of the thread that sends the
    first element: 0.3-0.45 s of the first visitor's page (py-spy); the server makes it as it starts."""
    import streamlit.delta_generator as dg
    from streamlit.runtime import Runtime

    class Serving:
        state = RuntimeState.NO_SESSIONS_CONNECTED

    monkeypatch.setattr(dg, "_use_warning_has_been_displayed", False)
    monkeypatch.setattr(warmup, "enabled", lambda: False)  # the check is made whether the preparation is on or not
    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: True))
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: Serving()))
    assert serve.prepare_when_served(timeout_s=5) is False
    assert dg._use_warning_has_been_displayed


def test_the_first_page_waits_for_no_scikit_learn():
    """The app and the preparation's first import (what a page needs before it can run) leave scikit-learn to the
    models that use it: 0.3 s of every first page on a fresh server."""
    import subprocess

    code = (
        "import clv_app.navigation, clv_app.serve as s; s._import_models(); import sys; print('sklearn' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(APP).parent, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_no_server_no_preparation(monkeypatch):
    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: False))
    assert serve.prepare_when_served(timeout_s=0.3) is False


@pytest.mark.warm_up
def test_on_unless_the_deployment_turns_it_off(monkeypatch):
    for section, expected in (
        (None, True),  # no secrets.toml
        ({}, True),
        ({"warm_up": "false"}, False),
        ({"warm_up": False}, False),
        ({"warm_up": " Off "}, False),
        ({"warm_up": True}, True),
        ({"warm_up": "true"}, True),
    ):
        monkeypatch.setattr(access, "section", lambda name, s=section: s if name == "limits" else {})
        assert warmup.enabled() is expected


@pytest.mark.warm_up
def test_preparation_counts_as_its_visitors_work_and_a_newer_one_stops_the_older(monkeypatch):
    from clv_core.analysis import Analysis
    from clv_core.ingest import ingest
    from clv_core.samples import sample_bytes

    seen = []

    def prepare(analysis, churn_steps, visitor, stop):
        with cache.acting_for(visitor):
            seen.append((cache.current_visitor(), stop.wait(timeout=60)))

    monkeypatch.setattr(warmup, "_prepare", prepare)
    monkeypatch.setattr(warmup, "enabled", lambda: True)
    first, second = (Analysis(ingest(*sample_bytes(name))) for name in ("cdnow_sample", "retail"))
    with cache.acting_for("alice"):
        older = warmup.start(first)
        assert warmup.start(first) is None  # once per dataset and settings
        newer = warmup.start(second)  # alice moved on: her earlier preparation is told to stop
    older.join(timeout=60)
    assert seen == [("alice", True)]
    warmup._stops["alice"].set()
    newer.join(timeout=60)
    assert seen[1] == ("alice", True)


def test_a_preparation_starts_no_step_while_a_page_is_drawn_and_goes_on_after(monkeypatch):
    import threading
    import time

    monkeypatch.setattr(warmup, "AFTER_DRAWN_S", 2.0)
    done = []
    plan = [("first", lambda: done.append(time.monotonic())), ("second", lambda: done.append(time.monotonic()))]
    with warmup.drawing():  # a visitor's page is being drawn
        thread = threading.Thread(target=warmup._run, args=(plan, threading.Event()))
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive() and done == []  # held before its first step while the page is drawn
    drawn = time.monotonic()
    thread.join(timeout=30)
    assert len(done) == 2
    assert done[0] - drawn >= 2.0 - 0.05  # and for a moment after, while the browser lays the page out


def test_a_page_drawn_for_long_holds_a_preparation_for_a_bounded_time(monkeypatch):
    import threading

    monkeypatch.setattr(warmup, "YIELD_MAX_S", 0.2)
    done = []
    with warmup.drawing():
        thread = threading.Thread(target=warmup._run, args=([("step", lambda: done.append(1))], threading.Event()))
        thread.start()
        thread.join(timeout=30)  # the page is still drawn, yet the preparation went on
        assert done == [1]
