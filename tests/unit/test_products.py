"""Several products (issue 23, point 1): categories, value by category, the adoption matrix, the next category and
the breadth evidence, on cases small enough to count by hand, and a simulation with a known hazard ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_core import products, survival
from clv_core.errors import ClvError
from clv_core.ingest import ingest


def load(rows: list[tuple]):
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "product"])
    return ingest(frame.to_csv(index=False).encode(), "t.csv")


def test_a_fine_product_column_keeps_the_top_revenue_values_and_pools_the_rest():
    rows = [(f"c{i}", "2024-01-01", 100.0 - i, f"sku{i:02d}") for i in range(15)]
    cats = products.categories(load(rows))
    assert cats.names == (*[f"sku{i:02d}" for i in range(9)], products.OTHER)
    assert cats.revenue[:, -1].sum() == sum(100.0 - i for i in range(9, 15))
    assert "15 values" in cats.note and "other 6" in cats.note


def test_no_product_column_says_what_to_map():
    tx = ingest(b"customer_id,date,amount\na,2024-01-01,5\n", "t.csv")
    assert not products.has_products(tx)
    with pytest.raises(ClvError, match="No product or category column is mapped"):
        products.categories(tx)


def test_adoption_counts_only_customers_who_could_still_adopt():
    """25 bought tea first; 10 of them bought a mug later (5 days after), 5 bought a mug the same day (not at
    risk: they had it already), 10 never did. So 10 of 20 = 50 %, median 5 days; mug → tea: the 5 same-day
    buyers and the 10 later ones had tea before or with their first mug, nobody could adopt it: no share."""
    rows = [(f"c{i}", "2024-01-01", 5.0, "tea") for i in range(25)]
    rows += [(f"c{i}", "2024-01-06", 8.0, "mug") for i in range(10)]
    rows += [(f"c{i}", "2024-01-01", 8.0, "mug") for i in range(10, 15)]
    matrix = products.adoption(products.categories(load(rows)))
    assert matrix.at_risk.loc["tea", "mug"] == 20 and matrix.adopted.loc["tea", "mug"] == 10
    assert matrix.share.loc["tea", "mug"] == 0.5 and matrix.median_days.loc["tea", "mug"] == 5
    low, high = products.wilson(10, 20)
    assert (matrix.low.loc["tea", "mug"], matrix.high.loc["tea", "mug"]) == (float(low), float(high))
    assert matrix.at_risk.loc["mug", "tea"] == 0 and np.isnan(matrix.share.loc["mug", "tea"])
    pairs = matrix.pairs()
    assert pairs[["bought first", "then bought", "customers who did"]].values.tolist() == [["tea", "mug", 10]]


def test_too_few_customers_at_risk_give_no_share():
    rows = [(f"c{i}", "2024-01-01", 5.0, "tea") for i in range(products.MIN_AT_RISK - 1)]
    rows += [("c0", "2024-02-01", 8.0, "mug")]
    matrix = products.adoption(products.categories(load(rows)))
    assert matrix.adopted.loc["tea", "mug"] == 1 and np.isnan(matrix.share.loc["tea", "mug"])


def test_the_next_category_is_the_most_adopted_one_not_yet_bought():
    """Of tea buyers, 60 % later bought a mug and 20 % a kettle: a tea-only customer's next is the mug; one with
    tea and a mug gets the kettle; one with all three gets none."""
    rows = [(f"c{i}", "2024-01-01", 5.0, "tea") for i in range(50)]
    rows += [(f"c{i}", "2024-02-01", 8.0, "mug") for i in range(30)]
    rows += [(f"c{i}", "2024-03-01", 20.0, "kettle") for i in range(20, 30)]
    cats = products.categories(load(rows))
    matrix = products.adoption(cats)
    assert matrix.share.loc["tea", "mug"] == 0.6 and matrix.share.loc["tea", "kettle"] == 0.2
    table = products.next_categories(cats, matrix)
    assert table.loc["c40", ["next_category", "next_category_chance", "categories_bought"]].tolist() == ["mug", 0.6, 1]
    assert table.loc["c0", "next_category"] == "kettle" and table.loc["c0", "categories_bought"] == 2
    assert table.loc["c25", "next_category"] == "" and np.isnan(table.loc["c25", "next_category_chance"])


def test_category_value_splits_each_customers_clv_by_what_they_spent():
    rows = [("a", "2024-01-01", 30.0, "tea"), ("a", "2024-02-01", 10.0, "mug"), ("a", "2024-03-01", 30.0, "tea")]
    rows += [("b", "2024-01-05", 50.0, "mug")]
    cats = products.categories(load(rows))
    clv = pd.Series({"a": 100.0, "b": 40.0})
    table = products.category_value(cats, clv).set_index("category")
    assert table.loc["tea", "predicted CLV"] == pytest.approx(100 * 60 / 70)
    assert table.loc["mug", "predicted CLV"] == pytest.approx(100 * 10 / 70 + 40)
    assert table["predicted CLV"].sum() == pytest.approx(clv.sum())
    assert table.loc["tea", "revenue"] == 60.0 and table.loc["mug", "customers"] == 2
    assert table.loc["tea", "repeat rate"] == 1.0 and table.loc["mug", "repeat rate"] == 0.0  # a: tea on two days
    assert table.loc["mug", "mean CLV of buyers"] == 70.0


def test_breadth_labels():
    assert products.breadth_label([1, 2, 3, 4, 9]).tolist() == [
        "1 category",
        "2 categories",
        "3 categories",
        "4+ categories",
        "4+ categories",
    ]


def simulated_breadth(hazard_ratio: float, seed: int = 5, customers: int = 1600):
    """Customers buy every 20 days until an exponential lifetime ends; half of them also buy a second category
    on day 10, and their lifetimes are ``hazard_ratio`` times as hazardous after day 90."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2022-01-01")
    rows = []
    for i in range(customers):
        broad = i % 2 == 0
        first = int(rng.integers(0, 200))
        life = 90 + rng.exponential(300 / (hazard_ratio if broad else 1.0))
        day = 0
        while day <= life and first + day <= 900:
            rows.append((f"c{i}", start + pd.Timedelta(days=first + day), 20.0, "beans"))
            day += 20
        if broad:
            rows.append((f"c{i}", start + pd.Timedelta(days=first + 10), 30.0, "grinder"))
    return load(rows)


