"""What every page shares: the opening (title, dataset, model line), progress, number formats, downloads and the
glossary. Laying out only: numbers come from :mod:`clv_app.session`'s analysis and :mod:`clv_core`."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from clv_app import session, sources
from clv_app.session import CHURN_STEPS
from clv_core import export, forecast
from clv_core.analysis import Analysis
from clv_core.currency import NONE, Currency
from clv_core.economics import CHURN_MEANING, MAX_MONTHS, Economics
from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from clv_core.models import MODEL_LABELS

#: Rows of a per-customer or per-transaction table sent to the browser; the whole table is a download.
SHOWN_ROWS = 1_000
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")
#: Where a bare address starts: the renderer (GitHub-flavoured Markdown) links "http://…", "www.…" and "a@b.c"
#: in text whatever is escaped; a zero-width space after "://"'s colon, "www" or "@" stops it (checked in
#: Chromium: 5 links before, none after).
_AUTOLINK = re.compile(r":(?=//)|(?i:\bwww)(?=\.)|@", re.ASCII)


def md(text: str) -> str:
    r"""Escape text from a user's file so Markdown renders it literally (and never as a link or HTML).

    >>> md("[x](http://evil.example) or a@b.c") == "\\[x\\]\\(http:\u200b//evil\\.example\\) or a@\u200bb\\.c"
    True
    """
    text = _AUTOLINK.sub(lambda m: m.group(0) + "\u200b", str(text))
    return _MD_SPECIAL.sub(r"\\\1", text)


def page_start(title: str) -> Analysis:
    """Every analysis page's opening: the title, the active dataset's card in the sidebar, and the session's
    analysis of it (the shared settings are read from the link the first time)."""
    st.title(title)
    analysis = session.analysis()
    sidebar_dataset(analysis.transactions, sources.current_label())
    return analysis


def sidebar_dataset(tx: Transactions, label: str) -> None:
    r = tx.report
    with st.sidebar:
        st.caption("Active dataset")
        st.markdown(f"**{md(label)}**")
        st.caption(f"{r.rows_kept:,} transactions · {r.customers:,} customers · {r.date_min} → {r.date_max}")


def model_line(analysis: Analysis, *, where=st, p_alive: bool = False, hint: bool = True) -> bool:
    """The one line naming the model a page's numbers come from (and, with ``p_alive``, what P(alive) cannot say
    under it, next to a page's P(alive)); False (after saying why) when no model can be used on this data."""
    try:
        decision = analysis.decision()
    except ClvError as exc:
        where.error(str(exc), icon=":material/block:")
        return False
    where.caption(decision.line() + (" Change it on the CLV forecast page." if hint else ""))
    if p_alive and (note := analysis.p_alive_note()):
        where.caption(note)
    return True


def glossary(analysis: Analysis, cuts=None) -> None:
    """What the names on the page mean (the exports carry the same in their assumptions)."""
    with st.expander("What the names mean"):
        terms = analysis.glossary(cuts)
        st.markdown("\n".join(f"- **{term}**: {md(text)}" for term, text in terms.items()))


#: Keys of multi-step work that has completed in this server process, the most recent ``_FINISHED_KEPT`` (a key
#: forgotten only shows its progress once more).
_FINISHED_KEPT = 10_000
_finished: OrderedDict = OrderedDict()
_finished_lock = threading.Lock()


@contextmanager
def steps(label: str, key: tuple) -> Iterator[Callable[[str], None]]:
    """Run multi-step cached work under an ``st.status`` that lists each step as it starts and ends with the
    elapsed time, but only the first time (``key`` not done before in this process): later reruns find every step
    cached and show nothing. Yields ``announce(text)``, to call before each step."""
    if key in _finished:
        yield lambda text: None
        return
    start = time.perf_counter()
    with st.status(label, expanded=True) as status:
        try:
            yield lambda text: status.write(text)
        except Exception:
            status.update(label=f"{label}: stopped", state="error", expanded=False)  # the message below says why
            raise
        status.update(label=f"{label}: done in {time.perf_counter() - start:.1f} s", state="complete", expanded=False)
    with _finished_lock:
        _finished[key] = None
        _finished.move_to_end(key)
        while len(_finished) > _FINISHED_KEPT:
            _finished.popitem(last=False)


def format_value(value: float, unit: str) -> str:
    """A card's figure: a share with one decimal, money in the dataset's currency (compact: cards are narrow), else a
    whole count."""
    if value is None or pd.isna(value):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "currency":  # compact where cards are narrow: $213,330 not $213,330.48; $1.23M not $1,234,567
        return session.currency().amount(value, compact=True)
    return f"{value:,.0f}"


