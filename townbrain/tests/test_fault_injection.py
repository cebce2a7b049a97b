"""SIGKILL inside the write transaction of an assessment run, a roll-up rebuild, an acceptance sign-off and a
demo load leaves the database consistent, and `townbrain doctor` reports no drift (issue 18, item 4).

Each test starts a real process (`townbrain …` or `python -c` calling the service) against a database of its
own — SQLite in a temporary TOWNBRAIN_HOME always, a PostgreSQL database made from a template when the tests
run on PostgreSQL — waits until the process provably holds its write transaction open (SQLite: another
connection cannot take the write lock; PostgreSQL: the process's backend holds a write lock on the table it
writes inside an open transaction), SIGKILLs it, and then proves: it really died of the signal, a digest of
every table equals the one taken before (the work is wholly absent: had it committed, the kill would not have
been inside the transaction and `faults.kill_inside` fails loudly), and `townbrain doctor --json` finds no
drift. The large import is covered the same way by exchange/tests/test_sigkill.py (with the doctor too).

One prepared database per module and backend (init + load-divisions for Zhejiang + the seed below) is copied
for each test: the SQLite file by the backup API, PostgreSQL by `CREATE DATABASE … TEMPLATE`.
"""

import shutil
import sqlite3

import pytest

from townbrain.testing import faults

# One worker runs this module (scripts/test.sh: --dist loadgroup): its prepared databases
# (~30 s a backend) are built once.
pytestmark = pytest.mark.xdist_group("fault-injection")

TOWNS = 40  # Hangzhou towns with projects and an acceptance at the province stage
PROJECTS_PER_TOWN = 60
SEED = f"""
from datetime import date
from decimal import Decimal
from townbrain.cli import _setup
_setup()
from townbrain.acceptance import services as acceptance
from townbrain.acceptance.models import ChecklistItem
from townbrain.assessments import services as assessments
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, Programme
from townbrain.core import bulk
from townbrain.projects.services import ProjectBatch

meili = Programme.objects.get(code="meili")
assessments.load_fixture_schemes(SYSTEM)
towns = list(OrgUnit.objects.filter(code__startswith="33", level="town").order_by("code"))
Enrolment.objects.bulk_create([Enrolment(town=t, programme=meili, year_joined=2019) for t in towns])
hangzhou = [t for t in towns if t.code.startswith("3301")][:{TOWNS}]
rows = [dict(code=f"F{{t.code}}{{i:03d}}", name=f"项目{{i}}", town=t, programme=meili,
             total_investment=Decimal(100 + i), annual_plan=Decimal(50), planned_start=date(2020, 1 + i % 12, 1))
        for t in hangzhou for i in range({PROJECTS_PER_TOWN})]
bulk.every(ProjectBatch(SYSTEM), [(None, row) for row in rows])
opened = [a for a in acceptance.open_acceptances(SYSTEM, meili, 2020, "3301")["opened"]
          if a.town_id in {{t.code for t in hangzhou}}]
ChecklistItem.objects.filter(acceptance__in=opened).update(answer=ChecklistItem.Answer.MET)
for a in opened:
    acceptance.submit(SYSTEM, a)
    acceptance.approve(SYSTEM, a)
    acceptance.approve(SYSTEM, a)
"""
ASSESS = """
from townbrain.cli import _setup
_setup()
from townbrain.assessments.models import Scheme
from townbrain.assessments.services import start_run
from townbrain.core.scope import SYSTEM
scheme = Scheme.objects.filter(programme__code="meili", status="official").order_by("pk").first()
start_run(SYSTEM, scheme, 2020, "33")
"""
SIGN_OFF = """
from django.db import transaction
from townbrain.cli import _setup
_setup()
from townbrain.acceptance import services
from townbrain.acceptance.models import Acceptance
from townbrain.core.scope import SYSTEM

with transaction.atomic():  # the province signs its whole list off at once
    for a in Acceptance.objects.filter(stage="province").order_by("pk"):
        services.sign_off(SYSTEM, a, a.grade_names[0], "省级验收通过")
"""


