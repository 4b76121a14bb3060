# greenpark — every target creates the virtual environment it needs and installs into it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Benchmarks run in their own environment: greenpark plus the peer libraries measured against it.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
DEMO_DIR ?= demo-park

.PHONY: demo test bench lint venv clean

# Debian's python3 needs python3-venv for `-m venv`; install it when the first try fails.
$(BIN)/python:
	$(PY) -m venv $(VENV) || (rm -rf $(VENV) && apt-get update -qq && apt-get install -y -qq python3-venv python3-pip && $(PY) -m venv $(VENV))
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/greenpark demo $(DEMO_DIR)

# the browser tests drive Debian's chromium (never a downloaded browser); CJK fonts for the screenshots;
# the PostgreSQL tests start their own throwaway server from Debian's postgresql (on 127.0.0.1)
test: $(STAMP)
	(command -v chromium && dpkg -s fonts-noto-cjk postgresql) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk postgresql)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

$(BENCH_STAMP): pyproject.toml $(BIN)/python
	$(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --upgrade pip
	$(BENCH_VENV)/bin/pip install -q -e '.[test]' opendsm "multimethod<2" python-aqi aqi-hub
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(DEMO_DIR) bench/work
