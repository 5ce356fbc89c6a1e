# BeamIt developer commands. `make dev` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: dev test test-unit lint bench bench-quick package clean venv

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

## Static checks: ruff, mypy --strict, terraform fmt, checkov.
lint: venv
	$(BIN)/ruff check shared functions emulators tests
	$(BIN)/mypy
	terraform fmt -check -recursive terraform
	bash scripts/checkov.sh

## The Cloud Functions source archive Terraform deploys: build/functions.zip
package: venv
	$(BIN)/python scripts/package_functions.py

clean:
	rm -rf $(VENV) .beamit build .pytest_cache .mypy_cache .ruff_cache
