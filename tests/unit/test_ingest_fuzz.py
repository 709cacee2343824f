"""Whatever bytes arrive, ingestion returns transactions or raises the clv_core error: never anything else."""

from __future__ import annotations

import gzip
import io
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from tests.conftest import load

VALID = (
    "order_id,customer_id,order_date,amount,channel\n"
    'A1,00001,2024-01-05,10.50,Email\nA2,00002,13/01/2024,"$1,200.00",Web\nA3,00001,20240201,-3,Email\n'
    "A4,NA,2024-02-05T10:00:00+01:00,0,Web\nA5,00003,45300,7,Email\n"
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes, name: str) -> None:
    try:
        result = load(data, name)
    except ClvError as exc:
        assert str(exc), "a user-facing error must say something"
        return
    assert isinstance(result, Transactions)
    assert result.data["amount"].notna().all() and result.data["date"].notna().all()
    assert result.report.rows_kept == len(result.data)


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from(["x.csv", "x.xlsx", "x.parquet", "x.csv.gz", "x.zip", "x.txt"]))
def test_random_bytes_give_transactions_or_a_clv_error(data, name):
    outcome(data, name)


_MUTATIONS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=len(VALID)),
        st.sampled_from(["insert", "delete", "replace", "truncate"]),
        st.text(alphabet=',;\t"\n\r\x00=$€.-0123456789aZ \ufeff', min_size=1, max_size=5),
    ),
    max_size=8,
)


def mangle(mutations) -> str:
    text = VALID
    for pos, kind, chunk in mutations:
        pos = min(pos, len(text))
        if kind == "insert":
            text = text[:pos] + chunk + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + len(chunk) :]
        elif kind == "replace":
            text = text[:pos] + chunk + text[pos + len(chunk) :]
        else:
            text = text[:pos]
    return text


@FUZZ
@given(_MUTATIONS, st.sampled_from(["utf-8", "utf-16", "cp1252"]))
def test_mangled_csvs_give_transactions_or_a_clv_error(mutations, codec):
    outcome(mangle(mutations).encode(codec, errors="replace"), "mangled.csv")


@FUZZ
@given(_MUTATIONS, st.integers(min_value=0, max_value=400))
def test_mangled_and_cut_archives_give_transactions_or_a_clv_error(mutations, cut):
    raw = mangle(mutations).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("t.csv", raw)
    for data in (gzip.compress(raw), buffer.getvalue()):
        outcome(data[: len(data) - cut] if cut else data, "t.bin")
