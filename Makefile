# BeamIt developer commands. `make dev` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH ?= full

.PHONY: dev test test-unit lint lint-python lint-infra bench bench-quick reliability package clean venv ohif

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## The whole product locally on emulators, with sandbox data, at http://127.0.0.1:$${BEAMIT_PORT:-8080}
dev: venv
	$(BIN)/beamit dev

## The test suite: starts the emulators on free ports, runs pytest, stops them.
test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: venv
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

## The OHIF Viewer v3 (npm @ohif/app, fetched once into .beamit/ohif/) against a running `make dev`,
## at http://127.0.0.1:$${OHIF_PORT:-3000} (make dev allows that origin by default)
ohif: venv
	$(BIN)/python scripts/ohif/serve.py

## Static checks: ruff, mypy --strict (lint-python), terraform fmt and checkov (lint-infra, run in CI).
lint: lint-python lint-infra

lint-python: venv
	$(BIN)/ruff check shared functions emulators tests
	$(BIN)/mypy

lint-infra:
	terraform fmt -check -recursive terraform
	bash scripts/checkov.sh

## Faults and load (tests/reliability, all of it: ~15 minutes on 2 cores), and docs/reliability.md from the run.
## `make test` runs its bounded subset.
reliability: venv
	BEAMIT_RELIABILITY_FULL=1 BEAMIT_RELIABILITY_REPORT=docs/reliability.md $(BIN)/pytest tests/reliability $(PYTEST_ARGS)

## Side-by-side benchmark with Orthanc (installed from Debian if missing): table + docs/benchmarks.md.
## Full run under 15 minutes on 2 cores; BENCH=quick (or `make bench-quick`) runs a subset in about 3;
## BENCH=scale gives the 50,000-study QIDO tenant up to an hour (more than 2 cores need; see modes.py).
bench: venv
	$(BIN)/python -m beamit.bench --mode $(BENCH)

bench-quick: venv
	$(BIN)/python -m beamit.bench --mode quick

## The Cloud Functions source archive Terraform deploys: build/functions.zip
package: venv
	$(BIN)/python scripts/package_functions.py

clean:
	rm -rf $(VENV) .beamit build .pytest_cache .mypy_cache .ruff_cache
