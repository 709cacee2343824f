"""python -m clv_core summary: CSV out, JSON report, and one-line errors with exit status 2."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pandas as pd

from tests.conftest import ROOT
from tests.conftest import run_cli as run  # in this process


def test_python_m_clv_core_answers_and_lists_the_summary_command():
    command = [sys.executable, "-m", "clv_core", "--help"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0 and "summary" in result.stdout


def test_summary_writes_csv_to_stdout_and_a_json_report(cdnow_sample_path, tmp_path):
    report = tmp_path / "report.json"
    result = run("summary", str(cdnow_sample_path), "--observation-end", "1997-09-30", "--report", str(report))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout), dtype={"customer_id": str})
    assert list(table.columns[:5]) == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert len(table) == 2357
    row = table.set_index("customer_id").loc["00004"]
    assert (row["frequency"], round(row["recency"], 2), round(row["T"], 2)) == (2.0, 30.43, 38.86)
    quality = json.loads(report.read_text())
    assert quality["rows_read"] == 6919 and quality["customers"] == 2357


def test_summary_options_map_columns_and_date_order(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("who,when,paid,spent\nx,01/02/2024,5,6\nx,03/02/2024,7,8\n")
    out = tmp_path / "out.csv"
    result = run(
        "summary",
        str(path),
        "--customer-col",
        "who",
        "--date-col",
        "when",
        "--amount-col",
        "spent",
        "--month-first",
        "--time-unit",
        "days",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    row = pd.read_csv(out).iloc[0]
    assert (row["frequency"], row["recency"], row["monetary_value"]) == (1, 60, 8.0)  # Jan 2 → Mar 2


def test_user_errors_exit_2_with_one_line_and_no_traceback(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,date\n1,2024-01-01\n")
    for args in (["summary", str(path)], ["summary", str(tmp_path / "missing.csv")]):
        result = run(*args)
        assert result.returncode == 2
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr


def test_fit_prints_the_published_parameters_as_json(cdnow_sample_path):
    result = run("fit", str(cdnow_sample_path), "--model", "bgnbd", "--calibration-end", "1997-09-30")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {k: round(v, 3) for k, v in out["params"].items()} == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert out["customers"] == 2357 and out["time_unit"] == "weeks" and out["model"] == "bgnbd"
    gg = json.loads(
        run("fit", str(cdnow_sample_path), "--model", "gammagamma", "--calibration-end", "1997-09-30").stdout
    )
    assert set(gg["params"]) == {"p", "q", "v"}


def test_score_writes_one_row_per_customer_with_intervals(cdnow_sample_path, tmp_path):
    out = tmp_path / "scores.csv"
    result = run(
        "score",
        str(cdnow_sample_path),
        "--horizon-months",
        "12",
        "--annual-discount-rate",
        "0.1",
        "--margin",
        "0.3",
        "--bootstrap",
        "5",
        "--out",
        str(out),
    )
    assert result.returncode == 0 and result.stdout == "", result.stderr
    table = pd.read_csv(out, dtype={"customer_id": str})
    assert len(table) == 2357 and table["customer_id"].iloc[0] == "00004"
    for column in ("p_alive", "expected_purchases", "expected_avg_value", "clv", "clv_lower", "clv_upper"):
        assert table[column].notna().all()
    runs = {}
    for seed in ("0", "7"):
        done = run(
            "score", str(cdnow_sample_path), "--model", "bgnbd", "--bootstrap", "5", "--seed", seed, "--out", str(out)
        )
        assert done.returncode == 0, done.stderr
        runs[seed] = pd.read_csv(out, dtype={"customer_id": str})
    assert runs["0"]["clv"].equals(runs["7"]["clv"])  # the point estimate does not depend on the seed
    assert not runs["0"]["clv_lower"].equals(runs["7"]["clv_lower"])  # the resamples do


def test_retention_fits_sbg_and_refuses_bad_counts():
    result = run("retention", "--survivors", "1000,869,743,653,593,551,517,491", "--periods", "10")
    out = json.loads(result.stdout)
    assert round(out["alpha"], 3) == 0.668 and round(out["beta"], 3) == 3.806
    assert len(out["projected_survivors"]) == 11 and out["projected_survivors"][0] == 1000
    bad = run("retention", "--survivors", "1000,1200,900")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_validate_prints_per_model_metrics_as_json(cdnow_sample_path):
    result = run("validate", str(cdnow_sample_path), "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["customers"] == 2357 and set(out["models"]) >= {"BG/NBD", "Pareto/NBD", "MBG/NBD"}
    for metrics in out["models"].values():
        assert {
            "holdout_actual_purchases",
            "holdout_predicted_purchases",
            "mae",
            "spearman",
            "top_decile_precision",
            "normalized_gini",
        } <= set(metrics)
        assert metrics["holdout_actual_purchases"] == out["models"]["BG/NBD"]["holdout_actual_purchases"]
    bad = run("validate", str(cdnow_sample_path), "--calibration-end", "2030-01-01")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


def test_segments_writes_a_safe_segmented_list(cdnow_sample_path, tmp_path):
    out = tmp_path / "champions.csv"
    result = run("segments", str(cdnow_sample_path), "--value-group", "Top value", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Model: ") and "the most accurate of 3 on the holdout" in result.stderr
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"customer_id": str})
    assert len(table) == 118 and set(table["value_group"]) == {"Top value"}  # top 5 % of 2,357
    assert {"p_alive", "clv", "rfm_segment", "lifecycle", "slipping"} <= set(table.columns)
    bad = run("segments", str(cdnow_sample_path), "--value-group", "Whales", "--out", str(out))
    assert bad.returncode == 2 and "Unknown value group 'Whales'" in bad.stderr
    both = run(
        "segments",
        str(cdnow_sample_path),
        "--value-group",
        "Top value",
        "--rfm-segment",
        "Champions",
        "--out",
        str(out),
    )
    assert both.returncode == 0, both.stderr
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"customer_id": str})
    assert set(table["rfm_segment"]) == {"Champions"} and set(table["value_group"]) == {"Top value"}
    lost = run("segments", str(cdnow_sample_path), "--rfm-segment", "Lost", "--out", str(out))
    assert lost.returncode == 0 and set(pd.read_csv(out, encoding="utf-8-sig")["rfm_segment"]) == {"Lost"}


def test_model_auto_is_the_validate_commands_winner_and_says_so(cdnow_sample_path, tmp_path):
    """--model auto (the default) runs the holdout test validate runs by default, as the app does."""
    validated = json.loads(run("validate", str(cdnow_sample_path), "--no-challenger").stdout)
    assert validated["default_calibration_end"] and validated["calibration_end"] == "1997-12-30"
    scored = run("score", str(cdnow_sample_path), "--out", str(tmp_path / "s.csv"))
    assert scored.returncode == 0, scored.stderr
    assert scored.stderr.startswith(f"Model: {validated['best_model']} for purchases")
    chosen = run("score", str(cdnow_sample_path), "--model", "bgnbd", "--out", str(tmp_path / "s.csv"))
    assert chosen.stderr.startswith("Model: BG/NBD for purchases, Gamma–Gamma for spend (chosen with --model)")


def test_report_writes_one_self_contained_html_file(cdnow_sample_path, tmp_path):
    out = tmp_path / "report.html"
    result = run("report", str(cdnow_sample_path), "--out", str(out), "--currency", "eur")
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert "<h2>Assumptions</h2>" in page and "CDNOW_sample.txt" in page and 'src="http' not in page
    assert re.search(r"Customer-base value over 12 months: <b>€[\d,]+\.\d\d</b>", page)
    refused = run("report", str(cdnow_sample_path), "--out", str(tmp_path / "x.html"), "--currency", "XX1")
    assert refused.returncode == 2 and "Unknown currency 'XX1'" in refused.stderr
    assert not (tmp_path / "x.html").exists()


def test_the_reports_customer_equity_is_the_equity_commands(tmp_path):
    """On a shop that keeps acquiring customers (future customers and their cost are not 0), with a CAC."""
    from clv_core.samples import sample_bytes

    data, name = sample_bytes("retail")
    (tmp_path / name).write_bytes(data)
    options = ("--cac", "40", "--margin", "0.35")
    assert run("report", str(tmp_path / name), *options, "--out", str(tmp_path / "r.html")).returncode == 0
    valued = json.loads(run("equity", str(tmp_path / name), *options).stdout)
    assert valued["future_customers_value"] > valued["acquisition_cost"] > 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    for words, key in (
        ("future customers", "future_customers_value"),
        ("acquisition cost", "acquisition_cost"),
        ("customer equity", "customer_equity"),
    ):
        shown = re.search(rf"{words} <b>([\d,]+)</b>", page).group(1)  # the file names no currency: plain numbers
        assert int(shown.replace(",", "")) == round(valued[key]), words


def _strict(text: str):
    """Parse as a strict parser (jq, JavaScript) would: NaN, Infinity and -Infinity are errors."""

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_every_json_the_command_line_writes_is_strict_and_a_non_finite_figure_is_null_with_its_reason(
    cdnow_sample_path, tmp_path, monkeypatch, capsys
):
    from clv_core import cli, models
    from clv_core.models import FitResult

    report = tmp_path / "report.json"
    assert cli.main(["summary", str(cdnow_sample_path), "--report", str(report), "--out", str(tmp_path / "s.csv")]) == 0
    assert _strict(report.read_text())["customers"] == 2357
    assert cli.main(["retention", "--survivors", "1000,869,743,653,593"]) == 0
    assert _strict(capsys.readouterr().out)["alpha"] > 0

    failed = FitResult(
        "paretonbd", {"r": 0.55, "alpha": float("inf"), "s": 0.61, "beta": 11.7}, {}, float("nan"), 1, "weeks"
    )
    monkeypatch.setattr(models, "fit_purchases", lambda summary, model: failed)  # the command imports it when run
    assert cli.main(["fit", str(cdnow_sample_path), "--model", "paretonbd"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out and "Infinity" not in out
    fit = _strict(out)
    assert fit["log_likelihood"] is None and fit["log_likelihood_note"].startswith("not a number")
    assert fit["params"]["alpha"] is None and fit["params"]["alpha_note"] == "infinite"
    assert fit["params"]["r"] == 0.55


def test_pareto_nbd_scores_and_segments_the_full_cdnow_data(tmp_path):
    """Customer 14048 (170 repeat purchases, the last on the final day) made lifetimes' Pareto/NBD NaN and these
    commands exit 2; every customer now has a finite value, and 14048 is certainly alive."""
    from clv_core import cli
    from clv_core.samples import sample_bytes

    data, name = sample_bytes("cdnow")
    path = tmp_path / name
    path.write_bytes(data)
    scores, segments = tmp_path / "scores.csv", tmp_path / "segments.csv"
    assert cli.main(["score", str(path), "--model", "paretonbd", "--out", str(scores)]) == 0
    assert cli.main(["segments", str(path), "--model", "paretonbd", "--out", str(segments)]) == 0
    table = pd.read_csv(scores, dtype={"customer_id": str}).set_index("customer_id")
    assert len(table) == 23_570 and table["clv"].notna().all() and (table["clv"] >= 0).all()
    assert table.loc["14048", "p_alive"] == 1.0
    assert len(pd.read_csv(segments)) == 23_570
