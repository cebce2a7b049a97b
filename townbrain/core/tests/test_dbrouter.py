"""The read-replica router's rules (core/dbrouter.py), on any database.

In-process tests drive `ReplicaRouter` and `ReplicaMiddleware` with the replica list and its health check
stood in for. The end-to-end test runs the app in a subprocess with two real SQLite aliases — the primary
and a stale copy of it as the "replica" — so the two answer differently and a response tells which one it
was read from (test_replicas.py does the same with a real PostgreSQL streaming replica).
"""

import json
import subprocess
import sys
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connections, router
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject
from rest_framework.authtoken.models import Token

from townbrain.core import dbrouter
from townbrain.core.models import OrgUnit
from townbrain.testing import faults

User = get_user_model()


@pytest.fixture
def one_replica(monkeypatch, settings):
    """A replica alias `replica_1` that answers (calls to the health check are counted)."""
    settings.REPLICA_PIN_SECONDS = 5
    checks = []

    def reachable(alias):
        checks.append(alias)
        return True

    monkeypatch.setattr(dbrouter, "replicas", lambda: ["replica_1"])
    monkeypatch.setattr(dbrouter, "reachable", reachable)
    monkeypatch.setattr(dbrouter, "_down_until", {})
    return checks


def read_in(state):
    token = dbrouter._state.set(state)
    try:
        return router.db_for_read(OrgUnit)
    finally:
        dbrouter._state.reset(token)


def test_reads_outside_requests_and_in_writing_requests_go_to_the_primary(one_replica):
    assert router.db_for_read(OrgUnit) == "default"  # CLI, workers, tests: no request
    assert read_in(dbrouter.RequestState(read_only=False)) == "default"
    assert router.db_for_write(OrgUnit) == "default"
    assert one_replica == []  # the replica was not even asked


def test_read_only_requests_read_one_replica(one_replica):
    state = dbrouter.RequestState(read_only=True)
    assert read_in(state) == "replica_1"
    assert read_in(state) == "replica_1"
    assert one_replica == ["replica_1"]  # checked once per request
    assert state.used == {"replica_1"}


def test_a_write_inside_a_read_only_request_sends_its_later_reads_to_the_primary(one_replica):
    state = dbrouter.RequestState(read_only=True)
    assert read_in(state) == "replica_1"
    token = dbrouter._state.set(state)
    try:
        assert router.db_for_write(OrgUnit) == "default"
        assert router.db_for_read(OrgUnit) == "default"
    finally:
        dbrouter._state.reset(token)
    assert state.wrote


def test_pinned_clients_sign_in_models_and_open_transactions_read_the_primary(one_replica, monkeypatch):
    assert read_in(dbrouter.RequestState(read_only=True, pinned=True)) == "default"
    state = dbrouter.RequestState(read_only=True)
    token = dbrouter._state.set(state)
    try:
        for model in (Session, Token):
            assert router.db_for_read(model) == "default"
        monkeypatch.setattr(connections["default"], "in_atomic_block", True)
        assert router.db_for_read(User) == "default"
        monkeypatch.setattr(connections["default"], "in_atomic_block", False)
        assert router.db_for_read(User) == "replica_1"
    finally:
        dbrouter._state.reset(token)


def test_an_unreachable_replica_is_skipped_for_the_retry_window(monkeypatch, settings):
    settings.REPLICA_RETRY_SECONDS = 10
    monkeypatch.setattr(dbrouter, "replicas", lambda: ["replica_1"])
    monkeypatch.setattr(dbrouter, "_down_until", {})
    monkeypatch.setattr(dbrouter, "mark_down", lambda alias, close=True: dbrouter._down_until.update(
        {alias: time.monotonic() + settings.REPLICA_RETRY_SECONDS}))
    tries = []

    class Broken:  # a connection that cannot be made (the real check, a stand-in connection)
        connection = None

        def ensure_connection(self):
            from django.db import OperationalError

            tries.append(1)
            raise OperationalError("connection refused")

    monkeypatch.setattr(dbrouter, "connections", {"replica_1": Broken(), "default": connections["default"]})
    assert read_in(dbrouter.RequestState(read_only=True)) == "default"
    assert dbrouter.is_down("replica_1")
    assert read_in(dbrouter.RequestState(read_only=True)) == "default"
    assert len(tries) == 1  # not tried again within the window
    monkeypatch.setattr(time, "monotonic", lambda: dbrouter._down_until["replica_1"] + 0.1)
    assert not dbrouter.is_down("replica_1")


