"""Subscriptions plus purchases (issue 23, point 2): which lines are subscription payments, the subscribers'
retention against Fader & Hardie's published fits and closed forms, and each customer's two parts against the
analyses they come from."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from clv_core import contractual, hybrid
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.samples import SUBSCRIPTION, sample_bytes
from tests.conftest import load, run_cli


def lifetimes_of(survivors):
    """Each subscriber's payments and whether still paying, from one cohort's survivor counts."""
    n = np.asarray(survivors)
    paid = np.concatenate([np.full(n[k - 1] - n[k], k) for k in range(1, len(n))] + [np.full(n[-1], len(n))])
    return paid, paid == len(n)


@pytest.mark.parametrize(
    "survivors, published",
    [
        ([1000, 869, 743, 653, 593, 551, 517, 491], (0.668, 3.806)),  # Fader & Hardie (2007), "regular"
        ([1000, 631, 468, 382, 326, 289, 262, 241], (0.704, 1.182)),  # "high end"
    ],
)
def test_individual_retention_fit_is_the_survivor_count_fit(survivors, published):
    paid, active = lifetimes_of(survivors)
    fit = hybrid.fit_retention(paid, active)
    reference = contractual.fit_sbg(survivors)
    assert (round(fit.alpha, 3), round(fit.beta, 3)) == published
    assert fit.alpha == pytest.approx(reference.alpha, rel=1e-5) and fit.beta == pytest.approx(reference.beta, rel=1e-5)
    assert fit.log_likelihood == pytest.approx(reference.log_likelihood, rel=1e-9)


def test_expected_payments_are_the_hypergeometric_residual_lifetime():
    """Σ_{j≥1} S(t + j − 1)/S(t − 1) x^j = ₂F₁(1, β + t − 1; α + β + t − 1; x) − 1 with x = 1/(1 + d)."""
    fit = hybrid.RetentionFit(0.668, 3.806, 1000, 509, 0.0)
    rate = 0.01
    x = 1 / (1 + rate)
    tenure = np.array([1, 2, 5, 24])
    closed = hyp2f1(1, fit.beta + tenure - 1, fit.alpha + fit.beta + tenure - 1, x) - 1
    np.testing.assert_allclose(fit.expected_payments(tenure, 6000, rate), closed, rtol=1e-9)
    first_year = fit.expected_payments(np.array([3]), 12, rate)[0]
    by_hand = sum(fit.survival(3 + j - 1) / fit.survival(2) * x**j for j in range(1, 13))
    assert first_year == pytest.approx(by_hand, rel=1e-12)
    assert fit.expected_payments(np.array([24]), 12, rate) > fit.expected_payments(np.array([1]), 12, rate)


def test_no_cancellations_yet_gives_a_sentence():
    with pytest.raises(ClvError, match="No subscriber has cancelled yet"):
        hybrid.fit_retention([3, 4, 5], [True, True, True])


@pytest.fixture(scope="module")
def retail() -> Analysis:
    return Analysis(load(*sample_bytes("retail")), time_unit="weeks")


def test_the_monthly_fixed_price_product_is_found_and_nothing_else(retail):
    assert retail.subscription_products() == (SUBSCRIPTION,)
    rows = [(f"c{i}", f"2024-{m:02d}-05", 20 + m * (i % 3), "box") for i in range(25) for m in range(1, 6)]
    varying = load(pd.DataFrame(rows, columns=["customer_id", "date", "amount", "product"]).to_csv(index=False))
    assert hybrid.subscription_products(varying) == ()  # monthly, but the price moves: a habit, not a subscription
    assert hybrid.subscription_products(load(*sample_bytes("cdnow_sample"))) == ()


def test_subscribers_are_active_until_a_payment_is_a_week_overdue():
    """a: 38 days since the last payment (a month and a week: still active), b: 39 (cancelled); c's second
    subscription runs beside the first: the longer tenure, both prices; d's last payment was refunded in half
    and a refund row came after: the price is the median of the last three positive payments."""
    rows = [
        ("a", "2024-04-01", 24.0, "club"), ("a", "2024-04-30", 24.0, "club"),
        ("b", "2024-03-01", 10.0, "club"), ("b", "2024-03-30", 10.0, "club"), ("b", "2024-04-29", 12.0, "club"),
        ("c", "2024-03-05", 24.0, "club"), ("c", "2024-04-05", 24.0, "club"), ("c", "2024-05-05", 24.0, "club"),
        ("c", "2024-05-06", 10.0, "tea"),
        ("d", "2024-03-20", 24.0, "club"), ("d", "2024-04-20", 24.0, "club"), ("d", "2024-05-20", 12.0, "club"),
        ("d", "2024-05-25", -12.0, "club"),
    ]  # fmt: skip
    payments = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "product"])
    payments["date"] = pd.to_datetime(payments["date"])
    table = hybrid.subscribers(payments, pd.Timestamp("2024-06-07")).set_index("customer_id")
    assert table["active"].to_dict() == {"a": True, "b": False, "c": True, "d": True}
    assert table.loc["b", "payments"] == 3 and table.loc["b", "monthly_price"] == 10.0  # median of 10, 10, 12
    assert table.loc["c", "payments"] == 3 and table.loc["c", "monthly_price"] == 34.0
    assert table.loc["d", "payments"] == 3 and table.loc["d", "monthly_price"] == 24.0


def test_customers_who_buy_a_product_once_do_not_make_it_a_subscription():
    """40 customers buy a box every month, 2,000 buy it once: a product some buy monthly, not a subscription."""
    rows = [(f"m{i}", f"2024-{m:02d}-05", 20.0, "box") for i in range(40) for m in range(1, 7)]
    rows += [(f"o{i}", f"2024-0{1 + i % 6}-1{i % 9}", 20.0, "box") for i in range(2000)]
    tx = load(pd.DataFrame(rows, columns=["customer_id", "date", "amount", "product"]).to_csv(index=False))
    assert hybrid.subscription_products(tx) == ()
    steady = load(pd.DataFrame(rows[:240], columns=["customer_id", "date", "amount", "product"]).to_csv(index=False))
    assert hybrid.subscription_products(steady) == ("box",)


def test_a_free_first_month_or_one_price_rise_is_still_a_subscription_but_a_weekly_product_is_refused():
    rows = []
    for i in range(30):
        for m in range(1, 8):
            price = 0.0 if m == 1 and i % 2 else (24.0 if m < 5 or i % 3 else 26.0)  # free trials, a rise in May
            rows.append((f"c{i}", f"2024-{m:02d}-0{1 + i % 7}", price, "club"))
    weekly = [(f"w{i}", (pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=k)).date(), 5.0, "paper")
              for i in range(30) for k in range(8)]  # fmt: skip
    tx = load(pd.DataFrame(rows + weekly, columns=["customer_id", "date", "amount", "product"]).to_csv(index=False))
    assert hybrid.subscription_products(tx) == ("club",)
    with pytest.raises(ClvError, match="paper is not paid monthly"):
        hybrid.subscriptions(tx, ("paper",))


def test_homogeneous_churn_takes_the_geometric_limit():
    """Every subscriber cancels with probability 0.1 a month: sBG's α, β run off to infinity at a fixed ratio; the
    fit returns that limit, with churn = cancellations per chance to cancel."""
    rng = np.random.default_rng(3)
    lifetimes = rng.geometric(0.1, 3000)
    observed = np.minimum(lifetimes, 12)
    active = lifetimes > 12
    fit = hybrid.fit_retention(observed, active)
    churn = fit.alpha / (fit.alpha + fit.beta)
    assert churn == pytest.approx((~active).sum() / ((observed - 1).sum() + (~active).sum()))
    assert churn == pytest.approx(0.1, abs=0.01)
    assert fit.survival(1) == pytest.approx(1 - churn, rel=1e-5)


def test_product_order_and_repeats_are_one_key(retail):
    first = retail.subscriptions((SUBSCRIPTION, SUBSCRIPTION))
    assert retail.subscriptions((SUBSCRIPTION,)) is first
    assert (
        hybrid.split(retail.transactions, ("a|b",))[1].content_hash
        != hybrid.split(retail.transactions, ("a", "b"))[1].content_hash
    )


def test_each_customer_is_subscription_value_plus_purchase_value(retail):
    econ = Economics(horizon_months=24, gross_margin=0.4)
    result = retail.hybrid(econ)
    subs = retail.subscriptions((SUBSCRIPTION,))
    table = result.table.set_index("customer_id")
    assert len(table) == retail.transactions.customers
    np.testing.assert_allclose(table["clv"], table["subscription_value"] + table["purchase_value"])
    active = subs.subscribers[subs.subscribers["active"]].set_index("customer_id")
    fit = subs.fits[hybrid.ALL]
    expected = fit.expected_payments(active["payments"].to_numpy(), 24, econ.monthly_discount_rate)
    np.testing.assert_allclose(
        table.loc[active.index, "subscription_value"], expected * active["monthly_price"].to_numpy() * 0.4
    )
    assert (table.loc[table["subscriber"] != "active", "subscription_value"] == 0).all()
    purchases = retail.purchases_without((SUBSCRIPTION,))
    assert SUBSCRIPTION not in set(purchases.transactions.data["product"])
    assert purchases.model == retail.model  # the dataset's one model decision
    scored = purchases.scenario(econ).customers.set_index("customer_id")["clv"]
    np.testing.assert_allclose(table.loc[scored.index, "purchase_value"], scored)
    assert result.purchase_total == pytest.approx(scored.sum())
    both = table[(table["subscriber"] != "never subscribed") & (table["purchase_value"] > 0)]
    assert len(both) > 100  # the sample's subscribers who also shop are valued on both sides


def test_the_command_line_prints_the_analysis_totals(retail, tmp_path):
    data, name = sample_bytes("retail")
    (tmp_path / name).write_bytes(data)
    done = run_cli("hybrid", str(tmp_path / name), "--out", str(tmp_path / "h.csv"))
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    expected = retail.hybrid(Economics())
    assert said["subscription_products"] == [SUBSCRIPTION]
    assert said["subscription_value"] == pytest.approx(expected.subscription_total, rel=1e-12)
    assert said["purchase_value"] == pytest.approx(expected.purchase_total, rel=1e-12)
    table = pd.read_csv(tmp_path / "h.csv", dtype={"customer_id": str})
    assert table["clv"].sum() == pytest.approx(expected.total, rel=1e-9)
    cdnow = run_cli("hybrid", str(tmp_path / name), "--subscription-product", "No such product")
    assert cdnow.returncode != 0 and "None of the chosen products was bought" in cdnow.stderr


def test_pure_subscription_data_has_no_purchase_value_and_says_why():
    rng = np.random.default_rng(4)
    rows = []
    for i in range(80):
        start, paid = pd.Timestamp("2023-01-05") + pd.DateOffset(months=int(rng.integers(0, 6))), 0
        while paid < 18 and (paid == 0 or rng.uniform() > rng.beta(1, 4)):
            rows.append((f"c{i}", (start + pd.DateOffset(months=paid)).date(), 24.0, "club"))
            paid += 1
    tx = load(pd.DataFrame(rows, columns=["customer_id", "date", "amount", "product"]).to_csv(index=False))
    result = Analysis(tx).hybrid(Economics())
    assert result.purchase_total == 0 and result.subscription_total > 0
    assert any(note.startswith("No purchase value") for note in result.notes)


def test_data_without_products_says_what_to_map():
    with pytest.raises(ClvError, match="no product column"):
        Analysis(load(*sample_bytes("cdnow_sample"))).hybrid(Economics())


def test_the_report_gives_both_parts(retail):
    from clv_core.report import executive_report

    page = executive_report(retail, label="retail.csv")
    section = page[page.index("<h2>Subscriptions and purchases</h2>") :].split("</section>")[0]
    expected = retail.hybrid(Economics())
    for total in (expected.subscription_total, expected.purchase_total, expected.total):
        assert f"<b>{total:,.0f}</b>" in section
    assert "<td>active</td>" in section and "<td>never subscribed</td>" in section


def test_the_scored_table_and_its_exports_carry_both_parts_where_there_are_subscriptions(retail, tmp_path):
    econ = Economics()
    scored = retail.scored(econ).set_index("customer_id")
    parts = retail.hybrid(econ).table.set_index("customer_id")
    np.testing.assert_allclose(scored["hybrid_clv"], parts["clv"].reindex(scored.index))
    np.testing.assert_allclose(scored["subscription_value"], parts["subscription_value"].reindex(scored.index))
    data, name = sample_bytes("retail")
    (tmp_path / name).write_bytes(data)
    assert run_cli("segments", str(tmp_path / name), "--out", str(tmp_path / "s.csv")).returncode == 0
    exported = pd.read_csv(tmp_path / "s.csv", dtype={"customer_id": str}).set_index("customer_id")
    np.testing.assert_allclose(exported["purchase_value"], parts["purchase_value"].reindex(exported.index), rtol=1e-9)
    cdnow = Analysis(load(*sample_bytes("cdnow_sample"))).scored(econ)
    assert not {"subscription_value", "hybrid_clv", "next_category"} & set(cdnow.columns)  # nothing to say: no columns
