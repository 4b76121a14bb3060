# greenpark — every target creates the virtual environment it needs and installs into it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Benchmarks run in their own environment: greenpark plus the peer libraries measured against it.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
DEMO_DIR ?= demo-park

# Installs are reproducible: constraints.txt pins every package to the version the tests passed with
# (pyproject.toml keeps its ranges); `make lock` refreshes it from a fresh environment.
CONSTRAINTS := constraints.txt
LOCK_VENV := .venv-lock

.PHONY: demo demo-live test bench lint venv clean lock

# Debian's python3 needs python3-venv for `-m venv`; install it when the first try fails.
$(BIN)/python:
	$(PY) -m venv $(VENV) || (rm -rf $(VENV) && apt-get update -qq && apt-get install -y -qq python3-venv python3-pip && $(PY) -m venv $(VENV))
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/pip install -q -c $(CONSTRAINTS) -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# the demo writes the park report as PDF too: WeasyPrint needs Pango, the Chinese text fonts-noto-cjk
demo: $(STAMP)
	dpkg -s fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0)
	$(BIN)/greenpark demo $(DEMO_DIR)

# the live demo: a Mosquitto broker (Debian's mosquitto), simulated gateways and meters, the collector
demo-live: $(STAMP)
	dpkg -s mosquitto >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq mosquitto)
	$(BIN)/greenpark demo $(DEMO_DIR) --live

# the browser tests drive Debian's chromium (never a downloaded browser); CJK fonts for the screenshots;
# the PostgreSQL tests start their own throwaway server from Debian's postgresql (on 127.0.0.1);
# the collector tests their own Mosquitto broker (Debian's mosquitto, on 127.0.0.1);
# the report tests render PDF with WeasyPrint (Pango) and read it back with poppler-utils (pdftotext, pdftoppm);
# the Spark tests run pyspark in local[2] on Debian's Java 17
test: $(STAMP)
	(command -v chromium && command -v pdftotext && command -v java && dpkg -s fonts-noto-cjk postgresql mosquitto libpango-1.0-0 libpangoft2-1.0-0) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk postgresql mosquitto poppler-utils libpango-1.0-0 libpangoft2-1.0-0 openjdk-17-jre-headless)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

# the shared packages are pinned by constraints.txt; the peers (opendsm, aqi-hub...) are not in it
$(BENCH_STAMP): pyproject.toml $(CONSTRAINTS) $(BIN)/python
	$(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --upgrade pip
	$(BENCH_VENV)/bin/pip install -q -c $(CONSTRAINTS) -e '.[test]' opendsm "multimethod<2" python-aqi aqi-hub
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	dpkg -s mosquitto >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq mosquitto)
	$(BENCH_VENV)/bin/python bench/run.py

# refresh constraints.txt: a fresh venv, install with pyproject's ranges (no constraints), freeze
lock:
	rm -rf $(LOCK_VENV)
	$(PY) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --upgrade pip
	$(LOCK_VENV)/bin/pip install -q -e '.[test]'
	{ sed -n '/^#/p' $(CONSTRAINTS) 2>/dev/null | head -3; $(LOCK_VENV)/bin/pip freeze --exclude-editable; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(LOCK_VENV) $(DEMO_DIR) bench/work
