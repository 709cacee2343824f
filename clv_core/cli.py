"""``clv-studio`` (or ``python -m clv_core``): the app's computations for batch use, and ``clv-studio app`` to
start the dashboard.

Input files are read exactly as the Data page reads them. A user error prints one ``error: …`` line on stderr
and exits with status 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clv_core import __version__
from clv_core.analysis import AUTO, CHOICES, Analysis
from clv_core.contractual import fit_sbg
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.export import strict_json
from clv_core.ingest import DAY_FIRST, MONTH_FIRST, RETURN_POLICIES, ZERO_POLICIES, IngestOptions, clean, ingest
from clv_core.ingest.database import is_database_url, read_database, safe_url
from clv_core.models import PURCHASE_MODELS, fit_purchases, fit_spend
from clv_core.segments import VALUE_GROUPS, ValueGroupCuts
from clv_core.summary import TIME_UNITS, summarise
from clv_core.validation import METRIC_KEYS, backtest, default_calibration_end

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


def build_parser(prog: str = "python -m clv_core") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="CLV Studio from the command line.")
    parser.add_argument("--version", action="version", version=f"CLV Studio {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    app = sub.add_parser(
        "app",
        help="start the dashboard on http://127.0.0.1:8501 (the bundled sample prepared as it starts)",
        description="Start the dashboard, as make run does. Further options go to Streamlit, e.g. "
        "--server.port 8600 or --server.address 0.0.0.0 (without sign-in configured the app is open to anyone "
        "who can reach the port).",
    )
    app.add_argument("streamlit_options", nargs=argparse.REMAINDER, help="options for streamlit run")
    app.set_defaults(func=_app)
    summary = sub.add_parser(
        "summary",
        help="per-customer summary (frequency, recency, T, monetary value …) as CSV",
        description="Read a transaction file and write one row per customer. BTYD recency is first → last "
        "purchase in the time unit; days_since_last_purchase is RFM recency.",
    )
    add_input_arguments(summary)
    summary.add_argument("--time-unit", choices=tuple(TIME_UNITS), default="weeks", help="unit of recency and T")
    summary.add_argument("--observation-end", metavar="YYYY-MM-DD", help="last day observed (default: last purchase)")
    summary.add_argument("--report", metavar="REPORT.json", type=Path, help="write the data-quality report as JSON")
    summary.add_argument("--out", metavar="OUT.csv", type=Path, help="output file (default: standard output)")
    add_engine_argument(summary)
    summary.set_defaults(func=_summary)

    fit = sub.add_parser("fit", help="fit a purchase or spend model and print its parameters as JSON")
    add_input_arguments(fit)
    fit.add_argument("--model", choices=(*PURCHASE_MODELS, "gammagamma"), default="bgnbd")
    fit.add_argument("--time-unit", choices=tuple(TIME_UNITS), default="weeks")
    fit.add_argument("--calibration-end", metavar="YYYY-MM-DD", help="fit on purchases up to this day only")
    fit.set_defaults(func=_fit)

    score = sub.add_parser("score", help="predicted CLV per customer as CSV")
    add_input_arguments(score)
    add_scoring_arguments(score)
    score.add_argument("--churn-multiplier", type=float, default=1.0)
    score.add_argument("--bootstrap", type=int, default=0, metavar="B", help="resamples for clv_lower/clv_upper")
    score.add_argument("--seed", type=int, default=0)
    score.add_argument("--out", metavar="OUT.csv", type=Path, required=True)
    add_engine_argument(score)
    score.set_defaults(func=_score)

    segments = sub.add_parser(
        "segments", help="scored customer list with value groups, RFM segments and lifecycle stages as CSV"
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
    segments.add_argument("--out", metavar="OUT.csv", type=Path, required=True)
    segments.set_defaults(func=_segments)

    report = sub.add_parser("report", help="the executive report as one self-contained HTML file")
    add_input_arguments(report)
    add_scoring_arguments(report)
    report.add_argument("--out", metavar="REPORT.html", type=Path, required=True)
    report.add_argument(
        "--currency",
        metavar="CODE",
        help="ISO code of the amounts' currency, written on every amount (e.g. EUR); default: the symbols or "
        "currency column in the file, else plain numbers",
    )
    report.set_defaults(func=_report)

    validate = sub.add_parser("validate", help="backtest the models on a holdout period and print metrics as JSON")
    add_input_arguments(validate)
    validate.add_argument(
        "--calibration-end",
        metavar="YYYY-MM-DD",
        help="default: two thirds of the way through the history, the test --model auto and the app use",
    )
    validate.add_argument("--holdout-end", metavar="YYYY-MM-DD", help="default: the last day of the data")
    validate.add_argument("--time-unit", choices=tuple(TIME_UNITS), default="weeks")
    validate.add_argument("--no-challenger", action="store_true", help="skip the ML challenger")
    validate.set_defaults(func=_validate)

    retention = sub.add_parser("retention", help="fit the shifted-beta-geometric model to survivor counts")
    retention.add_argument("--survivors", required=True, help="comma-separated counts, cohort size first")
    retention.add_argument("--periods", type=int, default=12, help="periods to project (default 12)")
    retention.set_defaults(func=_retention)
    return parser


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
    parser.add_argument("--customer-col", metavar="C", help="column holding the customer id")
    parser.add_argument("--date-col", metavar="D", help="column holding the purchase date")
    parser.add_argument("--amount-col", metavar="A", help="column holding the amount")
    parser.add_argument("--sheet", help="Excel sheet to read")
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--day-first", action="store_const", const=DAY_FIRST, dest="date_order", help="dates are DD/MM")
    order.add_argument(
        "--month-first", action="store_const", const=MONTH_FIRST, dest="date_order", help="dates are MM/DD"
    )
    parser.add_argument("--returns", choices=RETURN_POLICIES, default="net", help="negative amounts (default: net)")
    parser.add_argument("--zero-amounts", choices=ZERO_POLICIES, default="keep", help="zero amounts (default: keep)")
    parser.add_argument("--timezone", default="UTC", help="business time zone for timestamps with offsets")
    parser.add_argument("--max-rows", type=int, help="refuse files with more rows than this")


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
    parser.add_argument(
        "--model",
        choices=CHOICES,
        default=AUTO,
        help="purchase model (default auto: the most accurate on a holdout of the last third of the history, as in "
        "the app; the choice and why is printed on standard error)",
    )
    parser.add_argument("--time-unit", choices=tuple(TIME_UNITS), default="weeks", help="the model's time unit")
    parser.add_argument("--horizon-months", type=int, default=12)
    parser.add_argument("--annual-discount-rate", type=float, default=0.10)
    parser.add_argument("--margin", type=float, default=0.30, help="gross margin as a share, e.g. 0.3")


def economics_from(args: argparse.Namespace, *, churn_multiplier: float = 1.0) -> Economics:
    return Economics(
        annual_discount_rate=args.annual_discount_rate,
        gross_margin=args.margin,
        horizon_months=args.horizon_months,
        churn_multiplier=churn_multiplier,
    )


def input_label(args: argparse.Namespace) -> str:
    """The input as a report names it: a file's name, or the database URL without its password."""
    if is_database_url(args.input):
        return f"{safe_url(args.input)} · {args.table or 'query'}"
    return Path(args.input).name


