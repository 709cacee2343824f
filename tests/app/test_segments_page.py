"""Segments & export page through AppTest: segment table, budget, filters and a download that matches the count."""

from __future__ import annotations

import json
import re

import pytest

from clv_core import segments
from tests.conftest import amount, unescaped


def test_segments_page_filters_and_exports_the_rows_it_shows(app):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/segments.py").run()
    assert not app.exception, app.exception
    assert "total_lower" not in app.dataframe[0].value.columns  # the page opens at once: intervals on request
    app.toggle(key="seg-intervals").set_value(True).run()
    summary = app.dataframe[0].value
    assert summary["customers"].sum() == 2357
    # each segment's total with its bootstrap interval, in the table and in words for the top segments
    assert (summary["total_lower"] < summary["total_upper"]).all()
    top = summary.loc["Top value"]
    words = f"Top value: 12-month value ${top['total CLV']:,.0f}, 90 % interval ${top['total_lower']:,.0f}–"
    assert any(words in unescaped(m.value) for m in app.markdown)
    split = next(d.value for d in app.dataframe if "marginal ROI" in d.value.columns)
    spend = amount(next(m.value for m in app.metric if m.label == "Spend"))
    assert split["budget"].sum() == pytest.approx(spend, abs=1) and spend <= 10_000 + 0.5
    margin = amount(next(m.value for m in app.metric if m.label == "Incremental margin"))
    assert margin == pytest.approx(split["incremental margin"].sum(), abs=1)
    spending = split["budget"] > 0
    marginal = split.loc[spending, "marginal ROI"]
    assert marginal.max() - marginal.min() < 1e-6 and marginal.min() >= 1 - 1e-9  # equal, and none at a loss
    assert (split.loc[spending, "average ROI"] > marginal).all()
    app.multiselect(key="seg-f-group").set_value(["Top value"]).run()
    count = int(next(m.value for m in app.metric if m.label == "Customers in the list").replace(",", ""))
    assert count == 118
    csv = next(b for b in app.get("download_button") if b.proto.label.startswith("Download CSV"))
    assert "(118 rows)" in csv.proto.label
    labels = [b.proto.label for b in app.get("download_button")]
    assert "Assumptions of this list (JSON)" in labels  # beside the list: how its numbers were made
    assert any("a year compounded continuously" in c.value for c in app.caption)
    assert not app.warning
    app.slider(key="horizon").set_value(36).run()
    assert any("36 months is past the 18 months of history" in w.value for w in app.warning)


def test_the_budget_stops_where_spend_stops_paying_and_risk_moves_it(app):
    """The budget split on CDNOW: a large budget is not all spent (the page says where to stop and how much to
    keep); with risk aversion the bootstrap refits' covariance gives a spread, no larger than the risk-neutral
    split's; an impossible assumption (extra response above the saturation) is named, not a crash."""
    app.switch_page("pages/segments.py").run()
    app.number_input(key="seg-budget").set_value(10_000_000).run()
    assert not app.exception, app.exception
    stop = next(m.value for m in app.markdown if m.value.startswith("**Stop at "))
    assert "of the budget is better kept" in stop
    assert len(app.get("plotly_chart")) >= 3  # value matrix, response curves, return by budget
    app.slider(key="seg-risk").set_value(1.0).run()
    assert not app.exception, app.exception
    spread = amount(next(m.value for m in app.metric if m.label == "Spread of the margin"))
    assert spread > 0 and "Risk aversion spends less still." in next(
        m.value for m in app.markdown if m.value.startswith("**Stop at ")
    )


def test_segments_page_bad_thresholds_say_so(app):
    app.switch_page("pages/segments.py").run()
    app.number_input(key="seg-cut-1").set_value(99).run()
    assert not app.exception and len(app.error) == 1 and "must rise" in app.error[0].value


def test_migration_section_shows_the_matrix_and_who_moved_down(app):
    import datetime as dt

    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/segments.py").run()
    # closed, the section refits nothing and draws nothing
    assert not any(d.key == "mig-a" for d in app.date_input)
    app.session_state["seg-migration"] = True
    app.run()
    app.date_input(key="mig-a").set_value(dt.date(1997, 12, 31)).run()
    assert not app.exception
    assert any(re.search(r"Moved up [\d,]+, down [\d,]+", c.value) for c in app.caption)
    assert any(m.value.startswith("**Customers who moved down**") for m in app.markdown)
    # the tables say which snapshot each group is from, not "Group a" / "Group b"
    labels = [{k: c.get("label") for k, c in json.loads(d.proto.columns or "{}").items()} for d in app.dataframe]
    matrix = next(lab for lab in labels if lab.get("_index") == "On 1997-12-31")
    assert [matrix[g] for g in segments.VALUE_GROUPS] == ["Top", "High", "Middle", "Low", "Lowest"]
    moved = next(lab for lab in labels if "group_a" in lab)
    assert (moved["group_a"], moved["group_b"]) == ("Value group on 1997-12-31", "Value group on 1998-06-30")
    sankey = next(json.loads(c.proto.spec) for c in app.get("plotly_chart") if '"sankey"' in c.proto.spec)
    assert "1997-12-31" not in "".join(sankey["data"][0]["node"]["label"])  # dated once per side, not per node
    assert {a["text"] for a in sankey["layout"]["annotations"]} == {"1997-12-31", "1998-06-30"}
    app.session_state["seg-migration"] = False  # closed and opened again: the chosen date stays
    app.run()
    assert not any(d.key == "mig-a" for d in app.date_input)
    app.session_state["seg-migration"] = True
    app.run()
    assert app.date_input(key="mig-a").value == dt.date(1997, 12, 31)
    app.date_input(key="mig-b").set_value(dt.date(1997, 6, 30)).run()
    assert any("must come before" in e.value for e in app.error)


