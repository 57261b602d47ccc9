# The two commands of the README: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit bench clean lock

$(STAMP): requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## Run the demo: embedded Postgres and Redis (unless DATABASE_URL/REDIS_URL are set), a real worker and beat.
## DEMO_ARGS=--keep leaves its database running afterwards.
demo: $(STAMP)
	$(BIN)/halton-workers demo $(DEMO_ARGS)

## Run everything CI runs: lint, types, the whole test suite (starts its own servers when needed), in two
## processes (pytest-xdist): each has its own database, queue names and, without DATABASE_URL/REDIS_URL, servers.
test: $(STAMP) lint
	$(BIN)/pytest -p no:cacheprovider -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider tests/unit

bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

## Re-resolve the pinned dependencies (needs network to PyPI): the production image installs
## requirements.lock (runtime only); make demo/test install requirements-dev.lock (+ embedded servers, tools).
lock:
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements-dev.lock

clean:
	rm -rf $(VENV) .halton demo-out
