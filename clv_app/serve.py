"""Start the app: ``python -m clv_app.serve [streamlit options]`` is ``streamlit run app.py [options]``, plus the
bundled sample prepared as soon as the server answers, before anyone visits.

Streamlit runs ``app.py`` only when a browser opens a session, so a fresh server would otherwise import the
libraries, read and clean the sample and fit its models while the first visitor waits for their first page. Here
a background thread does that as the server starts (:func:`clv_app.session.prepare_default`: the default
sample's analysis under the default settings, through the same shared store a session uses), so the first visit
finds it done. ``make run`` starts the app this way; ``[limits] warm_up = false`` turns the preparation off, and
``streamlit run app.py`` still works, without it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import sys
import threading
import time
from pathlib import Path


def app_path() -> Path:
    """``app.py`` of this checkout, or the copy an installed wheel carries (package ``clv_studio_site``, with its
    pages/, .streamlit/config.toml and assets/ beside it: Streamlit reads the config next to the script)."""
    checkout = Path(__file__).resolve().parent.parent / "app.py"
    if checkout.exists():
        return checkout
    spec = importlib.util.find_spec("clv_studio_site")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("error: the app's files (app.py, pages/) are not installed; reinstall clv-studio.")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


APP = app_path()
_log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    threading.Thread(target=prepare_when_served, name="clv-preload", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


def prepare_when_served(timeout_s: float = 300.0) -> bool:
    """Once the server runs (its options and secrets read), prepare the default sample; whether it was started."""
    from streamlit.runtime import Runtime, RuntimeState

    serving = (RuntimeState.NO_SESSIONS_CONNECTED, RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED)
    deadline = time.monotonic() + timeout_s
    try:  # while the server starts (preparation on or off: every page needs them), not when the first page asks
        _import_models()
    except Exception:  # the first page imports them itself, and says what failed
        _log.exception("the models could not be imported as the server started")
    while not (Runtime.exists() and Runtime.instance().state in serving):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    _check_for_a_repl()
    from clv_app import warmup

    if not warmup.enabled():  # off: no data read or model fitted ahead (short of memory; the benchmark baseline)
        return False
    from clv_app import session  # with the pages' libraries: the first page no longer waits for their import
    from clv_core import charts  # noqa: F401  (plotly)

    try:
        session.prepare_default()
    except Exception:  # never take the server down; the first page loads the sample itself and says what failed
        _log.exception("the bundled sample could not be prepared as the server started")
        return False
    return True


def _check_for_a_repl() -> None:
    """Streamlit checks once per process, as the first element is sent, whether it runs in a Python REPL (to say how
    to run an app), with ``inspect.stack()`` of the sending thread, which reads the source of every frame: 0.3-0.45 s
    of the first visitor's page on 2 cores (a py-spy profile of a first visit). Done here instead, from this
    shallow thread, once the server runs (so the check finds a runtime and says nothing); a Streamlit without the
    check is left as it is."""
    with contextlib.suppress(ImportError, AttributeError):
        from streamlit.delta_generator import _maybe_print_use_warning

        _maybe_print_use_warning()


def _import_models() -> None:
    """Import the analysis and its libraries (pandas, scipy, lifetimes, lifelines, plotly: 1.5-3 s on 2 cores),
    which every page needs and which need no server: as the server starts, not when the first page asks."""
    # Streamlit compiles its emoji pattern (every emoji there is, one regex: 0.5 s on a loaded 2-core machine) when
    # the first message with an icon is drawn, in the first visitor's page
    import streamlit.emojis  # noqa: F401

    import clv_core.analysis
    import clv_core.charts
    import clv_core.ingest  # noqa: F401

    # not scikit-learn (0.3 s): the ML challenger and the value at first purchase load it when the background
    # preparation reaches them, seconds later, rather than before the first page can run


if __name__ == "__main__":
    main()
