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

# What the tests need beyond the demo: Chromium for the admin's browser tests.
test-deps:
	@bash scripts/ensure-system-deps.sh redis chromium

demo: install
	$(PY) manage.py rundemo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install test-deps
	$(VENV)/bin/pytest

test: install test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py check
	$(VENV)/bin/pytest

# The database tests again on a private PostgreSQL (tests/postgres_server.py starts and stops it).
# Not yet part of `make test`: it shows that JSONB reorders stored payload keys (see issue 8).
test-postgres: install test-deps
	@bash scripts/ensure-system-deps.sh postgresql
	WEBHOOKS_TEST_POSTGRES=1 $(VENV)/bin/pytest -p tests.postgres_server -m "not browser and not benchmark"

benchmark: install
	$(PY) manage.py webhooks_benchmark

clean:
	rm -rf $(VENV) run .mypy_cache .ruff_cache .pytest_cache
