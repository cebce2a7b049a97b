"""Read replicas: which database a query goes to (docs/operations.md, "Replicas and several app servers").

`TOWNBRAIN_DATABASE_REPLICA_URLS` (comma-separated) adds the aliases `replica_1`, `replica_2` … to
DATABASES (settings.DATABASE_REPLICAS lists them); the primary stays `default`. The rules:

1. Every write goes to the primary (`db_for_write`), and so does every migration (`allow_migrate`).
2. A read goes to a replica only inside a read-only request — GET, HEAD or OPTIONS, marked by
   `ReplicaMiddleware` — and only when
   - the request has not written yet (after any write through the router, its reads go to the primary),
   - the client is not pinned: after a user's write (any POST/PUT/PATCH/DELETE, or a write inside a
     read-only request) that user reads the primary for `TOWNBRAIN_REPLICA_PIN_SECONDS` (default 5) —
     read-your-writes. The pin is a signed cookie on the writing client, and cache keys for the user and
     for the credential (session cookie or Authorization header, hashed; API clients keep no cookies):
     the user's other browsers and API tokens are pinned too, and with a shared cache
     (TOWNBRAIN_REDIS_URL) across app servers. The cache is asked at the request's first read that
     could go to a replica, not before;
   - no transaction is open on the primary (inside `transaction.atomic()` a read sees what it wrote);
   - the model is not one signing in depends on (sessions, API tokens, login lockouts).
   Everything outside requests — the CLI, `townbrain mqtt`, scripts, tests — reads the primary.
3. A request reads one replica (picked at random among those up) for all its replica reads.
4. A replica is checked (a `SELECT 1`, or a connection with a short timeout: TOWNBRAIN_REPLICA_CONNECT_TIMEOUT,
   default 1 s) the first time a request would read it. One that does not answer is skipped by this
   process for TOWNBRAIN_REPLICA_RETRY_SECONDS (default 10) and the request reads the primary: a stopped
   replica costs no error page. Should a replica fail in the middle of a read-only request, the request is
   answered again from the primary.
5. A replica alias pointing at the primary's own database is never used: Django's test runner mirrors the
   replicas onto the test database (TEST MIRROR), so tests read and write one database.
"""

import hashlib
import random
import time
from contextlib import ExitStack
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.utils.functional import SimpleLazyObject

PRIMARY = "default"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Signing in must see its own writes at once, whatever the replicas' lag.
PRIMARY_ONLY_APPS = frozenset({"sessions", "authtoken", "axes"})
PIN_COOKIE = "townbrain_primary"
PIN_SALT = "townbrain.core.dbrouter.pin"


@dataclass
class RequestState:
    read_only: bool
    pinned: bool = False
    request: object = None
    wrote: bool = False
    chosen: bool = False
    replica: str | None = None
    replica_failed: bool = False
    used: set = field(default_factory=set)


_state: ContextVar[RequestState | None] = ContextVar("townbrain_db_request", default=None)
_down_until: dict[str, float] = {}  # alias -> time.monotonic() before which this process skips it


def current() -> RequestState | None:
    """The state of the request being served on this thread (None outside requests)."""
    return _state.get()


def pin_seconds() -> int:
    return int(getattr(settings, "REPLICA_PIN_SECONDS", 5))


def retry_seconds() -> int:
    return int(getattr(settings, "REPLICA_RETRY_SECONDS", 10))


def _same_database(a: dict, b: dict) -> bool:
    return all(str(a.get(k) or "") == str(b.get(k) or "") for k in ("ENGINE", "NAME", "HOST", "PORT"))


def replicas() -> list[str]:
    """The replica aliases configured (settings.DATABASE_REPLICAS) that are not the primary itself."""
    aliases = [a for a in getattr(settings, "DATABASE_REPLICAS", ()) if a in connections.settings]
    if not aliases:
        return []
    primary = connections[PRIMARY].settings_dict
    return [a for a in aliases if not _same_database(connections[a].settings_dict, primary)]


def mark_down(alias: str, close: bool = True) -> None:
    """Skip `alias` in this process for TOWNBRAIN_REPLICA_RETRY_SECONDS (and drop its connection)."""
    _down_until[alias] = time.monotonic() + retry_seconds()
    if not close:  # Django closes a connection that had errors at the end of the request
        return
    conn = connections[alias]
    try:
        conn.close()
    except Exception:  # a broken connection may fail to close: it is gone either way
        conn.connection = None


def is_down(alias: str) -> bool:
    return _down_until.get(alias, 0.0) > time.monotonic()


def reachable(alias: str) -> bool:
    """Whether `alias` answers now: a ping of the open connection, or a new connection (short timeout)."""
    conn = connections[alias]
    try:
        if conn.connection is not None and not conn.is_usable():
            conn.close()
        conn.ensure_connection()
        return True
    except DatabaseError:
        mark_down(alias)
        return False


