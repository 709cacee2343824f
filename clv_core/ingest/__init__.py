"""Read any supported transaction file into the canonical table, and say what was done to it.

detect (compression, file type, encoding, delimiter) → read as text → map columns → parse ids, dates and
amounts by explicit rules → clean (drops, duplicates, returns) → :class:`Transactions` with a
:class:`QualityReport`.
"""

from clv_core.ingest.amounts import parse_amounts
from clv_core.ingest.columns import ROLE_LABELS, ROLES, ColumnMapping, MappingGuess, detect_columns, resolve_mapping
from clv_core.ingest.dates import AUTO, DAY_FIRST, MONTH_FIRST, parse_dates
from clv_core.ingest.pipeline import (
    BLANK_ATTRIBUTE,
    DUPLICATE_POLICIES,
    RETURN_POLICIES,
    ZERO_POLICIES,
    DroppedRows,
    IngestOptions,
    QualityReport,
    Transactions,
    choose_sheet,
    clean,
    content_hash,
    ingest,
)
from clv_core.ingest.sniff import RawTable, read_raw

__all__ = [
    "AUTO",
    "BLANK_ATTRIBUTE",
    "DAY_FIRST",
    "DUPLICATE_POLICIES",
    "MONTH_FIRST",
    "RETURN_POLICIES",
    "ROLES",
    "ROLE_LABELS",
    "ZERO_POLICIES",
    "ColumnMapping",
    "DroppedRows",
    "IngestOptions",
    "MappingGuess",
    "QualityReport",
    "RawTable",
    "Transactions",
    "choose_sheet",
    "clean",
    "content_hash",
    "detect_columns",
    "ingest",
    "parse_amounts",
    "parse_dates",
    "read_raw",
    "resolve_mapping",
]
