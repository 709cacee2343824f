"""The one error family that user-caused problems raise.

Pages and the command line catch :class:`ClvError` (and only it): its message is written for the person who
loaded the data and says what is wrong and what to do. Anything else escaping ``clv_core`` is a bug.
"""

from __future__ import annotations


class ClvError(Exception):
    """A problem the user can fix: a file we cannot read, a column that is missing, data a model cannot fit."""


class UnreadableFileError(ClvError):
    """The bytes are not a transaction table we can read (binary, empty, archive trouble, bad encoding)."""


class ColumnMappingError(ClvError):
    """A required column (customer id, date, amount) is missing, duplicated or ambiguous."""


class DataQualityError(ClvError):
    """The table was read but too many rows are unusable (bad dates, bad amounts, mixed currencies)."""


class ServerBusyError(ClvError):
    """The server stayed too busy to start the work; it says nothing about the data (a model decision must not
    fall back on it)."""


class MissingExtraError(ClvError):
    """A feature whose library is an optional extra that is not installed."""


def require(module: str, extra: str, feature: str):
    """``import module``, or one line saying what to install: the extra for an installed copy, the requirements
    file for a checkout.

    >>> require("json", "spark", "Spark").__name__
    'json'
    >>> try:
    ...     require("no_such_module_here", "spark", "The Spark engine")
    ... except MissingExtraError as exc:
    ...     print(exc)
    The Spark engine needs the 'spark' extra: pip install 'clv-studio[spark]' (in a checkout: pip install -r
    requirements-spark.txt).
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"{feature} needs the '{extra}' extra: pip install 'clv-studio[{extra}]' "
            f"(in a checkout: pip install -r requirements-{extra}.txt)."
        ) from None