# --- one prepared database per backend ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_prepared(tmp_path_factory):
    """(the prepared database, a database right after init) on SQLite."""
    root = tmp_path_factory.mktemp("faults")
    env = faults.env(root / "home", None)
    faults.run(env, "-m", "townbrain.cli", "init")
    fresh = faults.sqlite_copy(root / "home" / "townbrain.sqlite3", root / "fresh.sqlite3")
    faults.run(env, "-m", "townbrain.cli", "load-divisions", "--province", "33")
    faults.run(env, "-c", SEED)
    prepared = faults.sqlite_copy(root / "home" / "townbrain.sqlite3", root / "prepared.sqlite3")
    shutil.rmtree(root / "home")
    return prepared, fresh


@pytest.fixture(scope="module")
def pg_prepared(tmp_path_factory):
    """(template with the prepared data, template right after init) on PostgreSQL."""
    if faults.pg_params() is None:
        pytest.skip("the tests run on SQLite; the PostgreSQL variant runs with TOWNBRAIN_DATABASE_URL=postgres://…")
    root = tmp_path_factory.mktemp("faults_pg")
    with faults.pg_database("townbrain_faults_fresh") as (fresh_url, _c, fresh):
        faults.run(faults.env(root / "home", fresh_url), "-m", "townbrain.cli", "init")
        with faults.pg_database("townbrain_faults_tpl", template=fresh) as (url, _connect, prepared):
            env = faults.env(root / "home", url)
            faults.run(env, "-m", "townbrain.cli", "load-divisions", "--province", "33")
            faults.run(env, "-c", SEED)
            yield prepared, fresh


def _sqlite_case(tmp_path, source):
    home = tmp_path / "home"
    database = faults.sqlite_copy(source, home / "townbrain.sqlite3")
    return faults.env(home, None), database


def _kill_on_sqlite(tmp_path, source, cmd, hold):
    env, database = _sqlite_case(tmp_path, source)
    before, _counts = faults.sqlite_digest(database)
    faults.kill_inside(cmd, env, tmp_path / "out.log", faults.sqlite_writing(database), hold=hold)
    after, _counts = faults.sqlite_digest(database)
    assert faults.sqlite_ok(database)
    assert after == before, "the database differs from before the killed process"
    faults.assert_no_drift(env)
    return env, database


def _kill_on_pg(tmp_path, template, cmd, table, hold):
    with faults.pg_database("townbrain_faults", template=template) as (url, connect, _name):
        env = faults.env(tmp_path / "home", url)
        before, _counts = faults.pg_digest(connect)
        monitor = connect()
        try:
            faults.kill_inside(cmd, env, tmp_path / "out.log", faults.pg_writing(monitor, table), hold=hold)
            faults.pg_wait_gone(monitor)
        finally:
            monitor.close()
        after, _counts = faults.pg_digest(connect)
        assert after == before, "the database differs from before the killed process"
        faults.assert_no_drift(env)


# --- the cases -----------------------------------------------------------------------------------------

ASSESS_CMD = ["-c", ASSESS]  # every Zhejiang town scored, its results written in one transaction
REBUILD_CMD = ["-m", "townbrain.cli", "rollups", "rebuild"]  # cells deleted and written again in one transaction
SIGN_OFF_CMD = ["-c", SIGN_OFF]


def test_assessment_run_killed_on_sqlite(tmp_path, sqlite_prepared):
    """The run and its results are one transaction: after the kill there is no run at all."""
    _env, database = _kill_on_sqlite(tmp_path, sqlite_prepared[0], ASSESS_CMD, hold=0.05)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM assessments_run").fetchone() == (0,)


def test_rollup_rebuild_killed_on_sqlite(tmp_path, sqlite_prepared):
    """The old cells stay, every one: the delete and the insert are one transaction."""
    # The rebuild's transaction lasts ~0.1 s here: caught on two polls in a row, not five (on a loaded
    # machine a probe takes longer than its 10 ms and five in a row missed it now and then).
    _kill_on_sqlite(tmp_path, sqlite_prepared[0], REBUILD_CMD, hold=0.02)


