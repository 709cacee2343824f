"""2,000+ hostile files through ingestion: only the clv_core error ever comes out, and memory stays bounded.

The corpus is generated from a seed: mangled CSVs in three encodings, random bytes under every extension, cut and
bit-flipped gzip, zip, xlsx and Parquet files, compression bombs, absurd numbers, dates and ids, ragged and
enormous lines. It runs in a child process so the peak memory measured is the corpus's own. The time taken is
printed (``pytest -s``), not asserted: timing belongs in benchmarks.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
FILES = 2_100
VALID = (
    "order_id,customer_id,order_date,amount,channel\n"
    'A1,00001,2024-01-05,10.50,Email\nA2,00002,13/01/2024,"$1,200.00",Web\nA3,00001,20240201,-3,Email\n'
    "A4,NA,2024-02-05T10:00:00+01:00,0,Web\nA5,00003,45300,7,Email\n"
)
# A plain file of 40 rows in one date format: lightly mangled, most of these still load.
PLAIN = "customer_id,date,amount\n" + "".join(
    f"c{i % 9},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{i + 0.5}\n" for i in range(40)
)
NAMES = ("x.csv", "x.txt", "x.tsv", "x.xlsx", "x.parquet", "x.csv.gz", "x.zip", "x.bin")
ALPHABET = list(',;\t"\n\r\x00=$€.-0123456789aZ \ufeff')


def _mangle(rng: np.random.Generator, text: str) -> str:
    for _ in range(int(rng.integers(1, 9))):
        pos = int(rng.integers(0, len(text) + 1))
        chunk = "".join(rng.choice(ALPHABET, int(rng.integers(1, 6))))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            text = text[:pos] + chunk + text[pos:]
        elif kind == 1:
            text = text[:pos] + text[pos + len(chunk) :]
        elif kind == 2:
            text = text[:pos] + chunk + text[pos + len(chunk) :]
        else:
            text = text[:pos]
    return text


def _damage(rng: np.random.Generator, data: bytes) -> bytes:
    """Cut the bytes short, or flip a few of them."""
    if rng.random() < 0.5:
        return data[: int(rng.integers(0, len(data)))]
    out = bytearray(data)
    for i in rng.integers(0, len(out), int(rng.integers(1, 8))):
        out[i] ^= int(rng.integers(1, 256))
    return bytes(out)


def _templates() -> dict[str, bytes]:
    frame = pd.DataFrame(
        {"customer_id": ["a", "b", "a"], "date": pd.to_datetime(["2024-01-01"] * 3), "amount": [1.0, 2.0, 3.0]}
    )
    xlsx, parquet, zipped = io.BytesIO(), io.BytesIO(), io.BytesIO()
    frame.to_excel(xlsx, index=False)
    frame.to_parquet(parquet, index=False)
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("t.csv", VALID)
    zeros = b"0" * 30_000_000  # 30 MB of one byte: a bomb past the 20 MB floor and the 200× ratio
    bomb_zip = io.BytesIO()
    with zipfile.ZipFile(bomb_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("t.csv", b"customer_id,date,amount\n" + zeros)
    return {
        "xlsx": xlsx.getvalue(),
        "parquet": parquet.getvalue(),
        "zip": zipped.getvalue(),
        "gz": gzip.compress(VALID.encode()),
        "bomb.gz": gzip.compress(b"customer_id,date,amount\n" + zeros, 9),
        "bomb.zip": bomb_zip.getvalue(),
    }


def _absurd(rng: np.random.Generator) -> str:
    amounts = ["1e308", "-1e308", "9" * 400, "inf", "-inf", "NaN", "1,2,3", "0x10", "€€", "1e-400", "--5"]
    dates = ["99999-01-01", "0000-00-00", "2024-13-45", "1e10", "31/02/2024", "-1", "9" * 50, "2024-01-01" * 50]
    ids = ["", " ", "x" * 10_000, "=cmd|' /C calc'!A0", "\x00", "NULL", "😀" * 100]
    rows = [f'{rng.choice(ids)!s},"{rng.choice(dates)}",{rng.choice(amounts)}' for _ in range(int(rng.integers(1, 40)))]
    return "customer_id,date,amount\n" + "\n".join(rows) + "\n"


def hostile_files(seed: int = 0, count: int = FILES) -> Iterator[tuple[str, bytes]]:
    rng = np.random.default_rng(seed)
    t = _templates()
    for i in range(count):
        kind = i % 10
        if kind in (0, 1):
            codec = ("utf-8", "utf-16", "cp1252")[int(rng.integers(0, 3))]
            yield "mangled.csv", _mangle(rng, VALID if kind == 0 else PLAIN).encode(codec, errors="replace")
        elif kind == 2:
            yield str(rng.choice(NAMES)), rng.bytes(int(rng.integers(0, 4096)))
        elif kind == 3:
            yield "cut.csv.gz", _damage(rng, t["gz"])
        elif kind == 4:
            yield "cut.zip", _damage(rng, t["zip"])
        elif kind == 5:
            yield "cut.xlsx", _damage(rng, t["xlsx"])
        elif kind == 6:
            yield "cut.parquet", _damage(rng, t["parquet"])
        elif kind == 7:
            yield "absurd.csv", _absurd(rng).encode("utf-8", errors="replace")
        elif kind == 8:
            width = int(rng.integers(1, 300))
            line = ",".join("c" for _ in range(width))
            ragged = "\n".join(",".join("1" for _ in range(int(rng.integers(0, width + 5)))) for _ in range(20))
            yield "ragged.csv", (line + "\n" + ragged + "\n" + "9" * int(rng.integers(0, 200_000))).encode()
        else:
            yield ("bomb.csv.gz", t["bomb.gz"]) if rng.random() < 0.5 else ("bomb.zip", t["bomb.zip"])


def run_corpus(seed: int = 0) -> dict:
    """Ingest every file; count outcomes; anything but ClvError is recorded as a failure."""
    from clv_core.errors import ClvError
    from clv_core.ingest import IngestOptions, Transactions, ingest

    options = IngestOptions(today="2026-01-01")
    counts = {"files": 0, "loaded": 0, "refused": 0, "empty_messages": 0}
    failures = []
    start = time.perf_counter()
    for name, data in hostile_files(seed):
        counts["files"] += 1
        try:
            result = ingest(data, name, options=options)
        except ClvError as exc:
            counts["refused"] += 1
            counts["empty_messages"] += not str(exc).strip()
        except Exception as exc:  # the point is to catch anything else
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
        else:
            assert isinstance(result, Transactions)
            counts["loaded"] += 1
    counts["seconds"] = round(time.perf_counter() - start, 1)
    counts["failures"] = failures[:20]
    counts["failure_count"] = len(failures)
    counts["peak_mb"] = next(
        int(line.split()[1]) / 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    return counts


def test_two_thousand_hostile_files_give_transactions_or_a_clv_error_in_bounded_memory():
    done = subprocess.run(
        [sys.executable, "-m", "tests.unit.test_ingest_corpus"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\nhostile corpus: {result}")
    assert result["files"] >= 2_000
    assert result["failure_count"] == 0, result["failures"]
    assert result["empty_messages"] == 0
    assert result["refused"] > 1_000 and result["loaded"] > 40  # the corpus exercises both outcomes
    assert result["peak_mb"] < 1024


if __name__ == "__main__":
    print(json.dumps(run_corpus()))
