"""`townbrain backup FILE` / `townbrain restore FILE`: the database and the uploads in one tar file.

The file (an uncompressed tar; `restore` also reads one you gzipped) holds:

- `database/townbrain.pgdump` — `pg_dump --format=custom` of the configured PostgreSQL database, taken
  in a snapshot exported by a REPEATABLE READ transaction (the row counts and checksums below are read in
  that same snapshot), or `database/townbrain.sqlite3` — a copy made with SQLite's backup API, consistent
  while the app runs;
- `uploads/…` — every file under MEDIA_ROOT ($TOWNBRAIN_HOME/uploads);
- `manifest.json`, written last: format and version, TownBrain's version, the database vendor and server
  version, the applied migrations per app (the schema version), the time, the row count and checksum of
  every table, and the size and SHA-256 of the database dump and of every uploaded file.

A table's checksum is the sum modulo 2**256 of the SHA-256 of each row's text (PostgreSQL: the row cast to
text, `t::text`, in UTC; SQLite: the `repr()` of the row's tuple), read by a streaming server-side cursor:
it needs no sort and no memory for big tables, and it does not depend on the physical order of rows nor on
the collation a restored server sorts text keys by. Backup and restore compute it with the same function.

`restore` refuses, changing nothing, a file that is not a TownBrain backup, a damaged one (a member whose
SHA-256 differs from the manifest's, a truncated archive), one from another database vendor (restoring
across vendors is not supported), one whose migrations this code does not know (a newer schema), and a
target that is not empty unless `force`. It unpacks and checks every member before touching the target,
restores (pg_restore in one transaction; SQLite's backup API), then verifies the row count and checksum of
every table against the manifest. Both commands write one audit row (`backup.create`, `backup.restore`).
"""

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from . import audit
from .scope import SYSTEM

FORMAT = "townbrain-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"postgresql": "database/townbrain.pgdump", "sqlite": "database/townbrain.sqlite3"}
UPLOADS_PREFIX = "uploads/"
VENDOR_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
CHUNK = 1024 * 1024
ROWS_PER_FETCH = 5000
MODULUS = 1 << 256

class BackupError(Exception):
    """A one-line reason, in the user's language: the CLI prints it and exits 1."""


# --- checksums -------------------------------------------------------------------------------------------

class _Sum:
    """Row count and order-independent checksum of a table."""

    def __init__(self):
        self.rows = 0
        self.total = 0

    def add(self, text: str) -> None:
        self.rows += 1
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        self.total = (self.total + int.from_bytes(digest, "big")) % MODULUS

    def result(self) -> dict:
        return {"rows": self.rows, "checksum": f"{self.total:064x}"}


def sqlite_tables(db: sqlite3.Connection) -> dict:
    """{table: {"rows", "checksum"}} for every table of a SQLite database (SQLite's own excepted)."""
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]
    out = {}
    for name in names:
        total = _Sum()
        quoted = '"' + name.replace('"', '""') + '"'
        for row in db.execute(f"SELECT * FROM {quoted}"):  # noqa: S608 - a name from sqlite_master, quoted
            total.add(repr(row))
        out[name] = total.result()
    return out


def pg_tables(conn) -> dict:
    """{table: {"rows", "checksum"}} for every table holding rows (partitions, not their parents) of the
    current schema, read through server-side cursors in `conn`'s transaction (give it a snapshot)."""
    from psycopg import sql

    names = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT EXISTS ("
        " SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')"
        " ORDER BY c.relname")]
    out = {}
    for i, name in enumerate(names):
        total = _Sum()
        with conn.cursor(name=f"townbrain_checksum_{i}") as cur:
            cur.itersize = ROWS_PER_FETCH
            cur.execute(sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(name)))
            for (text,) in cur:
                total.add(text)
        out[name] = total.result()
    return out


