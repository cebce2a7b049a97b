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

import sqlite3
from pathlib import Path

import pytest
import xlsxwriter

from townbrain.testing import faults

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


def _prepare(tmp_path, env) -> Path:
    faults.run(env, "-m", "townbrain.cli", "init")
    faults.run(env, "-m", "townbrain.cli", "load-divisions", "--province", "33")
    faults.run(env, "-c", SEED)
    return _big_file(tmp_path / "projects.xlsx")


def _kill_in_the_middle(env, file: Path, tmp_path, applying):
    """Start the import; SIGKILL it once `applying(pid)` has held for 1.5 s (well into the rows)."""
    return faults.kill_inside(["-m", "townbrain.cli", "import", str(file), "--kind", "projects", "--json"], env,
                              tmp_path / "import.out", applying, hold=1.5, timeout=45, poll=0.02)


# --- SQLite ---------------------------------------------------------------------------------------


def test_sigkill_while_applying_on_sqlite(tmp_path):
    home = tmp_path / "home"
    env = faults.env(home, None)
    file = _prepare(tmp_path, env)
    database = home / "townbrain.sqlite3"
    before, counts = faults.sqlite_digest(database)
    assert counts["projects_project"] == EXISTING and counts["exchange_importbatch"] == 0

    # (the -wal file is no signal: SQLite keeps an uncommitted transaction in its page cache until the
    # cache spills, which may take thousands of rows; the write lock is taken at the first row)
    _kill_in_the_middle(env, file, tmp_path, faults.sqlite_writing(database))

    after, counts_after = faults.sqlite_digest(database)
    assert counts_after == counts
    assert counts_after["exchange_importbatch"] == 0
    assert after == before, "the database differs from before the killed import"
    assert faults.sqlite_ok(database)
    db = sqlite3.connect(database)
    assert db.execute("SELECT name FROM projects_project WHERE code = 'K00001'").fetchone() == ("原项目1",)
    db.close()
    faults.assert_no_drift(env)


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_database():
    """A database of its own on the server the tests use; dropped afterwards."""
    with faults.pg_database("townbrain_sigkill") as (url, connect, _name):
        yield url, connect


def test_sigkill_while_applying_on_postgresql(tmp_path, pg_database):
    url, connect = pg_database
    env = faults.env(tmp_path / "home", url)
    file = _prepare(tmp_path, env)
    before, counts = faults.pg_digest(connect)
    assert counts["projects_project"] == EXISTING and counts["exchange_importbatch"] == 0
    monitor = connect()

    applying = faults.pg_writing(monitor, "projects_project")

    try:
        _kill_in_the_middle(env, file, tmp_path, applying)
        faults.pg_wait_gone(monitor)
    finally:
        monitor.close()
    after, counts_after = faults.pg_digest(connect)
    assert counts_after == counts
    assert counts_after["exchange_importbatch"] == 0
    assert after == before, "the database differs from before the killed import"
    faults.assert_no_drift(env)
