# modelwatch developer entry points (GNU make).
#
#   make demo      run the end-to-end demo on the embedded defaults (SQLite + filesystem broker)
#   make test      full test suite (installs redis-server / PostgreSQL binaries if missing)
#
# CI runs `bash .ci/run`, which is `make test` with CI=true.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Integration tests mostly wait on real workers, brokers and databases: four pytest workers
# (pytest-xdist; each with its own redis-server and databases) keep 2 cores busy, and work
# stealing keeps the slowest tests from all landing on one worker at the end.
TEST_WORKERS ?= 4

PYTEST := $(BIN)/pytest -q -p no:cacheprovider

.DEFAULT_GOAL := help

.PHONY: help venv web demo services test unit lint clean distclean

help:
	@echo "make demo        Run the end-to-end demo (.venv/bin/modelwatch demo)"
	@echo "make test        Run the full test suite (PYTEST_ARGS='-k expr' to filter)"
	@echo "make unit        Run tests/unit only"
	@echo "make lint        Run ruff if it is installed (skipped otherwise)"
	@echo "make services    Ensure redis-server and PostgreSQL binaries are installed"
	@echo "make web         Build the React dashboard (npm ci && npm run build in web/)"
	@echo "make venv        Create $(VENV) and install the package with [test] extras"
	@echo "make clean       Remove caches and build output (state is in ~/.local/share/modelwatch)"
	@echo "make distclean   clean, plus remove $(VENV)"

# The React dashboard (web/) is built into the Python package, so a wheel or sdist built after
# `make` ships it and `pip install` users need no Node. Rebuilt only when its sources change.
WEB_OUT := frontdoors/dashboard/static/app/index.html
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json

web: $(WEB_OUT)

web/node_modules/.installed: web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make web: npm is not installed; the dashboard needs Node >= 18 and npm (apt-get install nodejs npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund --prefer-offline
	touch $@

$(WEB_OUT): web/node_modules/.installed $(WEB_SRC)
	cd web && npm run build

# The venv is (re)installed whenever pyproject.toml or constraints.txt changes. constraints.txt
# pins every package to the version the suite runs on (pyproject.toml only has ranges).
venv: $(VENV)/.installed web

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e '.[test]'
	touch $@

# The demo prints its "Look around" commands as they must be typed from here
# (.venv/bin/modelwatch ...); `. .venv/bin/activate` puts `modelwatch` itself on PATH.
demo: venv
	$(COMPILE)
	$(BIN)/modelwatch demo
	@echo "modelwatch is in $(BIN)/; to type it bare: . $(BIN)/activate"

services:
	bash scripts/ensure-services.sh

# The suite starts some 250 Python processes (workers, beats, CLIs, servers) that import the same
# modules. Compiled once up front (0.5 CPU-s), each reads the bytecode instead of compiling our
# sources again: with PYTHONDONTWRITEBYTECODE set, as in some CI images, no process would cache it
# (measured 0.1-0.4 CPU-s more per process that imports the check). tests/n8n is left out: its
# node_modules is a large tree that holds Python files of its own.
COMPILE := $(BIN)/python -m compileall -q -j 0 monitor frontdoors workers tasks tests/__init__.py \
	tests/conftest.py tests/support tests/unit tests/integration tests/faults

test: venv services
	cd web && npm test
	$(COMPILE)
	$(PYTEST) -n $(TEST_WORKERS) --dist worksteal --durations=15 $(PYTEST_ARGS)

unit: venv
	$(PYTEST) $(PYTEST_ARGS) tests/unit

lint: venv
	@if [ -x "$(BIN)/ruff" ]; then \
		$(BIN)/ruff check .; \
	elif command -v ruff >/dev/null 2>&1; then \
		ruff check .; \
	else \
		echo "lint: ruff is not installed; skipping (pip install ruff to enable)"; \
	fi

clean:
	rm -rf test-artifacts frontdoors/dashboard/static/app .pytest_cache .ruff_cache .mypy_cache build dist
	rm -f celerybeat-schedule*
	find . -path './$(VENV)' -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info web/node_modules
