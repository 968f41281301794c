# The two commands of the quick start: `make dev` and `make test`.
# Each bootstraps .venv on first use, so a fresh clone needs nothing else.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPython 3.13, Lambda's runtime, for `make bench-313` only (the test venv is this machine's 3.11).
VENV_313 := .venv-313
STAMP_313 := $(VENV_313)/.installed
# SAM CLI lives in a venv of its own: it pins boto3 and click versions the test venv must not get.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
SAM_CLI := aws-sam-cli>=1.130,<2
BUILD_DIR := .aws-sam/build
# --cached reuses a layer whose folder has not changed (.aws-sam/cache): 15 s down to 3. A cached
# layer keeps the package versions it was built with: `make build SAM_BUILD_ARGS=--parallel` (or
# rm -rf .aws-sam) builds afresh.
SAM_BUILD_ARGS ?= --parallel --cached
# The layer's pip (layers/frontdesk/Makefile): .venv-sam's, which is recent and always there.
export LAYER_PIP := $(abspath $(SAM_VENV))/bin/python -m pip
# The Python that precompiles the templates layer's catalogs and templates (templates/Makefile).
export TEMPLATES_PYTHON := $(abspath $(BIN))/python
# The CPython 3.13 that compiles the layer's and the functions' bytecode (their Makefiles): python3.13
# if it runs, else pyenv's; empty when there is none (they then ship without, and the layer warns).
ifeq ($(origin PYTHON313),undefined)
export PYTHON313 := $(shell for python in python3.13 "$$(pyenv root 2>/dev/null || echo "$${PYENV_ROOT:-$$HOME/.pyenv}")"/versions/3.13*/bin/python3.13; do \
  "$$python" -c 'import sys; assert sys.version_info[:2] == (3, 13); print(sys.executable)' 2>/dev/null && break; \
  done)
endif
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: dev test build bench-313 sam check lint typecheck cfn-lint unit property integration e2e browser messages events-schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet '$(SAM_CLI)'
	touch $(SAM_STAMP)

## SAM CLI, in .venv-sam.
sam: $(SAM_STAMP)

## Run the whole Frontdesk stack locally (moto, no Docker, no AWS account).
dev: $(STAMP)
	$(BIN)/frontdesk dev $(ARGS)

## The whole test suite: static checks and the Lambda build, then unit, integration, end-to-end and
## browser tests.
test: check build browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(STAMP_313): pyproject.toml
	@test -n "$(PYTHON313)" || { echo "bench-313 needs CPython 3.13 (python3.13, or pyenv's)" >&2; exit 1; }
	"$(PYTHON313)" -m venv $(VENV_313)
	$(VENV_313)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_313)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP_313)

## The performance table measured under CPython 3.13, the runtime Lambda runs (after make build).
## Some costs exist only there: 3.13's urllib makes an HTTPS handler's SSL context when it is built.
bench-313: $(STAMP_313)
	$(VENV_313)/bin/python bench/performance.py $(ARGS)

## Build the layers and functions for Lambda (python3.13, arm64) into .aws-sam/build, then show
## their sizes. No Docker and no AWS account: every resource builds with its own Makefile.
build: $(STAMP) $(SAM_STAMP)
	$(SAM) build --template infra/template.yaml --build-dir $(BUILD_DIR) $(SAM_BUILD_ARGS)
	$(BIN)/python -m frontdesk_tools.build_report $(BUILD_DIR)

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

property: $(STAMP)
	$(BIN)/python -m pytest tests/property

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
	rm -rf $(VENV) $(SAM_VENV) $(VENV_313) .aws-sam .mypy_cache .pytest_cache .ruff_cache
