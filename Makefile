# Two commands on a fresh machine with Python 3.11+:  make run   /   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
# Test processes (pytest-xdist): the browser tests keep to one of them, the rest spread over all.
TEST_WORKERS ?= 2

.PHONY: run worker test lint bench bench-sandbox bench-queue sandbox-env vendor-plotly clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

run: $(VENV)/.runtime
	$(BIN)/streamlit run serve.py --server.port $(PORT)

# A queue worker (issue 15): needs MODEL_WORKER_URL (or REDIS_URL) and MODEL_WORKER_SECRET, the app's.
worker: $(VENV)/.runtime
	$(BIN)/python -m workers

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo --no-cache

bench: $(VENV)/.dev
	$(BIN)/python bench/engine.py

# The code sandbox's environment (AUSTER_SANDBOX_ENV, default /opt/auster-sandbox): the interpreter and
# the pins of requirements-sandbox.txt, nothing else. Idempotent.
sandbox-env: $(VENV)/.dev
	$(BIN)/python -m sandbox build-env

bench-sandbox: $(VENV)/.dev
	$(BIN)/python bench/sandbox.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The charts' plotly.js cartesian bundle, the release the installed plotly package targets (README, Dependencies).
# Needs npm; set BUNDLE_VERSION in components/plotly_view.py to the version printed.
vendor-plotly: $(VENV)/.runtime
	set -e; version=$$($(BIN)/python -c "from plotly.offline import get_plotlyjs_version as v; print(v())"); \
	tmp=$$(mktemp -d); (cd $$tmp && npm pack --silent plotly.js-cartesian-dist-min@$$version >/dev/null && tar xzf *.tgz); \
	cp $$tmp/package/plotly-cartesian.min.js $$tmp/package/LICENSE components/vendor/plotly/; rm -rf $$tmp; \
	echo "components/vendor/plotly/ now holds plotly.js cartesian $$version"
