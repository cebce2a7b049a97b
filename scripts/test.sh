#!/usr/bin/env bash
# The whole test suite: lint, then pytest on SQLite, then pytest on PostgreSQL.
# Under CI=true an unreachable PostgreSQL is a failure; elsewhere it is skipped loudly.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${TOWNBRAIN_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/townbrain}
export TOWNBRAIN_HOME=${TOWNBRAIN_HOME:-$(pwd)/var}
unset TOWNBRAIN_DATABASE_URL

pytest_run() {  # label, pytest args...
  local label=$1; shift
  echo "== tests on $label =="
  # loadgroup: a module marked xdist_group runs on one worker, so its module fixture (a whole demo, a
  # prepared database) is built once, not once per worker.
  "$BIN/pytest" -n 2 --dist loadgroup -q "$@"
  local rc=$?
  if [ $rc -eq 5 ] && [ "${TOWNBRAIN_TESTS_DATABASE_ONLY:-}" = "1" ] && [ $# -gt 0 ]; then
    echo "tests on $label: the selection holds no database tests; they ran on SQLite"
    return 0
  fi
  if [ $rc -eq 5 ]; then
    echo "tests on $label: pytest collected no tests — the suite is missing" >&2
    return 1
  fi
  return $rc
}

echo "== lint =="
"$BIN/ruff" check townbrain || exit 1

pytest_run SQLite "$@" || exit 1

if "$BIN/python" - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].rsplit("/", 1)[0] + "/postgres", connect_timeout=5).close()
except Exception as exc:
    print(f"PostgreSQL unreachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  # Tests that never touch the database ran in the SQLite pass; this pass runs the rest (townbrain/conftest.py).
  TOWNBRAIN_DATABASE_URL=$PG_URL TOWNBRAIN_TESTS_DATABASE_ONLY=1 pytest_run PostgreSQL "$@" || exit 1
elif [ "${CI:-}" = "true" ]; then
  echo "FAIL: PostgreSQL at $PG_URL is unreachable and CI requires the PostgreSQL run" >&2
  exit 1
else
  echo "WARNING: PostgreSQL run SKIPPED (server unreachable); CI will not skip it" >&2
fi
echo "all test runs passed"
