# Cordée — the README's commands. Everything installs into ./.venv and ./node_modules.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo install install-dev test test-postgres lint bench totp migrate browser backup-tools turn-server sfu-server bench-tools clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.runtime

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The imaging viewer (Cornerstone3D and Cordée's module, bundled by esbuild; not committed).
VIEWER := cordee/imaging/static/imaging/build/viewer.js
$(VIEWER): node_modules/.package-lock.json scripts/build-viewer.mjs $(wildcard cordee/imaging/frontend/*.js)
	npm run --silent build

install: $(VENV)/.runtime node_modules/.package-lock.json $(VIEWER)

install-dev: $(VENV)/.dev node_modules/.package-lock.json $(VIEWER)

migrate: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py createcachetable

# Public drug data imported by the demo when the team's shared data sits beside the checkout.
DEMO_DATA ?= ../shared/data

## demo: install, migrate, load the demo personas and start Cordée at http://127.0.0.1:8000
demo: migrate
	@if [ -d "$(DEMO_DATA)/bdpm/2026-05-26" ]; then \
	  echo "Importing the public drug database (BDPM) and the ANSM interaction thesaurus from $(DEMO_DATA)…"; \
	  DEBUG=1 $(PY) manage.py import_bdpm "$(DEMO_DATA)/bdpm/2026-05-26" "$(DEMO_DATA)/bdpm/2023-11-18_HAS_only" && \
	  DEBUG=1 $(PY) manage.py import_interactions "$(DEMO_DATA)/ansm_interactions"; \
	else \
	  echo "No drug import: $(DEMO_DATA)/bdpm/2026-05-26 is not there (make demo DEMO_DATA=/path/to/shared/data)."; \
	  echo "The drug search stays empty until an import (README, Drug database)."; \
	fi
	DEBUG=1 $(PY) manage.py seed_demo
	@echo "Cordée is starting at http://$(HOST):$(PORT)/  (Ctrl-C to stop; the worker, background tasks and audit checkpoints, logs to $${CORDEE_DATA_DIR:-.data}/worker.log)"
	DEBUG=1 $(PY) manage.py worker --queue-name '*' --no-reload --interval 2 > "$${CORDEE_DATA_DIR:-.data}/worker.log" 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(VENV)/bin/uvicorn cordee.asgi:application --host $(HOST) --port $(PORT) --no-access-log --lifespan off --ws-per-message-deflate false

## totp: the current second-factor code of the demo accounts
totp: install
	@DEBUG=1 $(PY) manage.py demo_totp

browser:
	@bash scripts/ensure-debian-packages.sh "the browser tests" chromium:chromium

## backup-tools: restic and the PostgreSQL client that manage.py backup / restore run (Debian packages)
backup-tools:
	@bash scripts/ensure-debian-packages.sh "the backup tests" restic:restic pg_dump:postgresql-client

## turn-server: coturn, the TURN relay the video test starts on loopback (Debian package)
turn-server:
	@bash scripts/ensure-debian-packages.sh "the video relay test" turnserver:coturn

## sfu-server: Janus, the SFU of calls beyond four that the video tests start on loopback (Debian package)
sfu-server:
	@bash scripts/ensure-debian-packages.sh "the video SFU tests" janus:janus

## bench-tools: what the benches start beside Cordée (Orthanc for bench/imaging; Debian packages)
bench-tools:
	@bash scripts/ensure-debian-packages.sh "the imaging bench's Orthanc" Orthanc:orthanc

## test: install everything and run the whole suite (SQLite, in-memory channel layer)
test: install-dev browser backup-tools turn-server sfu-server
	$(PY) -m pytest $(PYTEST_ARGS)

## test-postgres: the suite again on PostgreSQL + Redis (as CI does), but for the browser tests and
## the tests that run on SQLite files of their own: they are about the pages, not the database, and
## `make test` ran them (each cost minutes twice in CI). `make test-postgres PYTEST_ARGS=-mbrowser` runs them here.
test-postgres: install-dev backup-tools sfu-server
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

## bench: every benchmark under bench/*/run.py, or one: make bench BENCH=messaging (JSON + Markdown reports next to each; not part of the tests)
BENCH ?= *
bench: install-dev
	@set -e; for script in bench/$(BENCH)/run.py; do [ -e "$$script" ] || continue; echo "== $$script"; $(PY) "$$script" $(BENCH_ARGS); done

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(VENV)/bin/mypy cordee
	$(VENV)/bin/lint-imports
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) node_modules staticfiles
