# The two commands of the quick start: `make dev` and `make test`.
# Each bootstraps .venv on first use, so a fresh clone needs nothing else.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: dev test check lint typecheck cfn-lint unit integration e2e clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the whole Frontdesk stack locally (moto, no Docker, no AWS account).
dev: $(STAMP)
	$(BIN)/frontdesk dev $(ARGS)

## The whole test suite: static checks, then unit, integration, end-to-end and browser tests.
test: check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: lint typecheck cfn-lint

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint infra/template.yaml

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .pytest_cache .ruff_cache
