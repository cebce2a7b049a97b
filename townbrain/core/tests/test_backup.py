"""`townbrain backup FILE` / `townbrain restore FILE` (issue 17, item 5), as real processes.

A source with data (Zhejiang's tree, 40 projects with June 2020 reports, 8 acceptances, an evidence PDF in
the uploads, an administrator) is backed up once per module and backend; each test restores a copy:

- into an empty TOWNBRAIN_HOME (SQLite) / an empty, separate PostgreSQL database (`<source>_restore`, made by
  the restore when missing, dropped afterwards): every table has the same rows as the source (compared here
  independently of the manifest's checksums: SQLite row by row, PostgreSQL an md5 of each table's sorted rows),
  the upload's bytes are the same, `/api/rollups/` answers the same, and `townbrain doctor` finds no drift;
- refused, with exit 1, one line and the target untouched: a backup from a newer schema (a migration this code
  does not know, added to the manifest of a copy), a damaged file (a flipped byte in the database member; a
  truncated file), a file that is not a backup, a backup of the other database vendor, and a target that is
  not empty (accepted with --force).

The SQLite tests run in the SQLite pass only (they touch no test database); the PostgreSQL ones skip there and
run in the PostgreSQL pass (TOWNBRAIN_DATABASE_URL=postgres://…).
"""

import io
import json
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from townbrain.testing import faults

pytestmark = pytest.mark.xdist_group("backup")

SEED = """
from datetime import date
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from townbrain.cli import _setup

_setup()
from townbrain.access.demo import ensure_superuser
from townbrain.acceptance import services as acceptance
from townbrain.assessments import services as assessments
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, Programme
from townbrain.projects.models import Project
from townbrain.projects.reporting import report_progress
from townbrain.core import bulk
from townbrain.projects.services import ProjectBatch

ensure_superuser("admin", "Backup-restore-2026")
meili = Programme.objects.get(code="meili")
assessments.load_fixture_schemes(SYSTEM)
towns = list(OrgUnit.objects.filter(code__startswith="3301", level="town").order_by("code")[:8])
Enrolment.objects.bulk_create([Enrolment(town=t, programme=meili, year_joined=2019) for t in towns])
rows = [dict(code=f"B{t.code}{i:02d}", name=f"项目{i}", town=t, programme=meili, total_investment=Decimal(100 + i),
             annual_plan=Decimal(50), planned_start=date(2020, 1 + i % 6, 1), actual_start=date(2020, 1 + i % 6, 1))
        for t in towns for i in range(5)]
bulk.every(ProjectBatch(SYSTEM), [(None, row) for row in rows])
for n, project in enumerate(Project.objects.filter(code__startswith="B").order_by("code")[::2]):
    report_progress(SYSTEM, project, "202006", month_investment=Decimal(10), cumulative_investment=Decimal(20 + n),
                    progress_percent=Decimal(30), status="started")
opened = acceptance.open_acceptances(SYSTEM, meili, 2020, "3301")["opened"]
acceptance.add_evidence(SYSTEM, opened[0], SimpleUploadedFile("证明材料.pdf", PDF))
"""
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")
SEED = f"PDF = {PDF!r}\n" + SEED

ROLLUPS = """
import json

from townbrain.cli import _setup

_setup()
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

api = APIClient()
api.force_authenticate(get_user_model().objects.get(username="admin"))
out = {}
for org in ("33", "3301", "330102"):
    response = api.get("/api/rollups/", {"org": org, "period": "202006", "programme": "meili"})
    assert response.status_code == 200, response.content
    out[org] = response.json()
print(json.dumps(out, sort_keys=True, ensure_ascii=False))
"""
NEWER = "9999_from_a_newer_townbrain"


def cli(environ, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "townbrain.cli", *args], env=environ, capture_output=True, text=True,
                          timeout=timeout)


def refused(done) -> str:
    """The one-line error of a refused command (exit 1)."""
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("townbrain: error: "), done.stderr
    return lines[0]


def rollups(environ) -> dict:
    done = faults.run(environ, "-c", ROLLUPS)
    answer = json.loads(done.stdout)
    assert answer["3301"]["planned_to_start"] == 40 and answer["3301"]["investment_done"] > 0, answer["3301"]
    return answer