def test_migrations_and_relations(settings):
    settings.DATABASE_REPLICAS = ["replica_1"]
    r = dbrouter.ReplicaRouter()
    assert r.allow_migrate("replica_1", "core") is False
    assert r.allow_migrate("default", "core") is None
    a, b = OrgUnit(code="33"), OrgUnit(code="3301")
    a._state.db, b._state.db = "replica_1", "default"
    assert r.allow_relation(a, b) is True


def test_no_replica_configured_or_a_mirror_of_the_primary_is_none(settings):
    settings.DATABASE_REPLICAS = []
    assert dbrouter.replicas() == []
    settings.DATABASE_REPLICAS = ["replica_missing"]
    assert dbrouter.replicas() == []  # not in DATABASES
    primary = connections["default"].settings_dict
    assert dbrouter._same_database(dict(primary), primary)  # what the test runner's MIRROR makes
    assert not dbrouter._same_database({**primary, "NAME": "other"}, primary)


# --- the middleware: read-only requests, the pin ---------------------------------------------------------


def serve(request, view=None):
    seen = []

    def get_response(req):
        seen.append(dbrouter.current())
        return view(req) if view else HttpResponse("ok")

    response = dbrouter.ReplicaMiddleware(get_response)(request)
    return response, seen


def test_a_write_pins_the_client_to_the_primary_for_the_pin_window(one_replica, monkeypatch, settings):
    factory = RequestFactory()
    response, seen = serve(factory.get("/"))
    assert seen[0].read_only and not seen[0].pinned
    assert dbrouter.PIN_COOKIE not in response.cookies  # a read pins nobody

    factory.cookies[settings.SESSION_COOKIE_NAME] = "session-one"
    response, seen = serve(factory.post("/x/"))
    assert not seen[0].read_only
    cookie = response.cookies[dbrouter.PIN_COOKIE]
    assert cookie["max-age"] == 5 and cookie["httponly"]

    factory.cookies[dbrouter.PIN_COOKIE] = cookie.value
    _response, seen = serve(factory.get("/"))
    assert seen[0].pinned
    # The signed cookie lapses with the window (and a forged one never counts).
    now = time.time()
    monkeypatch.setattr("django.core.signing.time.time", lambda: now + 6)
    del factory.cookies[settings.SESSION_COOKIE_NAME]
    _response, seen = serve(factory.get("/"))
    assert not seen[0].pinned
    factory.cookies[dbrouter.PIN_COOKIE] = "1:forged:signature"
    _response, seen = serve(factory.get("/"))
    assert not seen[0].pinned


def reads(request):
    return HttpResponse(router.db_for_read(OrgUnit))


def test_the_pin_holds_for_a_credential_without_cookies(one_replica):
    factory = RequestFactory()
    serve(factory.post("/api/x/", HTTP_AUTHORIZATION="Token abc"))
    response, _seen = serve(factory.get("/api/x/", HTTP_AUTHORIZATION="Token abc"), reads)
    assert response.content == b"default"  # through the cache key of the Authorization header
    response, _seen = serve(factory.get("/api/x/", HTTP_AUTHORIZATION="Token other"), reads)
    assert response.content == b"replica_1"
    cache.clear()
    response, _seen = serve(factory.get("/api/x/", HTTP_AUTHORIZATION="Token abc"), reads)
    assert response.content == b"replica_1"


def test_the_pin_follows_the_user_to_other_clients(one_replica):
    class Someone:
        pk, is_authenticated = 7, True

    factory = RequestFactory()
    write = factory.post("/x/")
    write.user = Someone()
    serve(write)
    elsewhere = factory.get("/")  # another browser of the same user: no pin cookie, another session
    elsewhere.session = {"_auth_user_id": "7"}
    response, _seen = serve(elsewhere, reads)
    assert response.content == b"default"
    other_user = factory.get("/")
    other_user.session = {"_auth_user_id": "8"}
    response, _seen = serve(other_user, reads)
    assert response.content == b"replica_1"
    api = factory.get("/api/x/", HTTP_AUTHORIZATION="Token of-user-7")  # DRF set the token's user
    api.user = Someone()
    response, _seen = serve(api, reads)
    assert response.content == b"default"
    lazy = factory.get("/")  # a session's lazy user is not evaluated by the check (the session says who)
    lazy.session = {}
    lazy.user = SimpleLazyObject(lambda: pytest.fail("the lazy user was evaluated"))
    response, _seen = serve(lazy, reads)
    assert response.content == b"replica_1"


