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
