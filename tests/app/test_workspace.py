"""Nothing is lost on refresh: uploads are kept with their options, reopened from the list or the address, deleted."""

from __future__ import annotations

import sqlite3

from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, text_of, upload

ROWS = ["customer_id,date,amount"] + [f"c{i % 40},2024-0{1 + i % 6}-{10 + i % 9},{5 + i % 7}" for i in range(240)]
ROWS += ["c1,2024-06-25,-3", "c2,2024-06-26,-4"]  # refunds: netted by default, kept as rows when chosen
CSV = "\n".join(ROWS).encode()


def sidebar(at: AppTest) -> str:
    text = "\n".join(str(e.value) for kind in ("markdown", "caption") for e in getattr(at.sidebar, kind))
    return text.replace("\\", "")  # markdown escapes


def fresh(**params) -> AppTest:
    """A new session, as after a refresh of the Data page (same server, same workspace)."""
    at = AppTest.from_file(APP, default_timeout=300)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/data.py")
    return at.run()


def test_an_upload_survives_a_refresh_with_its_options(app):
    upload(app, "shop.csv", CSV)
    app.selectbox(key="opt-returns").set_value("keep").run()
    assert not app.exception, app.exception
    assert "242 transactions" in sidebar(app)  # the two refunds kept as rows
    link = app.query_params["dataset"]
    link = link[0] if isinstance(link, list) else link

    again = fresh(dataset=link)  # the refreshed page carries the saved dataset's id
    assert not again.exception, again.exception
    assert "shop.csv" in sidebar(again) and "242 transactions" in sidebar(again)
    again.switch_page("pages/overview.py").run()
    assert not again.exception and any(m.label == "Customers" and m.value == "40" for m in again.metric)


def test_recent_datasets_reopen_without_uploading_and_can_be_deleted(app):
    upload(app, "shop.csv", CSV)
    assert not app.exception

    other = fresh()  # a new session opens on the sample, and lists what was loaded before
    assert "CDNOW" in sidebar(other)
    other.radio(key="data-source").set_value("Recent datasets").run()
    saved = other.selectbox(key="data-saved")
    assert len(saved.options) == 1 and saved.options[0].startswith("shop.csv · 40 customers · 240 rows")
    assert saved.value is None and "CDNOW" in sidebar(other)  # nothing opens until chosen
    saved.select_index(0).run()
    assert not other.exception, other.exception
    assert "shop.csv" in sidebar(other) and "dataset" in other.query_params

    assert not other.get("button") or all(b.key != "data-saved-delete" for b in other.button)  # asks first
    other.button(key="data-saved-ask").click().run()
    question = "\n".join(str(m.value) for m in other.markdown).replace("\\", "")
    assert "Delete shop.csv from Recent datasets? It is gone for everyone using this app without sign-in" in question
    other.button(key="data-saved-keep").click().run()  # changed their mind: nothing happens
    assert "shop.csv" in other.selectbox(key="data-saved").options[0]
    other.button(key="data-saved-ask").click().run()
    other.button(key="data-saved-delete").click().run()
    assert not other.exception
    assert any("Nothing saved yet" in i.value for i in other.info)
    assert any("Deleted shop.csv from Recent datasets" in m.value.replace("\\", "") for m in other.success)
    assert "shop.csv" in sidebar(other)  # what is open stays open
    assert "dataset" not in other.query_params  # a refresh now opens the sample: the file is gone

    gone = fresh(dataset="0123456789abcdef")  # a link to a deleted dataset: the sample, no error
    assert not gone.exception and "CDNOW" in sidebar(gone)


def test_a_full_workspace_keeps_the_dataset_open_and_says_why_it_is_not_kept():
    at = AppTest.from_file(APP, default_timeout=300)
    at.secrets["limits"] = {"workspace_quota_mb": 0.001}  # 1 KB: the 3 KB file does not fit
    at.run()
    upload(at, "shop.csv", CSV)
    assert not at.exception and not at.error
    warning = "\n".join(w.value for w in at.warning)
    assert "Not kept in Recent datasets" in warning and "does not fit in your workspace" in warning
    assert "shop.csv" in sidebar(at) and "dataset" not in at.query_params  # open, but no link to a saved copy
    at.radio(key="data-source").set_value("Recent datasets").run()
    assert "0 bytes of 1.0 KB used" in text_of(at)


def test_a_damaged_saved_dataset_is_named_not_a_crash_and_can_be_removed(app, own_workspace):
    upload(app, "shop.csv", CSV)
    with sqlite3.connect(own_workspace / "workspace.sqlite") as db:
        db.execute("UPDATE datasets SET mapping = 'null'")
    other = fresh()
    other.radio(key="data-source").set_value("Recent datasets").run()
    assert not other.exception, other.exception
    assert any("cannot be read and is not listed" in w.value for w in other.warning)
    other.button(key="data-saved-purge").click().run()
    assert not other.exception and not other.warning
    assert any("Nothing saved yet" in i.value for i in other.info)


def test_an_upload_over_the_servers_row_limit_is_refused_with_the_limit_and_the_sample_stays():
    at = AppTest.from_file(APP, default_timeout=300)
    at.secrets["limits"] = {"max_rows": 200}
    at.run()
    upload(at, "shop.csv", CSV)  # 242 rows
    assert not at.exception
    assert "Up to 200 MB and 200 rows" in at.get("file_uploader")[0].label
    assert any("242 rows, more than 200 rows, the row limit here" in e.value for e in at.error)
    assert "CDNOW" in sidebar(at)  # the bundled sample is not held to the visitors' limit