def _migrations(rows) -> dict:
    applied: dict[str, list[str]] = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def unknown_migrations(applied: dict) -> list[str]:
    """The applied migrations ("<app>.<name>") this code does not have: the backup's schema is newer."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)  # a squashed migration still knows the names it replaced
    return [f"{app}.{name}" for app, names in applied.items() for name in names if (app, name) not in known]


def pending_migrations(applied: dict) -> int:
    """How many of this code's migrations the backup's schema lacks (an older backup: `townbrain init`)."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    done = {(app, name) for app, names in applied.items() for name in names}
    return sum(1 for key, m in loader.graph.nodes.items()
               if key not in done and not (m.replaces and set(m.replaces) <= done))


# --- the configured database -----------------------------------------------------------------------------

def vendor() -> str:
    return connection.vendor  # reads the settings only; does not connect


def _sqlite_path() -> Path:
    return Path(settings.DATABASES["default"]["NAME"])


LIBPQ_OPTIONS = {"connect_timeout", "application_name", "options", "target_session_attrs", "passfile", "service",
                 "channel_binding", "gssencmode", "krbsrvname", "keepalives", "keepalives_idle",
                 "keepalives_interval", "keepalives_count", "tcp_user_timeout", "requirepeer"}


def _pg_params(dbname: str | None = None) -> dict:
    conf = settings.DATABASES["default"]
    params = {"dbname": dbname or conf["NAME"], "user": conf.get("USER") or None,
              "password": conf.get("PASSWORD") or None, "host": conf.get("HOST") or None,
              "port": conf.get("PORT") or None}
    params.update({k: v for k, v in (conf.get("OPTIONS") or {}).items()  # libpq's, not Django's (pool …)
                   if (k.startswith("ssl") or k in LIBPQ_OPTIONS) and isinstance(v, str | int)})
    return {k: v for k, v in params.items() if v is not None}


def _pg_connect(dbname: str | None = None, autocommit: bool = False, snapshot: bool = False):
    """A psycopg connection; `snapshot`: its transactions are REPEATABLE READ, READ ONLY (one snapshot)."""
    import psycopg

    conn = psycopg.connect(autocommit=autocommit, **_pg_params(dbname))
    conn.execute("SET TIME ZONE 'UTC'")  # timestamptz as text: the checksums must not depend on the session
    conn.execute("SET extra_float_digits = 1")
    conn.execute("SET bytea_output = 'hex'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET IntervalStyle = 'postgres'")
    if not autocommit:
        conn.commit()
    if snapshot:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
    return conn


def _pg_env() -> dict:
    """The environment of pg_dump / pg_restore: the password through PGPASSWORD, never the command line."""
    env = {**os.environ}
    password = settings.DATABASES["default"].get("PASSWORD")
    if password:
        env["PGPASSWORD"] = password
    return env


def _pg_conninfo(dbname: str | None = None) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**{k: v for k, v in _pg_params(dbname).items() if k != "password"})


def _pg_tool(name: str, server_major: int) -> str:
    """pg_dump / pg_restore of the server's major version (or newer): Debian's versioned folder, then PATH."""
    candidates = [f"/usr/lib/postgresql/{server_major}/bin/{name}", shutil.which(name)]
    seen = []
    for path in candidates:
        if not path or not Path(path).exists():
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
            major = int(out.split()[-1].split(".")[0].split("beta")[0].split("rc")[0])
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            continue
        if major >= server_major:
            return path
        seen.append(f"{path} ({major})")
    raise BackupError(_("no %(tool)s for PostgreSQL %(major)s or newer was found (install postgresql-client-%(major)s)")
                      % {"tool": name, "major": server_major} + (f": {', '.join(seen)}" if seen else ""))


def _start(cmd: list[str], env: dict | None = None) -> subprocess.Popen:
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
    proc.err = err
    return proc


def _wait(proc: subprocess.Popen) -> None:
    """Wait for a tool started by _start(); BackupError with its first line of error when it failed."""
    try:
        code = proc.wait()
        proc.err.seek(0)
        text = proc.err.read().decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.err.close()
    if code:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        raise BackupError(_("%(tool)s failed: %(reason)s")
                          % {"tool": Path(proc.args[0]).name, "reason": lines[0] if lines else code})


