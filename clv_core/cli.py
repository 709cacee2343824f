"""``clv-studio`` (or ``python -m clv_core``): the app's computations for batch use, and ``clv-studio app`` to
start the dashboard.

Input files are read exactly as the Data page reads them. Tables go where ``--out`` says, in the format its
extension names (.csv, .parquet, .xlsx, .json). A user error prints one ``error: …`` line on stderr and exits with
status 2; anything else is a bug and shows its traceback. On a terminal, what is being done is said on stderr.

Only the standard library and :mod:`clv_core.names` load before a command runs, so ``--help`` answers at once;
each command imports what it uses.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

from clv_core import __version__
from clv_core.errors import ClvError
from clv_core.names import (
    AUTO,
    DAY_FIRST,
    EQUITY_MAX_YEARS,
    EQUITY_YEARS,
    MODEL_CHOICES,
    MONTH_FIRST,
    PURCHASE_MODEL_KEYS,
    RETURN_POLICIES,
    TIME_UNITS,
    VALUE_GROUPS,
    ZERO_POLICIES,
)

#: The table formats ``--out`` takes, by extension.
TABLE_FORMATS = (".csv", ".parquet", ".xlsx", ".json")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every option's default after its help (where it has one: "none" is said in the help); the examples as
    written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if unset or not action.option_strings or "%(default)" in text:
            return text
        return f"{text} (default: %(default)s)"


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser(prog: str = "python -m clv_core") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="CLV Studio from the command line: the dashboard's computations on a transaction file.",
        epilog=_examples(
            f"{prog} score orders.csv --out scores.parquet",
            f"{prog} report orders.xlsx --currency EUR --out report.html",
            f"{prog} COMMAND --help   (every option of a command, with its default)",
        ),
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"CLV Studio {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str, *examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=textwrap.fill(description, 100),
            epilog=_examples(*(f"{prog} {name} {e}" for e in examples)),
            formatter_class=_Help,
        )

    app = command(
        "app",
        "start the dashboard on http://127.0.0.1:8501 (the bundled sample prepared as it starts)",
        "Start the dashboard, as make run does. Further options go to Streamlit (without sign-in configured the "
        "app is open to anyone who can reach the port).",
        "",
        "--server.port 8600 --server.address 0.0.0.0",
    )
    app.add_argument("streamlit_options", nargs=argparse.REMAINDER, help="options for streamlit run")
    app.set_defaults(func=_app)

    summary = command(
        "summary",
        "per-customer summary (frequency, recency, T, monetary value …)",
        "Read a transaction file and write one row per customer. BTYD recency is first → last purchase in the "
        "time unit; days_since_last_purchase is RFM recency.",
        "orders.csv --out summary.csv --report quality.json",
        "orders.parquet --time-unit days --observation-end 2024-06-30 --out summary.parquet",
    )
    add_input_arguments(summary)
    summary.add_argument("--time-unit", choices=tuple(TIME_UNITS), default="weeks", help="unit of recency and T")
    summary.add_argument("--observation-end", metavar="YYYY-MM-DD", help="last day observed (none: the last purchase)")
    summary.add_argument("--report", metavar="REPORT.json", type=Path, help="write the data-quality report as JSON")
    summary.add_argument("--out", metavar="OUT", type=Path, help=f"{_OUT} (none: CSV on standard output)")
    add_engine_argument(summary)
    summary.set_defaults(func=_summary)

    fit = command(
        "fit",
        "fit a purchase or spend model and print its parameters as JSON",
        "Fit one model on the whole history (or on purchases to --calibration-end) and print its parameters, "
        "standard errors and log-likelihood as JSON.",
        "orders.csv --model gammagamma --calibration-end 2024-03-31",
        "orders.csv --model paretonbd --covariates channel,'first order value'",
    )
    add_input_arguments(fit)
    fit.add_argument("--model", choices=(*PURCHASE_MODEL_KEYS, "gammagamma"), default="bgnbd", help="the model to fit")
    fit.add_argument("--time-unit", choices=tuple(TIME_UNITS), default="weeks", help="the model's time unit")
    fit.add_argument("--calibration-end", metavar="YYYY-MM-DD", help="fit on purchases up to this day only")
    fit.add_argument(
        "--covariates",
        metavar="COL[,COL…]",
        help="attributes known at the first purchase that scale the purchase and dropout rates (an attribute "
        "column, 'first product' or 'first order value'); adds 'coefficients' to the JSON (bgnbd, mbgnbd, paretonbd)",
    )
    fit.set_defaults(func=_fit)

    score = command(
        "score",
        "predicted CLV per customer",
        "Predict each customer's purchases, spend and CLV over the horizon with the model the app would use, "
        "with bootstrap intervals on request.",
        "orders.csv --out scores.csv",
        "orders.csv --model paretonbd --horizon-months 24 --bootstrap 30 --out scores.parquet",
    )
    add_input_arguments(score)
    add_scoring_arguments(score)
    score.add_argument(
        "--churn-multiplier", type=float, default=1.0, help="scale every customer's dropout rate (2: twice as likely)"
    )
    score.add_argument(
        "--bootstrap", type=int, default=0, metavar="B", help="resamples for clv_lower/clv_upper (0: none)"
    )
    score.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples")
    score.add_argument("--out", metavar="OUT", type=Path, required=True, help=_OUT)
    add_engine_argument(score)
    score.set_defaults(func=_score)

    segments = command(
        "segments",
        "scored customer list with value groups, RFM segments and lifecycle stages",
        "The Segments page's customer list: predicted value, value group, RFM segment, lifecycle stage and "
        "attributes, filtered as asked, ready for a campaign tool (formula-safe).",
        "orders.csv --value-group 'Top value' --out top.xlsx",
        "orders.csv --rfm-segment 'At risk' --rfm-segment 'Cannot lose them' --out winback.csv",
    )
    add_input_arguments(segments)
    add_scoring_arguments(segments)
    segments.add_argument(
        "--value-group",
        action="append",
        metavar="GROUP",
        help=f"keep only this value group (repeatable): {', '.join(VALUE_GROUPS)}",
    )
    segments.add_argument(
        "--rfm-segment", action="append", metavar="SEGMENT", help="keep only this RFM segment (repeatable)"
    )
    segments.add_argument("--out", metavar="OUT", type=Path, required=True, help=_OUT)
    segments.set_defaults(func=_segments)

    report = command(
        "report",
        "the executive report as one self-contained HTML file",
        "The Segments page's executive report: KPIs, cohort retention, survival curve, value groups, glossary "
        "and assumptions, in one HTML file that opens offline.",
        "orders.csv --out report.html",
        "orders.xlsx --sheet Orders --currency EUR --horizon-months 24 --out report.html",
    )
    add_input_arguments(report)
    add_scoring_arguments(report)
    report.add_argument("--out", metavar="REPORT.html", type=Path, required=True, help="the HTML file to write")
    add_cac_argument(report)
    report.add_argument(
        "--currency",
        metavar="CODE",
        help="ISO code of the amounts' currency, written on every amount (e.g. EUR); none: the symbols or "
        "currency column in the file, else plain numbers",
    )
    report.set_defaults(func=_report)

    hybrid = command(
        "hybrid",
        "subscription value plus one-off purchase value per customer, with totals as JSON",
        "For a business with subscriptions and one-off purchases: each subscriber's expected remaining payments "
        "(shifted-beta-geometric retention fitted to every subscriber's payments, per plan when a plan column has "
        "enough subscribers) plus the purchase model's value of the purchases that are not subscription payments. "
        "Subscription products are found by their monthly cadence and fixed price unless named.",
        "orders.csv --out hybrid.csv",
        "orders.csv --subscription-product 'Coffee Club monthly' --horizon-months 24 --out hybrid.xlsx",
    )
    add_input_arguments(hybrid)
    add_scoring_arguments(hybrid)
    hybrid.add_argument(
        "--subscription-product",
        action="append",
        metavar="PRODUCT",
        help="a product whose lines are subscription payments (repeatable); default: those paid monthly at a "
        "fixed price",
    )
    hybrid.add_argument("--out", metavar="OUT", type=Path, help="per-customer table: " + _OUT)
    hybrid.set_defaults(func=_hybrid)

    opportunities = command(
        "opportunities",
        "BG/BB for purchases at fixed opportunities (a yearly drive): the fit and each customer's forecast",
        "When every purchase falls on a regular grid of dates (a yearly donation drive, an annual event), the "
        "beta-geometric/beta-binomial model (Fader, Hardie & Shang 2010): its parameters, and each customer's "
        "P(alive), expected purchases and CLV over the opportunities within the horizon.",
        "donations.csv",
        "donations.csv --horizon-months 36 --margin 1 --out forecast.csv",
    )
    add_input_arguments(opportunities)
    add_economics_arguments(opportunities)
    opportunities.add_argument("--out", metavar="OUT", type=Path, help="per-customer forecast: " + _OUT)
    opportunities.set_defaults(func=_opportunities)

    equity = command(
        "equity",
        "what the customer base is worth: current plus future customers less their acquisition cost, as JSON",
        "Customer equity (Gupta, Lehmann & Stuart 2004): the current customers' CLV over the years (the total of "
        "score for that horizon), plus the customers the monthly cohorts say will be acquired, valued from their "
        "acquisition, less their CAC, discounted at the corporate rate; with the change for +1 pt retention, +1 pt "
        "discount rate, +1 % acquisitions and -1 % CAC.",
        "orders.csv --cac 40",
        "orders.csv --years 5 --corporate-discount-rate 0.09 --margin 0.35 --cac 40",
    )
    add_input_arguments(equity)
    add_model_arguments(equity)
    equity.add_argument("--years", type=int, default=EQUITY_YEARS, help=f"years valued, 1 to {EQUITY_MAX_YEARS}")
    equity.add_argument(
        "--corporate-discount-rate", type=float, default=0.10, help="yearly rate (e.g. the cost of capital)"
    )
    equity.add_argument("--margin", type=float, default=0.30, help="gross margin as a share, e.g. 0.3")
    add_cac_argument(equity)
    equity.set_defaults(func=_equity)

    validate = command(
        "validate",
        "backtest the models on a holdout period and print metrics as JSON",
        "Refit every model on purchases to the calibration end, predict the holdout, and print each model's "
        "accuracy as JSON; --out writes each customer's actual and predicted holdout purchases and spend.",
        "orders.csv",
        "orders.csv --calibration-end 2024-01-31 --no-challenger --out holdout.csv",
    )
    add_input_arguments(validate)
    validate.add_argument(
        "--calibration-end",
        metavar="YYYY-MM-DD",
        help="none: two thirds of the way through the history, the test --model auto and the app use",
    )
    validate.add_argument("--holdout-end", metavar="YYYY-MM-DD", help="none: the last day of the data")
    validate.add_argument("--time-unit", choices=tuple(TIME_UNITS), default="weeks", help="the models' time unit")
    validate.add_argument("--no-challenger", action="store_true", help="skip the ML challenger")
    validate.add_argument(
        "--out", metavar="OUT", type=Path, help=f"also write per-customer actual vs predicted: {_OUT}"
    )
    validate.set_defaults(func=_validate)

    cac = command(
        "cac",
        "CAC, value per customer, LTV:CAC and payback by acquisition channel, from marketing spend",
        "Read marketing spend per month and channel (--spend: columns month, channel, spend), match its channels to "
        "the data's acquisition-channel attribute, and print per channel the spend, new customers, CAC, value per "
        "customer (margin so far plus predicted CLV over the horizon, as the Segments page scores it), LTV:CAC and "
        "payback month as JSON; --out writes the same per channel and acquisition month.",
        "orders.csv --spend spend.csv",
        "orders.csv --spend spend.xlsx --channel-attribute source --horizon-months 24 --out cac.csv",
    )
    add_input_arguments(cac)
    cac.add_argument("--spend", metavar="FILE", type=Path, required=True, help="marketing spend per month and channel")
    cac.add_argument(
        "--channel-attribute", metavar="A", help="the attribute naming the acquisition channel (none: found by name)"
    )
    add_model_arguments(cac)
    add_economics_arguments(cac)
    cac.add_argument("--out", metavar="OUT", type=Path, help=f"also write the table per channel and month: {_OUT}")
    cac.set_defaults(func=_cac)

    first = command(
        "first-value",
        "value at first purchase: its backtest, and the new customers' predicted first-year revenue",
        "Learn a new customer's revenue in the 365 days after the first purchase day from what the first order says "
        "(attributes, first product, order value and lines, weekday) on older cohorts, test it on newer ones beside "
        "the BTYD forecast, and print both as JSON; --out writes the lookalike seed: every customer whose first and "
        "only purchase fell in the last 180 days, with the predicted value.",
        "orders.csv",
        "orders.csv --out lookalike-seed.csv",
    )
    add_input_arguments(first)
    add_model_arguments(first)
    first.add_argument(
        "--out", metavar="OUT", type=Path, help=f"write the lookalike seed (ids, predicted value): {_OUT}"
    )
    first.set_defaults(func=_first_value)

    monitor = command(
        "monitor",
        "rolling backtest, drift checks and alerts, for a scheduler (exit status 3 on an alert)",
        "Refit the model every --every months back from the end of the data and score each refit on the period "
        "after it; compare the latest two snapshots (predicted CLV; purchase days, spend per purchase day and days "
        "between purchases in each period, by Kolmogorov–Smirnov tests; data quality; value-group migration); "
        "check each against its threshold. Prints "
        "the status, the message and the checks as JSON; --out writes the whole report. Exit status 0 when every "
        "check is within its threshold, 3 when one alerts, 2 on a user error.",
        "orders.csv",
        "orders.csv --every 6M --max-revenue-error 0.2 --out monitor.json",
    )
    add_input_arguments(monitor)
    add_model_arguments(monitor)
    add_economics_arguments(monitor)
    monitor.add_argument("--every", default="3M", help="months between origins and snapshots: 1M to 24M, or 1Y, 2Y")
    monitor.add_argument(
        "--max-mae-increase",
        type=float,
        default=0.15,
        help="alert when the latest holdout MAE (over mean purchases per customer) is this share above the median "
        "of the earlier origins'",
    )
    monitor.add_argument(
        "--max-revenue-error", type=float, default=0.10, help="alert when the latest revenue error is beyond ± this"
    )
    monitor.add_argument(
        "--max-missing",
        type=float,
        default=0.05,
        help="alert when the share of rows missing an attribute or product rose by more than this on the period before",
    )
    monitor.add_argument(
        "--min-ks-p", type=float, default=0.05, help="alert when a distribution's KS p-value is below this (0: never)"
    )
    monitor.add_argument(
        "--min-ks-statistic",
        type=float,
        default=0.10,
        help="and its KS statistic (the largest gap between the two distributions' shares) is at least this",
    )
    monitor.add_argument("--out", metavar="OUT", type=Path, help="write the whole report as JSON (.json)")
    monitor.set_defaults(func=_monitor)

    retention = command(
        "retention",
        "fit the shifted-beta-geometric model to survivor counts",
        "Fit the shifted-beta-geometric model (Fader & Hardie) to a cohort's survivors per period and project "
        "them, printing JSON.",
        "--survivors 1000,869,743,653,593,551,517,491",
        "--survivors 500,400,340,300 --periods 24",
    )
    retention.add_argument("--survivors", required=True, help="comma-separated counts of one cohort, its size first")
    retention.add_argument("--periods", type=int, default=12, help="periods to project")
    retention.set_defaults(func=_retention)
    return parser


_OUT = f"the table to write; its extension names the format: {', '.join(TABLE_FORMATS)}"


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that reads a transaction file takes."""
    parser.add_argument(
        "input",
        metavar="INPUT",
        help="CSV/TSV/TXT, .xlsx, Parquet, or .gz/.zip of one; or a database URL (postgresql://user@host/db) with "
        "--table or --query (a password is better in PGPASSWORD than in the URL)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--table", metavar="T", help="with a database URL: read this table (name or schema.name)")
    source.add_argument("--query", metavar="SQL", help="with a database URL: read what this query returns (read-only)")
    parser.add_argument("--customer-col", metavar="C", help="column holding the customer id (none: detected)")
    parser.add_argument("--date-col", metavar="D", help="column holding the purchase date (none: detected)")
    parser.add_argument("--amount-col", metavar="A", help="column holding the amount (none: detected)")
    parser.add_argument("--sheet", help="Excel sheet to read (none: the one that holds transactions)")
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="the text file's encoding, e.g. cp1251 or latin-1 (none: detected; the quality report warns when "
        "text looks garbled)",
    )
    parser.add_argument(
        "--delimiter", metavar="CHAR", help="the text file's column separator, e.g. ';' or 'tab' (none: detected)"
    )
    order = parser.add_mutually_exclusive_group()
    order.add_argument(
        "--day-first", action="store_const", const=DAY_FIRST, dest="date_order", help="dates are DD/MM (none: read)"
    )
    order.add_argument(
        "--month-first", action="store_const", const=MONTH_FIRST, dest="date_order", help="dates are MM/DD"
    )
    parser.add_argument("--returns", choices=RETURN_POLICIES, default="net", help="what to do with negative amounts")
    parser.add_argument("--zero-amounts", choices=ZERO_POLICIES, default="keep", help="what to do with zero amounts")
    parser.add_argument("--timezone", default="UTC", help="business time zone for timestamps with offsets")
    parser.add_argument("--max-rows", type=int, help="refuse files with more rows than this (none: no limit)")