#: A figure card's width: wide enough for "Customer-base value, next 12 months" and "1,234,567.89"; cards wrap onto
#: the next row rather than cut their labels when the page is narrow.
CARD_WIDTH = 260


def cards():
    """A row of figure cards (``st.metric(..., width=CARD_WIDTH)`` inside) that wraps on narrow screens."""
    return st.container(horizontal=True, gap="small")


#: How long a session's first page holds back what follows its first screen (:func:`first_screen_sent`).
FIRST_SCREEN_PAUSE_S = 0.6
_FIRST_SCREEN_SENT = "_clv_first_screen_sent"


def first_screen_sent() -> None:
    """Call where a page's first screen (its cards) ends. The first time a session gets here (its first page with
    cards, often the first page its browser opens), the rest of the page is sent :data:`FIRST_SCREEN_PAUSE_S`
    later: a browser that has just opened the app fetches and compiles a script for each kind of element, and the
    cards waited for the big ones (Plotly's 4.7 MB, the table's 1.2 MB) to be evaluated before they showed.
    Measured on Segments & export in a cold Chromium: the cards at 3.05–3.19 s with the whole page sent at once,
    1.30–1.77 s with the sections below them sent 0.4 s later. The CLV forecast page, with more kinds of element
    above its cards, needed longer: with 0.4 s its cards still came with its charts in 2 first visits of 3, with
    0.6 s and 0.8 s in none of 3 (cards at 1.7–3.0 s, charts at 3.4–5.0 s either way). Every later run (a slider,
    the next page) sends everything at once."""
    if st.session_state.get(_FIRST_SCREEN_SENT):
        return
    st.session_state[_FIRST_SCREEN_SENT] = True
    time.sleep(FIRST_SCREEN_PAUSE_S)


#: What a table cell or a card shows for a value that does not exist (no next purchase expected, a correlation of
#: a constant): the dash :meth:`clv_core.currency.Currency.amount` writes.
MISSING = "–"


def card(row, label: str, value: str, *, note: str | None = None, help: str | None = None) -> None:
    """One figure card in a :func:`cards` row, with an optional grey note under the figure (a delta without colour
    or arrow: "against 12,320 bought", "50.0% of the value")."""
    row.metric(label, value, delta=note, delta_color="off", delta_arrow="off", border=True, width=CARD_WIDTH, help=help)


def money(value: float, *, cents: bool = False, currency: Currency | None = None) -> str:
    """An amount in the dataset's currency (or ``currency``) with thousands separators: whole units unless ``cents``.

    >>> from clv_core.currency import KNOWN
    >>> usd = KNOWN["USD"]
    >>> money(230113.734, currency=usd), money(230113.734, cents=True, currency=usd), money(float("nan"), currency=usd)
    ('$230,114', '$230,113.73', '–')
    """
    return (currency or session.currency()).amount(value, cents=cents)


def money_md(value: float, *, cents: bool = False) -> str:
    """:func:`money` for Markdown (a caption, a sentence): its ``$`` escaped, so two amounts never read as LaTeX."""
    return md(money(value, cents=cents))


#: Abbreviations kept in capitals (or written their own way) when a column name becomes a header.
_HEADER_WORDS = {
    "clv": "CLV",
    "rfm": "RFM",
    "id": "ID",
    "cac": "CAC",
    "roi": "ROI",
    "mae": "MAE",
    "rmse": "RMSE",
    "aic": "AIC",
    "ci": "CI",
    "p_alive": "P(alive)",
    "aov": "AOV",
    "ks": "KS",
    "t": "T",
}


def words(name) -> str:
    """A column name as a table header: ``tier_group`` → ``Tier group``, ``p_alive`` → ``P(alive)``; names already
    in words keep their own spelling (a capital first letter added).

    >>> words("tier_group"), words("mean_p_alive"), words("customer_id"), words("share of value"), words("T")
    ('Tier group', 'Mean P(alive)', 'Customer ID', 'Share of value', 'T')
    """
    text = str(name)
    if "_" in text or text.lower() in _HEADER_WORDS:
        text = text.lower()
        for key in sorted((k for k in _HEADER_WORDS if "_" in k), key=len, reverse=True):
            text = text.replace(key, _HEADER_WORDS[key].replace(" ", "\x00"))
        text = " ".join(_HEADER_WORDS.get(w, w) for w in text.replace("_", " ").split()).replace("\x00", " ")
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def money_column(label: str, *, cents: bool = True, help: str | None = None, signed: bool = False) -> dict:
    """A table column of amounts in the dataset's currency: ``$1,234.56`` (whole units without ``cents``). A
    ``signed`` column (a change, a difference, refunds) names the currency in its header instead, ``Change (USD)``:
    a table cell's format puts a symbol before the number's sign, ``$-142,112``."""
    currency = session.currency()
    if signed:
        return st.column_config.NumberColumn(currency.header(label), format=NONE.column_format(cents=cents), help=help)
    return st.column_config.NumberColumn(label, format=currency.column_format(cents=cents), help=help)