def _run(cmd: list[str], env: dict | None = None) -> None:
    _wait(_start(cmd, env))


# --- files -------------------------------------------------------------------------------------------------

class _Hashing:
    """A file-like reader that hashes what tarfile copies through it."""

    def __init__(self, raw):
        self.raw = raw
        self.sha = hashlib.sha256()

    def read(self, size=-1):
        data = self.raw.read(size)
        self.sha.update(data)
        return data


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            sha.update(block)
    return sha.hexdigest()


def _upload_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted((p for p in root.rglob("*") if p.is_file() and not p.is_symlink()),
                  key=lambda p: p.relative_to(root).as_posix())


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> dict:
    with path.open("rb") as f:
        stat = os.fstat(f.fileno())
        info = tarfile.TarInfo(arcname)
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o600
        reader = _Hashing(f)
        tar.addfile(info, reader)
    return {"size": stat.st_size, "sha256": reader.sha.hexdigest()}


def _version() -> str:
    try:
        return metadata.version("townbrain")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- backup ------------------------------------------------------------------------------------------------

def _snapshot_sqlite(staging: Path) -> dict:
    source = _sqlite_path()
    if not source.exists():
        raise BackupError(_("there is no database at %(path)s (run `townbrain init` first)") % {"path": source})
    copy = staging / "db"
    src, dst = sqlite3.connect(source), sqlite3.connect(copy)
    try:
        src.backup(dst)  # every page in one step: a consistent copy while the app writes
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        tables = sqlite_tables(dst)
        migrations = _migrations(dst.execute("SELECT app, name FROM django_migrations")) \
            if "django_migrations" in tables else {}
        server = sqlite3.sqlite_version
    finally:
        src.close()
        dst.close()
    return {"file": copy, "tables": tables, "migrations": migrations, "server_version": server}


