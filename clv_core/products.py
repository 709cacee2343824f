"""Several products: value by category, who goes on to buy what, and whether buying more categories goes with
staying longer. Every figure is estimated from the data, with its interval; nothing is assumed (no "synergy
multiplier").

The mapped product column is the category when it has at most :data:`MAX_CATEGORIES` values; a finer column
(stock codes) keeps its :data:`MAX_CATEGORIES` − 1 highest-revenue values and pools the rest as
:data:`OTHER`, so the tables and the adoption matrix stay readable.

Breadth and lifetime are measured apart in time (a landmark analysis): the number of categories bought in a
customer's first :data:`LANDMARK_DAYS` days, against how long they stay after that day. Counting categories over
the whole history instead would credit breadth with the time a long-lived customer had to buy more categories.

References
----------
Anderson, Cain & Gelber (1983), "Analysis of survival by tumor response", J. Clinical Oncology 1(11) (the
landmark method).
Wilson (1927), "Probable inference, the law of succession, and statistical inference", JASA 22 (the intervals
of shares).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core import survival
from clv_core.errors import ClvError
from clv_core.ingest.pipeline import Transactions
from clv_core.runs import day_numbers

#: Categories shown at most (the rest pooled as :data:`OTHER`).
MAX_CATEGORIES = 10
OTHER = "Other products"
#: Lines without a product.
NO_PRODUCT = "(no product)"
#: Breadth is counted over a customer's first this many days; their lifetime is followed from that day on.
LANDMARK_DAYS = 90
#: Pairs (A, B) with fewer customers at risk than this give no next-category advice and show no share.
MIN_AT_RISK = 20
_Z = 1.959963984540054  # the normal quantile of a two-sided 95 % interval


@dataclass(frozen=True)
class Categories:
    """Each customer's first purchase day, revenue and purchase days per category.

    ``first_day`` is (customers × categories), NaN where the customer never bought the category; ``customers``
    the ids in row order; ``note`` how the product column became these categories."""

    names: tuple[str, ...]
    customers: np.ndarray
    first_day: np.ndarray
    revenue: np.ndarray
    purchase_days: np.ndarray
    start_day: np.ndarray  # each customer's first purchase day (any category)
    early_days: np.ndarray  # each customer's purchase days in their first LANDMARK_DAYS days
    note: str

    @property
    def bought(self) -> np.ndarray:
        return ~np.isnan(self.first_day)

    @property
    def breadth(self) -> np.ndarray:
        """Categories each customer has bought."""
        return self.bought.sum(axis=1)


def has_products(transactions: Transactions) -> bool:
    return "product" in transactions.data.columns


def categories(transactions: Transactions) -> Categories:
    """The customer × category tables (see :class:`Categories`).

    >>> from clv_core.ingest import ingest
    >>> csv = b"customer_id,date,amount,product\\na,2024-01-01,5,tea\\na,2024-02-01,7,mug\\nb,2024-01-03,3,tea\\n"
    >>> c = categories(ingest(csv, "t.csv"))
    >>> c.names, c.breadth.tolist(), c.revenue.tolist()
    (('tea', 'mug'), [2, 1], [[5.0, 7.0], [3.0, 0.0]])
    """
    if not has_products(transactions):
        raise ClvError(
            "No product or category column is mapped, so there is nothing to compare between products. "
            "Map one on the Data page (a column such as product, SKU or category)."
        )
    data = transactions.data
    product = data["product"].astype("string").str.strip().fillna("").to_numpy(dtype=object)
    product = np.where(product == "", NO_PRODUCT, product)  # ingest keeps a missing product as ""
    amount = data["amount"].to_numpy(dtype=float)
    totals = pd.Series(amount).groupby(product).sum().sort_values(ascending=False, kind="stable")
    if len(totals) > MAX_CATEGORIES:
        kept = list(totals.index[: MAX_CATEGORIES - 1])
        pooled = OTHER if OTHER not in totals.index else f"{OTHER} (pooled)"  # a real product may be so named
        note = (
            f"The product column has {len(totals):,} values: the {len(kept)} with the most revenue are shown, the "
            f"other {len(totals) - len(kept):,} together as “{pooled}”."
        )
        product = np.where(pd.Index(kept).get_indexer(product) >= 0, product, pooled)
        names = (*kept, pooled)
    else:
        names = tuple(totals.index)
        note = f"{len(names)} products or categories, from the mapped product column."
    category = pd.Index(names).get_indexer(product)
    customer_codes, customers = pd.factorize(data["customer_id"], sort=False)
    day = day_numbers(data["date"])
    frame = pd.DataFrame({"c": customer_codes, "k": category, "day": day, "amount": amount})
    grouped = frame.groupby(["c", "k"], sort=False)
    shape = (len(customers), len(names))
    first_day, revenue, days = np.full(shape, np.nan), np.zeros(shape), np.zeros(shape)
    firsts = grouped["day"].min()
    index = (firsts.index.get_level_values(0), firsts.index.get_level_values(1))
    first_day[index] = firsts.to_numpy()
    revenue[index] = grouped["amount"].sum().to_numpy()
    days[index] = grouped["day"].nunique().to_numpy()
    start = frame.groupby("c", sort=True)["day"].min().to_numpy()
    early = frame[frame["day"].to_numpy() < start[customer_codes] + LANDMARK_DAYS]
    early_days = early.groupby("c", sort=True)["day"].nunique().reindex(range(len(customers)), fill_value=0)
    customers = np.asarray(customers, dtype=object)
    return Categories(names, customers, first_day, revenue, days, start, early_days.to_numpy(), note)


def wilson(successes, trials) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson score interval of a share; NaN where there are no trials.

    >>> [round(float(v), 3) for v in wilson(np.array([8]), np.array([10]))[0]], round(float(wilson(8, 10)[1]), 3)
    ([0.49], 0.943)
    """
    k, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (p + _Z**2 / (2 * n)) / (1 + _Z**2 / n)
        half = _Z / (1 + _Z**2 / n) * np.sqrt(p * (1 - p) / n + _Z**2 / (4 * n**2))
    return np.where(n > 0, centre - half, np.nan), np.where(n > 0, centre + half, np.nan)


