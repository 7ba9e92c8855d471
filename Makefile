# The verbs a newcomer needs. `make dashboard` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WORKSPACE ?= sqlite:///$(CURDIR)/var/workspace.db
PORT ?= 8501
export ENGAGEKIT_WORKSPACE ?= $(WORKSPACE)

.PHONY: install dashboard workspace test bench bench-scale fuzz lint sample screenshots clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

# Loads the sample data into the embedded default workspace once (again when sample_data changes).
workspace: var/.sample-loaded

var/.sample-loaded: $(VENV)/.installed $(wildcard sample_data/*)
	mkdir -p var
	$(VENV)/bin/engagekit import sample_data --mode replace
	touch $@

dashboard: install workspace
	$(PY) -m engagekit_dashboard.serve --server.port $(PORT)

test: install
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/run.py

# Import, levels, a segment count and an audience export at 1M, 2M, 5M and 10M contacts.
bench-scale: install
	$(PY) benchmarks/bench_scale.py --sizes 1000000,2000000,5000000,10000000

# Robustness figures: fuzzed imports, concurrent users and kill -9 (PostgreSQL too when
# ENGAGEKIT_TEST_POSTGRES_URL is set), written to benchmarks/results/fuzz.json.
fuzz: install
	$(PY) benchmarks/fuzz.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# The README's pictures: the browser tests, saving a screenshot of every page into docs/screenshots.
screenshots: install
	ENGAGEKIT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest tests/e2e -q

sample: install
	$(VENV)/bin/engagekit sample --contacts 5000 --seed 7 --end 2026-11-30 --out sample_data

clean:
	rm -rf var .pytest_cache
