"""Two people on one server with look-alike files: each sees only their own numbers, lists and downloads.

The files have the same 60,000-row shape and differ only in ten rows in the middle, which a cache keyed on a
sample of a DataFrame's rows would miss (Streamlit hashes only a sample of a large frame). The app keys its
caches on the file bytes, so each session must get its own results.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from clv_core.currency import NONE
from tests.e2e.conftest import wait_for_run
from tests.e2e.test_browser import metric, upload

pytestmark = pytest.mark.e2e
ROWS, SPECIAL = 60_000, range(30_000, 30_010)


def history(tag: str, amount: float) -> pd.DataFrame:
    rng = np.random.default_rng(7)  # the same base rows for both files
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in rng.integers(0, 20_000, ROWS)],
            "date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, ROWS), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "amount": rng.integers(100, 5_000, ROWS) / 100,
        }
    )
    frame.loc[list(SPECIAL), ["customer_id", "date", "amount"]] = [
        (f"{tag}-{k}", "2024-12-20", amount) for k in range(10)
    ]
    return frame


def quarter_revenue(frame: pd.DataFrame) -> float:
    dates = pd.to_datetime(frame["date"])
    return float(frame.loc[dates >= pd.Timestamp("2024-10-01"), "amount"].sum())


def revenue_card(value: float) -> str:
    """The Revenue card's figure for these files: plain numbers, as nothing in them names a currency."""
    return NONE.amount(value, compact=True)


def open_page(page, name: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(name, exact=True).click()
    wait_for_run(page)


def download_ids(page, button: re.Pattern) -> set[str]:
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    return set(pd.read_csv(download.value.path(), encoding="utf-8-sig", dtype={"customer_id": str})["customer_id"])


def test_two_sessions_with_look_alike_files_never_see_each_others_data(browser, server, tmp_path):
    files = {"ALPHA": history("ALPHA", 900.0), "BRAVO": history("BRAVO", 700.0)}
    revenues = {revenue_card(quarter_revenue(f)) for f in files.values()}
    assert len(revenues) == 2  # the cards can tell the files apart
    pages = {}
    for tag, frame in files.items():  # both sessions load before either looks at a result
        path = tmp_path / f"orders-{tag.lower()}.csv"  # different names would not matter: the content decides
        frame.to_csv(path, index=False)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(300_000)
        upload(page, server, path)
        pages[tag] = page
    for page in pages.values():
        page.get_by_text("Dates read as ISO 8601").wait_for()
        wait_for_run(page)
        assert metric(page, "Rows read") == f"{ROWS:,}"

    for tag, page in pages.items():
        other = "BRAVO" if tag == "ALPHA" else "ALPHA"
        ids = download_ids(page, re.compile("Download all cleaned transactions"))
        assert {f"{tag}-{k}" for k in range(10)} <= ids and not any(i.startswith(other) for i in ids)

        open_page(page, "Overview")
        assert metric(page, "Revenue") == revenue_card(quarter_revenue(files[tag]))

        open_page(page, "Segments & export")
        page.get_by_text("Customer list").wait_for()
        wait_for_run(page)
        ids = download_ids(page, re.compile(r"Download CSV \("))
        assert {f"{tag}-{k}" for k in range(10)} <= ids and not any(i.startswith(other) for i in ids)
    for page in pages.values():
        page.context.close()
