# Two commands on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install system-deps test-deps test-postgres test-compat demo test lint typecheck pytest benchmark clean

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

# Other ports: make demo PORT=8123 REDIS_PORT=6399 RECEIVER_PORT=9123 (one line: the tests read
# it with make -n); rundemo's defaults otherwise.
demo: install
	$(PY) manage.py rundemo $(if $(PORT),--port $(PORT)) $(if $(REDIS_PORT),--redis-port $(REDIS_PORT)) $(if $(RECEIVER_PORT),--receiver-port $(RECEIVER_PORT))

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

# The compatibility runs (scripts/compat-run.sh): ruff check, strict mypy, the migration and
# system checks and the suite (less the browser tests and the benchmark) again, each in a virtual
# environment of its own made by uv from pyproject.toml: `lowest` on Python 3.11 with the lowest
# versions the bounds allow (Django 5.2), `newest` on Python 3.13 with the newest (Django 6.1).
# The interpreters are the machine's (pyenv's); a missing one prints SKIPPED and is not tested.
# The two go side by side (each uses about half a core); COMPAT_SERIAL=1 runs one after the other.
COMPAT := bash scripts/compat-run.sh

# Checks, the whole suite on SQLite, the PostgreSQL rerun, then the two compatibility runs.
test: install test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py check
	$(VENV)/bin/pytest
	$(PG_PYTEST)
	$(COMPAT) lowest newest

# The two compatibility runs alone (both run; fails if either failed).
test-compat: install system-deps
	$(COMPAT) lowest newest

# The PostgreSQL rerun alone.
test-postgres: install test-deps
	$(PG_PYTEST)

benchmark: install
	$(PY) manage.py webhooks_benchmark

clean:
	rm -rf $(VENV) .venv-lowest .venv-newest run .mypy_cache .ruff_cache .pytest_cache
