# Two commands a newcomer needs: `make run` and `make test`.
# Both install into .venv first (only Python 3.11 is assumed on the machine).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check format install browser node services-stop clean bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: start PostgreSQL + Redis (embedded unless DATABASE_URL/REDIS_URL are set),
## migrate, seed the demo tenant, serve HTTP + WebSocket on :$${PORT:-8000} and a qcluster.
run: $(STAMP)
	$(BIN)/python -m config.devstack run

## The browser test drives Debian's Chromium; install it when missing (needs root + apt).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "installing chromium + chromium-driver for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

## The Node clients (a stock Yjs client in the tests; the benchmarks' anchors) come from npm,
## pinned in benchmarks/node/package-lock.json; Node itself from Debian when missing.
NODE_STAMP := benchmarks/node/node_modules/.installed
$(NODE_STAMP): benchmarks/node/package-lock.json
	@if ! command -v npm >/dev/null; then \
	  echo "installing nodejs + npm for the Node clients"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	fi
	cd benchmarks/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

node: $(NODE_STAMP)

## make check: the fast checks alone (seconds): lint, format, the layers in .importlinter.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## make format: what `ruff format` and `ruff check --fix` can put right themselves.
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make test: the fast checks, then the whole suite against real PostgreSQL and Redis.
test: $(STAMP) browser node check
	$(BIN)/python -m config.devstack test $(ARGS)

## make bench: the benchmark scripts (figures quoted in docs/benchmarks.md).
bench: $(STAMP)
	$(BIN)/python -m config.devstack exec -- $(BIN)/python benchmarks/provisioning.py

services-stop: $(STAMP)
	$(BIN)/python -m config.devstack stop

clean:
	rm -rf $(VENV) .data