def add_engine_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("embedded", "spark"),
        default="embedded",
        help="spark: compute on Apache Spark (SPARK_MASTER, default local[*]); INPUT is then clean Parquet or CSV "
        "purchases, a file or a directory, with the columns named by --customer-col/--date-col/--amount-col",
    )


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    """The model and economics options of every command that predicts CLV."""
    add_model_arguments(parser)
    add_economics_arguments(parser)


def add_economics_arguments(parser: argparse.ArgumentParser) -> None:
    """Horizon, discount rate and margin: how predicted purchases become money."""
    parser.add_argument("--horizon-months", type=int, default=12, help="months of future value counted")
    parser.add_argument(
        "--annual-discount-rate", type=float, default=0.10, help="yearly rate future value is discounted at"
    )
    parser.add_argument("--margin", type=float, default=0.30, help="gross margin as a share, e.g. 0.3")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The purchase model and its time unit, as the app chooses them."""
    parser.add_argument(
        "--model",
        choices=MODEL_CHOICES,
        default=AUTO,
        help="purchase model; auto: the most accurate on a holdout of the last third of the history, as in the app "
        "(the choice and why is printed on standard error)",
    )
    parser.add_argument("--time-unit", choices=tuple(TIME_UNITS), default="weeks", help="the model's time unit")


def add_cac_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cac", type=float, default=25.0, help="acquisition cost per new customer (currency), as the app starts with"
    )


def economics_from(args: argparse.Namespace, *, churn_multiplier: float = 1.0):
    from clv_core.economics import Economics

    return Economics(
        annual_discount_rate=args.annual_discount_rate,
        gross_margin=args.margin,
        horizon_months=args.horizon_months,
        churn_multiplier=churn_multiplier,
        cac=getattr(args, "cac", 0.0),
    )


class Progress:
    """What a long command is doing, said on standard error when it is a terminal (a scheduler's log stays clean):
    each step as it starts, with the seconds since the command began."""

    def __init__(self, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.shown = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()

    def step(self, text: str) -> None:
        if self.shown:
            print(f"[{time.monotonic() - self.start:6.1f} s] {text}", file=self.stream, flush=True)

    def count(self, what: str):
        """A ``progress(done, total)`` callback that says every tenth of ``what``."""

        def report(done: int, total: int) -> None:
            if done == total or done % max(1, total // 10) == 0:
                self.step(f"{what}: {done:,} of {total:,}")

        return report


PROGRESS = Progress()


def input_label(args: argparse.Namespace) -> str:
    """The input as a report names it: a file's name, or the database URL without its password."""
    from clv_core.ingest.database import is_database_url, safe_url

    if is_database_url(args.input):
        return f"{safe_url(args.input)} · {args.table or 'query'}"
    return Path(args.input).name


def load(args: argparse.Namespace):
    """Read ``args.input`` (a file, or a table or query of a database) with the command-line options, as the
    Data page would."""
    from clv_core.ingest import IngestOptions, clean, ingest
    from clv_core.ingest.database import is_database_url, read_database

    PROGRESS.step(f"Reading {input_label(args)}…")
    options = IngestOptions(
        date_order=args.date_order or AUTO,
        returns=args.returns,
        zero_amounts=args.zero_amounts,
        timezone=args.timezone,
        max_rows=args.max_rows,
        sheet=args.sheet,
        encoding=args.encoding,
        delimiter=args.delimiter,
        max_decompressed_bytes=4_000_000_000,
    )
    overrides = {"customer_id": args.customer_col, "date": args.date_col, "amount": args.amount_col}
    if is_database_url(args.input):
        if not (args.table or args.query):
            raise ClvError("with a database URL, give --table or --query")
        content, raw = read_database(args.input, table=args.table, query=args.query, max_rows=args.max_rows)
        transactions = clean(raw, options=options, source_hash=content, **overrides)
    else:
        if args.table or args.query:
            raise ClvError("--table and --query go with a database URL (postgresql://…), not a file")
        path = Path(args.input)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ClvError(f"cannot read {path}: {exc.strerror or exc}") from None
        transactions = ingest(data, path.name, options=options, **overrides)
    r = transactions.report
    PROGRESS.step(f"Read {r.rows_kept:,} transactions of {r.customers:,} customers.")
    return transactions


def write_table(frame, path: Path) -> None:
    """``frame`` to ``path`` in the format its extension names (see :func:`clv_core.export.write_table`)."""
    from clv_core import export

    PROGRESS.step(f"Writing {len(frame):,} rows to {path}…")
    export.write_table(frame, path)


def _spark_summary(args: argparse.Namespace):
    from clv_core import spark
    from clv_core.ingest.database import is_database_url

    if is_database_url(args.input):
        raise ClvError("the Spark engine reads Parquet or CSV files; read a database with the embedded engine")
    PROGRESS.step("Starting Spark…")
    session = spark.session()
    purchases = spark.read_transactions(
        session,
        args.input,
        customer=args.customer_col or "customer_id",
        date=args.date_col or "date",
        amount=args.amount_col or "amount",
    )
    PROGRESS.step("Summarising customers on Spark…")
    table, _ = spark.summarise(
        purchases, time_unit=args.time_unit, observation_end=getattr(args, "observation_end", None)
    )
    return spark, table


SUMMARY_COLUMNS = (
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "first_purchase",
    "last_purchase",
    "orders",
    "total_revenue",
    "average_order_value",
    "days_since_last_purchase",
)


def _summary(args: argparse.Namespace) -> int:
    from clv_core.export import strict_json

    if args.engine == "spark":
        _, table = _spark_summary(args)
        frame = table.toPandas()[list(SUMMARY_COLUMNS)].sort_values("customer_id", ignore_index=True)
    else:
        from clv_core.summary import summarise

        transactions = load(args)
        PROGRESS.step("Summarising customers…")
        frame = summarise(transactions, time_unit=args.time_unit, observation_end=args.observation_end).table
        frame = frame[list(SUMMARY_COLUMNS)]
        if args.report:
            args.report.write_text(strict_json(transactions.report.to_dict()), encoding="utf-8")
    if args.out:
        write_table(frame, args.out)
    else:  # the same formula-safe CSV as --out x.csv: a redirect makes the same file
        from clv_core.export import neutralise, write_csv

        sys.stdout.flush()
        write_csv(neutralise(frame), sys.stdout.buffer)
    return 0


def _fit(args: argparse.Namespace) -> int:
    from clv_core.export import strict_json
    from clv_core.models import fit_purchases, fit_spend
    from clv_core.summary import summarise

    transactions = load(args)
    summary = summarise(transactions, time_unit=args.time_unit, observation_end=args.calibration_end)
    if args.covariates:
        from clv_core import covariates

        columns = [c.strip() for c in args.covariates.split(",") if c.strip()]
        if not columns:
            raise ClvError("--covariates names no attribute: give one or more, separated by commas")
        if args.model == "gammagamma":
            raise ClvError("--covariates applies to the purchase models (bgnbd, mbgnbd, paretonbd), not gammagamma")
        PROGRESS.step(f"Fitting {args.model} with {', '.join(columns)} on {len(summary.table):,} customers…")
        attributes = covariates.customer_attributes(transactions)
        print(strict_json(covariates.fit(summary, attributes, columns, args.model).to_dict()))
        return 0
    PROGRESS.step(f"Fitting {args.model} on {len(summary.table):,} customers…")
    result = fit_spend(summary) if args.model == "gammagamma" else fit_purchases(summary, args.model)
    print(strict_json(result.to_dict()))
    return 0


def analysis_of(args: argparse.Namespace, transactions):
    """The analysis the app would make of this input, with the model decision said on standard error (so the
    table or HTML written stays clean)."""
    from clv_core.analysis import Analysis

    analysis = Analysis(transactions, model=args.model, time_unit=args.time_unit, chosen_in="chosen with --model")
    if args.model == AUTO:
        PROGRESS.step("Choosing the model: BG/NBD, Pareto/NBD and MBG/NBD tested on a holdout…")
    print(analysis.decision().line(), file=sys.stderr)
    return analysis


def _score(args: argparse.Namespace) -> int:
    economics = economics_from(args, churn_multiplier=args.churn_multiplier)
    if args.engine == "spark":
        if args.bootstrap:
            raise ClvError("--bootstrap runs on the embedded engine only")
        if args.model == AUTO:  # the holdout test runs on the embedded engine; say what is used instead
            args.model = "bgnbd"
            print(
                "Model: BG/NBD for purchases, Gamma–Gamma for spend (the Spark engine runs no holdout test; "
                "choose with --model)",
                file=sys.stderr,
            )
        spark, table = _spark_summary(args)
        table = table.cache()
        PROGRESS.step("Fitting and scoring on Spark…")
        purchase, spend = spark.fit(table, args.model, args.time_unit)
        scored = spark.score(table, purchase, spend, economics).toPandas()
        scored = scored.sort_values("customer_id", ignore_index=True)
        scored["clv_lower"] = scored["clv_upper"] = scored["clv_risk_adjusted"] = float("nan")
        write_table(scored, args.out)
        return 0
    analysis = analysis_of(args, load(args))
    PROGRESS.step("Predicting each customer's purchases and spend…")
    out = analysis.scenario(economics).customers.drop(columns="historical_revenue")
    if args.bootstrap:
        progress = PROGRESS.count("Bootstrap refits")
        boot = analysis.bootstrap(economics, args.bootstrap, progress, seed=args.seed)
        out["clv_lower"], out["clv_upper"], out["clv_risk_adjusted"] = boot.lower, boot.upper, boot.risk_adjusted
    else:
        out["clv_lower"] = out["clv_upper"] = out["clv_risk_adjusted"] = float("nan")
    write_table(out, args.out)  # every digit: money to the cent, whatever its size
    return 0


def _segments(args: argparse.Namespace) -> int:
    from clv_core import rfm
    from clv_core import segments as seg

    analysis = analysis_of(args, load(args))
    PROGRESS.step("Scoring and segmenting customers…")
    table = analysis.scored(economics_from(args), seg.ValueGroupCuts())
    for given, known, what in (
        (args.value_group, VALUE_GROUPS, "value group"),
        (args.rfm_segment, rfm.SEGMENT_ORDER, "RFM segment"),
    ):
        unknown = set(given or ()) - set(known)
        if unknown:
            raise ClvError(f"Unknown {what} {sorted(unknown)[0]!r}. They are: {', '.join(known)}.")
    table = seg.filter_customers(table, value_groups=args.value_group, rfm_segments=args.rfm_segment)
    write_table(table, args.out)
    return 0


def currency_of(transactions, code: str | None):
    """``code``'s currency (refused when not a known ISO code), else what the file says."""
    from clv_core import currency

    if code:
        chosen = currency.from_code(code)
        if not chosen.known:
            raise ClvError(f"Unknown currency {code!r}. Known: {', '.join(currency.KNOWN)}.")
        return chosen
    return currency.detect(transactions.report.currencies, list(transactions.report.currency_codes))


def _report(args: argparse.Namespace) -> int:
    from clv_core.segments import ValueGroupCuts

    transactions = load(args)
    money = currency_of(transactions, args.currency)
    analysis = analysis_of(args, transactions)
    PROGRESS.step("Writing the report…")
    page = analysis.report(economics_from(args), ValueGroupCuts(), label=input_label(args), currency=money)
    args.out.write_text(page, encoding="utf-8")
    return 0


def _hybrid(args: argparse.Namespace) -> int:
    from clv_core.export import strict_json

    analysis = analysis_of(args, load(args))
    econ = economics_from(args)
    PROGRESS.step("Finding subscription payments and fitting their retention…")
    products = tuple(args.subscription_product) if args.subscription_product else analysis.subscription_products()
    result = analysis.hybrid(econ, products)
    if args.out:
        write_table(result.table, args.out)
    counts = result.table["subscriber"].value_counts()
    fits = analysis.subscriptions(products).fits
    print(
        strict_json(
            {
                "subscription_products": list(products),
                "subscription_value": result.subscription_total,
                "purchase_value": result.purchase_total,
                "total_value": result.total,
                "customers": len(result.table),
                "subscribers": {k: int(counts.get(k, 0)) for k in ("active", "cancelled")},
                "retention": {
                    plan: {"alpha": f.alpha, "beta": f.beta, "subscribers": f.subscribers, "cancelled": f.cancelled}
                    for plan, f in fits.items()
                },
                "assumptions": {
                    "horizon_months": econ.horizon_months,
                    "annual_discount_rate": econ.annual_discount_rate,
                    "margin": econ.gross_margin,
                    "purchase_model": analysis.purchases_without(products).decision().label,
                },
                "notes": list(result.notes),
            }
        )
    )
    return 0


def _opportunities(args: argparse.Namespace) -> int:
    from clv_core.analysis import Analysis
    from clv_core.export import strict_json

    analysis = Analysis(load(args))
    econ = economics_from(args)
    PROGRESS.step("Finding the purchase opportunities and fitting BG/BB…")
    summary, fitted = analysis.bgbb()
    result = analysis.discrete_forecast(econ)
    if args.out:
        write_table(result.customers, args.out)
    print(
        strict_json(
            {
                "opportunities": summary.grid.describe(),
                "params": fitted.params,
                "standard_errors": fitted.standard_errors,
                "log_likelihood": fitted.log_likelihood,
                "customers": fitted.customers,
                "opportunities_in_horizon": result.opportunities,
                "expected_purchases": float(result.customers["expected_purchases"].sum()),
                "total_clv": result.total_clv,
                "assumptions": {
                    "horizon_months": econ.horizon_months,
                    "annual_discount_rate": econ.annual_discount_rate,
                    "margin": econ.gross_margin,
                },
            }
        )
    )
    return 0


def _equity(args: argparse.Namespace) -> int:
    from clv_core.economics import Economics
    from clv_core.export import strict_json

    econ = Economics(annual_discount_rate=args.corporate_discount_rate, gross_margin=args.margin, cac=args.cac)
    analysis = analysis_of(args, load(args))
    PROGRESS.step("Valuing current and future customers…")
    print(strict_json(analysis.equity(econ, args.years).as_dict()))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from clv_core.export import strict_json
    from clv_core.validation import METRIC_KEYS, backtest, default_calibration_end, per_customer

    transactions = load(args)
    PROGRESS.step("Refitting the models on the calibration period and scoring the holdout…")
    result = backtest(
        transactions,
        calibration_end=args.calibration_end or str(default_calibration_end(transactions).date()),
        holdout_end=args.holdout_end,
        time_unit=args.time_unit,
        challenger=not args.no_challenger,
    )
    models = {
        name: {METRIC_KEYS[k]: float(v) for k, v in row.items()}  # not finite: null, with a note
        for name, row in result.metrics.iterrows()
    }
    if args.out:
        write_table(per_customer(result), args.out)
    print(
        strict_json(
            {
                "calibration_end": str(result.holdout.calibration_end.date()),
                "holdout_end": str(result.holdout.holdout_end.date()),
                "customers": len(result.holdout.actual),
                "time_unit": args.time_unit,
                "best_model": result.best,
                "default_calibration_end": args.calibration_end is None,
                "models": models,
                "notes": list(result.notes),
            },
        )
    )
    return 0


def _retention(args: argparse.Namespace) -> int:
    from clv_core.contractual import fit_sbg
    from clv_core.export import strict_json

    try:
        survivors = [float(v) for v in args.survivors.split(",") if v.strip()]
    except ValueError:
        raise ClvError("--survivors must be comma-separated numbers, e.g. 1000,869,743") from None
    result = fit_sbg(survivors)
    projection = result.projection(args.periods)
    print(
        strict_json(
            {
                "alpha": result.alpha,
                "beta": result.beta,
                "log_likelihood": result.log_likelihood,
                "survivors": list(result.survivors),
                "projected_survivors": [round(v, 3) for v in projection["projected"]],
                "retention_rates": [round(v, 6) for v in result.retention_rates(args.periods)],
            },
        )
    )
    return 0


def _app(args: argparse.Namespace) -> int:
    from clv_app import serve

    serve.main(args.streamlit_options)
    return 0


def _cac(args: argparse.Namespace) -> int:
    from clv_core import spend
    from clv_core.export import strict_json

    if not args.spend.is_file():
        raise ClvError(f"--spend {args.spend.name}: no such file")
    loaded = spend.read_spend(args.spend.read_bytes(), args.spend.name)
    if loaded.total <= 0:
        raise ClvError(f"every spend in {args.spend.name} is 0: there is no cost of acquisition to measure")
    transactions = load(args)
    attribute = args.channel_attribute or spend.channel_attribute(transactions)
    if attribute is None:
        offered = ", ".join(transactions.attributes) or "none"
        raise ClvError(f"No acquisition-channel attribute was found; name one with --channel-attribute ({offered})")
    analysis = analysis_of(args, transactions)
    economics = economics_from(args)
    PROGRESS.step("Scoring customers and matching the spend to their channels…")
    result = analysis.channel_economics(loaded, attribute, economics)
    if args.out:
        write_table(result.cohorts, args.out)
    # a channel without customers has no CAC: null, not a failed computation
    channels = result.channels.astype(object).where(result.channels.notna(), None)
    print(
        strict_json(
            {
                "blended_cac": result.blended_cac,
                "horizon_months": result.horizon_months,
                "channels": channels.to_dict("records"),
                "spend_channels_without_customers": list(result.matching.spend_only),
                "channels_without_spend": list(result.matching.customers_only),
                "spend_file": loaded.report,
                "notes": list(loaded.notes),
            }
        )
    )
    return 0


def _first_value(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from clv_core.export import strict_json

    analysis = analysis_of(args, load(args))
    PROGRESS.step("Training the first-purchase model on older cohorts and testing it on newer ones…")
    result = analysis.first_value_backtest()
    keys = {"MAE": "mae", "RMSE": "rmse", "total % error": "total_pct_error", "Spearman": "spearman",
            "top-decile precision": "top_decile_precision", "normalized Gini": "normalized_gini"}  # fmt: skip
    report = {
        "split": str(result.split.date()),
        "trained_on": result.train_customers,
        "tested_on": len(result.test),
        # a constant prediction (BTYD's for newcomers) has no rank correlation: null, not a failed computation
        "backtest": {
            name: {keys[k]: (float(v) if np.isfinite(v) else None) for k, v in row.items()}
            for name, row in result.metrics.iterrows()
        },
        "summary": result.sentence(),
    }
    try:
        new = analysis.new_customers()
    except ClvError as exc:
        report |= {"new_customers": 0, "note": str(exc)}
        if args.out:  # an empty seed, so a scheduler's next step finds the file it expects
            write_table(pd.DataFrame({"customer_id": [], "predicted_value": []}), args.out)
    else:
        report |= {
            "new_customers": len(new.customers),
            "likely_high_value": int(new.customers["likely_high_value"].sum()),
        }
        if args.out:
            write_table(new.seed(), args.out)
    print(strict_json(report))
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from clv_core.export import strict_json
    from clv_core.monitoring import Thresholds, monitor, parse_every

    every = parse_every(args.every)
    thresholds = Thresholds(
        args.max_mae_increase, args.max_revenue_error, args.max_missing, args.min_ks_p, args.min_ks_statistic
    )
    analysis = analysis_of(args, load(args))
    PROGRESS.step(f"Refitting {analysis.decision().label} every {every} months back and comparing snapshots…")
    result = monitor(
        analysis.transactions,
        analysis.model,
        every,
        thresholds=thresholds,
        time_unit=args.time_unit,
        economics=economics_from(args),
    )
    report = result.to_dict()
    if args.out:
        args.out.write_text(strict_json(report), encoding="utf-8")
    print(strict_json({k: report[k] for k in ("model", "every_months", "status", "message", "checks", "notes")}))
    print(result.message(), file=sys.stderr)
    return result.exit_code


def entry_point() -> None:
    """The ``clv-studio`` console script."""
    sys.exit(main(prog="clv-studio"))


def check_out(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse an ``--out`` whose extension names no format this command writes, before any work is done."""
    out = getattr(args, "out", None)
    if out is None or args.command == "report":
        return
    if args.command == "monitor" and out.suffix.lower() != ".json":
        parser.error(f"--out {out.name}: the monitoring report is written as JSON; name it .json")
    if out.suffix.lower() not in TABLE_FORMATS:
        parser.error(
            f"--out {out.name}: the extension names the format; use one of {', '.join(TABLE_FORMATS)}"
            + (f" (not {out.suffix})" if out.suffix else "")
        )


def main(argv: list[str] | None = None, prog: str = "python -m clv_core") -> int:
    parser = build_parser(prog)
    args, rest = parser.parse_known_args(argv)
    if args.command == "app":  # what argparse did not take (--server.port 8600 …) goes to Streamlit
        args.streamlit_options = [*rest, *args.streamlit_options]
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    check_out(parser, args)
    try:
        return args.func(args)
    except ClvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0
    except OSError as exc:  # an --out or --report that cannot be written (no such folder, no permission, disk full)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