def test_sign_off_killed_on_sqlite(tmp_path, sqlite_prepared):
    """The province's sign-off of its whole list is one transaction: no acceptance is signed off."""
    _env, database = _kill_on_sqlite(tmp_path, sqlite_prepared[0], SIGN_OFF_CMD, hold=0.05)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM acceptance_acceptance WHERE stage = 'signed'").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM acceptance_acceptance WHERE stage = 'province'").fetchone()[0] > 0


def test_assessment_run_killed_on_postgresql(tmp_path, pg_prepared):
    # The engine scores outside the transaction; the run's row, its results and its audit row are written
    # in one transaction, a window of a fraction of a second on an idle PostgreSQL: killed as soon as it opens.
    _kill_on_pg(tmp_path, pg_prepared[0], ASSESS_CMD, "assessments_run", hold=0)


def test_rollup_rebuild_killed_on_postgresql(tmp_path, pg_prepared):
    # Killed as soon as it writes: the rebuild of this small ledger may commit within 0.05 s of its first write
    # (a full run saw it once the cells lost their foreign key), so a pause before the kill could come too late.
    _kill_on_pg(tmp_path, pg_prepared[0], REBUILD_CMD, "projects_rollupcell", hold=0)


def test_sign_off_killed_on_postgresql(tmp_path, pg_prepared):
    _kill_on_pg(tmp_path, pg_prepared[0], SIGN_OFF_CMD, "acceptance_step", hold=0.05)


# --- the demo --------------------------------------------------------------------------------------------

DEMO_CMD = ["-m", "townbrain.cli", "demo", "--no-villages"]


def _in_projects_stage(log, inside):
    """The demo has reached its ledger (the progress bar says so) and holds the write lock."""
    return lambda pid: "loading demo: projects" in log.read_text(errors="replace") and inside(pid)


def test_demo_killed_on_sqlite(tmp_path, sqlite_prepared):
    """What is atomic in `townbrain demo`: each stage's own transactions, not the demo as a whole.

    The people stage (org tree, users, profiles) commits first; the ledger (`projects.demo.load`: every
    project, report, plan curve and roll-up cell) is one transaction; the stages after it are each one or
    several service transactions, and each stage skips itself when its data is already there. Killed inside
    the ledger's transaction, the people are wholly there and the ledger wholly absent (no project, no roll-up
    cell) and the doctor finds no drift. (Not run again here, at 45 s a backend: each stage skips itself when its
    data is there, which tests/test_cli.py's demo-twice test holds for a complete demo.)
    """
    env, database = _sqlite_case(tmp_path, sqlite_prepared[1])
    log = tmp_path / "out.log"
    faults.kill_inside(DEMO_CMD, env, log, _in_projects_stage(log, faults.sqlite_writing(database)), hold=0.5)
    assert faults.sqlite_ok(database)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM auth_user WHERE username = 'guali'").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM projects_project").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM projects_rollupcell").fetchone() == (0,)
    faults.assert_no_drift(env)


def test_demo_killed_on_postgresql(tmp_path, pg_prepared):
    with faults.pg_database("townbrain_faults_demo", template=pg_prepared[1]) as (url, connect, _name):
        env = faults.env(tmp_path / "home", url)
        log = tmp_path / "out.log"
        monitor = connect()
        try:
            faults.kill_inside(DEMO_CMD, env, log,
                               _in_projects_stage(log, faults.pg_writing(monitor, "projects_project")), hold=0.5)
            faults.pg_wait_gone(monitor)
        finally:
            monitor.close()
        with connect() as db:
            assert db.execute("SELECT count(*) FROM auth_user WHERE username = 'guali'").fetchone() == (1,)
            assert db.execute("SELECT count(*) FROM projects_project").fetchone() == (0,)
            assert db.execute("SELECT count(*) FROM projects_rollupcell").fetchone() == (0,)
        faults.assert_no_drift(env)