def test_a_write_inside_a_read_only_request_pins_too(one_replica):
    def writes(request):
        router.db_for_write(OrgUnit)
        return HttpResponse("ok")

    response, _seen = serve(RequestFactory().get("/"), writes)
    assert dbrouter.PIN_COOKIE in response.cookies


def test_a_replica_failing_mid_request_is_answered_again_from_the_primary(one_replica):
    calls = []

    def view(request):
        state = dbrouter.current()
        calls.append(state.pinned)
        if len(calls) == 1:
            state.replica_failed = True  # what the replica connection's execute wrapper does
            return HttpResponse("boom", status=500)
        return HttpResponse("from the primary")

    response, _seen = serve(RequestFactory().get("/"), view)
    assert response.status_code == 200 and response.content == b"from the primary"
    assert calls == [False, True]


def test_without_replicas_the_middleware_stays_out_of_the_way(settings):
    settings.DATABASE_REPLICAS = []
    response, seen = serve(RequestFactory().post("/"))
    assert seen == [None] and dbrouter.PIN_COOKIE not in response.cookies


# --- end to end: two SQLite aliases, the replica a stale copy ----------------------------------------------

SCRIPT = r"""
import json, os, shutil, sys, time
from townbrain.cli import _setup
_setup()
from django.db import connections
from django.test import Client
from django.contrib.auth import get_user_model

out = {}
user = get_user_model().objects.get(username="admin")
client = Client(raise_request_exception=False)
client.force_login(user)  # outside a request: the session goes to the primary

def name():
    got = client.get(f"/api/users/{user.pk}/")
    return [got.status_code, got.json().get("first_name") if got.status_code == 200 else got.content.decode()[:300]]

time.sleep(float(os.environ["TOWNBRAIN_REPLICA_PIN_SECONDS"]) + 0.3)  # force_login's own writes
out["read"] = name()
got = client.patch(f"/api/users/{user.pk}/", data=json.dumps({"email": "admin@example.org"}),
                   content_type="application/json")
out["write"] = [got.status_code, get_user_model().objects.using("replica_1").get(pk=user.pk).email,
                get_user_model().objects.using("default").get(pk=user.pk).email]
out["pinned"] = name()
time.sleep(float(os.environ["TOWNBRAIN_REPLICA_PIN_SECONDS"]) + 0.3)
out["unpinned"] = name()
# The replica's file goes wrong under it (an empty database): the failing read is answered from the primary.
replica = connections["replica_1"].settings_dict["NAME"]
connections["replica_1"].close()
os.remove(replica)
open(replica, "wb").close()
out["broken"] = name()
out["broken_again"] = name()  # skipped now: straight to the primary
# The replica cannot even be opened (its folder is gone): down, reads from the primary.
connections["replica_1"].close()
shutil.rmtree(os.path.dirname(replica))
from townbrain.core import dbrouter
dbrouter._down_until.clear()
out["gone"] = name()
print(json.dumps(out))
"""


def test_two_sqlite_aliases_end_to_end(divisions_home, tmp_path):
    env = faults.env(divisions_home, None)
    faults.run(env, "-c", "from townbrain.cli import _setup; _setup(); from townbrain.access.demo import "
               "ensure_superuser; ensure_superuser('admin', 'replica-Test-2026!')")
    replica = faults.sqlite_copy(divisions_home / "townbrain.sqlite3", tmp_path / "replica" / "copy.sqlite3")
    import sqlite3

    with sqlite3.connect(divisions_home / "townbrain.sqlite3") as db:  # the primary alone learns a name
        db.execute("UPDATE auth_user SET first_name = 'primary only' WHERE username = 'admin'")
    env.update(TOWNBRAIN_DATABASE_REPLICA_URLS=f"sqlite:///{replica}", TOWNBRAIN_REPLICA_PIN_SECONDS="1")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["read"] == [200, ""], "a GET did not read the replica"
    assert out["write"] == [200, "", "admin@example.org"], "the write did not go to the primary alone"
    assert out["pinned"] == [200, "primary only"], "the writer did not read its write"
    assert out["unpinned"] == [200, ""]
    assert out["broken"] == [200, "primary only"]
    assert out["broken_again"] == [200, "primary only"]
    assert out["gone"] == [200, "primary only"]