def pick_replica() -> str | None:
    """A replica that answers, at random among those not known to be down; None: read the primary."""
    candidates = [a for a in replicas() if not is_down(a)]
    random.shuffle(candidates)
    for alias in candidates:
        if reachable(alias):
            return alias
    return None


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        state = _state.get()
        if state is None or not state.read_only or state.pinned or state.wrote or state.replica_failed:
            return PRIMARY
        if model._meta.app_label in PRIMARY_ONLY_APPS or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        if not state.chosen:
            state.chosen = True
            if state.request is not None and pinned_in_cache(state.request):
                state.pinned = True
                return PRIMARY
            state.replica = pick_replica()
        if state.replica is None:
            return PRIMARY
        state.used.add(state.replica)
        return state.replica

    def db_for_write(self, model, **hints):
        state = _state.get()
        if state is not None:
            state.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # A row read from a replica is the primary's row: relations between them are fine.
        known = {PRIMARY, *getattr(settings, "DATABASE_REPLICAS", ())}
        if obj1._state.db in known and obj2._state.db in known:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db in getattr(settings, "DATABASE_REPLICAS", ()):
            return False
        return None


# --- the request side: read-only requests, the pin after a write ------------------------------------


def _client_keys(request, response=None) -> list[str]:
    """Cache keys of the client's credentials: its Authorization header and session cookie (hashed)."""
    secrets = [request.META.get("HTTP_AUTHORIZATION", ""), request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")]
    if response is not None and settings.SESSION_COOKIE_NAME in response.cookies:
        secrets.append(response.cookies[settings.SESSION_COOKIE_NAME].value)  # a login's new session
    return [f"townbrain:replica-pin:{hashlib.sha256(s.encode()).hexdigest()[:32]}" for s in secrets if s]


def _user_key(user_id) -> str:
    return f"townbrain:replica-pin:user:{user_id}"


def has_pin_cookie(request) -> bool:
    """This client wrote within the pin window (its signed cookie)."""
    return request.get_signed_cookie(PIN_COOKIE, default=None, salt=PIN_SALT, max_age=pin_seconds()) is not None


def pinned_in_cache(request) -> bool:
    """The user signed in on this session, or the request's credential, wrote within the pin window."""
    from django.contrib.auth import SESSION_KEY

    keys = _client_keys(request)
    session = getattr(request, "session", None)  # read from the primary (sessions never go to a replica)
    user_id = session.get(SESSION_KEY) if session is not None else None
    # An API token's user: DRF put it on the request after reading the token (from the primary). A user
    # still lazy is the session's, known above: evaluating it here would read the user first.
    user = request.__dict__.get("user")
    if not user_id and user is not None and not isinstance(user, SimpleLazyObject) and user.is_authenticated:
        user_id = user.pk
    if user_id:
        keys.append(_user_key(user_id))
    if not keys:
        return False
    from django.core.cache import cache

    try:
        return bool(cache.get_many(keys))
    except Exception:  # the cache is down: the cookie still pins the writing browser
        return False


def pin(request, response) -> None:
    """Keep this client on the primary for the pin window."""
    seconds = pin_seconds()
    if seconds <= 0:
        return
    response.set_signed_cookie(PIN_COOKIE, "1", salt=PIN_SALT, max_age=seconds, httponly=True,
                               samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
    keys = _client_keys(request, response)
    try:
        user = getattr(request, "user", None)  # read from the primary: the request is over
        if user is not None and user.is_authenticated:
            keys.append(_user_key(user.pk))
    except DatabaseError:  # the user cannot be read: the cookie and the credential keys still pin
        pass
    if keys:
        from django.core.cache import cache

        try:
            cache.set_many(dict.fromkeys(keys, 1), seconds)
        except Exception:
            pass


class ReplicaMiddleware:
    """Mark read-only requests for ReplicaRouter; pin a client to the primary after its write.

    Without replicas configured it does nothing. Put it before the session middleware, so the session's
    own writes count as the request's writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replicas():
            return self.get_response(request)
        read_only = request.method in SAFE_METHODS
        state = RequestState(read_only=read_only, pinned=read_only and has_pin_cookie(request), request=request)
        response = self._serve(request, state)
        if read_only and state.replica_failed:
            # A replica failed in the middle of the request: answer it again from the primary.
            state = RequestState(read_only=True, pinned=True, request=request)
            response = self._serve(request, state)
        if not read_only or state.wrote:
            pin(request, response)
        return response

    def _serve(self, request, state: RequestState):
        token = _state.set(state)
        try:
            with ExitStack() as stack:
                for alias in replicas():
                    if alias not in connections.settings:
                        continue
                    stack.enter_context(connections[alias].execute_wrapper(_Watch(state, alias)))
                return self.get_response(request)
        finally:
            _state.reset(token)


class _Watch:
    """An execute wrapper on a replica connection: a failing replica is marked down and the request
    flagged, so the middleware answers it again from the primary."""

    def __init__(self, state: RequestState, alias: str):
        self.state, self.alias = state, alias

    def __call__(self, execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except DatabaseError as exc:
            if isinstance(exc, (OperationalError, InterfaceError)) or not _connection_usable(self.alias):
                self.state.replica_failed = True
                mark_down(self.alias, close=False)
            raise


def _connection_usable(alias: str) -> bool:
    conn = connections[alias]
    try:
        return conn.connection is not None and conn.is_usable()
    except Exception:
        return False
