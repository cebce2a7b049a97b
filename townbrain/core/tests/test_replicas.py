"""Read replicas and stateless app servers, end to end (issue 17, items 3 and 4; docs/operations.md).

One PostgreSQL cluster of the module's own is the primary (initdb on a free port, its pg_hba.conf like the
local server's: no `replication` line), migrated by `townbrain init`; `scripts/replica-up` adds the
replication line, copies it with pg_basebackup and starts the streaming replica on another free port. The
app runs as real `townbrain serve` processes pointed at them through the environment, and the tests speak
HTTP to it — login form, CSRF and all — with `requests`.

Why a cluster of its own: a streaming replica copies a whole cluster, and the server the tests use holds
every other database of the machine; and the test database Django makes has no replica. The module uses
no test database, so scripts/test.sh runs it once, in its SQLite pass (townbrain/conftest.py), and it
always speaks to PostgreSQL: the server programs (initdb, pg_ctl, pg_basebackup) must be installed; under
CI their absence fails the tests, elsewhere it skips them.

The proof that a read came from the replica: replay is paused on the replica (`pg_wal_replay_pause()`) and
a value is changed directly on the primary, so the two databases answer differently — the replica the old
value, the primary the new one. A response showing the old value was read on the replica.

The stateless test runs two servers on two ports against one database, one Redis (a redis-server of its
own on a free port; scripts/install-system-deps.sh installs the binary) and one upload folder, logs in on one
and works on the other.
"""

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import requests

from townbrain.testing.local import free_port, listening, unavailable

pytestmark = pytest.mark.xdist_group("replica")

REPO = Path(__file__).resolve().parents[3]
PASSWORD = "replica-Test-2026!"
PIN_SECONDS = 6  # long enough for the few requests made inside it on a loaded machine
REDIS_SERVER = os.environ.get("TOWNBRAIN_REDIS_SERVER", "/usr/bin/redis-server")


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _unavailable(reason: str):
    unavailable("the replica tests", reason)


def _pg_bin(name: str) -> str | None:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


def _as_server(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd, env=None, timeout=300) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