def share_column(label: str, *, help: str | None = None) -> dict:
    """A table column of shares (0–1) written as percentages with one decimal: ``25.1%``."""
    return st.column_config.NumberColumn(label, format="percent", step=0.001, help=help)


def table_columns(frame: pd.DataFrame, given: dict | None = None, *, index: bool = True) -> dict:
    """Column settings for every column of ``frame``: ``given`` ones first (with a worded label when they have none),
    then by type: whole numbers with thousands separators, decimals with two, dates without a needless 00:00:00,
    every header in words."""
    out = {}
    for column in frame.columns:
        key, label = str(column), words(column)
        config = (given or {}).get(key)
        if config is not None:
            config = dict(config)
            if not config.get("label"):
                config["label"] = label
            out[key] = config
            continue
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            out[key] = st.column_config.CheckboxColumn(label)
        elif pd.api.types.is_integer_dtype(values):
            out[key] = st.column_config.NumberColumn(label, format="%,d")
        elif pd.api.types.is_float_dtype(values):
            out[key] = st.column_config.NumberColumn(label, format="%,.2f")
        elif pd.api.types.is_datetime64_any_dtype(values):
            midnight = bool((values.dropna() == values.dropna().dt.normalize()).all())
            out[key] = st.column_config.DatetimeColumn(label, format="YYYY-MM-DD" if midnight else "YYYY-MM-DD HH:mm")
        else:
            out[key] = st.column_config.Column(label)
    if index and frame.index.name is not None:
        out["_index"] = (given or {}).get("_index") or st.column_config.Column(words(frame.index.name))
    return out


def show_table(frame: pd.DataFrame, *, where=None, column_config: dict | None = None, **kwargs) -> None:
    """``st.dataframe`` with the house formats (:func:`table_columns`): every table on the pages goes through here.
    A customer list leads with who and what they are worth (:func:`value_first`), so a narrow window shows both.
    A missing value shows as a dash, as on the cards, not as the word None."""
    shown = not kwargs.get("hide_index", False)
    kwargs.setdefault("placeholder", MISSING)
    if "column_order" not in kwargs and "customer_id" in frame.columns and "clv" in frame.columns:
        kwargs["column_order"] = value_first(frame.columns)
    config = table_columns(frame, column_config, index=shown)
    (where or st).dataframe(shares_rounded(frame, config), column_config=config, **kwargs)


def shares_rounded(frame: pd.DataFrame, config: dict) -> pd.DataFrame:
    """``frame`` with its share columns (:func:`share_column`) rounded to the tenth of a percent they show: the
    browser's table cuts the digits past its ``step`` off (49.97 % showed as 49.9 %, the card beside it said 50.0 %).

    >>> shares_rounded(pd.DataFrame({"share": [0.49968, 0.0014]}), {"share": share_column("")})["share"].tolist()
    [0.5, 0.001]
    """
    shares = [
        c
        for c in frame.columns
        if (config.get(str(c)) or {}).get("type_config", {}).get("format") == "percent"
        and pd.api.types.is_float_dtype(frame[c])
    ]
    if not shares:
        return frame
    out = frame.copy()
    for column in shares:
        out[column] = out[column].round(3)
    return out


#: The columns a customer list shows first, in this order, when it has them.
LEADING = ("customer_id", "clv", "clv_lower", "clv_upper", "clv_risk_adjusted", "next_purchase_date")


def value_first(columns) -> list[str]:
    """A customer list's columns with the customer and their value first, the rest in their order.

    >>> value_first(["customer_id", "p_alive", "expected_purchases", "clv", "value_group"])
    ['customer_id', 'clv', 'p_alive', 'expected_purchases', 'value_group']
    """
    names = [str(c) for c in columns]
    lead = [c for c in LEADING if c in names]
    return lead + [c for c in names if c not in lead]