def load(args: argparse.Namespace):
    """Read ``args.input`` (a file, or a table or query of a database) with the command-line options, as the
    Data page would."""
    options = IngestOptions(
        date_order=args.date_order or "auto",
        returns=args.returns,
        zero_amounts=args.zero_amounts,
        timezone=args.timezone,
        max_rows=args.max_rows,
        sheet=args.sheet,
        max_decompressed_bytes=4_000_000_000,
    )
    overrides = {"customer_id": args.customer_col, "date": args.date_col, "amount": args.amount_col}
    if is_database_url(args.input):
        if not (args.table or args.query):
            raise ClvError("with a database URL, give --table or --query")
        content, raw = read_database(args.input, table=args.table, query=args.query, max_rows=args.max_rows)
        return clean(raw, options=options, source_hash=content, **overrides)
    if args.table or args.query:
        raise ClvError("--table and --query go with a database URL (postgresql://…), not a file")
    path = Path(args.input)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ClvError(f"cannot read {path}: {exc.strerror or exc}") from None
    return ingest(data, path.name, options=options, **overrides)


def _spark_summary(args: argparse.Namespace):
    from clv_core import spark

    if is_database_url(args.input):
        raise ClvError("the Spark engine reads Parquet or CSV files; read a database with the embedded engine")
    session = spark.session()
    purchases = spark.read_transactions(
        session,
        args.input,
        customer=args.customer_col or "customer_id",
        date=args.date_col or "date",
        amount=args.amount_col or "amount",
    )
    table, _ = spark.summarise(
        purchases, time_unit=args.time_unit, observation_end=getattr(args, "observation_end", None)
    )
    return spark, table


