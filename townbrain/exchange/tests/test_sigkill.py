"""SIGKILL in the middle of applying an import leaves the database exactly as it was (issue 5, item 10).

A real `townbrain import` runs in a subprocess against its own database: SQLite in a temporary
TOWNBRAIN_HOME always, and a dedicated PostgreSQL database too when the tests run on PostgreSQL.
The file creates thousands of projects and updates the ones already there. Once the import is
provably inside its write transaction (SQLite: another connection cannot take the write lock;
PostgreSQL: the import's backend holds a lock on projects_project inside an open transaction) and
has had time to write, the process is killed with SIGKILL. Then: it really was killed (-9), the
whole database is identical to before (a digest of every table), no import batch exists, and
SQLite's integrity check passes.
"""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import xlsxwriter
from django.db import connection

ROWS = 30_000  # far more than can be applied before the kill (new rows are checked one by one, then written together)
EXISTING = 30  # projects made before the import, which the file then changes
HEADER = ["项目编号", "项目名称", "乡镇代码", "所属计划", "类别", "总投资(万元)", "年度计划投资(万元)", "计划开工日期",
          "状态"]
SEED = f"""
from datetime import date
from decimal import Decimal
from townbrain.cli import _setup
_setup()
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects.services import create_project
town, meili = OrgUnit.objects.get(code="330109113"), Programme.objects.get(code="meili")
for i in range({EXISTING}):
    create_project(SYSTEM, code=f"K{{i:05d}}", name=f"原项目{{i}}", town=town, programme=meili,
                   total_investment=Decimal(100), annual_plan=Decimal(50), planned_start=date(2020, 3, 1))
"""


def _big_file(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    for i in range(ROWS):  # K00000..K00029 exist: renamed; the rest are new
        sheet.write_row(i + 1, 0, [f"K{i:05d}", f"改名项目{i}", "330109113", "meili", "功能便民环境美", 100 + i, 50,
                                   "2020-03-01", "谋划"])
    book.close()
    return path


def _env(home: Path, database_url: str | None) -> dict:
    env = {**os.environ, "TOWNBRAIN_HOME": str(home)}
    env.pop("TOWNBRAIN_DATABASE_URL", None)
    if database_url:
        env["TOWNBRAIN_DATABASE_URL"] = database_url
    return env


def _run(env, *args, timeout=120):
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _prepare(tmp_path, env) -> Path:
    _run(env, "-m", "townbrain.cli", "init")
    _run(env, "-m", "townbrain.cli", "load-divisions", "--province", "33")
    _run(env, "-c", SEED)
    return _big_file(tmp_path / "projects.xlsx")


def _kill_in_the_middle(env, file: Path, tmp_path, applying) -> subprocess.Popen:
    """Start the import; SIGKILL it once `applying(pid)` has held for 1.5 s; return the process."""
    log = (tmp_path / "import.out").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "townbrain.cli", "import", str(file), "--kind", "projects",
                             "--json"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 45
        since = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the import finished before it could be killed: " + \
                (tmp_path / "import.out").read_text()[:500]
            if applying(proc.pid):
                since = since or time.monotonic()
                if time.monotonic() - since > 1.5:  # well into the rows, not at the first one
                    break
            else:
                assert since is None, "the write transaction ended: the import committed or rolled back"
            time.sleep(0.02)
        else:
            pytest.fail("the import never started applying")
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


def _sqlite_digest(path: Path) -> tuple[str, dict]:
    db = sqlite3.connect(path)
    try:
        digest = hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed names)
                  for t in ("projects_project", "core_auditentry", "exchange_importbatch", "exchange_importchange",
                            "projects_rollupcell")}
    finally:
        db.close()
    return digest, counts


def _sqlite_writing(path: Path):
    def applying(pid) -> bool:
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

    return applying


def test_sigkill_while_applying_on_sqlite(tmp_path):
    home = tmp_path / "home"
    env = _env(home, None)
    file = _prepare(tmp_path, env)
    database = home / "townbrain.sqlite3"
    before, counts = _sqlite_digest(database)
    assert counts["projects_project"] == EXISTING and counts["exchange_importbatch"] == 0

    # (the -wal file is no signal: SQLite keeps an uncommitted transaction in its page cache until the
    # cache spills, which may take thousands of rows; the write lock is taken at the first row)
    _kill_in_the_middle(env, file, tmp_path, _sqlite_writing(database))

    after, counts_after = _sqlite_digest(database)
    assert counts_after == counts
    assert counts_after["exchange_importbatch"] == 0 and counts_after["exchange_importchange"] == 0
    assert after == before, "the database differs from before the killed import"
    db = sqlite3.connect(database)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute("SELECT name FROM projects_project WHERE code = 'K00001'").fetchone() == ("原项目1",)
    db.close()


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_database():
    """A database of its own on the server the tests use; dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("the tests run on SQLite; the PostgreSQL variant runs with TOWNBRAIN_DATABASE_URL=postgres://…")
    import psycopg

    conf = connection.settings_dict
    params = {"host": conf["HOST"] or None, "port": conf["PORT"] or None, "user": conf["USER"] or None,
              "password": conf["PASSWORD"] or None}
    name = f"townbrain_sigkill_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf["PASSWORD"] else "")
    url = f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{name}"
    try:
        yield url, (lambda: psycopg.connect(dbname=name, autocommit=True, **params))
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_digest(connect) -> tuple[str, dict]:
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


def test_sigkill_while_applying_on_postgresql(tmp_path, pg_database):
    url, connect = pg_database
    env = _env(tmp_path / "home", url)
    file = _prepare(tmp_path, env)
    before, counts = _pg_digest(connect)
    assert counts["projects_project"] == EXISTING and counts["exchange_importbatch"] == 0
    monitor = connect()

    def applying(pid) -> bool:
        # the import's backend (its client is our child process) holds a write lock on projects_project
        # inside an open transaction
        row = monitor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL "
            "AND l.relation = 'projects_project'::regclass AND l.mode = 'RowExclusiveLock' AND l.granted").fetchone()
        return row[0] > 0

    try:
        _kill_in_the_middle(env, file, tmp_path, applying)
        # the server notices the dead client and rolls its transaction back
        deadline = time.monotonic() + 20
        while monitor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND pid <> pg_backend_pid()").fetchone()[0]:
            assert time.monotonic() < deadline, "the killed import's backend lingers"
            time.sleep(0.05)
    finally:
        monitor.close()
    after, counts_after = _pg_digest(connect)
    assert counts_after == counts
    assert counts_after["exchange_importbatch"] == 0 and counts_after["exchange_importchange"] == 0
    assert after == before, "the database differs from before the killed import"