def category_value(cats: Categories, clv: pd.Series) -> pd.DataFrame:
    """One row per category: revenue to date and its share, buyers, the share of buyers who bought it on two or
    more days (repeat rate, with its interval), and predicted CLV: each customer's CLV split over categories by
    their revenue to date in each (so the categories add up to the total), and the mean CLV of its buyers.

    ``clv`` is the one scoring chain's predicted CLV per customer id."""
    value = clv.reindex(cats.customers).fillna(0.0).to_numpy(dtype=float)
    positive = np.clip(cats.revenue, 0, None)
    spent = positive.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        split = np.where(
            spent > 0, positive / spent, cats.bought / np.maximum(cats.bought.sum(axis=1, keepdims=True), 1)
        )
    buyers = cats.bought.sum(axis=0)
    repeat = (cats.purchase_days >= 2).sum(axis=0)
    low, high = wilson(repeat, buyers)
    revenue = cats.revenue.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_clv = np.where(buyers > 0, (cats.bought * value[:, None]).sum(axis=0) / buyers, np.nan)
    table = pd.DataFrame(
        {
            "category": cats.names,
            "revenue": revenue,
            "share of revenue": revenue / revenue.sum() if revenue.sum() else np.nan,
            "customers": buyers,
            "repeat rate": np.where(buyers > 0, repeat / np.maximum(buyers, 1), np.nan),
            "repeat rate low": low,
            "repeat rate high": high,
            "predicted CLV": (split * value[:, None]).sum(axis=0),
            "mean CLV of buyers": mean_clv,
        }
    )
    return table.sort_values("revenue", ascending=False, kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Adoption:
    """Of the customers who bought A (rows) and had not bought B (columns) by then, the share who bought B later
    (``share``, with ``low``/``high`` 95 % intervals), how many that is (``at_risk``, ``adopted``) and the median
    days from their first A to their first B. Diagonals are NaN."""

    names: tuple[str, ...]
    share: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame
    at_risk: pd.DataFrame
    adopted: pd.DataFrame
    median_days: pd.DataFrame

    def pairs(self) -> pd.DataFrame:
        """The matrix as a list, most adopted first: bought first, then bought, share, interval, customers, days."""
        rows = []
        for a in self.names:
            for b in self.names:
                if a != b and self.at_risk.loc[a, b] > 0:
                    rows.append(
                        {
                            "bought first": a,
                            "then bought": b,
                            "share": self.share.loc[a, b],
                            "share low": self.low.loc[a, b],
                            "share high": self.high.loc[a, b],
                            "customers who could": int(self.at_risk.loc[a, b]),
                            "customers who did": int(self.adopted.loc[a, b]),
                            "median days to it": self.median_days.loc[a, b],
                        }
                    )
        table = pd.DataFrame(rows)
        if table.empty:
            return table
        return table.sort_values(["share", "customers who did"], ascending=False, kind="stable").reset_index(drop=True)

    def steps(self) -> pd.DataFrame:
        """:meth:`pairs` with a known share above nil: the next steps customers actually took, most taken first
        (what the page's list and the report's sentence show)."""
        table = self.pairs()
        return table if table.empty else table[table["share"] > 0].reset_index(drop=True)


def adoption(cats: Categories) -> Adoption:
    """The cross-category adoption matrix (see :class:`Adoption`). A pair with fewer than :data:`MIN_AT_RISK`
    customers at risk has no share (too few to say).

    >>> from clv_core.ingest import ingest
    >>> rows = [f"c{i},2024-01-01,5,tea" for i in range(30)] + [f"c{i},2024-02-0{1 + i % 5},7,mug" for i in range(12)]
    >>> m = adoption(categories(ingest(("customer_id,date,amount,product\\n" + "\\n".join(rows)).encode(), "t.csv")))
    >>> float(m.share.loc["tea", "mug"]), int(m.adopted.loc["tea", "mug"]), float(m.median_days.loc["tea", "mug"])
    (0.4, 12, 32.5)
    """
    first, k = cats.first_day, len(cats.names)
    shape = (k, k)
    at_risk, adopted, median = np.zeros(shape), np.zeros(shape), np.full(shape, np.nan)
    for i in range(k):
        has_a = ~np.isnan(first[:, i])
        for j in range(k):
            if i == j:
                continue
            later = first[has_a, j] > first[has_a, i]
            never = np.isnan(first[has_a, j])
            at_risk[i, j] = int((later | never).sum())
            adopted[i, j] = int(later.sum())
            if later.any():
                median[i, j] = float(np.median(first[has_a, j][later] - first[has_a, i][later]))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(at_risk >= MIN_AT_RISK, adopted / at_risk, np.nan)
    low, high = wilson(adopted, at_risk)
    enough = at_risk >= MIN_AT_RISK
    low, high = np.where(enough, low, np.nan), np.where(enough, high, np.nan)
    np.fill_diagonal(share, np.nan)

    def frame(values):
        return pd.DataFrame(values, index=list(cats.names), columns=list(cats.names))

    return Adoption(cats.names, frame(share), frame(low), frame(high), frame(at_risk), frame(adopted), frame(median))


def next_categories(cats: Categories, matrix: Adoption) -> pd.DataFrame:
    """Each customer's most likely next category: of the categories they have not bought, the one with the highest
    adoption share from any category they have (empty where they have bought every category, no pair has enough
    customers to say, or nobody like them ever went on to another category), with that share. Indexed by customer
    id: ``categories_bought``, ``next_category``, ``next_category_chance``."""
    share = matrix.share.to_numpy()
    bought = cats.bought
    score = np.full(bought.shape, -1.0)
    for j, name in enumerate(cats.names):
        if name == NO_PRODUCT or name.startswith(OTHER):  # no campaign can offer "other products"
            continue
        column = np.where(np.isnan(share[:, j]), -1.0, share[:, j])
        best = np.where(bought, column[None, :], -1.0).max(axis=1)
        score[:, j] = np.where(bought[:, j], -1.0, best)
    pick = score.argmax(axis=1)
    chance = score[np.arange(len(pick)), pick]
    names = np.asarray(cats.names, dtype=object)
    return pd.DataFrame(
        {
            "categories_bought": cats.breadth.astype(int),
            "next_category": np.where(chance > 0, names[pick], ""),
            "next_category_chance": np.where(chance > 0, chance, np.nan),
        },
        index=pd.Index(cats.customers, name="customer_id"),
    )


def breadth_label(count) -> np.ndarray:
    """'1 category', '2 categories', '3 categories', '4+ categories'."""
    count = np.asarray(count)
    return np.where(
        count >= 4, "4+ categories", np.where(count == 1, "1 category", np.char.add(count.astype(str), " categories"))
    )


def breadth_value(cats: Categories, scored: pd.DataFrame) -> pd.DataFrame:
    """Customers, revenue to date, predicted CLV and P(alive) by number of categories bought (one scoring chain:
    ``scored`` is the analysis's scored customer table)."""
    by_id = scored.set_index("customer_id")
    frame = pd.DataFrame(
        {
            "categories": breadth_label(cats.breadth),
            "revenue": cats.revenue.sum(axis=1),
            "clv": by_id["clv"].reindex(cats.customers).to_numpy(),
            "p_alive": by_id["p_alive"].reindex(cats.customers).to_numpy(),
        }
    )
    table = frame.groupby("categories", sort=True).agg(
        customers=("revenue", "size"),
        mean_revenue=("revenue", "mean"),
        mean_clv=("clv", "mean"),
        total_clv=("clv", "sum"),
        mean_p_alive=("p_alive", "mean"),
    )
    table.insert(1, "share of customers", table["customers"] / table["customers"].sum())
    return table.reset_index()


@dataclass(frozen=True)
class BreadthEvidence:
    """Lifetimes after the landmark by breadth in the first :data:`LANDMARK_DAYS` days: Kaplan–Meier curves, the
    hazard ratio of 2+ against 1 category (alone, and with the number of purchase days in those first days held
    equal) and the sentence that says it."""

    km: survival.KMResult
    unadjusted: pd.Series  # hazard ratio, lower 95%, upper 95%, p
    adjusted: pd.Series
    customers: int
    excluded: int
    sentence: str


BROAD, NARROW = "2+ categories", "1 category"


def breadth_evidence(cats: Categories, data: survival.SurvivalData) -> BreadthEvidence:
    """Landmark analysis: customers still in the data :data:`LANDMARK_DAYS` days after their first purchase
    (their lifetime under ``data``'s churn definition longer than that), grouped by categories bought before that
    day, followed from it."""
    if data.definition.grace_days is not None:
        # with a lifetime ending at the last purchase (+ grace), "longer than 90 days" would look past day 90
        raise ClvError("The comparison by categories needs lifetimes that end when the churn is recognised.")
    table = data.table.set_index("customer_id")
    duration = table["duration_days"].reindex(cats.customers).to_numpy(dtype=float)
    churned = table["churned"].reindex(cats.customers).fillna(False).to_numpy(dtype=bool)
    early = cats.first_day < (cats.start_day[:, None] + LANDMARK_DAYS)
    breadth = early.sum(axis=1)
    eligible = duration > LANDMARK_DAYS
    if eligible.sum() < 20:
        raise ClvError(
            f"Too few customers have been followed for more than {LANDMARK_DAYS} days after their first purchase "
            f"({int(eligible.sum())}) to compare lifetimes by the categories they bought."
        )
    group = np.where(breadth >= 2, BROAD, NARROW)[eligible]
    if min((group == BROAD).sum(), (group == NARROW).sum()) < 10:
        raise ClvError(
            f"Almost every customer bought {'one category' if (group == NARROW).sum() >= 10 else 'several'} in "
            f"their first {LANDMARK_DAYS} days, so there are not two groups to compare."
        )
    after = duration[eligible] - LANDMARK_DAYS
    events = churned[eligible]
    km = survival.kaplan_meier(after, events, group)
    frame = pd.DataFrame(
        {
            "duration": after,
            "churned": events,
            BROAD: (group == BROAD).astype(float),
            f"purchase days in the first {LANDMARK_DAYS} days": cats.early_days[eligible].astype(float),
        }
    )
    covariates = list(frame.columns[2:])
    plain = survival.cox(frame, duration_col="duration", event_col="churned", covariates=covariates[:1])
    held = survival.cox(frame, duration_col="duration", event_col="churned", covariates=covariates)
    unadjusted, adjusted = plain.summary.loc[BROAD], held.summary.loc[BROAD]
    return BreadthEvidence(
        km,
        unadjusted,
        adjusted,
        int(eligible.sum()),
        int((~eligible).sum()),
        _evidence_sentence(unadjusted, adjusted),
    )


def evidence_table(evidence: BreadthEvidence) -> pd.DataFrame:
    """The two hazard ratios of 2+ against 1 category, one row each."""
    rows = [("2+ vs 1 category", evidence.unadjusted), ("… with purchase days held equal", evidence.adjusted)]
    table = pd.DataFrame([{"model": name, **row.to_dict()} for name, row in rows])
    table["p"] = [p_value_words(p) for p in table["p"]]
    return table


def p_value_words(p: float) -> str:
    """A p-value as a reader takes it in: ``< 0.001`` rather than 7.2e-80.

    >>> p_value_words(7.2e-80), p_value_words(0.0123), p_value_words(0.31)
    ('< 0.001', '0.012', '0.31')
    """
    return "< 0.001" if p < 0.001 else f"{p:.2g}" if p >= 0.01 else f"{p:.3f}"


def _ratio_words(row: pd.Series) -> str:
    hr, low, high = row["hazard ratio"], row["lower 95%"], row["upper 95%"]
    interval = f"hazard ratio {hr:.2f}, 95 % CI {low:.2f}–{high:.2f}"
    if high < 1:
        return f"churned at {hr:.2f}× the rate of single-category customers ({interval})"
    if low > 1:
        return f"churned {hr:.2f}× as fast as single-category customers ({interval})"
    return f"churned at a rate not distinguishable from single-category customers' ({interval})"


def _evidence_sentence(unadjusted: pd.Series, adjusted: pd.Series) -> str:
    """What the two hazard ratios say, in words.

    >>> row = lambda hr, lo, hi: pd.Series({"hazard ratio": hr, "lower 95%": lo, "upper 95%": hi, "p": 0.01})
    >>> print(_evidence_sentence(row(0.6, 0.5, 0.72), row(0.9, 0.7, 1.1)))
    Customers who bought 2+ categories in their first 90 days churned at 0.60× the rate of single-category \
customers (hazard ratio 0.60, 95 % CI 0.50–0.72) after that day. With the number of days they bought on in \
those 90 days held equal, they churned at a rate not distinguishable from single-category customers' (hazard \
ratio 0.90, 95 % CI 0.70–1.10): the difference goes with buying more often, not with the categories themselves.
    """
    first = f"Customers who bought 2+ categories in their first {LANDMARK_DAYS} days {_ratio_words(unadjusted)}"
    first += " after that day."
    second = (
        f" With the number of days they bought on in those {LANDMARK_DAYS} days held equal, they "
        f"{_ratio_words(adjusted)}"
    )
    plain_effect = unadjusted["upper 95%"] < 1 or unadjusted["lower 95%"] > 1
    held_effect = adjusted["upper 95%"] < 1 or adjusted["lower 95%"] > 1
    if plain_effect and not held_effect:
        second += ": the difference goes with buying more often, not with the categories themselves."
    elif held_effect:
        longer = "longer" if adjusted["hazard ratio"] < 1 else "shorter"
        second += f": breadth goes with a {longer} life even among customers who bought as often (an association, "
        second += "not proof that cross-selling causes it)."
    else:
        second += "."
    return first + second