def head(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a table on screen shows (the downloads have all of them)."""
    return frame.head(SHOWN_ROWS)


def frozen(chosen: dict) -> dict:
    """Filter choices with lists as tuples, so equal choices are equal keys for :func:`clv_app.memo.of`.

    >>> frozen({"value_groups": ["Top value"], "attribute": ("channel", ["web"]), "slipping_only": False})
    {'value_groups': ('Top value',), 'attribute': ('channel', ('web',)), 'slipping_only': False}
    """

    def freeze(value):
        return tuple(freeze(v) for v in value) if isinstance(value, (list, tuple)) else value

    return {k: freeze(v) for k, v in chosen.items()}


def full_download(
    label: str,
    frame: pd.DataFrame,
    name: str,
    *,
    identity: str,
    key: str,
    about: Callable[[], dict],
    meanings: dict[str, str] | None = None,
) -> None:
    """A CSV download of a whole table shown capped at ``SHOWN_ROWS``, and its assumptions as JSON under the same
    name (``about`` builds them, see :func:`clv_core.export.assumptions`). Files are written only when clicked.

    Downloads here and elsewhere use ``on_click="ignore"``: a download changes nothing on the page, and a rerun
    started by the click could replace the file the browser is about to fetch.

    ``identity`` names the content in the file name (e.g. the dataset's content hash), so a rerun does not hash a
    large table just to name a file nobody may download. With ``meanings`` (the columns' meanings, as the
    assumptions carry them), money columns' headers name the dataset's currency (:func:`clv_core.export.in_currency`).
    """
    money = session.currency()

    def csv() -> bytes:
        return export.to_csv_bytes(export.in_currency(frame, meanings, money)[0] if meanings else frame)

    def described() -> dict:
        made = about()
        if meanings and "columns" in made:
            shown, said = export.in_currency(frame.head(0), meanings, money)
            made["columns"] = {str(c): said.get(str(c), "as named") for c in shown.columns}
        return made

    row = st.container(horizontal=True)  # wraps at 800 px rather than cutting the labels
    row.download_button(
        f"{label}: {len(frame):,} rows",
        csv,
        file_name=export.file_name(name, identity.encode(), "csv"),
        mime="text/csv",
        key=key,
        on_click="ignore",
    )
    assumptions_download(row, described, export.file_name(name, identity.encode(), "assumptions.json"), f"{key}-about")


def dataset_settings(tx: Transactions) -> dict:
    """How the active data was read and cleaned: part of every export's assumptions."""
    r = tx.report.to_dict()
    keep = ("source_name", "rows_read", "rows_kept", "customers", "date_min", "date_max", "observation_end")
    return {
        "data": {k: r[k] for k in keep},
        "cleaning": {k: v for k, v in dataclasses.asdict(tx.options).items() if v is not None},
        "columns used": {k: v for k, v in dataclasses.asdict(tx.mapping).items() if v},
        "currency": session.currency(tx).code or "not stated",
    }


def assumptions_download(
    where, about: Callable[[], dict], file_name: str, key: str, label: str = "Assumptions (JSON)"
) -> None:
    """The assumptions behind an export, as the JSON that travels with its CSV."""
    where.download_button(
        label,
        lambda: export.assumptions_json(about()),
        file_name=file_name,
        mime="application/json",
        key=key,
        on_click="ignore",
        help="Model and parameters, economics, time unit, column meanings and units, data fingerprint, app version.",
    )


def customer_columns(horizon_months: int) -> dict:
    """Headers with their units for a scored customer list (the exports carry the same in their assumptions)."""
    h = horizon_months
    number = st.column_config.NumberColumn
    return {
        "customer_id": st.column_config.Column("Customer ID"),
        "p_alive": number("P(alive) now", format="%,.2f", help="Probability the customer is still active (0–1)."),
        "expected_purchases": number(f"Expected purchases ({h} mo)", format="%,.2f"),
        "expected_avg_value": money_column("Expected order value", help="Revenue per order (Gamma–Gamma)."),
        "clv": money_column(f"CLV ({h} mo, discounted margin)"),
        "clv_lower": money_column(f"CLV {h} mo, 90 % low"),
        "clv_upper": money_column(f"CLV {h} mo, 90 % high"),
        "clv_risk_adjusted": money_column(f"CLV {h} mo, 10th percentile"),
        "historical_revenue": money_column("Revenue to date"),
        "value_group": st.column_config.TextColumn("Value group"),
        "slipping": st.column_config.CheckboxColumn("Slipping"),
        "rfm_segment": st.column_config.TextColumn("RFM segment"),
        "categories_bought": number("Categories bought", format="%,d"),
        "next_category": st.column_config.TextColumn("Next category", help="Most likely next category (Products)."),
        "next_category_chance": share_column("Next category chance", help="Share of customers like them who did."),
        "next_purchase_date": st.column_config.DateColumn(
            "Expected next purchase", format="YYYY-MM-DD", help=f"{MISSING}: not expected within the horizon."
        ),
        "buys_within_horizon": share_column(f"Chance to buy within {h} mo"),
        "subscription_value": money_column(f"Subscription value ({h} mo)"),
        "purchase_value": money_column(f"One-off purchase value ({h} mo)"),
        "hybrid_clv": money_column(
            f"CLV with subscriptions ({h} mo)", help="Subscription value + one-off purchase value (CLV forecast page)."
        ),
    }


def group_value_columns(frame: pd.DataFrame, horizon_months: int, boot=None) -> dict:
    """Headers with their horizon for a table of value per group (RFM segment or value group), whichever way its
    columns are spelled (``total_clv`` from clv_core.forecast, ``total CLV`` from clv_core.segments)."""
    h = horizon_months
    number = st.column_config.NumberColumn
    return {
        **{c: money_column(f"Total CLV ({h} mo)", cents=False) for c in ("total_clv", "total CLV")},
        **{c: money_column(f"Mean CLV ({h} mo)") for c in ("mean_clv", "mean CLV")},
        **{c: number("Mean P(alive) now", format="%,.2f") for c in ("mean_p_alive", "mean P(alive)")},
        "share of value": share_column("Share of value"),
        **interval_columns(boot, h),
    }


def interval_columns(boot, horizon_months: int) -> dict:
    """Column labels for a table's ``total_lower``/``total_upper`` (bootstrap interval of each group's total)."""
    if boot is None:
        return {}
    pct = f"{boot.level * 100:.0f} %"
    return {
        "total_lower": money_column(f"Total ({horizon_months} mo), {pct} low", cents=False),
        "total_upper": money_column(f"Total ({horizon_months} mo), {pct} high", cents=False),
    }


def interval_sentences(table: pd.DataFrame, total: str, horizon_months: int, level: float, *, top: int = 3) -> None:
    """The most valuable groups' totals with their bootstrap intervals, as sentences a decision can quote."""
    ranked = table.sort_values(total, ascending=False).head(top)
    st.markdown(
        "\n".join(
            "- "
            + md(
                forecast.interval_sentence(
                    str(name),
                    horizon_months,
                    row[total],
                    (row["total_lower"], row["total_upper"]),
                    level,
                    currency=session.currency(),
                )
            )
            for name, row in ranked.iterrows()
        )
    )


def bootstrap(analysis: Analysis, econ, resamples: int) -> forecast.BootstrapCLV:
    """Bootstrap CLV under ``econ``, with a progress bar per refit the first time the refits are made (they are
    shared by every slider position, page and session on the same dataset and model)."""
    bar = None
    text = "Refitting both models on resampled customers: {} of {}"

    def report(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or st.progress(0.0, text=text.format(0, total))
        bar.progress(done / total, text=text.format(done, total))

    try:
        return analysis.bootstrap(econ, resamples, progress=report)
    finally:
        if bar is not None:
            bar.empty()


#: Pixels per economics control: five and their gaps fit the 820 px content of a 1280 px window, with room to spare.
SLIDER_WIDTH = 136


def economics_sliders(model: str) -> Economics:
    """The session's economics (shared with the Segments page, the Overview and the report)."""
    # a row that wraps: five fixed-width controls fit one line at 1280 px, two or three a line in a narrow window
    # (in five columns each control got a fifth of it, too little for a slider or the CAC box's +/- buttons)
    row, w = st.container(horizontal=True), SLIDER_WIDTH
    rate = session.choose(row.slider, "Annual discount rate", "rate", 0.0, 0.30, step=0.01, format="percent", width=w)
    churn = session.choose(
        row.select_slider,
        "Churn multiplier",
        "churn",
        CHURN_STEPS,
        help=f"For {MODEL_LABELS[model]} it {CHURN_MEANING[model]}.",
        width=w,
    )
    horizon = session.choose(row.slider, "Horizon (months)", "horizon", 1, MAX_MONTHS, width=w)
    margin = session.choose(row.slider, "Gross margin", "margin", 0.05, 1.0, step=0.05, format="percent", width=w)
    cac = session.choose(
        row.number_input, session.currency().header("CAC per customer"), "cac", 0.0, 100_000.0, step=1.0, width=w
    )
    econ = Economics(
        annual_discount_rate=rate, gross_margin=margin, horizon_months=horizon, churn_multiplier=churn, cac=cac
    )
    st.caption(f"{econ.discount_sentence()} Churn ×{churn:g}: it {CHURN_MEANING[model]}.")
    return econ
