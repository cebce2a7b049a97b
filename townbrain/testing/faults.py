"""Fault injection helpers: a real `townbrain` process against a database of its own, SIGKILLed inside
its write transaction, and digests of every table to prove what changed (exchange/tests/test_sigkill.py,
tests/test_fault_injection.py).

- `env(home, url)`: the child's environment (TOWNBRAIN_HOME; TOWNBRAIN_DATABASE_URL only when given).
- `run(env, *args)`: `python *args` to completion, asserting exit 0.
- `kill_inside(cmd, env, log, inside, hold)`: start `python *cmd`; once `inside(pid)` (the process holds its
  write transaction open) has held for `hold` seconds, SIGKILL it; fail loudly if it finished first.
- SQLite: `sqlite_digest(path)` (a dump of every table), `sqlite_writing(path)` (another connection cannot
  take the write lock).
- PostgreSQL: `pg_params()`, `pg_database(prefix, template)` (a database of its own, dropped afterwards),
  `pg_digest(connect)` (md5 of every table), `pg_writing(monitor, table)` (a backend other than ours holds a
  write lock on `table` in an open transaction), `pg_wait_gone(monitor)` (the killed client's backend ended).
"""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

COUNTED = ("projects_project", "core_auditentry", "exchange_importbatch", "projects_rollupcell")


def env(home: Path, database_url: str | None) -> dict:
    out = {**os.environ, "TOWNBRAIN_HOME": str(home)}
    out.pop("TOWNBRAIN_DATABASE_URL", None)
    if database_url:
        out["TOWNBRAIN_DATABASE_URL"] = database_url
    return out


def run(environ, *args, timeout=180):
    done = subprocess.run([sys.executable, *args], env=environ, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def kill_inside(cmd, environ, log_path: Path, inside, hold: float = 1.5, timeout: float = 60,
                poll: float = 0.01) -> subprocess.Popen:
    """Start `python *cmd`; SIGKILL it once `inside(pid)` has held for `hold` seconds; return the process.

    Fails (never passes silently) when the process ends before it was caught inside for `hold` seconds
    at a stretch (the dataset is too small)."""
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, *cmd], env=environ, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        since = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (f"{' '.join(map(str, cmd))} finished before it could be killed inside its "
                                         f"write transaction (make the dataset bigger): " + log_path.read_text()[-800:])
            if inside(proc.pid):
                since = since or time.monotonic()
                if time.monotonic() - since >= hold:
                    break
            else:
                # A short write before the one under test (the probe caught one now and then on a loaded
                # machine): wait for a transaction that lasts. One that committed shows anyway — the process
                # ends before it is caught, or the database differs after the kill.
                since = None
            time.sleep(poll)
        else:
            pytest.fail(f"{' '.join(map(str, cmd))} never opened its write transaction")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL, f"not killed: exit code {proc.returncode}"
    return proc


# --- SQLite ---------------------------------------------------------------------------------------


def sqlite_digest(path: Path, counted=COUNTED) -> tuple[str, dict]:
    db = sqlite3.connect(path)
    try:
        digest = hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed names)
                  for t in counted}
    finally:
        db.close()
    return digest, counts


def sqlite_writing(path: Path):
    """inside(pid): another connection holds SQLite's write lock (the process under test: nobody else writes).

    (The -wal file is no signal: SQLite keeps an uncommitted transaction in its page cache until the cache
    spills, which may take thousands of rows; the write lock is taken at the first write.)"""

    def inside(pid) -> bool:
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")  # fails while another connection holds the write lock
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc) or "busy" in str(exc), exc
            return True
        finally:
            probe.close()

    return inside


def sqlite_ok(path: Path) -> bool:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        db.close()


def sqlite_copy(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite database (the backup API: the -wal is folded in)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


# --- PostgreSQL -----------------------------------------------------------------------------------


def pg_params() -> dict | None:
    """Connection parameters of the server the tests use; None when they run on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    conf = connection.settings_dict
    return {"host": conf["HOST"] or None, "port": conf["PORT"] or None, "user": conf["USER"] or None,
            "password": conf["PASSWORD"] or None}


def pg_url(name: str) -> str:
    from django.db import connection

    conf = connection.settings_dict
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf["PASSWORD"] else "")
    return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{name}"


@contextmanager
def pg_database(prefix: str, template: str | None = None):
    """(url, connect, name) of a new database (a copy of `template` when given); dropped afterwards."""
    import psycopg

    params = pg_params()
    if params is None:
        pytest.skip("the tests run on SQLite; the PostgreSQL variant runs with TOWNBRAIN_DATABASE_URL=postgres://…")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield pg_url(name), (lambda: psycopg.connect(dbname=name, autocommit=True, **params)), name
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_digest(connect) -> tuple[str, dict]:
    with connect() as db:
        tables = [r[0] for r in db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        digest, counts = hashlib.sha256(), {}
        for table in tables:
            count, md5 = db.execute(f'SELECT count(*), md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) '
                                    f'FROM "{table}" t').fetchone()
            counts[table] = count
            digest.update(f"{table}:{count}:{md5}\n".encode())
    return digest.hexdigest(), counts


def pg_writing(monitor, table: str):
    """inside(pid): a backend other than the monitor's (its client is the process under test) holds a
    write lock on `table` inside an open transaction."""

    def inside(pid) -> bool:
        row = monitor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL "
            "AND l.relation = %s::regclass AND l.mode IN ('RowExclusiveLock', 'ExclusiveLock', "
            "'AccessExclusiveLock') AND l.granted", [table]).fetchone()
        return row[0] > 0

    return inside


def pg_wait_gone(monitor, seconds: float = 20) -> None:
    """The server notices the dead client and rolls its transaction back: wait until its backend is gone."""
    deadline = time.monotonic() + seconds
    while monitor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND pid <> pg_backend_pid()").fetchone()[0]:
        assert time.monotonic() < deadline, "the killed process's backend lingers"
        time.sleep(0.05)


def doctor(environ, *args) -> dict:
    """`townbrain doctor --json` in the child's environment: the results (asserting the exit code matches)."""
    import json

    done = subprocess.run([sys.executable, "-m", "townbrain.cli", "doctor", "--json", *args], env=environ,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["drift"] == (done.returncode == 1)
    return report


def assert_no_drift(environ, *args) -> None:
    report = doctor(environ, *args)
    drift = [f"{c['name']}: {p}" for c in report["checks"] for p in c["problems"]]
    assert not report["drift"], "townbrain doctor found drift:\n" + "\n".join(drift)
