# INDIGO: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock 2>/dev/null | cksum | cut -d' ' -f1)
# Tests run in parallel, one process per core (pytest-xdist); PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= auto
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS))
# The PostgreSQL and Redis of this machine, for `make test-services` and CI.
SERVICES_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/1

.PHONY: run test test-services test-embedded setup messages migrate demo lint lock clean

## First command: set up, load the demo data and run web, worker and beat on http://127.0.0.1:8000
## (the demo accounts are printed last, once the web answers; Ctrl-C stops all three)
run: setup migrate demo
	$(BIN)/python scripts/run_dev.py

## Second command: set up and run the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
test: setup
	@bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

## The suite against this machine's PostgreSQL and Redis, starting them when they are down
test-services: setup
	@bash scripts/ensure-services.sh
	@bash scripts/ensure-chromium.sh
	$(SERVICES_ENV) $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

## The suite on the embedded default (SQLite, file-system broker), without the tests that need real services
test-embedded: setup
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL $(BIN)/python -m pytest $(XDIST) -m "not services" $(PYTEST_ARGS)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP) messages

## Compile the translation catalogs (.mo files are built, never committed)
messages: $(STAMP)
	@$(BIN)/python scripts/compile_messages.py

migrate: setup
	$(BIN)/python manage.py migrate --noinput

## The demo data, then the 18:00 run's catch-up, so that every protocol day up to now is published; both quiet
## (a line each): the catch-up logs a line per day since 2024
demo: migrate
	LOG_LEVEL=WARNING $(BIN)/python manage.py seed_demo -v 0
	LOG_LEVEL=WARNING $(BIN)/python manage.py run_protocol | tail -n 1

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

## Re-pin the constraints file after changing pyproject.toml
lock:
	rm -rf /tmp/indigo-lock && $(PYTHON) -m venv /tmp/indigo-lock
	/tmp/indigo-lock/bin/pip install -q -e ".[dev]"
	/tmp/indigo-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) var
