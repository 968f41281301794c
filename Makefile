# The two commands of the quick start: `make dev` and `make test`.
# Each bootstraps .venv on first use, so a fresh clone needs nothing else.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: dev test check lint typecheck cfn-lint unit integration e2e browser messages events-schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the whole Frontdesk stack locally (moto, no Docker, no AWS account).
dev: $(STAMP)
	$(BIN)/frontdesk dev $(ARGS)

## The whole test suite: static checks, then unit, integration, end-to-end and browser tests.
test: check browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The browser tests drive Debian's Chromium; install it when it is missing and we may.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium: sudo apt-get install chromium" >&2; exit 1; \
	  fi; }

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

## Extract the translatable text of templates and code, and merge it into every language's catalog.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k translatable --no-location --sort-output \
	  --project Frontdesk --copyright-holder "Frontdesk contributors" -o templates/locales/frontdesk.pot .
	$(BIN)/pybabel update -i templates/locales/frontdesk.pot -d templates/locales -D frontdesk \
	  --no-fuzzy-matching --ignore-obsolete

## Write docs/events.schema.json from the integration events' models.
events-schema: $(STAMP)
	PYTHONPATH=tools:layers/frontdesk $(BIN)/python -m frontdesk_tools.events_schema

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .pytest_cache .ruff_cache
