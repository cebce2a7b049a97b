"""Roll-up locking (PostgreSQL, transaction-scoped advisory locks; SQLite runs one writer at a time).

A project write takes its town's lock shared (delta.inputs(), enrolment_dims(), enrolments_of(),
as they read the town's role and batch); a change of the town's role or batch (move_town) takes it
exclusive, and first its programme's lock shared. A write that spans many towns (an import,
bulk_writes()) takes every programme's lock exclusive instead of thousands of town locks
(PostgreSQL's lock table holds a few thousand): it then waits only for role changes in progress
and holds new ones off; two such writers queue.
"""

import contextvars
from contextlib import contextmanager

from django.db import connection

from townbrain.programmes.models import Programme

TOWN_LOCKS_MAX = 1000
_BULK = contextvars.ContextVar("townbrain_rollup_bulk", default=False)


def _locks_per_town() -> bool:
    return connection.vendor == "postgresql" and not _BULK.get()


def _lock_programmes() -> None:
    keys = sorted(_programme_key(pk) for pk in Programme.objects.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(k)) FROM"
                       " (SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS keys", [keys])


@contextmanager
def bulk_writes():
    """Inside a transaction: project writes for many towns (an import) under the programmes' locks."""
    if _locks_per_town():
        if not connection.in_atomic_block:
            raise RuntimeError("bulk_writes() needs a transaction: its locks last until the commit")
        _lock_programmes()
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


def _programme_key(programme_id) -> int:
    return (0x726D << 48) | int(programme_id)  # "rm": role changes in the programme


def _town_key(town_code: str, programme_id) -> int:
    return (0x7262 << 48) | (int(programme_id) << 32) | int(town_code)  # "rb", programme, 9-digit code


def _lock_town(town_code: str, programme_id) -> None:
    """The exclusive side of the town's roll-up lock (a transaction-scoped PostgreSQL advisory lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_town_key(town_code, programme_id)])


def _lock_towns_shared(pairs) -> None:
    """The shared side of the roll-up locks of many (town, programme) `pairs`, sorted, taken in key order
    (so two bulk writers cannot deadlock); past TOWN_LOCKS_MAX pairs, every programme's lock instead."""
    if _locks_per_town() and len(pairs) > TOWN_LOCKS_MAX:
        _lock_programmes()
    elif _locks_per_town() and pairs:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_advisory_xact_lock_shared(k)) FROM"
                           " (SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS keys",
                           [sorted(_town_key(t, p) for t, p in pairs)])


def _lock_role_change(town_code: str, programme_id) -> None:
    """What a change of the town's role or batch (move_town) takes: its programme's lock shared (not inside
    bulk_writes(), which holds every programme's lock), then the town's lock exclusive."""
    if _locks_per_town():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_programme_key(programme_id)])
    _lock_town(town_code, programme_id)
