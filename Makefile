# The project's verbs. `make run` and `make test` are the two commands of the README.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
BUF := node_modules/.bin/buf
PROTOS := $(wildcard protos/photofun/v1/*.proto)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help env gen gen-check api-release lint fmt test unit pytest run web bench diagram clean

help:  ## list the verbs
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

node_modules/.synced: package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	touch $@

env: $(VENV)/.synced node_modules/.synced  ## create .venv and node_modules from the lock files

gen: env  ## regenerate gen/ (Python) and web/src/gen (TypeScript) from protos/
	rm -rf gen/photofun && mkdir -p gen
	$(PY) -m grpc_tools.protoc -I protos --python_out=gen --grpc_python_out=gen \
	  --mypy_out=gen --mypy_grpc_out=gen $(PROTOS) 2>&1 | { grep -v '^Writing mypy' || true; }
	$(BUF) build -o gen/photofun/v1/descriptors.binpb
	$(BUF) generate

gen-check: env  ## fail when gen/ is not what protos/ generate
	tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(PY) -m grpc_tools.protoc -I protos --python_out=$$tmp --grpc_python_out=$$tmp \
	  --mypy_out=$$tmp --mypy_grpc_out=$$tmp $(PROTOS) 2>&1 | { grep -v '^Writing mypy' || true; } && \
	$(BUF) build -o $$tmp/photofun/v1/descriptors.binpb && \
	diff -r -x __pycache__ $$tmp/photofun gen/photofun > /dev/null || \
	{ echo "gen/ is stale: run 'make gen' and commit the result"; exit 1; } && \
	$(BUF) generate -o $$tmp/ts && diff -r $$tmp/ts/web/src/gen web/src/gen > /dev/null || \
	{ echo "web/src/gen is stale: run 'make gen' and commit the result"; exit 1; }

api-release: env  ## make the current protos the released API that `make lint` checks breaks against
	$(BUF) build -o protos/released.binpb

lint: env  ## ruff, mypy (strict), import layers, buf lint and breaking, tsc, biome
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(BUF) lint
	$(VENV)/bin/lint-imports --no-cache
	$(BUF) breaking --against protos/released.binpb
	node_modules/.bin/tsc -p web/tsconfig.json
	node_modules/.bin/biome check --error-on-warnings

fmt: env  ## format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

UNIT := not e2e and not deploy and not browser and not slow
# A browser test whose Chromium is missing fails instead of skipping (`PHOTOFUN_REQUIRE_BROWSER=0 make ...` to allow it).
export PHOTOFUN_REQUIRE_BROWSER ?= 1

# Test processes (pytest-xdist): each module runs whole on one worker, so its module-scoped stack
# starts once; `make pytest WORKERS=0` runs everything in one process.
WORKERS ?= 2
XDIST = $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile)

pytest: env  ## the pytest suite: the fast tier with the coverage report and its floor, then the rest
	$(VENV)/bin/pytest -m "$(UNIT)" $(XDIST) --cov --cov-report=term --durations=10
	$(VENV)/bin/pytest -m "not ($(UNIT)) and not alone" $(XDIST) --durations=15
	$(VENV)/bin/pytest -m "alone" -p no:xdist

unit: env  ## the fast tier: in-process tests on real ports (no browser, Envoy, compose or e2e)
	$(VENV)/bin/pytest -m "$(UNIT)" $(XDIST) -q

test: env lint gen-check pytest  ## the whole check: what CI runs

run: env gen web  ## the whole stack on embedded defaults, with the web page (Ctrl-C stops it)
	$(PY) -m devstack $(if $(filter-out 0,$(TLS)),--tls)

web: env  ## build the browser page into web/dist (esbuild)
	node web/build.mjs

BENCHES := bench/angles.py bench/intent_accuracy.py bench/conversation.py bench/edge.py \
  bench/uploads.py bench/enhance.py bench/telemetry.py bench/render.py

bench: env  ## benchmarks with printed tables
	@for b in $(BENCHES); do echo "== $$b"; $(PY) $$b || exit 1; done

diagram: env  ## redraw docs/img/packages.png (from the imports) and trust.png (needs Graphviz's dot)
	$(PY) docs/img/packages.py
	$(PY) docs/img/trust.py

clean:  ## remove environments and local data
	rm -rf $(VENV) $(TOOLS) node_modules var
