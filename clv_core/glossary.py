"""What each name on the pages and in the exports means: one meaning per word, everywhere.

A value group ranks predicted value from now on; an RFM segment and a lifecycle stage describe what a customer did.
"New" only ever means recently acquired, and "at risk" only ever comes from recency (RFM, lifecycle) or from the
model's P(alive) (slipping), never from a rank of value.
"""

from __future__ import annotations

from clv_core import rfm, segments


def glossary(
    cuts: segments.ValueGroupCuts | None = None,
    thresholds: rfm.LifecycleThresholds | None = None,
    *,
    p_alive_note: str = "",
) -> dict[str, str]:
    """Term → meaning, with the thresholds in force (for the page and for an export's assumptions).

    >>> g = glossary()
    >>> g["value group"].startswith("Rank of predicted CLV"), "90 days" in g["at risk"]
    (True, True)
    """
    cuts = cuts or segments.ValueGroupCuts()
    thresholds = thresholds or rfm.LifecycleThresholds()
    groups = "; ".join(f"{name}: {rule}" for name, rule in cuts.describe().items())
    alive = (
        "The purchase model's probability that a customer has not dropped out by the end of the data (0–1). "
        + p_alive_note
    ).strip()
    return {
        "value group": f"Rank of predicted CLV among all customers, from now on ({groups}). It says what a customer "
        "is expected to be worth, not how they behaved.",
        "CLV": "Predicted gross margin over the horizon, discounted to today, from the purchase and spend models.",
        "P(alive)": alive,
        "RFM segment": "What a customer did: recency (days since the last order), frequency (orders) and money "
        "(revenue), each scored in quintiles and named on the (R, FM) grid (e.g. Champions, At Risk, Lost).",
        "lifecycle stage": "Where a customer is now by orders and days since the last order: "
        + ", ".join(rfm.LIFECYCLE_ORDER)
        + ".",
        "new": "Recently acquired, by first purchase: the RFM segment 'Recent / New Customers' (bought recently, "
        "once or twice) and the lifecycle stage 'First-time' (one order, not yet inactive).",
        "at risk": "From how long ago customers last bought: the RFM segment 'At Risk' (a low recency score for "
        "customers whose frequency and spend scored well) and the lifecycle stage 'At risk of churn' (no order for "
        f"more than {thresholds.at_risk_days} days; churned after more than {thresholds.churned_days}). Never a "
        "rank of predicted value; the model's view is 'slipping'.",
        "slipping": "Valuable but slipping: in the top 20 % by the value they would have if still active, with "
        "P(alive) below 0.5.",
    }
