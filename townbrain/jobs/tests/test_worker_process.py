"""A real `townbrain worker` process (issue 17, item 1): SIGKILLed inside a job's write transaction, it
leaves nothing half there; the job is then seen as failed (its worker died) and, retried, is run to the
end by a new worker. SQLite always (a TOWNBRAIN_HOME of its own); PostgreSQL too when the tests run on
it (a database of its own).

The job imports 30,000 projects (30 of them exist and are renamed). Once the worker is provably inside
the import's write transaction (SQLite: another connection cannot take the write lock; PostgreSQL: the
worker's backend holds a lock on projects_project in an open transaction) for 1.5 s, it is SIGKILLed.
Then every table but the job's own (jobs_*, the task queue's) is exactly as before.
"""

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from townbrain.exchange.tests.test_sigkill import EXISTING, ROWS, SEED, _big_file
from townbrain.testing import faults

pytestmark = pytest.mark.xdist_group("jobs")

STALE = 2  # seconds without a heartbeat before a running job is seen as dead (the worker beats every 0.4 s)
OWN_TABLES = ("jobs_", "django_tasks_database_")  # the job, its file, the task queue

ENQUEUE = """
import sys
from pathlib import Path
from townbrain.cli import _setup
_setup()
from townbrain.core.scope import SYSTEM
from townbrain.jobs.services import enqueue
path = Path(sys.argv[1])
print(enqueue(SYSTEM, "import", {"kind": "projects"}, title="big", rows_total=30000,
              file=(path.name, path.read_bytes())).pk)
"""

STATUS = """
import json, sys
from townbrain.cli import _setup
_setup()
from townbrain.jobs import services
from townbrain.jobs.models import Job
job = Job.objects.get(pk=int(sys.argv[1]))
st = services.status(job)
print(json.dumps({"state": str(st["state"]), "dead": st["dead"], "error": st["error"], "progress": st["progress"],
                  "stage": st["stage"], "result": job.result}, default=str))
"""

RETRY = """
import sys
from townbrain.cli import _setup
_setup()
from townbrain.core.scope import SYSTEM
from townbrain.jobs import services
from townbrain.jobs.models import Job
print(services.retry(SYSTEM, Job.objects.get(pk=int(sys.argv[1]))).state)
"""


CANCEL = """
import sys
from townbrain.cli import _setup
_setup()
from townbrain.core.scope import SYSTEM
from townbrain.jobs import services
from townbrain.jobs.models import Job
print(services.request_cancel(SYSTEM, Job.objects.get(pk=int(sys.argv[1]))).state)
"""


def _status(env, job_id) -> dict:
    return json.loads(faults.run(env, "-c", STATUS, str(job_id)).stdout)


def _prepare(tmp_path, env) -> int:
    faults.run(env, "-c", SEED)
    big = _big_file(tmp_path / "projects.xlsx")
    return int(faults.run(env, "-c", ENQUEUE, str(big)).stdout.strip())


def _kill_worker(env, tmp_path, writing):
    return faults.kill_inside(["-m", "townbrain.cli", "worker"], env, tmp_path / "worker.out", writing, hold=1.5,
                              timeout=60, poll=0.02)


def _dead_then_retried_then_done(env, tmp_path, job_id):
    """After the kill: failed (its worker died) within STALE seconds; retry; a new worker finishes it."""
    deadline = time.monotonic() + STALE + 10
    while not (st := _status(env, job_id))["dead"]:
        assert st["state"] == "running", st
        assert time.monotonic() < deadline, st
        time.sleep(0.3)
    assert st["state"] == "failed" and st["error"] == "worker-died" and st["result"] is None
    assert faults.run(env, "-c", RETRY, str(job_id)).stdout.strip() == "queued"

    log = (tmp_path / "worker2.out").open("w")
    worker = subprocess.Popen([sys.executable, "-m", "townbrain.cli", "worker", "--interval", "0.2"], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while (st := _status(env, job_id))["state"] in ("queued", "running"):
            assert worker.poll() is None, (tmp_path / "worker2.out").read_text()[-2000:]
            assert time.monotonic() < deadline, st
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)  # no job running: it stops at once
        worker.wait(timeout=30)
        log.close()
    assert worker.returncode == 0, (tmp_path / "worker2.out").read_text()[-2000:]
    assert st["state"] == "done", st
    assert st["result"]["status"] == "applied" and st["result"]["counts"]["created"] == ROWS - EXISTING
    assert st["result"]["counts"]["updated"] == EXISTING and st["result"]["id"]
    faults.assert_no_drift(env)