def _summary(args: argparse.Namespace) -> int:
    if args.engine == "spark":
        _, table = _spark_summary(args)
        frame = table.toPandas()[list(SUMMARY_COLUMNS)].sort_values("customer_id", ignore_index=True)
        frame.to_csv(args.out or sys.stdout, index=False, date_format="%Y-%m-%d")
        return 0
    transactions = load(args)
    result = summarise(transactions, time_unit=args.time_unit, observation_end=args.observation_end)
    table = result.table[list(SUMMARY_COLUMNS)]
    if args.report:
        args.report.write_text(strict_json(transactions.report.to_dict()), encoding="utf-8")
    if args.out:
        table.to_csv(args.out, index=False, date_format="%Y-%m-%d")
    else:
        table.to_csv(sys.stdout, index=False, date_format="%Y-%m-%d")
    return 0


def _fit(args: argparse.Namespace) -> int:
    summary = summarise(load(args), time_unit=args.time_unit, observation_end=args.calibration_end)
    result = fit_spend(summary) if args.model == "gammagamma" else fit_purchases(summary, args.model)
    print(strict_json(result.to_dict()))
    return 0


def analysis_of(args: argparse.Namespace, transactions) -> Analysis:
    """The analysis the app would make of this input, with the model decision said on standard error (so the
    CSV or HTML written stays clean)."""
    analysis = Analysis(transactions, model=args.model, time_unit=args.time_unit, chosen_in="chosen with --model")
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
        purchase, spend = spark.fit(table, args.model, args.time_unit)
        scored = spark.score(table, purchase, spend, economics).toPandas()
        scored = scored.sort_values("customer_id", ignore_index=True)
        scored["clv_lower"] = scored["clv_upper"] = scored["clv_risk_adjusted"] = float("nan")
        scored.to_csv(args.out, index=False)
        return 0
    analysis = analysis_of(args, load(args))
    out = analysis.scenario(economics).customers.drop(columns="historical_revenue")
    if args.bootstrap:
        boot = analysis.bootstrap(economics, args.bootstrap, seed=args.seed)
        out["clv_lower"], out["clv_upper"], out["clv_risk_adjusted"] = boot.lower, boot.upper, boot.risk_adjusted
    else:
        out["clv_lower"] = out["clv_upper"] = out["clv_risk_adjusted"] = float("nan")
    from clv_core import export

    export.write_csv(out, args.out)  # every digit: money to the cent, whatever its size
    return 0


def _segments(args: argparse.Namespace) -> int:
    from clv_core import export, rfm
    from clv_core import segments as seg

    analysis = analysis_of(args, load(args))
    table = analysis.scored(economics_from(args), ValueGroupCuts())
    for given, known, what in (
        (args.value_group, VALUE_GROUPS, "value group"),
        (args.rfm_segment, rfm.SEGMENT_ORDER, "RFM segment"),
    ):
        unknown = set(given or ()) - set(known)
        if unknown:
            raise ClvError(f"Unknown {what} {sorted(unknown)[0]!r}. They are: {', '.join(known)}.")
    table = seg.filter_customers(table, value_groups=args.value_group, rfm_segments=args.rfm_segment)
    args.out.write_bytes(export.to_csv_bytes(table))
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
    transactions = load(args)
    money = currency_of(transactions, args.currency)
    analysis = analysis_of(args, transactions)
    page = analysis.report(economics_from(args), ValueGroupCuts(), label=input_label(args), currency=money)
    args.out.write_text(page, encoding="utf-8")
    return 0


def _validate(args: argparse.Namespace) -> int:
    transactions = load(args)
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


def entry_point() -> None:
    """The ``clv-studio`` console script."""
    sys.exit(main(prog="clv-studio"))


def main(argv: list[str] | None = None, prog: str = "python -m clv_core") -> int:
    parser = build_parser(prog)
    args, rest = parser.parse_known_args(argv)
    if args.command == "app":  # what argparse did not take (--server.port 8600 …) goes to Streamlit
        args.streamlit_options = [*rest, *args.streamlit_options]
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return args.func(args)
    except ClvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0