def test_breadth_evidence_recovers_a_known_hazard_ratio():
    tx = simulated_breadth(0.5)
    cats = products.categories(tx)
    data = survival.survival_data(tx, survival.ChurnDefinition(60))
    evidence = products.breadth_evidence(cats, data)
    row = evidence.unadjusted
    assert row["lower 95%"] < 0.5 < row["upper 95%"] and row["upper 95%"] < 1
    assert "churned at 0." in evidence.sentence and "the rate of single-category customers" in evidence.sentence
    assert evidence.customers + evidence.excluded == tx.customers
    table = products.evidence_table(evidence)
    assert table["hazard ratio"].tolist() == [row["hazard ratio"], evidence.adjusted["hazard ratio"]]


def test_breadth_without_effect_is_called_indistinguishable():
    tx = simulated_breadth(1.0, seed=8)
    evidence = products.breadth_evidence(
        products.categories(tx), survival.survival_data(tx, survival.ChurnDefinition(60))
    )
    row = evidence.unadjusted
    if row["lower 95%"] < 1 < row["upper 95%"]:  # the usual case (95 % of seeds); this seed is one of them
        assert "not distinguishable" in evidence.sentence
    else:
        pytest.fail(f"seed 8 gave a significant ratio by chance: {row.to_dict()}")


def test_a_single_category_gives_a_sentence_not_a_comparison():
    rows = [(f"c{i}", f"2024-0{1 + m}-01", 5.0, "tea") for i in range(40) for m in range(6)]
    tx = load(rows)
    with pytest.raises(ClvError, match="not two groups"):
        products.breadth_evidence(products.categories(tx), survival.survival_data(tx, survival.ChurnDefinition(60)))
    assert products.adoption(products.categories(tx)).pairs().empty


def test_the_segments_export_and_the_report_carry_the_products_of_the_one_analysis(tmp_path):
    from clv_core.analysis import Analysis
    from clv_core.economics import Economics
    from clv_core.report import executive_report
    from clv_core.samples import sample_bytes
    from tests.conftest import load as load_sample
    from tests.conftest import run_cli

    data, name = sample_bytes("retail")
    (tmp_path / name).write_bytes(data)
    done = run_cli("segments", str(tmp_path / name), "--out", str(tmp_path / "s.csv"))
    assert done.returncode == 0, done.stderr
    exported = pd.read_csv(tmp_path / "s.csv", dtype={"customer_id": str}, keep_default_na=False).set_index(
        "customer_id"
    )
    analysis = Analysis(load_sample(data, name), time_unit="weeks")
    expected = analysis.customer_products()
    assert (exported["next_category"] == expected["next_category"].reindex(exported.index)).all()
    assert (exported["categories_bought"] == expected["categories_bought"].reindex(exported.index)).all()

    page = executive_report(analysis, label=name)
    section = page[page.index("<h2>Products</h2>") :].split("</section>")[0]
    value = analysis.category_value(Economics()).iloc[0]
    assert f"<td>{value['category']}</td>" in section and f"{value['revenue']:,.2f}" in section
    assert (
        analysis.breadth_evidence(survival.ChurnDefinition(analysis.suggested_threshold().days)).sentence.split(" (")[0]
        in section
    )


