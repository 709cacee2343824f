"""A real Python package: the wheel builds from a checkout, installs into a fresh venv (and editable), offers the
``clv-studio`` console script with ``app``, carries the app's own files and a version naming the commit; a missing
extra is one line saying what to install."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

import clv_core
from clv_core.cli import main
from tests.conftest import DATASETS, ROOT
from tests.e2e.conftest import _free_port

pytestmark = pytest.mark.xdist_group("packaging")  # one build at a time: it writes build/ in the checkout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("clv_studio-*.whl"))


WHERE_IS_THE_APP = "from clv_app import serve; print(serve.APP)"


def fresh_venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder / "bin"


def run_installed(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """A command of the fresh venv, its third-party libraries taken from this one (the test installs no deps)."""
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_wheel_carries_the_packages_the_app_the_console_script_and_the_commit(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    pages = {f"clv_studio_site/pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert pages and pages <= names
    assert {"clv_studio_site/app.py", "clv_studio_site/.streamlit/config.toml", "clv_core/cli.py"} <= names
    assert "clv_app/views/segments.py" in names and "clv_core/ingest/refunds.py" in names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "clv-studio = clv_core.cli:entry_point" in zipfile.ZipFile(wheel).read(entry).decode()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=9", "HEAD"], capture_output=True, text=True)
    assert f"+g{commit.stdout.strip()}" in wheel.name  # the version names the commit …
    assert wheel.name.split("-")[1] == clv_core.__version__  # … and is the one every export writes


def test_the_installed_console_script_answers_and_finds_the_installed_app(wheel, tmp_path):
    bin_dir = fresh_venv(tmp_path / "venv")
    subprocess.run([bin_dir / "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    version = run_installed(bin_dir, str(bin_dir / "clv-studio"), "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"CLV Studio {clv_core.__version__}"
    summary = run_installed(
        bin_dir, str(bin_dir / "clv-studio"), "summary", str(DATASETS / "CDNOW_sample.txt"), cwd=tmp_path
    )
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.splitlines()[0].startswith("customer_id,frequency,recency,T,monetary_value")
    assert len(summary.stdout.splitlines()) == 2_357 + 1
    where = run_installed(
        bin_dir, str(bin_dir / "python"), "-c", "from clv_app import serve; print(serve.APP)", cwd=tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv"), where.stderr

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "CLV_WORKSPACE": str(tmp_path / "ws")}
    server = subprocess.Popen(
        [bin_dir / "clv-studio", "app", "--server.port", str(port), "--server.headless", "true"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                server.poll()
                assert server.returncode is None, "clv-studio app exited"
                time.sleep(0.3)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status == 200 and b"<html" in page.read().lower()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_an_editable_install_runs_the_checkout(tmp_path):
    bin_dir = fresh_venv(tmp_path / "venv")
    install = [bin_dir / "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(ROOT)]
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    subprocess.run(install, check=True, env=env, capture_output=True)
    where = run_installed(
        bin_dir, str(bin_dir / "python"), "-c", "from clv_app import serve; print(serve.APP)", cwd=tmp_path
    )
    assert Path(where.stdout.strip()) == ROOT / "app.py", where.stderr
    version = run_installed(bin_dir, str(bin_dir / "clv-studio"), "--version", cwd=tmp_path)
    assert version.stdout.strip() == f"CLV Studio {clv_core.__version__}"


@pytest.mark.parametrize(
    ("blocked", "args", "said"),
    [
        ("pyspark", ["summary", "{file}", "--engine", "spark"], "pip install 'clv-studio[spark]'"),
        ("psycopg", ["summary", "postgresql://u@localhost/db", "--table", "orders"], "clv-studio[postgres]"),
    ],
)
def test_a_missing_extra_is_one_line_saying_what_to_install(monkeypatch, capsys, blocked, args, said):
    monkeypatch.setitem(sys.modules, blocked, None)  # import fails as if it were not installed
    for name in [m for m in sys.modules if m.startswith(f"{blocked}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    code = main([a.format(file=DATASETS / "CDNOW_sample.txt") for a in args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and said in err, err


def test_app_passes_every_further_option_to_streamlit_and_other_commands_refuse_unknown_ones(monkeypatch, capsys):
    from clv_app import serve

    seen = []
    monkeypatch.setattr(serve, "main", seen.append)
    assert main(["app", "--server.port", "8600", "--server.address", "0.0.0.0"]) == 0
    assert seen == [["--server.port", "8600", "--server.address", "0.0.0.0"]]
    with pytest.raises(SystemExit) as stop:
        main(["summary", str(DATASETS / "CDNOW_sample.txt"), "--server.port", "1"])
    assert stop.value.code == 2 and "unrecognized arguments: --server.port 1" in capsys.readouterr().err


def pins(path: Path) -> dict[str, str]:
    """name → version of every ``name==version`` line of a requirements or lock file (and the files it includes)."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip().rstrip("\\").strip()
        if line.startswith("-r "):
            out.update(pins(path.parent / line[3:].strip()))
        elif "==" in line:
            name, version = line.split("==")
            out[name.split("[")[0].strip().lower().replace("_", "-")] = version.strip()
    return out


@pytest.mark.parametrize(
    ("requirements", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_the_lock_files_pin_with_hashes_what_the_requirements_pin(requirements, lock):
    locked, text = pins(ROOT / lock), (ROOT / lock).read_text()
    wanted = pins(ROOT / requirements) | (pins(ROOT / "requirements.txt") if requirements != "requirements.txt" else {})
    assert {name: locked.get(name) for name in wanted} == wanted, "run make lock after changing a requirements file"
    assert text.count("==") == len(locked) and text.count("--hash=sha256:") >= len(locked)
    assert ("pyspark" in locked) == (lock == "requirements-dev.lock")  # the runtime set has no Spark