def uploads(home: Path) -> dict:
    root = home / "uploads"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def rewrite(source: Path, target: Path, edit) -> Path:
    """A copy of the backup with its manifest edited by `edit(manifest)`."""
    with tarfile.open(source) as tin, tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tout:
        for member in tin:
            data = tin.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                edit(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            tout.addfile(member, io.BytesIO(data))
    return target


def flip_byte(source: Path, target: Path, member_name: str) -> Path:
    """A copy of the backup with one byte in the middle of a member's data inverted (the tar stays readable)."""
    shutil.copy(source, target)
    with tarfile.open(target) as tar:
        member = tar.getmember(member_name)
        offset = member.offset_data + member.size // 2
    with target.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
    return target


def database_member(backup_file: Path) -> str:
    with tarfile.open(backup_file) as tar:
        return json.loads(tar.extractfile("manifest.json").read())["database"]["member"]


def refusals(tmp_path: Path, backup_file: Path, environ, untouched) -> None:
    """The refusals that fail before the target is touched; `untouched()` asserts the target is still empty."""
    newer = rewrite(backup_file, tmp_path / "newer.tar",
                    lambda m: m["migrations"].setdefault("core", []).append(NEWER))
    line = refused(cli(environ, "restore", str(newer)))
    assert f"core.{NEWER}" in line, line
    untouched()

    member = database_member(backup_file)
    line = refused(cli(environ, "restore", str(flip_byte(backup_file, tmp_path / "flipped.tar", member))))
    assert "flipped.tar" in line and member in line, line
    untouched()
    with tarfile.open(backup_file) as tar:
        upload = next(n for n in tar.getnames() if n.startswith("uploads/"))
    flipped_upload = flip_byte(backup_file, tmp_path / "flipped-upload.tar", upload)
    refused(cli(environ, "restore", str(flipped_upload)))
    untouched()

    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(backup_file.read_bytes()[: backup_file.stat().st_size // 2])
    line = refused(cli(environ, "restore", str(truncated)))
    assert "truncated.tar" in line, line
    untouched()

    not_backup = tmp_path / "projects.xlsx"
    not_backup.write_bytes(b"PK\x03\x04 not a tar")
    assert "projects.xlsx" in refused(cli(environ, "restore", str(not_backup)))
    foreign = tmp_path / "foreign.tar"
    with tarfile.open(foreign, "w") as tar:
        tar.add(not_backup, arcname="readme.txt")
    assert "foreign.tar" in refused(cli(environ, "restore", str(foreign)))
    other = rewrite(backup_file, tmp_path / "other-vendor.tar",
                    lambda m: m.update(vendor="sqlite" if m["vendor"] == "postgresql" else "postgresql"))
    refused(cli(environ, "restore", str(other)))
    untouched()


# --- SQLite ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_backup(tmp_path_factory, _divisions_home_made):
    """(source home, its environment, the backup file) on SQLite."""
    root = tmp_path_factory.mktemp("backup_sqlite")
    home = Path(shutil.copytree(_divisions_home_made, root / "source"))
    environ = faults.env(home, None)
    faults.run(environ, "-c", SEED)
    done = cli(environ, "backup", str(root / "townbrain.tar"))
    assert done.returncode == 0, done.stdout + done.stderr
    return home, environ, root / "townbrain.tar"


def sqlite_rows(path: Path) -> dict:
    """Every table's rows in rowid order (the backup API copies pages: rowids are kept); the audit log without
    the rows the backup and the restore themselves wrote."""
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: db.execute(f'SELECT * FROM "{t}"'  # noqa: S608 - names from sqlite_master
                              + (" WHERE action NOT LIKE 'backup.%'" if t == "core_auditentry" else "")
                              + " ORDER BY rowid").fetchall() for t in tables}
    finally:
        db.close()


def test_backup_and_restore_into_an_empty_home_on_sqlite(tmp_path, sqlite_backup):
    source, source_env, backup_file = sqlite_backup
    with tarfile.open(backup_file) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert tar.getnames()[-1] == "manifest.json"
    assert manifest["vendor"] == "sqlite" and manifest["format_version"] == 1
    assert manifest["tables"]["projects_project"]["rows"] == 40
    assert "0001_initial" in manifest["migrations"]["core"]
    assert [u["path"] for u in manifest["uploads"]] == list(uploads(source))
    assert oct(backup_file.stat().st_mode & 0o777) == "0o600"

    home = tmp_path / "restored"
    environ = faults.env(home, None)
    done = cli(environ, "restore", str(backup_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(manifest['tables'])}" in done.stdout

    before, after = sqlite_rows(source / "townbrain.sqlite3"), sqlite_rows(home / "townbrain.sqlite3")
    assert set(after) == set(before)
    for table in before:
        assert after[table] == before[table], table
    assert len(before["projects_project"]) == 40 and len(before["acceptance_evidence"]) == 1
    assert uploads(home) == uploads(source) and PDF in uploads(home).values()
    assert rollups(environ) == rollups(source_env)
    faults.assert_no_drift(environ)
    with sqlite3.connect(home / "townbrain.sqlite3") as db:  # each command wrote its audit row
        assert db.execute("SELECT count(*) FROM core_auditentry WHERE action = 'backup.restore' "
                          "AND source = 'cli'").fetchone() == (1,)
    with sqlite3.connect(source / "townbrain.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM core_auditentry WHERE action = 'backup.create'").fetchone() == (1,)


def test_restore_refuses_newer_schema_damaged_and_foreign_files_on_sqlite(tmp_path, sqlite_backup):
    _source, _env, backup_file = sqlite_backup
    home = tmp_path / "target"
    environ = faults.env(home, None)

    def untouched():
        database = home / "townbrain.sqlite3"
        if database.exists():
            with sqlite3.connect(database) as db:
                assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone() == (0,)
        assert not uploads(home) if (home / "uploads").exists() else True
        assert not list(home.glob(".townbrain-restore-*")), "staging left behind"

    refusals(tmp_path, backup_file, environ, untouched)
    # The real file still restores there; one from an older schema too, with a word to migrate it.
    older = rewrite(backup_file, tmp_path / "older.tar", lambda m: m["migrations"]["core"].pop())
    done = cli(environ, "restore", str(older))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "townbrain init" in done.stdout, done.stdout


def test_restore_refuses_a_home_that_is_not_empty_unless_forced_on_sqlite(tmp_path, sqlite_backup):
    source, source_env, backup_file = sqlite_backup
    line = refused(cli(source_env, "restore", str(backup_file)))
    assert "--force" in line and str(source / "townbrain.sqlite3") in line, line

    home = tmp_path / "busy"  # a home with a database and another upload
    environ = faults.env(home, None)
    faults.run(environ, "-m", "townbrain.cli", "init")
    (home / "uploads" / "old").mkdir(parents=True)
    (home / "uploads" / "old" / "keep.pdf").write_bytes(b"old")
    refused(cli(environ, "restore", str(backup_file)))
    with sqlite3.connect(home / "townbrain.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM projects_project").fetchone() == (0,)

    done = cli(environ, "restore", "--force", str(backup_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert uploads(home) == uploads(source)
    moved = list(home.glob("uploads.replaced-*"))
    assert len(moved) == 1 and (moved[0] / "old" / "keep.pdf").read_bytes() == b"old"
    assert rollups(environ) == rollups(source_env)


def test_backup_refuses_a_home_without_a_database(tmp_path):
    line = refused(cli(faults.env(tmp_path / "nothing", None), "backup", str(tmp_path / "b.tar")))
    assert "townbrain init" in line
    assert not (tmp_path / "b.tar").exists() and not list(tmp_path.glob("*.partial"))


# --- PostgreSQL --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_backup(tmp_path_factory):
    """(source database name, its connect(), environment, backup file, restore target's name) on PostgreSQL."""
    if faults.pg_params() is None:
        pytest.skip("the tests run on SQLite; the PostgreSQL variant runs with TOWNBRAIN_DATABASE_URL=postgres://…")
    root = tmp_path_factory.mktemp("backup_pg")
    with faults.pg_database("townbrain_backup") as (url, connect, name):
        environ = faults.env(root / "source", url)
        faults.run(environ, "-m", "townbrain.cli", "init")
        faults.run(environ, "-m", "townbrain.cli", "load-divisions", "--province", "33")
        faults.run(environ, "-c", SEED)
        done = cli(environ, "backup", str(root / "townbrain.tar"))
        assert done.returncode == 0, done.stdout + done.stderr
        yield name, connect, environ, root / "townbrain.tar", root / "source"


@pytest.fixture
def pg_target(pg_backup):
    """(url, connect) of `<source>_restore`: not created (the restore creates it), dropped afterwards."""
    import psycopg

    params = faults.pg_params()
    name = pg_backup[0] + "_restore"
    admin = psycopg.connect(dbname="postgres", autocommit=True, **params)
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        yield faults.pg_url(name), (lambda: psycopg.connect(dbname=name, autocommit=True, **params))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def pg_tables(connect) -> dict:
    """{table: (rows, md5 of its sorted rows)}; the audit log without the backup's and restore's own rows."""
    with connect() as db:
        tables = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        out = {}
        for table in tables:
            where = " WHERE action NOT LIKE 'backup.%%'" if table == "core_auditentry" else ""
            out[table] = db.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                                    f'FROM "{table}" t{where}').fetchone()
    return out


@pytest.mark.django_db  # a database test: kept in the PostgreSQL pass
def test_backup_and_restore_into_an_empty_database_on_postgresql(tmp_path, pg_backup, pg_target):
    _name, source_connect, source_env, backup_file, source_home = pg_backup
    url, connect = pg_target
    with tarfile.open(backup_file) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["vendor"] == "postgresql" and manifest["tables"]["projects_project"]["rows"] == 40

    home = tmp_path / "restored"
    environ = faults.env(home, url)
    done = cli(environ, "restore", str(backup_file))  # the database does not exist yet: the restore makes it
    assert done.returncode == 0, done.stdout + done.stderr

    before, after = pg_tables(source_connect), pg_tables(connect)
    assert set(after) == set(before)
    for table in before:
        assert after[table] == before[table], table
    assert before["projects_project"][0] == 40 and before["acceptance_evidence"][0] == 1
    assert uploads(home) == uploads(source_home) and PDF in uploads(home).values()
    assert rollups(environ) == rollups(source_env)
    faults.assert_no_drift(environ)
    with connect() as db:  # the audit log's protection came back too
        assert db.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'core_auditentry_no_update'").fetchone() \
            == (1,)
        assert db.execute("SELECT count(*) FROM core_auditentry WHERE action = 'backup.restore'").fetchone() == (1,)

    line = refused(cli(environ, "restore", str(backup_file)))  # now it is not empty
    assert "--force" in line, line
    done = cli(environ, "restore", "--force", str(backup_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert {t: v for t, v in pg_tables(connect).items()} == before
    assert rollups(environ) == rollups(source_env)


@pytest.mark.django_db
def test_restore_refuses_newer_schema_damaged_and_foreign_files_on_postgresql(tmp_path, pg_backup, pg_target):
    backup_file = pg_backup[3]
    url, connect = pg_target
    home = tmp_path / "target"
    environ = faults.env(home, url)
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **faults.pg_params()) as admin:
        admin.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')

    def untouched():
        with connect() as db:
            assert db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        assert not uploads(home) if (home / "uploads").exists() else True

    refusals(tmp_path, backup_file, environ, untouched)


# --- a backup while the app writes ------------------------------------------------------------------------


class Writer:
    """A thread inserting a session row every few milliseconds (the app at work) until stopped."""

    def __init__(self, insert):
        self.insert, self.count, self.stop = insert, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        while not self.stop.is_set():
            self.insert(f"backup-writer-{self.count:08d}", expires)
            self.count += 1
            time.sleep(0.002)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def backup_while_writing(environ, backup_file, insert) -> tuple[int, int, int]:
    """(rows written before, during and after the backup) — `townbrain backup` running while a writer inserts."""
    with Writer(insert) as writer:
        while writer.count < 20:  # it writes
            time.sleep(0.01)
        before = writer.count
        done = cli(environ, "backup", str(backup_file))
        during = writer.count - before
    assert done.returncode == 0, done.stdout + done.stderr
    with tarfile.open(backup_file) as tar:
        saved = json.loads(tar.extractfile("manifest.json").read())["tables"]["django_session"]["rows"]
    assert during > 0, "nothing was written during the backup"
    return before, saved, writer.count


def test_a_backup_while_the_app_writes_restores_exactly_its_snapshot_on_sqlite(tmp_path, sqlite_backup):
    source = Path(shutil.copytree(sqlite_backup[0], tmp_path / "source"))

    def insert(key, expires):
        with sqlite3.connect(source / "townbrain.sqlite3", timeout=30, isolation_level=None) as db:
            db.execute("INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, 'x', ?)",
                       [key, expires])

    before, saved, after = backup_while_writing(faults.env(source, None), tmp_path / "b.tar", insert)
    assert before <= saved <= after
    home = tmp_path / "restored"
    done = cli(faults.env(home, None), "restore", str(tmp_path / "b.tar"))  # verifies every table: exit 0
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(home / "townbrain.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM django_session").fetchone() == (saved,)


@pytest.mark.django_db
def test_a_backup_while_the_app_writes_restores_exactly_its_snapshot_on_postgresql(tmp_path, pg_backup, pg_target):
    """pg_dump and the checksums read one exported snapshot: the rows written meanwhile are in neither."""
    with faults.pg_database("townbrain_backup_busy", template=pg_backup[0]) as (url, connect, _name):
        writer_db = connect()
        try:
            def insert(key, expires):
                writer_db.execute("INSERT INTO django_session (session_key, session_data, expire_date) "
                                  "VALUES (%s, 'x', %s)", [key, expires])

            before, saved, after = backup_while_writing(faults.env(tmp_path / "source", url), tmp_path / "b.tar",
                                                        insert)
        finally:
            writer_db.close()
    assert before <= saved <= after
    target_url, target_connect = pg_target
    done = cli(faults.env(tmp_path / "restored", target_url), "restore", str(tmp_path / "b.tar"))
    assert done.returncode == 0, done.stdout + done.stderr
    with target_connect() as db:
        assert db.execute("SELECT count(*) FROM django_session").fetchone() == (saved,)
