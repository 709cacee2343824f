"""Many people on one server: 10 and 25 concurrent sessions touring every page on CDNOW master.

Starts the app on 127.0.0.1 (a free port; nothing outside this machine is contacted) and drives each session
with Streamlit's own websocket protocol, as a browser would: open a session, ask for a page, wait until the
script has finished. No browser is needed, so the 2 cores are spent on the server, and the time measured is the
server's: from asking for a page to the last message of that run.

It reports, per concurrency level: p50 / p95 / max page-run time, runs that raised an exception (must be 0),
the server's resident memory before, with the sessions open, and after they have closed, and the memory each
open session costs. Every page's expensive work is cached once per dataset for all sessions, so the first,
cold tour by one session is timed separately. The script stops by itself: each run has a deadline, the whole
benchmark has one, and the server is stopped at the end.

Usage: python benchmarks/bench_load.py [--sessions 10 25] [--rounds 2] [--think 0 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

warnings.filterwarnings("ignore", message=r"connect\(\) must be used as a context manager")
ROOT = Path(__file__).resolve().parent.parent
PAGES = ("data", "overview", "cohorts", "rfm", "survival", "forecast", "validation", "segments")
HOST = "127.0.0.1"
RUN_DEADLINE = 120.0  # seconds one page run may take before the benchmark gives up
TOTAL_DEADLINE = 1500.0  # the whole benchmark
SESSION_TTL = 2  # seconds the server keeps a closed session for a reconnect (default 120: set short to measure)


@dataclass
class Session:
    """One user: a websocket to the server, the run times it saw and the exceptions its pages raised."""

    url: str
    origin: str
    times: list[float] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.ws = connect(
            self.url, subprotocols=["streamlit"], origin=self.origin, max_size=None, open_timeout=30, compression=None
        )

    def visit(self, page: str) -> float:
        """Ask for ``page`` and wait until its script run has finished; return the seconds it took."""
        msg = BackMsg()
        msg.rerun_script.page_name = page
        msg.rerun_script.query_string = ""
        start = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        while True:
            remaining = RUN_DEADLINE - (time.perf_counter() - start)
            if remaining <= 0:
                raise TimeoutError(f"page {page} did not finish within {RUN_DEADLINE:.0f} s")
            forward = ForwardMsg()
            forward.ParseFromString(self.ws.recv(timeout=remaining))
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.new_element.WhichOneof("type") == "exception":
                self.exceptions.append(f"{page}: {forward.delta.new_element.exception.message[:200]}")
            if kind == "script_finished":
                if forward.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                elapsed = time.perf_counter() - start
                self.times.append(elapsed)
                return elapsed

    def tour(self, rounds: int, think: float = 0.0) -> None:
        """Visit every page ``rounds`` times, pausing ``think`` seconds on each (a person reading it)."""
        for _ in range(rounds):
            for page in PAGES:
                self.visit(page)
                time.sleep(think)

    def close(self) -> None:
        self.ws.close()


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


PROBE = Path(tempfile.gettempdir()) / f"clv-bench-load-{os.getpid()}.txt"


def start_server(port: int) -> subprocess.Popen:
    PROBE.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "_probe_server.py"),  # streamlit run, plus a count of sessions on SIGUSR1
        str(ROOT / "app.py"),
        f"--server.address={HOST}",
        f"--server.port={port}",
        "--server.headless=true",
        f"--server.disconnectedSessionTTL={SESSION_TTL}",
        "--browser.gatherUsageStats=false",
    ]
    env = {**os.environ, "CLV_PROBE_FILE": str(PROBE)}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError(f"the server did not start: {server.stderr.read()[-2000:] if server.stderr else ''}")


def sessions_held(pid: int) -> int:
    """Sessions (AppSession objects) alive in the server, open or kept for a reconnect."""
    before = PROBE.read_text().count("\n") if PROBE.exists() else 0
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = PROBE.read_text().splitlines() if PROBE.exists() else []
        if len(lines) > before:
            return int(lines[-1])
        time.sleep(0.2)
    raise TimeoutError("the server did not answer the session probe")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def settle(pid: int, seconds: float) -> float:
    """Resident memory once it has stopped falling (sessions are cleaned up after their TTL)."""
    time.sleep(seconds)
    last = rss_mb(pid)
    for _ in range(10):
        time.sleep(1)
        now = rss_mb(pid)
        if abs(now - last) < 1:
            break
        last = now
    return now


def wave(url: str, origin: str, count: int, rounds: int, think: float, pid: int) -> dict:
    """``count`` sessions connect at once and tour every page ``rounds`` times; memory before, during, after."""
    before = settle(pid, 0)
    sessions = [Session(url, origin) for _ in range(count)]
    errors: list[str] = []
    barrier = threading.Barrier(count)

    def run(session: Session) -> None:
        barrier.wait()
        try:
            session.tour(rounds, think)
        except Exception as exc:  # reported in the table, the benchmark goes on
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    open_mb = rss_mb(pid)
    for s in sessions:
        s.close()
    after = settle(pid, SESSION_TTL + 3)
    held = sessions_held(pid)
    times = [t for s in sessions for t in s.times]
    return {
        "sessions": count,
        "think": think,
        "runs": len(times),
        "p50": statistics.median(times) if times else float("nan"),
        "p95": percentile(times, 0.95) if times else float("nan"),
        "max": max(times, default=float("nan")),
        "wall": wall,
        "exceptions": [e for s in sessions for e in s.exceptions] + errors,
        "before": before,
        "open": open_mb,
        "after": after,
        "held": held,
        "per_session": (open_mb - before) / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 25])
    parser.add_argument("--rounds", type=int, default=2, help="tours of all 8 pages per session")
    parser.add_argument(
        "--think",
        type=float,
        nargs="+",
        default=[0.0, 2.0],
        help="seconds each session pauses on a page before the next (0: back-to-back, the worst case)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="after the table, the largest wave again this many times: memory must level off, not grow per wave",
    )
    args = parser.parse_args()
    port = free_port()
    url, origin = f"ws://{HOST}:{port}/_stcore/stream", f"http://{HOST}:{port}"
    started = time.monotonic()
    timer = threading.Timer(TOTAL_DEADLINE, lambda: os._exit(3))  # stops by itself whatever happens
    timer.daemon = True
    timer.start()
    server = start_server(port)
    try:
        idle = settle(server.pid, 1)
        first = Session(url, origin)
        first.tour(1)  # cold: fits, precomputes and backtests are computed once, for every later session
        warm = Session(url, origin)
        warm.tour(1)
        first.close()
        warm.close()
        print(f"CDNOW master (23,570 customers), {os.cpu_count()} cores, server on {HOST}:{port}")
        print(f"server idle {idle:,.0f} MB; first (cold) tour of the {len(PAGES)} pages by one session:")
        print("  " + ", ".join(f"{p} {t:.2f} s" for p, t in zip(PAGES, first.times, strict=True)))
        alone = ", ".join(f"{p} {t:.2f} s" for p, t in zip(PAGES, warm.times, strict=True))
        print(f"  one session alone, warm: {alone}")
        print()
        header = (
            "| sessions | pause per page | page runs | p50 | p95 | max | wall | exceptions "
            "| server MB before → with sessions → after close | MB per open session | sessions held after close |"
        )
        print(header)
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
        results = []
        for think in args.think:
            for count in args.sessions:
                r = wave(url, origin, count, args.rounds, think, server.pid)
                results.append(r)
                print(
                    f"| {r['sessions']} | {r['think']:g} s | {r['runs']} | {r['p50']:.2f} s | {r['p95']:.2f} s "
                    f"| {r['max']:.2f} s | "
                    f"{r['wall']:.1f} s | {len(r['exceptions'])} | {r['before']:,.0f} → {r['open']:,.0f} → "
                    f"{r['after']:,.0f} | {r['per_session']:.1f} | {r['held']} |",
                    flush=True,
                )
        if args.repeat:
            count = max(args.sessions)
            levels = [settle(server.pid, 0)]
            for _ in range(args.repeat):
                r = wave(url, origin, count, args.rounds, 0.0, server.pid)
                results.append(r)
                levels.append(r["after"])
            steps = " → ".join(f"{m:,.0f}" for m in levels)
            p95s = ", ".join(f"{r['p95']:.2f}" for r in results[-args.repeat :])
            print(
                f"\nthe {count}-session wave {args.repeat} more times, server MB after each has closed: {steps} "
                f"(growth per wave {(levels[-1] - levels[0]) / args.repeat:+.1f} MB; "
                f"p95 {p95s} s)"
            )
            # Closed sessions are kept disconnectedSessionTTL seconds for a reconnect, and dropped when the session
            # store is next written to (cachetools' TTLCache expires lazily): one more visitor comes and goes.
            time.sleep(SESSION_TTL + 1)
            visitor = Session(url, origin)
            visitor.visit("overview")
            visitor.close()
            final = settle(server.pid, 2)
            print(
                f"after the TTL and one more visitor: {sessions_held(server.pid)} session(s) held (the visitor's, "
                f"kept for a reconnect), server {final:,.0f} MB; {results[0]['before']:,.0f} MB before the first wave "
                f"(every shared result computed), {idle:,.0f} MB idle"
            )
        for r in results:
            for e in r["exceptions"][:5]:
                print(f"  {r['sessions']} sessions: {e}")
        print(f"\ntotal {time.monotonic() - started:.0f} s")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        PROBE.unlink(missing_ok=True)
        gc.collect()


if __name__ == "__main__":
    main()
