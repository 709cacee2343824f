"""The app's one cache: results shared by every session, bounded by bytes, and heavy work limited per visitor and
per server.

:func:`shared` wraps a function like ``st.cache_resource`` does: one result per key (the arguments whose names do
not start with ``_``; the data itself travels in the ``_`` arguments, keyed by its content hash), computed once
however many sessions ask at the same moment, returned as the same read-only object (never copied, never
pickled). Unlike ``st.cache_resource`` the store is bounded by what its values hold in memory, not by a count of
entries: a count lets eight 4 GB tables stay after every session has gone. The least recently used values go
first; one value larger than the whole budget is kept alone (the dataset someone is working on).

Work marked ``heavy`` (reading and cleaning a file, a database read, model fits, backtests, bootstrap refits,
reports) also takes a slot: one at a time per visitor (the signed-in user, else the browser session), and a fixed
number per server (``[limits] heavy_jobs`` in ``.streamlit/secrets.toml``, 2 by default on this 2-core machine).
Whoever waits is told why; everything else (pages whose results are cached, other visitors' light work) goes on.

>>> store = Store(budget_bytes=1_000)
>>> len(store.compute(("a",), lambda: b"x" * 600)), len(store.compute(("b",), lambda: b"y" * 600))
(600, 600)
>>> store.get(("a",)) is MISSING, store.held_bytes()  # "a" made room for "b"
(True, 600)
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from clv_app import access, settings
from clv_core.errors import ClvError, ServerBusyError
from clv_core.ingest.text import plain_integers

MISSING = object()
#: How long work waits for a slot before the visitor is asked to try again.
MAX_WAIT_S = 600
_SAMPLE = 1_000


def sizeof(value: Any, _seen: set | None = None, *, exclude: tuple = ()) -> int:
    """Bytes ``value`` holds, estimated quickly: exact for arrays and bytes, sampled for columns of Python
    objects, recursive through dataclasses, containers and an object's attributes; shared parts counted once, and
    the objects in ``exclude`` (what a value was derived from and refers back to) not at all.

    >>> sizeof(np.zeros(1_000)) >= 8_000, sizeof(pd.DataFrame({"id": ["customer"] * 10_000})) > 500_000
    (True, True)
    >>> 1_000 < sizeof(pd.Series(pd.Categorical(["x" * 1_000] * 10))) < 2_000  # each category counted once
    True
    >>> source = np.zeros(1_000_000)
    >>> sizeof((source, np.zeros(10))) > 8_000_000, sizeof((source, np.zeros(10)), exclude=(source,)) < 1_000
    (True, True)
    """
    seen = {id(x) for x in exclude} if _seen is None else _seen
    if id(value) in seen or value is None or isinstance(value, bool | int | float):
        return 0
    seen.add(id(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, str):
        return sys.getsizeof(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + (_objects(value) if value.dtype == object else 0)
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=False).sum()) + sum(_texts(value[c]) for c in value.columns)
    if isinstance(value, pd.Series | pd.Index):
        return int(value.memory_usage(deep=False)) + _texts(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts = [getattr(value, f.name, None) for f in dataclasses.fields(value)]
        return 64 + sum(sizeof(p, seen) for p in parts) + _attributes(value, seen)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(sizeof(k, seen) + sizeof(v, seen) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return sys.getsizeof(value) + sum(sizeof(v, seen) for v in value)
    return sys.getsizeof(value) + _attributes(value, seen)


def _attributes(value: Any, seen: set) -> int:
    attributes = getattr(value, "__dict__", None)
    if not isinstance(attributes, dict):
        return 0
    return sum(sizeof(v, seen) for k, v in attributes.items() if k != "_clv_derived")  # memo's values: small


def _texts(column: pd.Series | pd.Index) -> int:
    """The Python objects a column refers to: an object column's values, a categorical column's categories (the
    loader's CSV columns hold each distinct text once)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories if isinstance(column, pd.Series) else column.categories
        numbers = plain_integers(categories)  # the reader's hint: the ids' numbers, beside their texts
        hint = numbers.nbytes if numbers is not None else 0
        return hint + (_objects(np.asarray(categories, dtype=object)) if categories.dtype == object else 0)
    return _objects(column.to_numpy()) if column.dtype == object else 0


def _objects(array: np.ndarray) -> int:
    """Python objects referenced by an object array: the mean size of an even sample, times the length."""
    if not len(array):
        return 0
    step = max(1, len(array) // _SAMPLE)
    sample = array[::step][:_SAMPLE]
    return int(sum(sys.getsizeof(v) for v in sample) / len(sample) * len(array))


class Store:
    """Values by key, least recently used dropped first once they hold more than ``budget_bytes``; one
    computation per key at a time (sessions asking for the same key wait for the first)."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._values: OrderedDict = OrderedDict()  # key -> (value, bytes, expires at or None)
        self._held = 0
        self._lock = threading.Lock()
        self._locks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

    def get(self, key: tuple) -> Any:
        with self._lock:
            found = self._values.get(key)
            if found is None:
                return MISSING
            value, size, expires = found
            if expires is not None and time.monotonic() > expires:
                del self._values[key]
                self._held -= size
                return MISSING
            self._values.move_to_end(key)
            return value

    def compute(self, key: tuple, fn: Callable[[], Any], *, heavy: str | None = None, ttl: float | None = None) -> Any:
        """The value for ``key``, computing it with ``fn()`` when missing (in a heavy-job slot when ``heavy`` names
        the work). Exceptions are not kept: the next call tries again."""
        value = self.get(key)
        if value is not MISSING:
            return value
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        # whoever asks for a key being computed (by another page, or in the background) waits for it, told so,
        # without taking a heavy-job slot
        _take(lock, "Being prepared (in the background, or for another page): it shows as soon as it is ready.")
        try:
            value = self.get(key)
            if value is MISSING:
                with jobs().slot(heavy) if heavy else contextlib.nullcontext():
                    value = fn()
                self._put(key, value, ttl)
            return value
        finally:
            lock.release()

    def _put(self, key: tuple, value: Any, ttl: float | None) -> None:
        size = sizeof(value)
        with self._lock:
            old = self._values.pop(key, None)
            if old is not None:
                self._held -= old[1]
            self._values[key] = (value, size, None if ttl is None else time.monotonic() + ttl)
            self._held += size
            while self._held > self.budget_bytes and len(self._values) > 1:
                _, (_, dropped, _) = self._values.popitem(last=False)
                self._held -= dropped

    def held_bytes(self) -> int:
        with self._lock:
            return self._held

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._held = 0


class Jobs:
    """Slots for heavy work: ``per_server`` at once in the process, one at a time per visitor. Work nested inside
    a slot (same thread) runs in it. Every lock taken is released whatever happens after it was taken (a page
    stopped by its visitor raises from the next Streamlit call, the notice's removal included)."""

    def __init__(self, per_server: int, *, max_wait_s: float = MAX_WAIT_S) -> None:
        self.per_server = per_server
        self.max_wait_s = max_wait_s
        self._slots = threading.BoundedSemaphore(per_server)
        self._visitors: dict[str, list] = {}  # visitor -> [lock, how many ask for it]: gone when none does
        self._running: dict[str, str] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextlib.contextmanager
    def slot(self, work: str, visitor: str | None = None) -> Iterator[None]:
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        visitor = visitor or _visitor()
        with contextlib.ExitStack() as held:
            with self._lock:
                mine = self._visitors.setdefault(visitor, [threading.Lock(), 0])
                mine[1] += 1
                earlier = self._running.get(visitor) or "a large one"
            held.callback(self._forget, visitor)
            self._wait(mine[0], f"Your earlier job ({earlier}) is still running: this one starts when it ends.")
            held.callback(mine[0].release)
            self._wait(
                self._slots,
                f"{self.per_server} large jobs are running on this server, the most it runs at once: yours "
                f"({work}) starts when one ends.",
            )
            held.callback(self._slots.release)
            with self._lock:
                self._running[visitor] = work
            held.callback(self._finished, visitor)
            self._local.depth = 1
            yield

    def _finished(self, visitor: str) -> None:
        self._local.depth = 0
        with self._lock:
            self._running.pop(visitor, None)

    def _forget(self, visitor: str) -> None:
        with self._lock:
            mine = self._visitors[visitor]
            mine[1] -= 1
            if not mine[1]:
                del self._visitors[visitor]

    def running(self) -> dict[str, str]:
        """Visitor → the heavy work it runs now."""
        with self._lock:
            return dict(self._running)

    def visitors(self) -> int:
        """Visitors with heavy work running or waiting."""
        with self._lock:
            return len(self._visitors)

    def _wait(self, lock, message: str) -> None:
        _take(lock, message, self.max_wait_s)


_acting = threading.local()


@contextlib.contextmanager
def acting_for(visitor: str) -> Iterator[None]:
    """Work done in this thread counts as ``visitor``'s (a background preparation started by their page): it
    waits for their other large jobs and they for it, as if they had asked for it themselves."""
    previous = getattr(_acting, "visitor", None)
    _acting.visitor = visitor
    try:
        yield
    finally:
        _acting.visitor = previous


def current_visitor() -> str:
    """Whose work this thread's work is (see :func:`_visitor`)."""
    return _visitor()


def _visitor() -> str:
    """Whose work this is: the visitor a background thread acts for, the signed-in user, else the browser session,
    else (outside the app) the thread."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    acting = getattr(_acting, "visitor", None)
    if acting is not None:
        return acting
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return f"thread-{threading.get_ident()}"
    try:
        owner = access.owner()
    except ClvError:  # signed out or refused: the page has stopped, but the session still names the work
        owner = "local"
    return owner if owner != "local" else f"session-{ctx.session_id}"


def _take(lock, message: str, max_wait_s: float | None = None) -> None:
    """Take ``lock``, telling the visitor why (``message``) when it is not free at once; after ``max_wait_s``
    (None: as long as it takes) they are asked to try again. Never leaves it taken on an error (a page stopped by
    its visitor raises from the notice's removal)."""
    if lock.acquire(blocking=False):
        return
    notice = _notice(message)
    taken = False
    try:
        taken = lock.acquire(timeout=-1 if max_wait_s is None else max_wait_s)
        if notice is not None:
            notice.empty()
        if not taken:
            raise ServerBusyError(
                f"The server stayed busy for {max_wait_s / 60:,.0f} minutes ({message}) Try again later."
            )
    except BaseException:
        if taken:
            lock.release()
        raise


def _notice(message: str):
    """Tell the visitor why nothing happens yet (only inside a page run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    import streamlit as st

    placeholder = st.empty()
    placeholder.info(message, icon=":material/hourglass_top:")
    return placeholder


_store: Store | None = None
_jobs: Jobs | None = None
_setup = threading.Lock()


def store() -> Store:
    """The process's one store, with the byte budget from the settings (read once)."""
    global _store
    if _store is None:
        with _setup:
            _store = _store or Store(budget_bytes=settings.limits().cache_bytes)
    return _store


def jobs() -> Jobs:
    """The process's heavy-job slots, as many as ``[limits] heavy_jobs`` (read once)."""
    global _jobs
    if _jobs is None:
        with _setup:
            _jobs = _jobs or Jobs(per_server=settings.limits().heavy_jobs)
    return _jobs


def clear() -> None:
    """Forget every shared result (tests start from nothing)."""
    store().clear()


def shared(*, spinner: str | None = None, heavy: str | None = None, ttl: float | None = None):
    """Decorator: one shared result per key (see the module notes). ``spinner`` is shown while it computes;
    ``heavy`` names the work for the heavy-job slots; ``ttl`` (seconds) lets a result expire."""

    def wrap(fn: Callable) -> Callable:
        name = f"{fn.__module__}.{fn.__qualname__}"
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            key = (name, *((k, v) for k, v in bound.arguments.items() if not k.startswith("_")))
            return store().compute(key, lambda: spinning(spinner, lambda: fn(*args, **kwargs)), heavy=heavy, ttl=ttl)

        return call

    return wrap


def spinning(text: str | None, fn: Callable[[], Any]) -> Any:
    """``fn()``, under a spinner saying ``text`` when on a page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if not text or get_script_run_ctx(suppress_warning=True) is None:
        return fn()
    import streamlit as st

    with st.spinner(text):
        return fn()