class Cluster:
    """The primary: a PostgreSQL cluster in `folder` on `port`, with the local server's pg_hba.conf."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.data, self.sock = folder / "primary", folder / "sock"

    def start(self):
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl or not _pg_bin("pg_basebackup"):
            _unavailable("the PostgreSQL server programs (initdb, pg_ctl, pg_basebackup) are not installed")
        owner = ["-o", "postgres"] if os.geteuid() == 0 else []
        for d in (self.data, self.sock):
            _run(["install", "-d", "-m", "700", *owner, str(d)])
        _run(_as_server([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                         "--locale=C.UTF-8"]))
        # As on the local server (and a fresh CI machine): no replication line; replica-up adds it.
        (self.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.sock} "
                   "-c fsync=off -c full_page_writes=off -c max_connections=60")
        _run(_as_server([pg_ctl, "-D", str(self.data), "-l", str(self.sock / "primary.log"), "-w", "-o",
                         options, "start"]))

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            subprocess.run(_as_server([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60)

    def url(self, port=None) -> str:
        return f"postgres://postgres@127.0.0.1:{port or self.port}/townbrain"

    def sql(self, query: str, port=None):
        with psycopg.connect(host="127.0.0.1", port=port or self.port, user="postgres", dbname="townbrain",
                             autocommit=True, connect_timeout=5) as db:
            cur = db.execute(query)
            return cur.fetchall() if cur.description else None


class Server:
    """`townbrain serve` on a free port, with `env`."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log, self.port, self.process = env, log, free_port(), None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self):
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "townbrain.cli", "serve", "--port", str(self.port), "--workers", "1"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not listening(self.port):
            assert self.process.poll() is None, f"townbrain serve died: {self.log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"townbrain serve did not listen: {self.log.read_text()[-2000:]}"
            time.sleep(0.1)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def app_env(home: Path, database_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNBRAIN_")}
    env.update({"TOWNBRAIN_HOME": str(home), "TOWNBRAIN_DATABASE_URL": database_url, "TOWNBRAIN_DEBUG": "1",
                "TOWNBRAIN_SECRET_KEY": "replica-tests-shared-secret-key-0123456789-abcdefghijklmnop"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def login(base: str, username="admin", password=PASSWORD) -> requests.Session:
    """Sign in through the login form, as a browser does (CSRF cookie and token)."""
    web = requests.Session()
    page = web.get(f"{base}/accounts/login/", timeout=30)
    assert page.status_code == 200
    done = web.post(f"{base}/accounts/login/", timeout=30, allow_redirects=False,
                    data={"username": username, "password": password,
                          "csrfmiddlewaretoken": web.cookies["csrftoken"]})
    assert done.status_code == 302, done.text[:500]
    return web


def csrf(web: requests.Session) -> dict:
    return {"X-CSRFToken": web.cookies["csrftoken"]}


@pytest.fixture(scope="module")
def primary():
    """The module's primary cluster with a migrated `townbrain` database, an administrator and Zhejiang."""
    folder = Path(tempfile.mkdtemp(prefix="townbrain-replicas-", dir="/var/tmp"))
    folder.chmod(0o755)  # the postgres user reaches its folders inside
    cluster = Cluster(folder, free_port())
    try:
        cluster.start()
        _run([_pg_bin("psql") or "psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
              "-d", "postgres", "-Xqc", "CREATE DATABASE townbrain"])
        env = app_env(folder / "setup-home", cluster.url())
        _run([sys.executable, "-m", "townbrain.cli", "init", "--admin-username", "admin",
              "--admin-password", PASSWORD], env=env)
        _run([sys.executable, "-m", "townbrain.cli", "load-divisions", "--province", "33"], env=env)
        _run([sys.executable, "-m", "townbrain.cli", "createuser", "viewer", "--org", "330109113", "--role", "viewer",
              "--password", PASSWORD], env=env)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def replica(primary):
    """A streaming replica of the primary, made by scripts/replica-up; its port."""
    port = free_port()
    env = {**os.environ, "TOWNBRAIN_REPLICA_PRIMARY": f"127.0.0.1:{primary.port}",
           "TOWNBRAIN_REPLICA_DIR": str(primary.folder / "replica")}
    out = _run(["bash", str(REPO / "scripts" / "replica-up"), str(port)], env=env)
    assert "CHANGING THE PRIMARY'S AUTHENTICATION" in out  # it said so loudly
    assert f"TOWNBRAIN_DATABASE_REPLICA_URLS=postgres://postgres@127.0.0.1:{port}/townbrain" in out
    hba = (primary.data / "pg_hba.conf").read_text()
    assert "host replication all 127.0.0.1/32 trust" in hba
    try:
        yield port
    finally:
        subprocess.run(["bash", str(REPO / "scripts" / "replica-down"), str(port)], env=env, capture_output=True,
                       timeout=120)


def caught_up(primary: Cluster, port: int, seconds: float = 30) -> None:
    lsn = primary.sql("SELECT pg_current_wal_lsn()::text")[0][0]
    deadline = time.monotonic() + seconds
    while not primary.sql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn", port=port)[0][0]:
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


def pause_replay(primary: Cluster, port: int) -> None:
    primary.sql("SELECT pg_wal_replay_pause()", port=port)
    deadline = time.monotonic() + 10
    while primary.sql("SELECT pg_get_wal_replay_pause_state()", port=port)[0][0] != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def first_name(web, base, user_id) -> str:
    got = web.get(f"{base}/api/users/{user_id}/", timeout=30)
    assert got.status_code == 200, got.text[:500]
    return got.json()["first_name"]


def test_reads_go_to_the_replica_writes_to_the_primary_and_a_stopped_replica_degrades(primary, replica, tmp_path):
    admin = primary.sql("SELECT id FROM auth_user WHERE username = 'admin'")[0][0]
    viewer = primary.sql("SELECT id FROM auth_user WHERE username = 'viewer'")[0][0]
    primary.sql("UPDATE auth_user SET first_name = 'before' WHERE username IN ('admin', 'viewer')")
    server = Server(app_env(tmp_path / "home", primary.url(),
                            TOWNBRAIN_DATABASE_REPLICA_URLS=primary.url(replica),
                            TOWNBRAIN_REPLICA_PIN_SECONDS=PIN_SECONDS), tmp_path / "serve.log")
    server.start()
    try:
        web = login(server.base)
        other = login(server.base, "viewer")
        made = requests.post(f"{server.base}/api/auth/token/", json={"username": "admin", "password": PASSWORD},
                             timeout=30)
        assert made.status_code == 200, made.text[:300]
        caught_up(primary, replica)
        time.sleep(PIN_SECONDS + 0.5)  # the login wrote: let its pin pass
        assert first_name(web, server.base, admin) == "before"

        # The replica stops replaying; the primary alone learns a new name.
        pause_replay(primary, replica)
        primary.sql("UPDATE auth_user SET first_name = 'primary only' WHERE username IN ('admin', 'viewer')")
        assert primary.sql("SELECT first_name FROM auth_user WHERE username = 'admin'", port=replica) == [("before",)]
        assert first_name(web, server.base, admin) == "before", "a GET did not read the replica"

        # A write through the app lands on the primary (the replica is read-only, and paused).
        changed = web.patch(f"{server.base}/api/users/{admin}/", json={"email": "admin@example.org"},
                            headers=csrf(web), timeout=30)
        assert changed.status_code == 200, changed.text[:500]
        assert changed.json()["first_name"] == "primary only"  # the write request read the primary
        assert primary.sql("SELECT email FROM auth_user WHERE username = 'admin'") == [("admin@example.org",)]
        assert primary.sql("SELECT email FROM auth_user WHERE username = 'admin'", port=replica) == [("",)]
        audited = f"SELECT count(*) FROM core_auditentry WHERE request_id = '{changed.headers['X-Request-ID']}'"
        assert primary.sql(audited)[0][0] >= 1, "the write's audit row is not on the primary"
        assert primary.sql(audited, port=replica) == [(0,)]

        # Read-your-writes: within the pin window the writer reads the primary, in this browser and through
        # an API token of theirs (no cookies) …
        assert first_name(web, server.base, admin) == "primary only"
        assert web.get(f"{server.base}/api/users/{admin}/", timeout=30).json()["email"] == "admin@example.org"
        api = requests.Session()
        api.headers["Authorization"] = "Token " + primary.sql(
            f"SELECT key FROM authtoken_token WHERE user_id = {admin}")[0][0]
        assert first_name(api, server.base, admin) == "primary only"
        # … while another user still reads the replica.
        assert first_name(other, server.base, viewer) == "before"
        # After the pin window the writer reads the replica again.
        time.sleep(PIN_SECONDS + 0.5)
        assert first_name(web, server.base, admin) == "before"
        assert first_name(api, server.base, admin) == "before"

        # The replica stops: reads answer 200 from the primary, pages too, no error page.
        subprocess.run(["bash", str(REPO / "scripts" / "replica-down"), "--keep", str(replica)], check=True,
                       capture_output=True, timeout=120,
                       env={**os.environ, "TOWNBRAIN_REPLICA_DIR": str(primary.folder / "replica")})
        assert not listening(replica)
        for _ in range(3):
            assert first_name(web, server.base, admin) == "primary only"
            assert first_name(other, server.base, viewer) == "primary only"
        page = web.get(f"{server.base}/", timeout=30)
        assert page.status_code == 200
    finally:
        server.stop()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


# --- two app servers, one database, one Redis, one upload folder ------------------------------------------


@pytest.fixture
def redis_port(tmp_path):
    if not Path(REDIS_SERVER).exists():
        _unavailable(f"{REDIS_SERVER} is missing (scripts/install-system-deps.sh installs redis-server)")
    port = free_port()
    process = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not listening(port):
        assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(10)


def test_two_servers_share_sessions_cache_and_uploads(primary, redis_port, tmp_path):
    import redis

    media = tmp_path / "shared-uploads"
    servers = [Server(app_env(tmp_path / f"home-{n}", primary.url(),
                              TOWNBRAIN_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
                              TOWNBRAIN_MEDIA_ROOT=media, TOWNBRAIN_RATE_TOKEN_PER_MINUTE=3),
                      tmp_path / f"serve-{n}.log") for n in (1, 2)]
    for s in servers:
        s.start()
    one, two = (s.base for s in servers)
    try:
        web = login(one)
        # The session lives in Redis (and the database), so the other server knows the login.
        keys = redis.Redis(port=redis_port).keys("townbrain:*django.contrib.sessions.cached_db*")
        assert keys, "the session is not in Redis"
        me = web.get(f"{two}/api/users/?username=admin", timeout=30)
        assert me.status_code == 200, me.text[:300]
        admin = me.json()["results"][0]["id"]

        # An audited write on the other server, with the session and CSRF token of the first.
        changed = web.patch(f"{two}/api/users/{admin}/", json={"first_name": "两台服务器"}, headers=csrf(web),
                            timeout=30)
        assert changed.status_code == 200, changed.text[:500]
        audit = web.get(f"{one}/api/audit/", timeout=30).json()["results"]
        assert any("两台服务器" in str(row) for row in audit), audit[:3]

        # An upload through one server is served by the other (one shared upload folder).
        code, platform = _category(primary)
        event = web.post(f"{one}/api/events/", headers=csrf(web), timeout=30, json={
            "town": "330109113", "platform": platform, "category": code, "description": "路灯不亮"})
        assert event.status_code == 201, event.text[:500]
        event_id = event.json()["id"]
        png = _png()
        uploaded = web.post(f"{two}/api/events/{event_id}/photos/", headers=csrf(web), timeout=30,
                            files={"photo": ("lamp.png", png, "image/png")})
        assert uploaded.status_code == 201, uploaded.text[:500]
        photo_url = uploaded.json()["photos"][0]["url"]
        assert photo_url.startswith(two)
        fetched = web.get(photo_url.replace(two, one), timeout=30)
        assert fetched.status_code == 200 and fetched.content == png
        assert list(media.rglob("*.png")), "the photo is not in the shared upload folder"

        # Rate limits count in Redis: 3 token requests a minute, counted across both servers.
        for _attempt in range(2):  # once more if a minute boundary fell between the requests
            start = int(time.time() // 60)
            answers = [requests.post(f"{base}/api/auth/token/", json={"username": "nobody", "password": "x"},
                                     timeout=30).status_code for base in (one, two, one, two)]
            if int(time.time() // 60) == start:
                break
        assert 429 not in answers[:3] and answers[3] == 429, answers

        # Logging out on one server ends the session on the other.
        out = web.post(f"{two}/accounts/logout/", data={"csrfmiddlewaretoken": web.cookies["csrftoken"]},
                       timeout=30, allow_redirects=False)
        assert out.status_code in (200, 302), out.status_code
        assert web.get(f"{one}/api/users/{admin}/", timeout=30).status_code in (401, 403)
    finally:
        for s in servers:
            s.stop()


def _category(primary: Cluster) -> tuple[str, str]:
    rows = primary.sql("SELECT code, platform FROM governance_eventcategory WHERE parent_id IS NOT NULL "
                       "ORDER BY code LIMIT 1")
    assert rows, "no event categories seeded"
    return rows[0]
