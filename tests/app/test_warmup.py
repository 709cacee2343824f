"""The model pages' heavy work is prepared in the background as soon as a session uses a dataset, so the pages
find it done; a deployment can turn it off."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from clv_app import access, warmup
from clv_core import challenger, economics, models
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


@pytest.mark.warm_up
def test_on_only_when_the_deployment_turns_it_on(monkeypatch):
    for section, expected in (
        ({}, False),
        ({"warm_up": "false"}, False),
        ({"warm_up": True}, True),
        ({"warm_up": "true"}, True),
    ):
        monkeypatch.setattr(access, "section", lambda name, s=section: s if name == "limits" else {})
        assert warmup.enabled() is expected


@pytest.mark.warm_up
def test_preparation_counts_as_its_visitors_work_and_a_newer_one_stops_the_older(monkeypatch):
    from clv_app import cache
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
