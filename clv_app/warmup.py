"""The expensive results of a dataset, prepared in the background as soon as a session uses it.

The first page a visitor opens starts, once per dataset, model choice and time unit, a thread that asks the
analysis for what the model pages need and nobody wants to wait for: the model decision (the holdout test), the
forecast base and the churn steps' bases, the model comparison, and the Model validation page's backtest with the
ML challenger. The results land in the shared store (:mod:`clv_app.cache`), so a page that asks later finds them,
and a page that asks while they are computed waits for that computation instead of starting its own (the store's
per-key lock). The thread takes the heavy-job slots like any visitor, so it never runs more large jobs than the
server allows, and a step that cannot be done (a model that cannot fit this data) is left for the page to
explain.

``[limits] warm_up = false`` in ``.streamlit/secrets.toml`` turns it off (a server short of memory, where only
what someone asks for should be computed).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from clv_app import access
from clv_core import validation
from clv_core.analysis import Analysis
from clv_core.errors import ClvError

#: Datasets remembered as started; an older one is warmed again if asked for again.
_REMEMBERED = 64
_lock = threading.Lock()
_threads: OrderedDict = OrderedDict()
_log = logging.getLogger(__name__)


def enabled() -> bool:
    """``[limits] warm_up`` (default on)."""
    section = access.section("limits") or {}
    value = section.get("warm_up", True) if hasattr(section, "get") else True
    return str(value).strip().lower() not in ("false", "off", "0", "no")


def start(analysis: Analysis, churn_steps: tuple[float, ...] = ()) -> threading.Thread | None:
    """Start preparing ``analysis``'s expensive results, unless already started; the thread, or None."""
    if not enabled():
        return None
    key = (analysis.key, analysis.choice, analysis.time_unit)
    with _lock:
        if key in _threads:
            _threads.move_to_end(key)
            return None
        thread = threading.Thread(target=_prepare, args=(analysis, churn_steps), name="clv-warm-up", daemon=True)
        _threads[key] = thread
        while len(_threads) > _REMEMBERED:
            _threads.popitem(last=False)
    thread.start()
    return thread


def wait(timeout: float | None = None) -> bool:
    """Wait for every started preparation to end (tests, benchmarks); whether they all did."""
    with _lock:
        threads = list(_threads.values())
    for thread in threads:
        thread.join(timeout)
    return not any(t.is_alive() for t in threads)


def forget() -> None:
    """Forget what was started (with the caches cleared, everything can be prepared again)."""
    with _lock:
        _threads.clear()


def steps(analysis: Analysis, churn_steps: tuple[float, ...] = ()) -> list:
    """What is prepared, in order: the decision first, since every other step uses it."""
    end = str(validation.default_calibration_end(analysis.transactions).date())
    return [
        ("model decision", analysis.decision),
        ("forecast base", lambda: analysis.base(1.0)),
        *((f"forecast base at churn ×{k:g}", lambda k=k: analysis.base(k)) for k in churn_steps if k != 1.0),
        ("model comparison", analysis.comparison),
        ("backtest with the ML challenger", lambda: analysis.backtest(end)),
    ]


def _prepare(analysis: Analysis, churn_steps: tuple[float, ...]) -> None:
    try:
        plan = steps(analysis, churn_steps)
    except (ClvError, ValueError) as exc:
        _log.info("nothing prepared for this dataset: %s", exc)
        return
    for name, step in plan:
        try:
            step()
        except ClvError as exc:  # the page that needs it says why
            _log.info("%s not prepared: %s", name, exc)
        except Exception:  # never let a background step take the server down; the page will show its own error
            _log.exception("%s failed while prepared in the background", name)
