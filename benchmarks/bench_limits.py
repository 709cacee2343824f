"""Files that expand in memory: time, peak memory and outcome of ingesting each, one child process per file.

The cases are the issue's measurements plus the ones the fix covers:

* ``parquet-bomb``: 2,000 rows of one 20 MB string kept as a Parquet dictionary (zstd), about 2 KB on disk;
* ``wide-csv``: a 9.9 MB CSV with 1,000,000 columns (a header and one data row);
* ``rows-gz``: a .csv.gz of about 3.3 MB that expands to 480 MB of 20,000,000 rows (24 bytes each), read with
  ``max_rows=10,000,000`` (what the app passes) unless ``--max-rows`` says otherwise;
* ``xlsx-shared``: an .xlsx whose 100,000 product cells all reference one 32,000-character shared string.

Each child reads the file, calls ``clv_core.ingest.ingest`` once and reports the wall time, the peak resident
memory (VmHWM, minus the resident memory before the call) and what came out (loaded rows, or the error type and
message). Resident memory after the call (and ``gc.collect()``) shows what stays held.

``--common FILE ...`` instead times the ordinary path on real-sized files (``benchmarks/generate.py ROWS --csv``),
each variant in its own child process, median of ``--repeats``:

* ``read_raw``: ``clv_core.ingest.read_raw`` as it is now, limits included (``max_rows=10,000,000``);
* ``checks``: only what the limits add before parsing a text file (UTF-8 check, header width, line scan, row
  count, long-line check);
* ``previous``: the read as it was before the limits, in the same run: decode the whole text, then
  ``pandas.read_csv`` on a ``StringIO`` with the same options (``pandas.read_parquet`` for Parquet).

Usage: python benchmarks/bench_limits.py [--case NAME ...] [--max-rows N] [--timeout SECONDS] [--out DIR]
       python benchmarks/bench_limits.py --common FILE ... [--repeats N]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parquet_bomb(rows: int = 2_000, chars: int = 20_000_000) -> bytes:
    """One ``chars``-long string as the only dictionary value of a ``rows``-row column (a pandas categorical)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * chars]))
    table = pa.table(
        {
            "customer_id": ids,
            "date": pa.array(np.full(rows, np.datetime64("2024-01-05", "ns"))),
            "amount": pa.array(np.full(rows, 10.0)),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def wide_csv(columns: int = 1_000_000) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    return (header + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()


def rows_gz(rows: int = 20_000_000) -> bytes:
    """``rows`` rows of 24 bytes (480 MB, under the 500 MB cap): a block of 400 distinct rows repeated, which
    gzip -9 shrinks about 147 times, under the 200 taken for a bomb."""
    block_rows = 400
    block = "".join(
        f"{1_000_000 + (i * 7919) % block_rows:07d},2024-01-{1 + i % 28:02d},{10 + i % 3}.5\n"
        for i in range(block_rows)
    ).encode()
    text = b"customer_id,date,amount\n" + block * (rows // block_rows) + block[: 24 * (rows % block_rows)]
    return gzip.compress(text, compresslevel=9)


def xlsx_shared(cells: int = 100_000, chars: int = 32_000) -> bytes:
    """A one-sheet workbook: customer, date and amount, and a product that is one shared string in every row."""
    rows = "".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>45296</v></c><c r="C{r}"><v>10</v></c>'
        f'<c r="D{r}" t="s"><v>0</v></c></row>'
        for r in range(2, cells + 2)
    )
    header = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>customer_id</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>date</t></is></c><c r="C1" t="inlineStr"><is><t>amount</t></is></c>'
        '<c r="D1" t="inlineStr"><is><t>product</t></is></c></row>'
    )
    return _xlsx_package(header + rows, ["x" * chars])


def _xlsx_package(sheet_rows: str, shared: list[str]) -> bytes:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{pkg}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>{sheet_rows}</sheetData>'
            "</worksheet>"
        ),
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{len(shared)}" '
            f'uniqueCount="{len(shared)}">' + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>"
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return buffer.getvalue()


CASES = {
    "parquet-bomb": (parquet_bomb, "bomb.parquet"),
    "wide-csv": (wide_csv, "wide.csv"),
    "rows-gz": (rows_gz, "rows.csv.gz"),
    "xlsx-shared": (xlsx_shared, "shared.xlsx"),
}


def _status(key: str) -> float:
    """A VmRSS/VmHWM figure of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(path: str, name: str, max_rows: int | None) -> dict:
    import gc

    sys.path.insert(0, str(ROOT))
    from clv_core.ingest import IngestOptions, ingest

    data = Path(path).read_bytes()
    options = IngestOptions(today="2026-01-01", max_rows=max_rows)
    before = _status("VmRSS")
    start = time.perf_counter()
    try:
        tx = ingest(data, name, options=options)
        outcome = f"loaded {len(tx.data):,} rows"
        del tx
    except Exception as exc:  # the point is to report whatever comes out
        outcome = f"{type(exc).__name__}: {str(exc)[:300]}"
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    gc.collect()
    return {
        "seconds": round(seconds, 2),
        "peak_mb_above_start": round(peak - before, 1),
        "held_after_mb": round(_status("VmRSS") - before, 1),
        "outcome": outcome,
    }


def common(path: str, variant: str, repeats: int) -> dict:
    """Median seconds and peak resident memory of one way of reading ``path``."""
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from clv_core.ingest import sniff
    from clv_core.ingest.limits import DEFAULT_MAX_CELL_CHARS, DEFAULT_MAX_COLUMNS

    data = Path(path).read_bytes()
    name = Path(path).name
    parquet = data[:4] == b"PAR1"

    def checks() -> None:
        utf8, _ = sniff._as_utf8(data, name)
        sniff._check_header_width(utf8, name, delimiter=",", limit=DEFAULT_MAX_COLUMNS)
        scan = sniff.scan_lines(utf8, longer_than=DEFAULT_MAX_CELL_CHARS)
        sniff._check_text_rows(utf8, scan, name, has_header=True, limit=10_000_000)
        sniff._check_long_line(utf8, scan, name, delimiter=",", limit=DEFAULT_MAX_CELL_CHARS)

    def previous() -> None:
        if parquet:
            pd.read_parquet(io.BytesIO(data))
            return
        text, _ = sniff.decode_text(data, name)
        pd.read_csv(
            io.StringIO(text),
            sep=",",
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            nrows=10_000_002,
            engine="c",
        )

    run = {
        "read_raw": lambda: sniff.read_raw(data, name, max_rows=10_000_000),
        "checks": checks,
        "previous": previous,
    }[variant]
    before = _status("VmRSS")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    times.sort()
    return {"seconds": round(times[len(times) // 2], 3), "peak_mb_above_start": round(_status("VmHWM") - before, 1)}


def main_common(paths: list[Path], repeats: int) -> None:
    print(f"median of {repeats} runs, each variant in its own process")
    print("| file | variant | time (s) | peak RSS above start (MB) |")
    print("|---|---|---:|---:|")
    for path in paths:
        variants = ("previous", "read_raw") if path.read_bytes()[:4] == b"PAR1" else ("previous", "read_raw", "checks")
        for variant in variants:
            command = [sys.executable, __file__, "--common-child", str(path), variant, "--repeats", str(repeats)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {path.name} | {variant} | {result['seconds']} | {result['peak_mb_above_start']} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", nargs="*", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--max-rows", type=int, default=10_000_000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", type=Path, default=None, help="keep the built files here")
    parser.add_argument("--common", nargs="+", type=Path, help="time the ordinary path on these files instead")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--common-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.common_child:
        print(json.dumps(common(*args.common_child, args.repeats)))
        return
    if args.common:
        main_common(args.common, args.repeats)
        return
    if args.child:
        print(json.dumps(child(*args.child, args.max_rows or None)))
        return
    folder = args.out or Path(tempfile.mkdtemp(prefix="bench_limits_"))
    folder.mkdir(parents=True, exist_ok=True)
    print("| case | file | time (s) | peak RSS above start (MB) | held after (MB) | outcome |")
    print("|---|---:|---:|---:|---:|---|")
    for case in args.case:
        build, name = CASES[case]
        path = folder / name
        if not path.exists():
            path.write_bytes(build())
        size = path.stat().st_size
        command = [sys.executable, __file__, "--child", str(path), name, "--max-rows", str(args.max_rows)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
            lines = done.stdout.strip().splitlines()
            result = json.loads(lines[-1]) if lines else {"outcome": f"crashed: {done.stderr.strip()[-300:]}"}
        except subprocess.TimeoutExpired:
            result = {"seconds": f"> {args.timeout:.0f}", "outcome": "still running, stopped"}
        print(
            f"| {case} | {size / 1e3:,.1f} KB | {result.get('seconds', '')} | "
            f"{result.get('peak_mb_above_start', '')} | {result.get('held_after_mb', '')} | "
            f"{result['outcome'].replace('|', '/')} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