def test_nobody_is_told_a_next_category_that_no_one_like_them_ever_bought():
    """Subscribers who never buy anything else: 0 % of them went on to tea, so no suggestion (not tea at 0 %); the
    adoption chart leaves the diagonal blank and never shows NaN."""
    from clv_core import charts

    rows = [(f"c{i}", "2024-01-01", 5.0, "tea") for i in range(30)] + [
        (f"s{i}", "2024-01-02", 9.0, "club") for i in range(30)
    ]
    rows += [(f"c{i}", "2024-02-01", 9.0, "club") for i in range(6)]
    cats = products.categories(load(rows))
    matrix = products.adoption(cats)
    assert matrix.share.loc["club", "tea"] == 0 and matrix.share.loc["tea", "club"] == 0.2
    table = products.next_categories(cats, matrix)
    assert table.loc["s0", "next_category"] == "" and np.isnan(table.loc["s0", "next_category_chance"])
    assert table.loc["c10", "next_category"] == "club"
    heat = charts.adoption_heatmap(matrix).data[0]
    assert heat.text[0][0] == "" and heat.text[1][1] == "" and heat.text[0][1] in ("20%", "0%")
    assert not any("nan" in h.lower() for row in heat.hovertext for h in row)
    assert "median" not in heat.hovertext[list(matrix.names).index("club")][list(matrix.names).index("tea")]


def test_blank_products_other_named_products_and_numeric_codes_stay_apart():
    """Missing products are "(no product)" (never suggested), a real product named like the pool keeps its name,
    and stock codes are categories on the charts' axes, not numbers."""
    from clv_core import charts

    rows = [(f"c{i}", "2024-01-01", 100.0 - i, "Other products" if i == 0 else f"{22400 + i}") for i in range(14)]
    rows += [("c0", "2024-02-01", 5.0, "")]
    cats = products.categories(load(rows))
    assert cats.names[0] == "Other products" and cats.names[-1] == "Other products (pooled)"
    assert products.NO_PRODUCT not in cats.names  # the blank line's 5.00 is the least revenue: pooled
    figure = charts.category_value_chart(products.category_value(cats, pd.Series(dtype=float)), 12)
    assert figure.layout.yaxis.type == "category"
    few = products.categories(load([("a", "2024-01-01", 5.0, "tea"), ("a", "2024-02-01", 5.0, "")]))
    assert set(few.names) == {"tea", products.NO_PRODUCT}
    assert charts.adoption_heatmap(products.adoption(few)).layout.xaxis.type == "category"


def test_a_grace_period_is_refused_by_the_landmark_comparison():
    tx = simulated_breadth(0.5, customers=200)
    data = survival.survival_data(tx, survival.ChurnDefinition(60, 0))
    with pytest.raises(ClvError, match="end when the churn is recognised"):
        products.breadth_evidence(products.categories(tx), data)


def test_a_category_bought_after_day_90_does_not_count_as_early_breadth():
    """No true effect, but the long-lived buy a second category after day 90: counting it would make breadth look
    protective; counted at the landmark, the two groups do not differ."""
    rng = np.random.default_rng(21)
    start = pd.Timestamp("2022-01-01")
    rows = []
    for i in range(1600):
        first, life = int(rng.integers(0, 200)), 90 + rng.exponential(300)
        day = 0
        while day <= life and first + day <= 900:
            rows.append((f"c{i}", start + pd.Timedelta(days=first + day), 20.0, "beans"))
            day += 20
        if i % 2 == 0:  # half buy a grinder on day 10, the same hazard
            rows.append((f"c{i}", start + pd.Timedelta(days=first + 10), 30.0, "grinder"))
        elif life > 200 and first + 150 <= 900:  # long lives buy a mug after the landmark
            rows.append((f"c{i}", start + pd.Timedelta(days=first + 150), 12.0, "mug"))
    tx = load(rows)
    evidence = products.breadth_evidence(
        products.categories(tx), survival.survival_data(tx, survival.ChurnDefinition(60))
    )
    assert evidence.unadjusted["lower 95%"] < 1 < evidence.unadjusted["upper 95%"], evidence.unadjusted.to_dict()