def _snapshot_pg(staging: Path) -> dict:
    copy = staging / "db"
    with _pg_connect(snapshot=True) as conn:
        server_num = int(conn.execute("SHOW server_version_num").fetchone()[0])
        server = conn.execute("SHOW server_version").fetchone()[0]
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        tool = _pg_tool("pg_dump", server_num // 10000)
        # The dump reads the same snapshot as the counts and checksums below, at the same time: they describe
        # exactly the dump. The snapshot lives as long as this transaction stays open.
        dump = _start([tool, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={copy}",
                       f"--dbname={_pg_conninfo()}"], env=_pg_env())
        try:
            tables = pg_tables(conn)
            migrations = _migrations(conn.execute("SELECT app, name FROM django_migrations")) \
                if "django_migrations" in tables else {}
        except BaseException:
            dump.kill()  # never leave pg_dump behind
            dump.wait()
            dump.err.close()
            raise
        _wait(dump)  # before the snapshot ends
        conn.rollback()
    return {"file": copy, "tables": tables, "migrations": migrations, "server_version": server}


def _quiet(_message: str) -> None:
    pass


def backup(path: Path, echo=_quiet) -> dict:
    """Write the backup file `path` (replaced atomically when it exists); returns its manifest.

    `echo(message)` hears of each step (the CLI prints them on stderr)."""
    path = Path(path).resolve()
    if path.is_dir():
        raise BackupError(_("%(path)s is a folder: name the backup file") % {"path": path})
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = vendor()
    if kind not in DATABASE_MEMBERS:
        raise BackupError(_("backups support PostgreSQL and SQLite, not %(vendor)s") % {"vendor": kind})
    media = Path(settings.MEDIA_ROOT)
    created = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".townbrain-backup-") as tmp:
        echo(_("copying the database and reading every table's rows …"))
        snap = (_snapshot_pg if kind == "postgresql" else _snapshot_sqlite)(Path(tmp))
        partial = path.with_name(path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # password hashes, personal data
        try:
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    database = {"member": DATABASE_MEMBERS[kind], **_add_file(tar, snap["file"], DATABASE_MEMBERS[kind])}
                    uploads = []
                    echo(_("adding the uploaded files …"))
                    for file in _upload_files(media):
                        relative = file.relative_to(media).as_posix()
                        uploads.append({"path": relative, **_add_file(tar, file, UPLOADS_PREFIX + relative)})
                    manifest = {
                        "format": FORMAT, "format_version": FORMAT_VERSION, "townbrain_version": _version(),
                        "created_at": created.isoformat(), "vendor": kind, "server_version": snap["server_version"],
                        "migrations": snap["migrations"], "database": database, "tables": snap["tables"],
                        "uploads": uploads,
                    }
                    data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size, info.mtime, info.mode = len(data), int(created.timestamp()), 0o600
                    tar.addfile(info, io.BytesIO(data))
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    with transaction.atomic():
        audit.record(SYSTEM, "backup.create", path.name, {}, _audit_fields(manifest, path),
                     object_type="backup", object_id=path.name)
    return manifest


def _audit_fields(manifest: dict, path: Path) -> dict:
    return {"file": str(path), "created_at": manifest["created_at"], "vendor": manifest["vendor"],
            "tables": len(manifest["tables"]), "rows": sum(t["rows"] for t in manifest["tables"].values()),
            "uploads": len(manifest["uploads"])}


# --- restore -----------------------------------------------------------------------------------------------

@dataclass
class Restored:
    manifest: dict
    tables: int
    rows: int
    uploads: int
    pending_migrations: int
    replaced_uploads: Path | None


def read_manifest(tar: tarfile.TarFile, name: str) -> dict:
    """The manifest of an open archive, or BackupError when it is not a TownBrain backup we can read."""
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError(_("%(file)s is not a TownBrain backup (it has no manifest)") % {"file": name}) from None
    stream = tar.extractfile(member)
    try:
        manifest = json.loads(stream.read().decode()) if stream else None
    except (ValueError, UnicodeDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("%(file)s is not a TownBrain backup (its manifest is not one)") % {"file": name})
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(_("%(file)s was written by a newer TownBrain (backup format %(version)s; this version "
                            "reads format %(supported)s): upgrade TownBrain first")
                          % {"file": name, "version": version, "supported": FORMAT_VERSION})
    needed = ("vendor", "migrations", "database", "tables", "uploads", "created_at")
    if any(k not in manifest for k in needed) or not isinstance(manifest["database"], dict):
        raise BackupError(_("%(file)s is damaged: its manifest is incomplete") % {"file": name})
    return manifest


def _open(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise BackupError(_("no such file: %(file)s") % {"file": path})
    try:
        return tarfile.open(path, mode="r:*")
    except (tarfile.TarError, EOFError, OSError):
        raise BackupError(_("%(file)s is not a TownBrain backup (not a tar archive)") % {"file": path.name}) from None


def _check_schema(manifest: dict, name: str) -> None:
    kind = vendor()
    if manifest["vendor"] != kind:
        raise BackupError(_("%(file)s is a backup of a %(theirs)s database and the configured database is "
                            "%(ours)s: restoring across database vendors is not supported")
                          % {"file": name, "theirs": VENDOR_NAMES.get(manifest["vendor"], manifest["vendor"]),
                             "ours": VENDOR_NAMES.get(kind, kind)})
    unknown = unknown_migrations(manifest["migrations"])
    if unknown:
        raise BackupError(_("%(file)s comes from a newer TownBrain: its schema has migration %(migration)s, which "
                            "this version does not know; upgrade TownBrain, then restore")
                          % {"file": name, "migration": unknown[0]}
                          + (" " + _("(and %(n)s more)") % {"n": len(unknown) - 1} if len(unknown) > 1 else ""))


def _unpack(tar: tarfile.TarFile, manifest: dict, staging: Path, name: str) -> tuple[Path, Path]:
    """Every member into `staging` (database file, uploads/…), each checked against the manifest."""
    damaged = _("%(file)s is damaged") % {"file": name}
    database = manifest["database"]
    expected = {database.get("member"): ("db", database)}
    for item in manifest["uploads"]:
        relative = PurePosixPath(str(item.get("path", "")))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise BackupError(_("%(file)s is damaged: an upload has an unsafe path %(path)s")
                              % {"file": name, "path": relative})
        expected[UPLOADS_PREFIX + relative.as_posix()] = (Path("uploads", *relative.parts), item)
    if database.get("member") != DATABASE_MEMBERS[manifest["vendor"]]:
        raise BackupError(_("%(file)s is damaged: its manifest is incomplete") % {"file": name})
    found = set()
    try:
        for member in tar:
            if member.name == MANIFEST:
                continue
            if member.isdir():
                continue
            if member.name not in expected or not member.isfile() or member.name in found:
                raise BackupError(_("%(file)s is damaged: unexpected member %(member)s")
                                  % {"file": name, "member": member.name})
            target, item = expected[member.name]
            out = staging / target
            out.parent.mkdir(parents=True, exist_ok=True)
            sha = hashlib.sha256()
            stream = tar.extractfile(member)
            with out.open("wb") as f:
                while block := stream.read(CHUNK):
                    sha.update(block)
                    f.write(block)
            if member.size != item.get("size") or sha.hexdigest() != item.get("sha256"):
                raise BackupError(f"{damaged}: "
                                  + _("%(member)s does not match its checksum") % {"member": member.name})
            found.add(member.name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{damaged}: {str(exc) or exc.__class__.__name__}") from None
    missing = sorted(set(expected) - found)
    if missing:
        raise BackupError(f"{damaged}: " + _("%(member)s is missing") % {"member": missing[0]})
    return staging / "db", staging / "uploads"


def _pg_target_tables() -> int:
    """Number of tables in the configured database; it is created when missing."""
    import psycopg
    from psycopg import sql

    name = settings.DATABASES["default"]["NAME"]
    try:
        conn = _pg_connect(autocommit=True)
    except psycopg.OperationalError as exc:
        try:
            admin = _pg_connect("postgres", autocommit=True)
        except psycopg.OperationalError:
            raise exc from None
        with admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                raise
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn = _pg_connect(autocommit=True)
    with conn:
        count = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT EXISTS ("
            " SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
            " AND d.deptype = 'e')").fetchone()[0]
    return count


PG_CLEAR = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
             AND NOT c.relispartition
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                             AND d.objid = c.oid AND (d.deptype = 'e' OR c.relkind = 'S' AND d.deptype IN ('a', 'i')))
  LOOP
    EXECUTE format('DROP %s IF EXISTS %I CASCADE',
                   CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.relname);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
           WHERE p.pronamespace = to_regnamespace(current_schema())
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                             AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', r.fn);
  END LOOP;
END $$;
"""


def _restore_pg(dump: Path, force: bool) -> dict:
    with _pg_connect(autocommit=True) as conn:
        server_major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
        if force:
            conn.execute(PG_CLEAR)
    tool = _pg_tool("pg_restore", server_major)
    # One transaction: a failure leaves the database as empty as it was.
    _run([tool, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--no-password",
          f"--dbname={_pg_conninfo()}", str(dump)], env=_pg_env())
    with _pg_connect(autocommit=True) as conn:
        conn.execute("ANALYZE")  # pg_restore does not restore the planner's statistics
    with _pg_connect(snapshot=True) as conn:
        tables = pg_tables(conn)
        conn.rollback()
    return tables


def _restore_sqlite(copy: Path) -> dict:
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        for suffix in ("-wal", "-shm", "-journal"):  # stale companions of a removed database
            target.with_name(target.name + suffix).unlink(missing_ok=True)
    src, dst = sqlite3.connect(copy), sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")  # as the app runs it (settings: init_command)
        tables = sqlite_tables(dst)
    finally:
        src.close()
        dst.close()
    return tables


def _sqlite_target_tables() -> int:
    target = _sqlite_path()
    if not target.exists():
        return 0
    db = sqlite3.connect(target)
    try:
        return db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchone()[0]
    finally:
        db.close()


def _describe_target() -> str:
    if vendor() == "postgresql":
        return _("the database %(name)s") % {"name": settings.DATABASES["default"]["NAME"]}
    return str(_sqlite_path())


def _compare(expected: dict, actual: dict) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if want is None:
            problems.append(_("table %(table)s is not in the backup") % {"table": table})
        elif got is None:
            problems.append(_("table %(table)s is missing") % {"table": table})
        elif want["rows"] != got["rows"]:
            problems.append(_("table %(table)s has %(got)s rows, the backup %(want)s")
                            % {"table": table, "got": got["rows"], "want": want["rows"]})
        elif want["checksum"] != got["checksum"]:
            problems.append(_("table %(table)s differs from the backup (checksum)") % {"table": table})
    return problems


def restore(path: Path, force: bool = False, echo=_quiet) -> Restored:
    """Restore the backup file `path` into the configured, empty database and uploads folder.

    `echo(message)` hears of each step (the CLI prints them on stderr)."""
    path = Path(path).resolve()
    media = Path(settings.MEDIA_ROOT)
    with _open(path) as tar:
        try:
            manifest = read_manifest(tar, path.name)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BackupError(_("%(file)s is damaged") % {"file": path.name}
                              + f": {str(exc) or exc.__class__.__name__}") from None
        _check_schema(manifest, path.name)
        tables = _pg_target_tables() if vendor() == "postgresql" else _sqlite_target_tables()
        if tables and not force:
            raise BackupError(_("%(target)s is not empty (%(n)s tables): restore into an empty database, or add "
                                "--force to replace everything in it") % {"target": _describe_target(), "n": tables})
        if _upload_files(media) and not force:
            raise BackupError(_("%(folder)s is not empty: restore into an empty TOWNBRAIN_HOME, or add --force "
                                "(the files there are moved aside)") % {"folder": media})
        media.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=media.parent, prefix=".townbrain-restore-") as tmp:
            echo(_("unpacking and checking the backup …"))
            database, uploads = _unpack(tar, manifest, Path(tmp), path.name)
            echo(_("restoring the database and checking every table's rows …"))
            restored = _restore_pg(database, force) if vendor() == "postgresql" else _restore_sqlite(database)
            problems = _compare(manifest["tables"], restored)
            if problems:
                raise BackupError(_("the restored database does not match the backup: %(problems)s")
                                  % {"problems": "; ".join(problems[:5])})
            replaced = None
            if media.exists():
                if _upload_files(media):
                    replaced = media.with_name(f"{media.name}.replaced-{datetime.now(UTC):%Y%m%d%H%M%S}")
                    media.rename(replaced)
                else:
                    shutil.rmtree(media)
            if uploads.exists():
                uploads.rename(media)
            else:
                media.mkdir(parents=True, exist_ok=True)
    for item in manifest["uploads"]:  # in place, byte for byte
        file = media.joinpath(*PurePosixPath(item["path"]).parts)
        if not file.is_file() or _sha256(file) != item["sha256"]:
            raise BackupError(_("the restored upload %(path)s does not match the backup") % {"path": item["path"]})
    from django.db import connections

    connections.close_all()  # whatever Django had open saw the database before the restore
    with transaction.atomic():
        audit.record(SYSTEM, "backup.restore", path.name, {}, _audit_fields(manifest, path),
                     object_type="backup", object_id=path.name)
    return Restored(manifest=manifest, tables=len(restored), rows=sum(t["rows"] for t in restored.values()),
                    uploads=len(manifest["uploads"]), pending_migrations=pending_migrations(manifest["migrations"]),
                    replaced_uploads=replaced)
