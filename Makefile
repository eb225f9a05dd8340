# slakit: `make render` and `make test` are the whole set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.dev-installed
BENCH_STAMP := $(VENV)/.bench-installed
PYC_STAMP := $(VENV)/.compiled
SOURCES := $(shell find slakit -name '*.py')

BASE ?= HEAD
OUT ?= diff.md

PAPER ?= a4

.PHONY: render pdf validate test lint golden bench diff changelog screenshot fuzz clean help

help:
	@echo "make render     validate sla/ and publish it to dist/ (sets up .venv first)"
	@echo "make pdf        like render, plus dist/<id>.pdf for each agreement (PAPER=a4 or PAPER=letter)"
	@echo "make validate   check every agreement under sla/"
	@echo "make test       run the test suite"
	@echo "make lint       ruff (style, format), mypy (types) and import-linter (the layers)"
	@echo "make diff BASE=origin/main   write what changed since BASE to diff.md (a pull-request comment)"
	@echo "make changelog  print the changelog of the agreements, grouped by quarter"
	@echo "make golden     refresh the golden files the render tests compare against"
	@echo "make bench      run the benchmarks"
	@echo "make fuzz       run the property-based tests with many more examples"
	@echo "make screenshot refresh docs/agreement.png (the README's screenshot) from the browser test"
	@echo "make clean      remove dist/ and caches"

# The virtual environment is brought up to date whenever a lock file or pyproject.toml is
# newer than it: the runtime lock and the project itself (so .venv/bin/slakit exists) for
# `make render`, the development lock on top for tests and lint.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check --quiet --no-deps -e .
	@touch $@

# slakit is installed editable, so nothing compiles its modules ahead; where the environment
# sets PYTHONDONTWRITEBYTECODE (CI does) every command would compile them again (~80 ms).
$(PYC_STAMP): $(SOURCES) $(STAMP)
	@$(PY) -m compileall -q slakit
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@touch $@

$(BENCH_STAMP): bench/requirements.txt $(DEV_STAMP)
	$(PY) -m pip install --disable-pip-version-check --quiet -r bench/requirements.txt
	@touch $@

render: $(STAMP) $(PYC_STAMP)
	$(PY) build.py

pdf: $(STAMP) $(PYC_STAMP)
	$(PY) build.py sla --out dist --pdf --paper $(PAPER)

validate: $(STAMP) $(PYC_STAMP)
	$(PY) cli.py validate sla

diff: $(STAMP) $(PYC_STAMP)
	$(PY) cli.py diff $(BASE) --format md --out $(OUT)
	@echo "wrote $(OUT): changes from $(BASE) to the working tree"

changelog: $(STAMP) $(PYC_STAMP)
	@$(PY) cli.py changelog

test: $(DEV_STAMP) $(PYC_STAMP)
	$(PY) -m pytest -q

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

golden: $(DEV_STAMP)
	SLAKIT_UPDATE_GOLDEN=1 $(PY) -m pytest -q tests/test_render.py -k golden

screenshot: $(DEV_STAMP)
	SLAKIT_SCREENSHOT=docs/agreement.png $(PY) -m pytest -q tests/test_browser.py -k screenshot

fuzz: $(DEV_STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q tests -k "propert or fuzz"

bench: $(BENCH_STAMP) $(PYC_STAMP)
	$(PY) bench/run.py

clean:
	rm -rf dist .pytest_cache bench/data bench/out
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