def test_the_executive_report_can_be_downloaded(app):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/segments.py").run()
    app.toggle(key="seg-report").set_value(True).run()
    assert not app.exception
    button = next(b for b in app.get("download_button") if "executive report" in b.proto.label)
    assert button.proto.label == "Download the executive report (HTML)"


def test_any_rfm_by_p_alive_cell_is_an_action_list(app):
    import json

    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/segments.py").run()
    specs = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    chart = next(s for s in specs if "RFM segment × P(alive)" in s["layout"]["title"]["text"])
    heat = chart["data"][0]
    counts = {(y, x): heat["customdata"][i][j][0] for i, y in enumerate(heat["y"]) for j, x in enumerate(heat["x"])}
    assert sum(counts.values()) == 2357
    for segment, band in (("Champions", "P(alive) < 0.25"), ("Hibernating", "≥ 0.75")):
        app.selectbox(key="seg-cell-rfm").set_value(segment).run()
        app.selectbox(key="seg-cell-band").set_value(band).run()
        assert not app.exception
        n = int(counts[(segment, band)])
        said = next(m.value for m in app.markdown if "Suggested:" in m.value)
        assert f"{n:,} customers" in said
        if n:
            labels = [b.proto.label for b in app.get("download_button")]
            assert f"Action list as CSV ({n:,} rows)" in labels and "Action list assumptions (JSON)" in labels


def test_the_cards_lead_the_page_and_give_the_forecast_pages_numbers(app):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/segments.py").run()
    assert not app.exception, app.exception
    card = {m.label: m for m in app.metric}
    summary = app.dataframe[0].value
    assert card["Top value customers"].value == f"{summary['customers'].iloc[0]:,}"
    assert card["Top value customers"].proto.delta == f"{summary['share of value'].iloc[0]:.1%} of the value"
    assert card["Valuable customers slipping"].value == f"{summary['slipping'].sum():,}"
    assert summary["customers"].sum() == 2357
    # shares are sent rounded to the tenth of a percent shown (the browser's table cuts further digits off)
    thousandths = summary["share of value"] * 1000
    assert (thousandths - thousandths.round()).abs().max() < 1e-9
    value = card["Predicted value (12 mo)"].value
    assert amount(value) == pytest.approx(summary["total CLV"].sum(), abs=1)
    app.switch_page("pages/forecast.py").run()  # one story: the same figure as the forecast page's base value
    assert next(m.value for m in app.metric if m.label.startswith("Base value (12 mo")) == value


def test_every_value_column_on_the_segments_page_says_its_horizon(app):
    """Units on screen: a CLV column without its horizon is the mix-up this app exists to prevent."""
    import json

    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/segments.py").run()
    app.slider(key="horizon").set_value(24).run()
    app.toggle(key="seg-intervals").set_value(True).run()
    assert not app.exception
    checked = 0
    for frame in app.dataframe:
        labels = {k: v.get("label", k) for k, v in json.loads(frame.proto.columns or "{}").items()}
        numbers = frame.value.select_dtypes("number").columns
        for column in numbers:
            if "clv" in str(column).lower() or column in ("total_lower", "total_upper", "expected_purchases"):
                assert "24 mo" in labels.get(column, str(column)), (column, labels.get(column))
                checked += 1
    assert checked >= 8  # the segment table, the customer list and the action list


def test_the_customers_due_next_month_are_listed_with_their_dates(app):
    from clv_core.analysis import Analysis
    from clv_core.economics import Economics
    from clv_core.samples import sample_bytes
    from tests.conftest import load

    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/segments.py").run()
    assert not app.exception, app.exception
    due = Analysis(load(*sample_bytes("cdnow_sample")), time_unit="weeks").next_purchases(Economics()).due_within(30)
    assert any(s.value == "Due in the next 30 days" for s in app.subheader)
    assert next(m.value for m in app.metric if m.label == "Customers due") == f"{len(due):,}"
    listed = [d.value for d in app.dataframe if "next_purchase_date" in d.value.columns][-1]
    assert set(listed["customer_id"]) <= set(due["customer_id"]) and len(listed) == min(len(due), len(listed))
    assert listed["next_purchase_date"].is_monotonic_increasing  # soonest first
