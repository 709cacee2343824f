"""Tables and figures derived from a shared result, computed once per result and arguments for every session.

The expensive results (a fit, a forecast base, a backtest, a cohort table) live in :mod:`clv_app.cache`, one
object per dataset and options, shared by every session. What a page derives from them (a summary table, a
Plotly figure, a scenario for the slider values) is the same for every session too, yet used to be rebuilt on
each rerun of each session: with 10 sessions on one server, building figures and tables was most of the
server's time (benchmarks/bench_load.py). :func:`of` keeps each derived value beside its source, for as long as
the source lives, so a warm rerun only sends it.

Derived values are shared and therefore read-only, like their sources: copy before changing one.

>>> import pandas as pd
>>> calls = []
>>> def scaled_total(series, scale):
...     calls.append(scale)
...     return float(series.sum()) * scale
>>> source = pd.Series([1.0, 2.0])
>>> of(scaled_total, source, 2), of(scaled_total, source, 2), of(scaled_total, source, 10), calls
(6.0, 6.0, 30.0, [2, 10])
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from clv_app import cache
from clv_app.cache import sizeof

T = TypeVar("T")

#: Derived values kept per source (least recently used dropped first): slider positions, filters and chart
#: options of all sessions on one dataset; at most this many, holding at most ``PER_SOURCE_BYTES`` together (one
#: value larger than that is kept alone: a scored table of millions of customers).
PER_SOURCE = 64
PER_SOURCE_BYTES = 256_000_000

#: Where a source keeps its derived values: in its own ``__dict__``, so they live and go with it. (A global table
#: would keep every source alive through values that refer back to it, such as a scenario to its forecast base.)
_ATTR = "_clv_derived"
_lock = threading.Lock()


def _token(value: Any) -> Any:
    """The value itself when it is hashable (equal settings share a result), else its identity: the entry keeps
    the object alive, so the identity cannot be reused by another object while the entry exists."""
    if isinstance(value, tuple):  # e.g. (label, frame): equal labels and the same frame are the same key
        return tuple(_token(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value


def of(fn: Callable[..., T], source: Any, *args: Any, **kwargs: Any) -> T:
    """``fn(source, *args, **kwargs)``, computed once per ``source`` object, ``fn`` and arguments.

    ``source`` must be a shared, unchanging object with a ``__dict__`` (a result from :mod:`clv_app.cache`, a
    DataFrame in one, or a value from :func:`of` itself). ``fn`` must be a module-level function: a function
    defined in a page script is a new object on every run and would never be found again. Two sessions asking
    at the same moment may both compute; the results are equal and one is kept.
    """
    key = (fn, tuple(_token(a) for a in args), tuple(sorted((k, _token(v)) for k, v in kwargs.items())))
    store = vars(source)  # the object's own attribute dictionary (this bypasses a frozen dataclass's setattr)
    with _lock:
        entries = store.get(_ATTR)
        if entries is not None and key in entries:
            entries.move_to_end(key)
            return entries[key][0]
    value = fn(source, *args, **kwargs)
    size = sizeof(value, exclude=(source, *args, *kwargs.values()))  # what it refers back to is not its own
    with _lock:
        entries = store.setdefault(_ATTR, OrderedDict())
        entries.pop(key, None)
        entries[key] = (value, args, kwargs, size)  # the arguments stay alive with the entry (see _token)
        held = sum(entry[3] for entry in entries.values())
        while len(entries) > 1 and (len(entries) > PER_SOURCE or held > PER_SOURCE_BYTES):
            _, dropped = entries.popitem(last=False)
            held -= dropped[3]
    return value


def held(source: Any) -> int:
    """How many derived values ``source`` keeps."""
    with _lock:
        return len(vars(source).get(_ATTR, ()))


class AnalysisMemo:
    """Where a :class:`clv_core.analysis.Analysis` keeps its steps in the app: expensive ones (fits, forecast bases,
    backtests) in the shared store, in a heavy-job slot when they are heavy; cheap results derived from one of them
    (a scenario for one set of slider values, a scored table) beside their source (:func:`of`), so slider
    positions never push a fit out of the store."""

    def compute(self, key: tuple, fn: Callable[[], Any], *, heavy: str | None = None, spinner: str | None = None):
        return cache.store().compute(("analysis", *key), lambda: cache.spinning(spinner, fn), heavy=heavy)

    def derive(self, fn: Callable[..., Any], source: Any, *args: Any):
        return of(fn, source, *args)

    def known(self, key: tuple) -> bool:
        return cache.store().get(("analysis", *key)) is not cache.MISSING
