# make run   – install into .venv (first time) and start the app on the bundled sample
# make test  – install (Chromium, PostgreSQL and Java too, through apt, when missing), then lint, dependency audit, unit,
#              app and browser tests
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUNTIME := $(VENV)/.installed-runtime
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT   ?= 8501
# Loopback only unless told otherwise (make run ADDRESS=0.0.0.0): without sign-in the app is open to anyone who
# can reach the port.
ADDRESS ?= 127.0.0.1

.PHONY: lock install run test lint audit format unit app e2e screenshots chromium postgres java bench clean

install: $(STAMP)

# make run installs the app's runtime set only; make test adds Spark, the test tools and the build backend.
$(RUNTIME): requirements.txt requirements-postgres.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(RUNTIME)

$(STAMP): $(RUNTIME) requirements-dev.txt requirements-spark.txt
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

run: $(RUNTIME)
	$(PY) -m clv_app.serve --server.address $(ADDRESS) --server.port $(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# The database tests start a throwaway PostgreSQL cluster with Debian's server binaries (tests/postgres.py).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "Installing Debian's postgresql for the database tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; }

# The Spark engine's tests run Spark in local mode, on Java 17.
java:
	@command -v java >/dev/null 2>&1 || { \
		echo "Installing Java 17 for the Spark tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jre-headless; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

audit: $(STAMP)
	$(PY) scripts/audit.py

# The lock files: every package, pinned with its hashes, for reproducible deployments
# (pip install --require-hashes -r requirements.lock). Run after changing a requirements file; a test checks they agree.
LOCK := uv pip compile --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 -q
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/$(LOCK) requirements.txt -o requirements.lock
	$(VENV)/bin/$(LOCK) requirements.txt requirements-dev.txt -o requirements-dev.lock

# Unit and app tests on three pytest-xdist workers: on two cores a third keeps them busy while the Spark and
# PostgreSQL groups wait on their servers (3 min 26 s against 4 min 31 s with two, same tests, same machine). The
# browser tests after them, alone, so a loaded machine cannot slow the real server they drive.
test: $(STAMP) chromium postgres java lint audit
	$(PY) -m pytest -n 3 --dist loadgroup tests/unit tests/app clv_core clv_app
	$(PY) -m pytest tests/e2e

unit: $(STAMP) postgres java
	$(PY) -m pytest tests/unit clv_core

app: $(STAMP) postgres
	$(PY) -m pytest tests/app

e2e: $(STAMP) chromium
	$(PY) -m pytest tests/e2e

screenshots: $(STAMP) chromium  ## docs/img/*.png: every page at 1280 px, as the browser tests see it
	mkdir -p docs/img
	CLV_DOCS_SCREENSHOTS=1 $(PY) -m pytest tests/e2e/test_accessibility.py -k "1280"

bench: $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	$(PY) benchmarks/bench_exports.py
	$(PY) benchmarks/bench_scale.py --rows 1000000 10000000
	$(PY) benchmarks/bench_slider.py
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_limits.py
	$(PY) benchmarks/bench_cache.py
	$(PY) benchmarks/bench_model_work.py
	$(PY) benchmarks/bench_paretonbd.py
	$(PY) benchmarks/bench_churn.py
	$(PY) benchmarks/bench_first_visits.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
