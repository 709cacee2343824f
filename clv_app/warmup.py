"""The expensive results of a dataset, prepared in the background as soon as a session uses it.

The first page a visitor opens starts, once per dataset, model choice and time unit, a thread that asks the
analysis for what the model pages need and nobody wants to wait for: the model decision (the holdout test), the
forecast base and the churn steps' bases, the Survival page's Cox and parametric fits, the model comparison, the
value-at-first-purchase model (its backtest and today's newcomers), and the Model validation page's backtest with
the ML challenger and its blend. The results land in the shared store
(:mod:`clv_app.cache`), so a page that asks later finds them, and a page that asks while they are computed waits
for that computation instead of starting its own (the store's per-key lock). The thread's work counts as its
visitor's (:func:`clv_app.cache.acting_for`): it takes the heavy-job slots as they would, one large job at a time
for that visitor, never more than the server runs at once; and a visitor has one preparation at a time (a newer
one, for another dataset or setting, stops the older one after its current step). A step that cannot be done (a
model that cannot fit this data, a server too busy) is left for the page to explain.

It is on unless ``[limits] warm_up = false`` in ``.streamlit/secrets.toml`` (a server short of memory or CPU
for work nobody asked for yet).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from clv_app import access, cache
from clv_core.errors import ClvError, ServerBusyError

if TYPE_CHECKING:  # the models and their libraries load with the first preparation, not with this module
    from clv_core.analysis import Analysis

#: Datasets remembered as started; an older one is warmed again if asked for again.
_REMEMBERED = 64
_lock = threading.Lock()
_threads: OrderedDict = OrderedDict()
_stops: dict[str, threading.Event] = {}  # visitor -> what stops their current preparation
_log = logging.getLogger(__name__)


#: Pages being drawn right now (every session's script runs), when the last one ended, and the condition background
#: preparations wait on.
_drawing = 0
_drawn_at = 0.0
_quiet = threading.Condition()
#: The longest a background preparation holds its next step for pages being drawn: a page that keeps the server
#: busy for minutes (a bootstrap on millions of customers) must not stop every other dataset's preparation.
YIELD_MAX_S = 15.0
#: After a page's run, the browser still lays out its charts: on a machine that serves its own browser (make run on
#: a laptop), a preparation starting at once would take the cores it needs.
AFTER_DRAWN_S = 1.0


@contextlib.contextmanager
def drawing() -> Iterator[None]:
    """A page is being drawn (:func:`clv_app.navigation.run` around every page): preparations start no new step
    until no page is, so a visitor's page has the machine to itself (on 2 cores, a preparation running beside it
    made a first visit take twice as long) and the preparation goes on while the visitor reads."""
    global _drawing, _drawn_at
    with _quiet:
        _drawing += 1
    try:
        yield
    finally:
        with _quiet:
            _drawing -= 1
            _drawn_at = time.monotonic()
            _quiet.notify_all()


def wait_while_drawing(max_wait_s: float | None = None) -> bool:
    """Wait until no page is being drawn and none has been for :data:`AFTER_DRAWN_S` (at most ``max_wait_s``, by
    default :data:`YIELD_MAX_S`); whether that came."""
    deadline = time.monotonic() + (YIELD_MAX_S if max_wait_s is None else max_wait_s)
    with _quiet:
        while True:
            now = time.monotonic()
            if _drawing == 0 and now >= _drawn_at + AFTER_DRAWN_S:
                return True
            if now >= deadline:
                return False
            wake = deadline if _drawing else min(deadline, _drawn_at + AFTER_DRAWN_S)
            _quiet.wait(timeout=wake - now)


def enabled() -> bool:
    """``[limits] warm_up`` (default on; only a recognised "off" value turns it off)."""
    section = access.section("limits") or {}
    value = section.get("warm_up", True) if hasattr(section, "get") else True
    return str(value).strip().lower() not in ("false", "off", "0", "no")


def start(analysis: Analysis, churn_steps: tuple[float, ...] = ()) -> threading.Thread | None:
    """Start preparing ``analysis``'s expensive results, unless already started; the thread, or None."""
    if not enabled():
        return None
    key = (analysis.key, analysis.choice, analysis.time_unit)
    visitor = cache.current_visitor()
    with _lock:
        if key in _threads:
            _threads.move_to_end(key)
            return None
        earlier = _stops.get(visitor)
        if earlier is not None:
            earlier.set()  # this visitor's earlier preparation ends after its current step
        stop = _stops[visitor] = threading.Event()
        thread = threading.Thread(
            target=_prepare, args=(analysis, churn_steps, visitor, stop), name="clv-warm-up", daemon=True
        )
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
        _stops.clear()


def steps(analysis: Analysis, churn_steps: tuple[float, ...] = ()) -> list:
    """What is prepared, in order: the decision first, since every other step uses it."""
    from clv_core import validation

    end = str(validation.default_calibration_end(analysis.transactions).date())
    return [
        ("model decision", analysis.decision),
        ("forecast base", lambda: analysis.base(1.0)),
        *((f"forecast base at churn ×{k:g}", lambda k=k: analysis.base(k)) for k in churn_steps if k != 1.0),
        ("survival models", lambda: _survival(analysis)),
        ("model comparison", analysis.comparison),
        # the value-at-first-purchase model: its backtest ends Model validation, today's newcomers Segments & export
        ("first-purchase model's backtest", analysis.first_value_backtest),
        ("new customers' predicted value", analysis.new_customers),
        ("backtest with the ML challenger", lambda: analysis.backtest(end)),
        ("blend of the model and the ML challenger", lambda: analysis.blend(end)),
    ]


def _survival(analysis: Analysis) -> None:
    """The Survival page's slow parts as it first opens: the parametric fits and the Cox model."""
    from clv_core import survival

    suggested = analysis.suggested_threshold()
    data = analysis.survival(survival.ChurnDefinition(suggested.days))
    analysis.cox(data, survival.default_cox_attributes(data.groups))
    analysis.parametric(data, 365)


def _prepare(analysis: Analysis, churn_steps: tuple[float, ...], visitor: str, stop: threading.Event) -> None:
    try:
        with cache.acting_for(visitor):
            _run(steps(analysis, churn_steps), stop)
    except (ClvError, ValueError) as exc:
        _log.info("nothing prepared for this dataset: %s", exc)
    finally:
        with _lock:  # the visitor's entry goes with their last preparation (one per session would pile up)
            if _stops.get(visitor) is stop:
                del _stops[visitor]


def _run(plan: list, stop: threading.Event) -> None:
    for name, step in plan:
        wait_while_drawing()  # a page being drawn goes first: its visitor is waiting, nobody waits for this
        if stop.is_set():  # the visitor moved on to another dataset or setting
            return
        try:
            step()
        except ServerBusyError:  # the pages will ask when the server has room
            return
        except ClvError as exc:  # the page that needs it says why
            _log.info("%s not prepared: %s", name, exc)
        except Exception:  # never let a background step take the server down; the page shows its own error
            _log.exception("%s failed while prepared in the background", name)
