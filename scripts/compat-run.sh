#!/usr/bin/env bash
# A compatibility run (issue 17): the checks and the suite again in a virtual environment of
# their own, at one end of what pyproject.toml's bounds allow.
#   lowest  Python 3.11, every direct dependency at its lower bound (uv's lowest-direct), Django 5.2
#   newest  Python 3.13, the newest versions the bounds allow, Django 6.1
#   django60  Python 3.13, the newest versions with Django 6.0 (not in make test; run by hand)
# Usage: scripts/compat-run.sh lowest|newest|django60 [...]
# Several runs go side by side (each is mostly waiting on workers, receivers and time limits:
# about half a core each), their output printed in order once all have finished; the exit code
# is 1 if any failed. COMPAT_SERIAL=1 runs them one after the other instead, printing as they go.
# Runs ruff check, strict mypy (the django-stubs of that Django), makemigrations --check, check
# and pytest without the browser tests and the benchmark. The environment (.venv-lowest,
# .venv-newest) is reused while pyproject.toml and this script are unchanged. The interpreter
# comes from this machine (pyenv's versions, or pythonX.Y on PATH), never from a download; when
# there is none, the run prints SKIPPED and exits 0.
set -euo pipefail
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$self")/.."

# uv from PyPI into the main .venv (make install made it); it never fetches a Python here.
uv=.venv/bin/uv
ensure_uv() {
  [ -x "$uv" ] && return 0
  if [ ! -x .venv/bin/python ]; then
    echo "No .venv: run \`make install\` (or \`make test-compat\`) first." >&2
    exit 1
  fi
  .venv/bin/python -m pip install -q 'uv>=0.9,<1'
}
export UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1

if [ $# -gt 1 ]; then
  rc=0
  ensure_uv # once, before the runs share it
  if [ -n "${COMPAT_SERIAL:-}" ]; then
    for mode in "$@"; do bash "$self" "$mode" || rc=1; done
    exit $rc
  fi
  logs=$(mktemp -d -t webhooks-compat.XXXXXX)
  pids=()
  for mode in "$@"; do
    bash "$self" "$mode" >"$logs/$mode.log" 2>&1 &
    pids+=("$!")
  done
  echo "compat: $* side by side (output in $logs, printed here when all have finished)"
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  for mode in "$@"; do cat "$logs/$mode.log"; done
  rm -rf "$logs"
  exit $rc
fi
mode=${1:-}
case $mode in
  lowest)
    want=3.11
    resolution=lowest-direct
    pins=("Django>=5.2,<5.3" "django-stubs[compatible-mypy]<5.3")
    ;;
  newest)
    want=3.13
    resolution=highest
    pins=("Django>=6.1,<6.2" "django-stubs[compatible-mypy]>=6.1,<6.2")
    ;;
  django60)
    # Not part of make test (lowest and newest are): the middle Django, for a one-off check.
    want=3.13
    resolution=highest
    pins=("Django>=6.0,<6.1" "django-stubs[compatible-mypy]>=6.0,<6.1")
    ;;
  *)
    echo "usage: $0 lowest|newest|django60 [...]" >&2
    exit 2
    ;;
esac
venv=.venv-$mode
stamp=$venv/.installed
started=$SECONDS

say() { printf '\n=== compat %s: %s\n' "$mode" "$*"; }

# An interpreter of version $1 from this machine: pyenv's versions (newest patch first), then
# pythonX.Y on PATH and in the usual places. Each candidate must run and say it is $1 (a pyenv
# shim for a version that is not installed fails there).
find_python() {
  local v=$1 root candidate
  local -a candidates=()
  root=${PYENV_ROOT:-$HOME/.pyenv}
  if command -v pyenv >/dev/null 2>&1; then root=$(pyenv root 2>/dev/null || echo "$root"); fi
  if [ -d "$root/versions" ]; then
    while IFS= read -r candidate; do
      candidates+=("$candidate/bin/python$v")
    done < <(find "$root/versions" -mindepth 1 -maxdepth 1 -name "$v.[0-9]*" ! -name '*t' | sort -rV)
  fi
  candidate=$(command -v "python$v" 2>/dev/null) && candidates+=("$candidate")
  candidates+=("/usr/local/bin/python$v" "/usr/bin/python$v")
  for candidate in "${candidates[@]}"; do
    [ -x "$candidate" ] || continue
    if [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$v" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! python=$(find_python "$want"); then
  say "SKIPPED: no Python $want on this machine (looked in pyenv's versions, python$want on PATH, /usr/local/bin, /usr/bin). Nothing was tested."
  exit 0
fi

ensure_uv

key="$mode $resolution ${pins[*]} $("$python" -VV 2>&1 | head -1) $(cat pyproject.toml "$self" | sha256sum | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
  say "reusing $venv (pyproject.toml unchanged)"
else
  say "creating $venv with $python ($resolution)"
  rm -rf "$venv"
  "$uv" venv -q --python "$python" "$venv"
  "$uv" pip install -q --python "$venv/bin/python" --resolution "$resolution" \
    -e '.[demo,test]' "${pins[@]}"
  echo "$key" >"$stamp"
fi

say "resolved versions"
"$venv/bin/python" - <<'EOF'
import platform
from importlib.metadata import PackageNotFoundError, version

print(f"  {'Python':28} {platform.python_version()}")
for name in (
    "Django", "djangorestframework", "django-rq", "rq", "redis", "requests", "urllib3",
    "Jinja2", "drf-spectacular", "django-filter", "psycopg", "django-stubs", "django-stubs-ext",
    "djangorestframework-stubs", "types-redis", "types-requests", "mypy", "ruff", "pytest",
    "pytest-django", "hypothesis", "schemathesis",
):
    try:
        print(f"  {name:28} {version(name)}")
    except PackageNotFoundError:
        print(f"  {name:28} (not installed)")
EOF

export DJANGO_SETTINGS_MODULE=tests.settings
# Every step runs; the run fails at the end if any step failed, naming them.
failed=()
step() {
  local name=$1
  shift
  say "$name"
  local t0=$SECONDS
  if "$@"; then
    say "$name: ok ($((SECONDS - t0)) s)"
  else
    say "$name: FAILED ($((SECONDS - t0)) s)"
    failed+=("$name")
  fi
}
step "ruff check" "$venv/bin/ruff" check --cache-dir "$venv/.ruff_cache" .
step "mypy" "$venv/bin/mypy" --python-version "$want" --cache-dir "$venv/.mypy_cache"
# Django 6.1's checks open the database (SQLite under run/ unless the tests set it).
mkdir -p run
step "makemigrations --check" "$venv/bin/python" manage.py makemigrations --check --dry-run
step "check" "$venv/bin/python" manage.py check
# The session stops starting tests after 20 minutes (pytest-timeout), like the PostgreSQL rerun's
# 10: a version that hangs the workers fails the run instead of holding CI for hours.
step "pytest" "$venv/bin/pytest" -o cache_dir="$venv/.pytest_cache" -m "not browser and not benchmark" \
  --session-timeout=1200

if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED after $((SECONDS - started)) s: ${failed[*]}"
  exit 1
fi
say "passed in $((SECONDS - started)) s"
