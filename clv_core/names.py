"""The names the package's parts share, in a module that imports nothing: the command line builds its options (and
answers ``--help``) from them without loading pandas, scipy or the models.

Each name is defined here once and re-exported where it belongs (``summary.TIME_UNITS``, ``models.REGISTRY``'s
keys, ``ingest.RETURN_POLICIES`` …); tests/unit/test_cli_options.py checks they agree.
"""

from __future__ import annotations

#: Days in an average month (a Julian year of 365.25 days over 12): the one month length for time units, horizons
#: and month-based conversions everywhere in clv_core.
DAYS_PER_MONTH = 365.25 / 12
#: Days per time unit. Weeks are days / 7 (what reproduces Fader, Hardie & Lee's CDNOW figures); a month is
#: ``DAYS_PER_MONTH``.
TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH}

#: "Let the data decide": the model chosen on the holdout, or the date order read from the dates.
AUTO = "auto"
#: The purchase models, by key (:data:`clv_core.models.REGISTRY` has one entry per key, in this order).
PURCHASE_MODEL_KEYS = ("bgnbd", "paretonbd", "mbgnbd")
#: What ``--model`` and the app's model picker accept.
MODEL_CHOICES = (AUTO, *PURCHASE_MODEL_KEYS)

#: Date orders for ambiguous dates such as 03/04/2024.
DAY_FIRST = "day-first"
MONTH_FIRST = "month-first"
#: What the loader does with negative amounts, zero amounts and duplicated rows.
RETURN_POLICIES = ("net", "drop", "keep")
ZERO_POLICIES = ("keep", "drop")
DUPLICATE_POLICIES = ("auto", "drop", "keep")

#: The value groups of the scored customer list, from the most valuable.
VALUE_GROUPS = ("Top value", "High value", "Middle value", "Low value", "Lowest value")

#: Customer equity (clv_core.equity): the years valued unless told otherwise, and the most (the forecast's 60 months).
EQUITY_YEARS = 3
EQUITY_MAX_YEARS = 5
