"""``streamlit run`` with a probe, for benchmarks/bench_load.py: how many sessions the server still holds.

Resident memory alone cannot say whether closed sessions are freed (Python keeps freed memory for reuse). On
SIGUSR1 this server appends one line to the file named by ``CLV_PROBE_FILE``: the number of live AppSession
objects after a full collection. Usage: python benchmarks/_probe_server.py app.py [streamlit options]
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading


def _count_sessions() -> None:
    from streamlit.runtime.app_session import AppSession

    gc.collect()
    alive = sum(1 for o in gc.get_objects() if isinstance(o, AppSession))
    with open(os.environ["CLV_PROBE_FILE"], "a", encoding="utf-8") as out:
        out.write(f"{alive}\n")


def main() -> None:
    signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=_count_sessions).start())
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