def _cancel_inside(env, tmp_path, job_id, writing):
    """Start a worker; once it has been inside the job's write transaction for a second, ask (from another
    process, as the web would) to cancel: the request answers at once, and the worker stops the job."""
    log = (tmp_path / "worker-cancel.out").open("w")
    worker = subprocess.Popen([sys.executable, "-m", "townbrain.cli", "worker", "--interval", "0.2"], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, since = time.monotonic() + 60, None
        while True:
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never wrote"
            if writing(worker.pid):
                since = since or time.monotonic()
                if time.monotonic() - since >= 1.0:
                    break
            else:
                since = None
            time.sleep(0.02)
        asked = time.monotonic()
        assert faults.run(env, "-c", CANCEL, str(job_id), timeout=30).stdout.strip() == "running"
        assert time.monotonic() - asked < 10, "asking to cancel waited for the job's transaction"
        deadline = time.monotonic() + 60
        while (st := _status(env, job_id))["state"] == "running":
            assert time.monotonic() < deadline, st
            time.sleep(0.2)
        assert st["state"] == "cancelled" and st["result"] is None, st
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()


def _after_cancel(before, counts, after, counts_after):
    """Only the cancel's own audit row was added (written by the worker when it stopped the job)."""
    assert {t: n for t, n in counts_after.items() if t != "core_auditentry"} == \
        {t: n for t, n in counts.items() if t != "core_auditentry"}
    assert counts_after["core_auditentry"] == counts["core_auditentry"] + 1
    assert {t for t in before if before[t] != after[t]} == {"core_auditentry"}


# --- SQLite ---------------------------------------------------------------------------------------


def _sqlite_digest(path) -> tuple[dict, dict]:
    """Every table but the job's own: a digest of its rows, and its row count."""
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                  if not r[0].startswith(OWN_TABLES) and not r[0].startswith("sqlite_")]
        digests, counts = {}, {}
        for table in tables:
            rows = db.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()  # noqa: S608 (catalogue names)
            counts[table] = len(rows)
            digests[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    finally:
        db.close()
    return digests, counts


def test_worker_sigkilled_on_sqlite(tmp_path, divisions_home):
    env = {**faults.env(divisions_home, None), "TOWNBRAIN_JOB_STALE_SECONDS": str(STALE)}
    job_id = _prepare(tmp_path, env)
    database = divisions_home / "townbrain.sqlite3"
    before, counts = _sqlite_digest(database)
    assert counts["projects_project"] == EXISTING and counts["exchange_importbatch"] == 0

    _kill_worker(env, tmp_path, faults.sqlite_writing(database))

    after, counts_after = _sqlite_digest(database)
    assert counts_after == counts
    assert {t for t in before if before[t] != after[t]} == set(), "the killed job left something behind"
    assert faults.sqlite_ok(database)
    _dead_then_retried_then_done(env, tmp_path, job_id)


def test_cancel_a_running_job_on_sqlite(tmp_path, divisions_home):
    env = {**faults.env(divisions_home, None), "TOWNBRAIN_JOB_STALE_SECONDS": str(STALE)}
    job_id = _prepare(tmp_path, env)
    database = divisions_home / "townbrain.sqlite3"
    before, counts = _sqlite_digest(database)
    _cancel_inside(env, tmp_path, job_id, faults.sqlite_writing(database))
    _after_cancel(before, counts, *_sqlite_digest(database))
    db = sqlite3.connect(database)
    assert db.execute("SELECT action FROM core_auditentry ORDER BY id DESC LIMIT 1").fetchone() == ("job.cancel",)
    db.close()


# --- PostgreSQL -----------------------------------------------------------------------------------


def _pg_digest(connect) -> tuple[dict, dict]:
    with connect() as db:
        tables = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                           "ORDER BY tablename") if not r[0].startswith(OWN_TABLES)]
        digests, counts = {}, {}
        for table in tables:
            count, md5 = db.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                                    f'FROM "{table}" t').fetchone()
            counts[table], digests[table] = count, md5
    return digests, counts


@pytest.fixture
def pg_database():
    with faults.pg_database("townbrain_jobkill") as (url, connect, _name):
        yield url, connect


def test_worker_sigkilled_on_postgresql(tmp_path, pg_database):
    url, connect = pg_database
    env = {**faults.env(tmp_path / "home", url), "TOWNBRAIN_JOB_STALE_SECONDS": str(STALE)}
    faults.run(env, "-m", "townbrain.cli", "init")
    faults.run(env, "-m", "townbrain.cli", "load-divisions", "--province", "33")
    job_id = _prepare(tmp_path, env)
    before, counts = _pg_digest(connect)
    assert counts["projects_project"] == EXISTING and counts["exchange_importbatch"] == 0
    monitor = connect()
    try:
        _kill_worker(env, tmp_path, faults.pg_writing(monitor, "projects_project"))
        faults.pg_wait_gone(monitor)
    finally:
        monitor.close()
    after, counts_after = _pg_digest(connect)
    assert counts_after == counts
    assert {t for t in before if before[t] != after[t]} == set(), "the killed job left something behind"
    _dead_then_retried_then_done(env, tmp_path, job_id)


def test_cancel_a_running_job_on_postgresql(tmp_path, pg_database):
    url, connect = pg_database
    env = {**faults.env(tmp_path / "home", url), "TOWNBRAIN_JOB_STALE_SECONDS": str(STALE)}
    faults.run(env, "-m", "townbrain.cli", "init")
    faults.run(env, "-m", "townbrain.cli", "load-divisions", "--province", "33")
    job_id = _prepare(tmp_path, env)
    before, counts = _pg_digest(connect)
    monitor = connect()
    try:
        _cancel_inside(env, tmp_path, job_id, faults.pg_writing(monitor, "projects_project"))
    finally:
        monitor.close()
    _after_cancel(before, counts, *_pg_digest(connect))
