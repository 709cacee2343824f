"""First visits of every page on the bundled sample, in Debian's Chromium, each on a fresh server.

Two ways a visitor arrives, each timed with background preparation off (the baseline, ``[limits] warm_up = false``)
and on (the default), in the same run:

* ``by URL``: the page's address is the first thing the fresh server is asked for (a bookmark, a shared link), the
  moment it answers, or once it has been up for a few seconds (a server is seldom visited the second it starts);
* ``after Data``: the visitor opens the app (the Data page), reads it for a few seconds, then clicks the page in the
  navigation, in the same session, as most visits go;
* ``after an upload``: (the CLV forecast page only) the visitor uploads a date-sorted export with integer ids on
  the Data page (``--upload-rows``, 1,000,000 by default, from benchmarks/generate.py), waits for it to load, and
  clicks the page at once: its model work on a real size, started by the upload;
* ``returning``: by URL once the server has been up for a few seconds, from a browser that opened the app before
  (on an earlier server at the same address): Streamlit's scripts are in its cache (they are served as immutable
  for a year), so it does not fetch and compile them again. Every other arrival starts from an empty browser cache,
  a visitor's very first Streamlit page.

Per page: seconds until its title shows ("paint"), until its first figure (a card, table or chart: what a visitor
reads first) and until its last section is drawn and the script run has ended ("complete").

Usage: python benchmarks/bench_first_visits.py [--read-seconds 5] [--pages forecast validation] [--upload-rows 1000000]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, FLAGS, _free_port, running_app  # noqa: E402

#: url path -> (navigation title, the whole text of the page's last section heading or tab)
PAGES = {
    "": ("Overview", "Are newer cohorts worth more?"),
    "data": ("Data", "Preview"),
    "cohorts": ("Cohorts", "Projected cumulative revenue per customer"),
    "rfm": ("RFM & lifecycle", "Lifecycle stages"),
    "survival": ("Survival", "Survival-based CLV"),
    "forecast": ("CLV forecast", "Top customers"),
    "validation": ("Model validation", "The ML challenger"),
    "segments": ("Segments & export", "Customer list"),
}


@contextlib.contextmanager
def fresh_server(warm_up: bool, port: int | None = None):
    secrets = Path(tempfile.mkdtemp(prefix="clv-bench-secrets-")) / "secrets.toml"
    secrets.write_text(f"[limits]\nwarm_up = {'true' if warm_up else 'false'}\n", encoding="utf-8")
    with running_app("--secrets.files", str(secrets), port=port) as url:  # the browser tests' server, as make run
        yield url


#: What a visitor first reads on a page: a figure card, a table or a chart in the main area.
CONTENT = ", ".join(
    f'[data-testid="stMain"] [data-testid="{kind}"]' for kind in ("stMetric", "stDataFrame", "stPlotlyChart")
)


def _until_drawn(page, path: str, start: float) -> tuple[float, float, float]:
    """Seconds until the page's title, its first figure (card, table or chart), and its last section with the run
    ended."""
    title, last = PAGES[path]
    page.locator("h1").filter(has_text=title).first.wait_for(timeout=180_000)
    first = time.monotonic() - start
    page.locator(CONTENT).filter(visible=True).first.wait_for(timeout=180_000)
    content = time.monotonic() - start
    page.get_by_text(last, exact=True).filter(visible=True).first.wait_for(timeout=180_000)
    page.wait_for_timeout(100)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=180_000)
    return first, content, time.monotonic() - start


def by_url(browser, path: str, warm_up: bool, after_s: float = 0.0) -> tuple[float, float, float]:
    with fresh_server(warm_up) as url:
        time.sleep(after_s)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        start = time.monotonic()
        page.goto(f"{url}/{path}")
        out = _until_drawn(page, path, start)
        context.close()
        return out


def returning(browser, path: str, warm_up: bool, after_s: float) -> tuple[float, float, float]:
    """By URL at a fresh server up ``after_s`` seconds, from a browser whose cache holds the app's scripts: it saw
    this page on an earlier server at the same address."""
    port = _free_port()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    with fresh_server(warm_up, port) as url:
        page = context.new_page()
        page.goto(f"{url}/{path}")
        _until_drawn(page, path, time.monotonic())
        page.close()
    with fresh_server(warm_up, port) as url:
        time.sleep(after_s)
        page = context.new_page()
        start = time.monotonic()
        page.goto(f"{url}/{path}")
        out = _until_drawn(page, path, start)
    context.close()
    return out


def after_data(browser, path: str, warm_up: bool, read_seconds: float) -> tuple[float, float, float]:
    with fresh_server(warm_up) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{url}/data")
        _until_drawn(page, "data", time.monotonic())
        page.wait_for_timeout(read_seconds * 1000)
        start = time.monotonic()
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text=PAGES[path][0]).first.click()
        out = _until_drawn(page, path, start)
        context.close()
        return out


def after_upload(browser, path: str, warm_up: bool, file: Path, started_s: float) -> tuple[float, float, float]:
    """The visitor uploads ``file`` on the Data page of a server up ``started_s`` seconds, waits until it is loaded
    (the sidebar names it), then clicks the page; timed from the click."""
    with fresh_server(warm_up) as url:
        time.sleep(started_s)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{url}/data")
        _until_drawn(page, "data", time.monotonic())
        page.get_by_text("Upload a file").click()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(file))
        page.locator('[data-testid="stSidebar"]').get_by_text(file.name, exact=True).wait_for(timeout=600_000)
        page.wait_for_timeout(100)
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=600_000)
        start = time.monotonic()
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text=PAGES[path][0]).first.click()
        out = _until_drawn(page, path, start)
        context.close()
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--read-seconds", type=float, default=5.0, help="time on the Data page before the click")
    parser.add_argument("--started-seconds", type=float, default=15.0, help="server up this long before a visit")
    parser.add_argument("--pages", nargs="*", default=list(PAGES), help="url paths ('' is the Overview)")
    parser.add_argument("--upload-rows", type=int, default=1_000_000, help="rows of the upload (0: no upload)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    upload = None
    if args.upload_rows and "forecast" in args.pages:
        import generate

        upload = generate.write(args.upload_rows, ROOT / "benchmarks" / "data", csv=True, shape="date-int")["csv"]

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for path in args.pages:
            off = by_url(browser, path, warm_up=False)
            on = by_url(browser, path, warm_up=True)
            rows.append(("by URL, at once", PAGES[path][0], off, on))
            off = by_url(browser, path, False, args.started_seconds)
            on = by_url(browser, path, True, args.started_seconds)
            rows.append((f"by URL, {args.started_seconds:g} s up", PAGES[path][0], off, on))
            off = returning(browser, path, False, args.started_seconds)
            on = returning(browser, path, True, args.started_seconds)
            rows.append((f"returning, {args.started_seconds:g} s up", PAGES[path][0], off, on))
            if path:
                off = after_data(browser, path, False, args.read_seconds)
                on = after_data(browser, path, True, args.read_seconds)
                rows.append((f"after Data ({args.read_seconds:g} s)", PAGES[path][0], off, on))
            if path == "forecast" and upload is not None:
                off = after_upload(browser, path, False, upload, args.started_seconds)
                on = after_upload(browser, path, True, upload, args.started_seconds)
                rows.append((f"after {args.upload_rows:,}-row upload", PAGES[path][0], off, on))
            print(f"  measured {PAGES[path][0]}", file=sys.stderr, flush=True)
        browser.close()
    head = ("arrival", "page", "paint off", "figure off", "complete off", "paint on", "figure on", "complete on")
    print("First visits on the CDNOW sample (or the upload), fresh server each; preparation off (baseline) vs on (s):")
    print("paint = the page's title, figure = its first card, table or chart, complete = every section drawn")
    print(f"{head[0]:<26} {head[1]:<18} " + " ".join(f"{h:>12}" for h in head[2:]) + f" {'complete off/on':>16}")
    for arrival, name, off, on in rows:
        ratio = off[2] / on[2] if on[2] else float("nan")
        figures = " ".join(f"{v:>12.1f}" for v in (*off, *on))
        print(f"{arrival:<26} {name:<18} {figures} {ratio:>15.1f}x")


if __name__ == "__main__":
    main()
