"""The command line as an analyst scripts it (issue 22, point 2): output format from --out, full precision, help
with defaults and examples, a --help that loads no data library, per-customer validation output, and the names
the options offer agreeing with the code that uses them."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from clv_core import cli, names
from tests.conftest import ROOT
from tests.conftest import run_cli as run  # in this process


def test_the_names_the_options_offer_are_the_ones_the_code_uses():
    from clv_core import analysis, ingest, models, segments, summary

    assert tuple(models.REGISTRY) == names.PURCHASE_MODEL_KEYS
    assert analysis.CHOICES == names.MODEL_CHOICES and analysis.AUTO == names.AUTO
    assert summary.TIME_UNITS is names.TIME_UNITS
    assert (ingest.RETURN_POLICIES, ingest.ZERO_POLICIES) == (names.RETURN_POLICIES, names.ZERO_POLICIES)
    assert segments.VALUE_GROUPS is names.VALUE_GROUPS


def test_help_loads_no_data_library():
    """What makes --help take seconds (pandas, scipy, lifetimes) is imported by the commands, not to parse them."""
    code = (
        "import sys, contextlib, io\n"
        "from clv_core import cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['score', '--help'])\n"
        "heavy = ('pandas', 'numpy', 'scipy', 'lifetimes', 'lifelines', 'sklearn')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def subcommands() -> dict:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


@pytest.mark.parametrize("name", ["app", "summary", "fit", "score", "segments", "report", "validate", "retention"])
def test_every_option_has_help_and_shows_its_default_and_every_command_two_examples(name):
    sub = subcommands()[name]
    for action in sub._actions:
        assert action.help, f"{name} {action.option_strings or action.dest} has no help"
    text = sub.format_help()
    for action in sub._actions:
        unset = action.default is None or action.default is False or action.default == "==SUPPRESS=="
        if not unset and action.option_strings:
            assert f"(default: {action.default})" in " ".join(text.split()), (name, action.dest)
    examples = text.split("examples:")[1].strip().splitlines()
    assert len(examples) == 2 and all(line.strip().startswith(f"python -m clv_core {name}") for line in examples)


def test_an_unknown_out_extension_is_refused_before_anything_is_read(tmp_path):
    done = run("score", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "scores.txt"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--out scores.txt: the extension names the format; use one of .csv, .parquet, .xlsx, .json" in done.stderr
    assert not (tmp_path / "scores.txt").exists()


def large_amount_file(tmp_path):
    """A CDNOW-like file in a currency of large units (amounts in the millions), with zero-padded text ids."""
    from clv_core.samples import sample_bytes

    data, _ = sample_bytes("cdnow_sample")
    frame = pd.read_csv(pd.io.common.BytesIO(data), sep=r"\s+", header=None, names=["id", "x", "date", "n", "amount"])
    frame = frame.assign(customer_id=frame["id"].map(lambda v: f"{v:05d}"), amount=frame["amount"] * 31_337.77)
    path = tmp_path / "big.csv"
    frame[["customer_id", "date", "amount"]].to_csv(path, index=False)
    return path


def test_every_format_holds_the_same_full_precision_table_and_text_ids_stay_text(tmp_path):
    source = large_amount_file(tmp_path)
    tables = {}
    for ext in (".csv", ".parquet", ".xlsx", ".json"):
        out = tmp_path / f"scores{ext}"
        assert cli.main(["score", str(source), "--model", "bgnbd", "--out", str(out)]) == 0  # in-process: 4 runs
        if ext == ".csv":
            tables[ext] = pd.read_csv(out, dtype={"customer_id": str}, float_precision="round_trip")
        elif ext == ".parquet":
            assert pq.read_schema(out).field("customer_id").type == "string"
            tables[ext] = pd.read_parquet(out)
        elif ext == ".xlsx":
            tables[ext] = pd.read_excel(out, dtype={"customer_id": str})
        else:
            tables[ext] = pd.DataFrame(json.loads(out.read_text()))
    csv = tables[".csv"]
    assert csv["customer_id"].iloc[0] == "00004" and csv["clv"].max() > 1e6
    assert any(len(repr(v)) > 12 for v in csv["clv"])  # not 6 significant digits (1.04786e+06)
    for ext, table in tables.items():
        assert table["customer_id"].tolist() == csv["customer_id"].tolist(), ext
        if ext == ".xlsx":  # Excel keeps 15 significant digits (its own limit); openpyxl writes 16 or 17
            assert table["clv"].to_numpy() == pytest.approx(csv["clv"].to_numpy(), rel=1e-15, abs=0), ext
        else:  # exactly equal: every digit
            assert table["clv"].tolist() == csv["clv"].tolist(), ext


def test_validate_out_writes_each_customers_actual_and_predicted_holdout(cdnow_sample_path, tmp_path):
    out = tmp_path / "holdout.parquet"
    done = run("validate", str(cdnow_sample_path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    table = pd.read_parquet(out)
    assert len(table) == metrics["customers"]
    expected = ["customer_id", "actual_purchases", "actual_spend"]
    for key in ("bgnbd", "paretonbd", "mbgnbd", "ml_challenger"):
        expected += [f"{key}_purchases", f"{key}_spend", f"{key}_p_alive"]
    assert list(table.columns) == expected
    bg = metrics["models"]["BG/NBD"]
    assert table["actual_purchases"].sum() == pytest.approx(bg["holdout_actual_purchases"])
    assert table["bgnbd_purchases"].sum() == pytest.approx(bg["holdout_predicted_purchases"])
    assert (table["bgnbd_purchases"] - table["actual_purchases"]).abs().mean() == pytest.approx(bg["mae"])


def test_encoding_and_delimiter_options_read_a_cyrillic_semicolon_file(tmp_path):
    rows = "".join(f"{i};2024-01-{1 + i % 27:02d};{10 + i},5;Москва\n" for i in range(40))
    path = tmp_path / "ru.csv"
    path.write_bytes(("клиент;дата;сумма;город\n" + rows).encode("cp1251"))
    refused = run("summary", str(path))
    assert refused.returncode == 2 and "Windows-1251" in refused.stderr  # the garbled header, and the fix
    done = run(
        "summary", str(path), "--encoding", "cp1251", "--delimiter", ";",
        "--customer-col", "клиент", "--date-col", "дата", "--amount-col", "сумма",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 41
    bad = run("summary", str(path), "--encoding", "rot13")
    assert bad.returncode == 2 and "'rot13' is not a text encoding" in bad.stderr


def test_progress_is_said_on_a_terminal_and_nowhere_else():
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown, hidden = Terminal(), io.StringIO()
    for stream in (shown, hidden):
        progress = cli.Progress(stream)
        progress.step("Reading orders.csv…")
        report = progress.count("Bootstrap refits")
        for done in range(1, 31):
            report(done, 30)
    assert hidden.getvalue() == ""
    lines = shown.getvalue().splitlines()
    assert lines[0].endswith("Reading orders.csv…") and lines[-1].endswith("Bootstrap refits: 30 of 30")
    assert len(lines) == 1 + 10  # every tenth of the refits, not every one


def test_summary_on_standard_output_is_the_same_safe_csv_as_out(tmp_path):
    rows = "".join(f"=cmd{i},2024-01-0{1 + i % 9},5\n" for i in range(25))  # ids a spreadsheet would run
    source = tmp_path / "hostile.csv"
    source.write_text("customer_id,date,amount\n" + rows)
    out = tmp_path / "summary.csv"
    assert run("summary", str(source), "--out", str(out)).returncode == 0
    printed = run("summary", str(source))
    assert printed.returncode == 0 and printed.stdout == out.read_text()
    assert '"\'=cmd0"' in printed.stdout and "\n=cmd" not in printed.stdout


def test_an_out_that_cannot_be_written_is_one_error_line(cdnow_sample_path, tmp_path):
    done = run("summary", str(cdnow_sample_path), "--out", str(tmp_path / "no-such-folder" / "s.csv"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith("no-such-folder/s.csv: No such file or directory")
    assert done.stderr.startswith("error: cannot write")
