"""One visitor's large job does not hold the server: a second visitor's pages open while it runs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import wait_for_run
from tests.e2e.test_browser import metric, upload

pytestmark = pytest.mark.e2e
ROWS = 5_000_000


def large_export(path) -> None:
    """A date-sorted export with integer ids, as real ones come: 5M rows, about 120 MB."""
    rng = np.random.default_rng(3)
    days = np.sort(rng.integers(0, 730, ROWS))
    frame = pd.DataFrame(
        {
            "customer_id": rng.integers(1, 1_500_000, ROWS),
            "date": (np.datetime64("2023-01-01") + days.astype("timedelta64[D]")).astype(str),
            "amount": rng.integers(100, 20_000, ROWS) / 100,
        }
    )
    frame.to_csv(path, index=False)


def test_a_second_visitors_pages_open_while_the_first_loads_a_large_file(browser, server, tmp_path):
    path = tmp_path / "large-export.csv"
    large_export(path)
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pages.append(context.new_page())
        pages[-1].set_default_timeout(240_000)
    first, second = pages
    second.goto(server)  # the second visitor is on the sample already (the Overview)
    second.get_by_text("Customers", exact=True).first.wait_for()
    wait_for_run(second)

    upload(first, server, path)
    busy = first.get_by_text(re.compile(r"^(Reading|Loading) large-export\.csv$"))
    busy.first.wait_for()  # the first visitor's job is running

    second.goto(f"{server}/cohorts")
    second.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    wait_for_run(second)
    assert second.locator('[data-testid="stException"]').count() == 0
    done_while_busy = busy.count() > 0
    assert done_while_busy, "the first visitor's job had finished before the second visitor's page opened"

    first.get_by_text(re.compile(r"^Loading large-export\.csv: done in")).wait_for()
    wait_for_run(first)
    assert metric(first, "Rows read") == f"{ROWS:,}"
    for page in pages:
        page.context.close()
