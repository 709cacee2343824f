"""The per-customer summary and scoring on Apache Spark, for histories larger than one machine.

The same definitions as the embedded engine (:func:`clv_core.summary.summarise`,
:func:`clv_core.forecast.score_table`): the summary is computed in Spark SQL; the models are fitted on the driver
from the sufficient statistics (distinct (frequency, recency, T) rows with their counts, and distinct
(frequency, monetary value) rows of repeat buyers), which the fit uses as weights exactly as it does for the
embedded engine; scoring runs the same vectorised function on every partition (``mapInPandas``). Input is
Parquet or CSV (with a header), one file or a directory of them, already clean: one row per purchase.

Run locally with ``local[*]``, or on a cluster by setting ``SPARK_MASTER`` (``spark://host:7077``, ``yarn``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from clv_core.economics import Economics
from clv_core.errors import ClvError, require
from clv_core.forecast import score_table
from clv_core.models import FitResult, fit_purchases, fit_spend
from clv_core.summary import TIME_UNITS, CustomerSummary

SCORE_SCHEMA = "customer_id string, p_alive double, expected_purchases double, expected_avg_value double, clv double"


def session(master: str | None = None):
    """A Spark session in UTC (dates are business days, never shifted by the machine's zone), with Arrow for
    pandas exchange and no web UI."""
    SparkSession = require("pyspark.sql", "spark", "The Spark engine").SparkSession

    # Python workers run this interpreter (with clv_core's dependencies) unless the cluster says otherwise
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("clv-studio")
        .master(master or os.environ.get("SPARK_MASTER", "local[*]"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # pandas writes nanosecond timestamps, which Spark reads only as numbers: read_transactions converts them
        .config("spark.sql.legacy.parquet.nanosAsLong", "true")
        .config("spark.sql.shuffle.partitions", os.environ.get("CLV_SPARK_PARTITIONS", "8"))
        .config("spark.driver.memory", os.environ.get("CLV_SPARK_DRIVER_MEMORY", "4g"))
    )
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # no Java, or a cluster that does not answer
        raise ClvError(f"Spark could not start ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}).") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_transactions(
    spark, path: str | os.PathLike, *, customer: str = "customer_id", date: str = "date", amount: str = "amount"
):
    """Purchases as ``customer_id`` (text), ``day`` (days since 1970-01-01) and ``amount`` (double), from Parquet
    or CSV files (a file or a directory); rows without a customer, date or amount are dropped."""
    from pyspark.sql import functions as F

    where = Path(path)
    if not where.exists():
        raise ClvError(f"{where} does not exist.")
    files = [where] if where.is_file() else sorted(p for p in where.rglob("*") if p.is_file())
    kinds = {p.suffix.lower() for p in files if not p.name.startswith(("_", "."))}
    if kinds <= {".parquet"} and kinds:
        frame = spark.read.parquet(str(where))
    elif kinds <= {".csv"} and kinds:
        # every column as text: ids keep their leading zeros; amount and date are converted below
        frame = spark.read.option("header", True).option("inferSchema", False).csv(str(where))
    else:
        raise ClvError(f"{where}: the Spark engine reads Parquet or CSV files (found {', '.join(sorted(kinds))}).")
    missing = [c for c in (customer, date, amount) if c not in frame.columns]
    if missing:
        raise ClvError(f"Columns not found: {', '.join(missing)}. Columns: {', '.join(frame.columns)}.")
    when = F.col(date)
    if dict(frame.dtypes)[date] == "bigint" and kinds == {".parquet"}:  # nanoseconds since 1970 (see session)
        when = F.timestamp_micros(F.floor(when / 1000))
    return frame.select(
        F.col(customer).cast("string").alias("customer_id"),
        F.datediff(F.to_date(when), F.lit("1970-01-01")).alias("day"),
        F.col(amount).cast("double").alias("amount"),
    ).dropna()


def summarise(purchases, *, time_unit: str = "weeks", observation_end: str | None = None):
    """The per-customer summary (columns as :func:`clv_core.summary.summarise`, without attributes) as a Spark
    DataFrame, and the observation end. Transactions after ``observation_end`` are left out."""
    from pyspark.sql import functions as F

    if time_unit not in TIME_UNITS:
        raise ClvError(f"Time unit must be one of {', '.join(TIME_UNITS)}, not {time_unit!r}.")
    unit = TIME_UNITS[time_unit]
    if observation_end is not None:
        end = pd.Timestamp(observation_end).normalize()
        end_day = int((end - pd.Timestamp("1970-01-01")).days)
        purchases = purchases.where(F.col("day") <= end_day)
    else:
        last = purchases.agg(F.max("day")).first()[0]
        if last is None:
            raise ClvError("There are no purchases to summarise.")
        end_day = int(last)
        end = pd.Timestamp("1970-01-01") + pd.Timedelta(days=end_day)
    days = purchases.groupBy("customer_id", "day").agg(F.sum("amount").alias("spend"), F.count("*").alias("rows"))
    first_day = days.groupBy("customer_id").agg(F.min("day").alias("first"))
    customers = (
        days.join(first_day, "customer_id")
        .groupBy("customer_id")
        .agg(
            F.min("day").alias("first"),
            F.max("day").alias("last"),
            F.count("*").alias("purchase_days"),
            F.sum("spend").alias("revenue"),
            F.sum(F.when(F.col("day") == F.col("first"), F.col("spend")).otherwise(0.0)).alias("first_spend"),
            F.sum("rows").alias("orders"),
        )
    )
    frequency = (F.col("purchase_days") - 1).cast("double")
    table = customers.select(
        "customer_id",
        frequency.alias("frequency"),
        ((F.col("last") - F.col("first")) / unit).alias("recency"),
        ((F.lit(end_day) - F.col("first")) / unit).alias("T"),
        F.when(frequency > 0, (F.col("revenue") - F.col("first_spend")) / frequency)
        .otherwise(0.0)
        .alias("monetary_value"),
        F.date_add(F.lit("1970-01-01").cast("date"), F.col("first").cast("int")).alias("first_purchase"),
        F.date_add(F.lit("1970-01-01").cast("date"), F.col("last").cast("int")).alias("last_purchase"),
        F.col("orders"),
        F.col("revenue").alias("total_revenue"),
        (F.col("revenue") / F.col("orders")).alias("average_order_value"),
        (F.lit(end_day) - F.col("last")).alias("days_since_last_purchase"),
    )
    return table, end


def fit(summary, model: str, time_unit: str) -> tuple[FitResult, FitResult]:
    """Fit the purchase and spend models on the driver from the summary's sufficient statistics."""
    from pyspark.sql import functions as F

    rows = summary.groupBy("frequency", "recency", "T").count().toPandas()
    purchase = fit_purchases(_summary(rows, time_unit), model, weights=rows["count"].to_numpy())
    repeat = (
        summary.where((F.col("frequency") > 0) & (F.col("monetary_value") > 0))
        .groupBy("frequency", "monetary_value")
        .count()
        .toPandas()
    )
    spend = fit_spend(_summary(repeat, time_unit), weights=repeat["count"].to_numpy())
    return purchase, spend


def score(summary, purchase: FitResult, spend: FitResult, economics: Economics):
    """CLV per customer, computed on the executors with :func:`clv_core.forecast.score_table`."""
    columns = ["customer_id", "frequency", "recency", "T", "monetary_value", "total_revenue"]

    def batches(frames):
        for frame in frames:
            if len(frame):
                yield score_table(frame, purchase, spend, economics)

    return summary.select(*columns).mapInPandas(batches, SCORE_SCHEMA)


def _summary(rows: pd.DataFrame, time_unit: str) -> CustomerSummary:
    """Distinct rows as a summary the fitters take (with the counts passed as weights)."""
    table = rows.drop(columns="count").assign(**{c: 0.0 for c in ("frequency", "recency", "T") if c not in rows})
    if "monetary_value" not in table:
        table["monetary_value"] = 0.0
    return CustomerSummary(table=table.reset_index(drop=True), time_unit=time_unit, observation_end=pd.NaT)
