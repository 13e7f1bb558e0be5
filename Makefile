# One entry point for people, the README and CI.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PORT    ?= 8501
DB      ?= data/health.duckdb

.PHONY: run test test-fast lint bench install install-dev browser clean-db

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## run: install and start the dashboard (creates the demo city on first start)
run: install
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

## browser: Debian's chromium and CJK fonts for the browser tests (needs root or sudo)
browser:
	@bash scripts/ensure-browser

## test: install everything and run the whole suite, browser tests included
test: install-dev browser
	$(BIN)/python -m pytest -q

## test-fast: the suite without browser and slow tests
test-fast: install-dev
	$(BIN)/python -m pytest -q -m "not e2e and not slow"

lint: install-dev
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

## bench: the scale benchmark at each tier of TIERS (district, city, province; the province tier
## takes tens of minutes and several GB of RAM): bench/results/<tier>.json and docs/performance.md
TIERS ?= district,city,province
BENCH_NICE ?= nice -n 10
bench: install-dev
	$(BENCH_NICE) $(BIN)/python -m bench.run --tiers $(TIERS)

clean-db:
	rm -f $(DB) $(DB).wal
