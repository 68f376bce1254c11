# Two commands on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install system-deps test-deps test-postgres demo test lint typecheck pytest benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[demo,test]'
	touch $(STAMP)

system-deps:
	@bash scripts/ensure-system-deps.sh redis

install: $(STAMP) system-deps

# What the tests need beyond the demo: Chromium for the admin's browser tests, and Debian's
# PostgreSQL server for the PostgreSQL rerun (only its binaries: the tests start their own).
test-deps:
	@bash scripts/ensure-system-deps.sh redis chromium postgresql

demo: install
	$(PY) manage.py rundemo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install test-deps
	$(VENV)/bin/pytest

# The database-dependent tests again on a private PostgreSQL server that tests/postgres_server.py
# starts on 127.0.0.1 under run/pg-<port>/ (as an unprivileged user) and stops afterwards; about
# four minutes. The subset: tests.postgres_server keeps only the tests that use the database (a
# django_db mark or a db/transactional_db/live_server fixture), so the pure-Python modules do
# not run twice; -m leaves out the browser tests (the admin's pages: the same queries as the
# admin tests) and the benchmark; --ignore leaves out the SIGKILL recovery test (a minute of
# waiting for a dead worker's heartbeat to expire; its database side is the scale-out tests').
# Everything else runs: dispatch, the delivery log, the outbox and relays under concurrency, the scale-out
# workers, the REST API and its schema fuzzing. Bounded: pytest-timeout's per-test limit
# (pyproject.toml), and the session stops starting tests after 10 minutes.
PG_PYTEST := WEBHOOKS_TEST_POSTGRES=1 $(VENV)/bin/pytest -p tests.postgres_server \
	-m "not browser and not benchmark" --ignore=tests/worker/test_scale_out_sigkill.py \
	--session-timeout=600

# Checks, the whole suite on SQLite, then the PostgreSQL rerun.
test: install test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py check
	$(VENV)/bin/pytest
	$(PG_PYTEST)

# The PostgreSQL rerun alone.
test-postgres: install test-deps
	$(PG_PYTEST)

benchmark: install
	$(PY) manage.py webhooks_benchmark

clean:
	rm -rf $(VENV) run .mypy_cache .ruff_cache .pytest_cache
