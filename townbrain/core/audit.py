"""Writing audit rows. Called only from service functions, inside their transaction."""

import contextvars
import functools
import itertools
import json
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from django.db import models
from django.utils import timezone

from . import bulk
from .context import current_origin
from .models import AuditEntry

# Stable codes stored in place of a secret (a password) in `changes`: the value is never logged,
# only the fact that it changed — {"password": [SECRET, CHANGED]}. Pages and exports show them in
# the reader's language (`audit_labels.value_label`); the API returns the codes as they are.
SECRET_FIELDS = ("password",)
SECRET = "***"
CHANGED = "(changed)"
# Personal data (citizens' and experts' phones, people's e-mails): the audit log is read by everyone
# who may see the record, so it keeps that a contact was set or changed, never the contact itself.
PERSONAL_FIELDS = ("phone", "email", "reporter_phone")


def _plain(value):
    """JSON-safe form of a field value, stable across backends (so diffs compare equal)."""
    if value is None or value.__class__ in (str, int, bool):
        return value
    if isinstance(value, Decimal):
        # 40.00 -> "40", 2.50 -> "2.50": normalize() alone would write 40 as "4E+1"
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj, fields=None) -> dict:
    """Field values of `obj` as plain JSON (concrete fields, foreign keys by id)."""
    if obj is None:
        return {}
    out = {}
    for name, attname in _snapshot_fields(obj.__class__, None if fields is None else tuple(fields)):
        value = getattr(obj, attname)
        out[name] = value if value.__class__ in _AS_IS else _plain(value)  # most values: no call (an import's 100,000)
    return out


_AS_IS = frozenset({str, int, bool, type(None)})  # what _plain() gives back as it is


@functools.cache
def _snapshot_fields(model, fields) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, f.attname) for f in model._meta.concrete_fields
                 if (fields is None or f.name in fields) and f.name not in ("created", "updated", *SECRET_FIELDS))


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} for the fields whose value changed; personal data as markers only."""
    changes = {}
    for k in dict.fromkeys([*before, *after]):
        old, new = before.get(k), after.get(k)
        if old == new:
            continue
        if k in PERSONAL_FIELDS:
            old, new = (SECRET if old else None), (CHANGED if new else None)
        changes[k] = [old, new]
    return changes


class ImportHistory:
    """The import whose changes are being written (see importing()): which file row each audit row
    comes from. A row that writes at once names itself (`row`, for audit rows of `object_types`); rows
    written together later are named by the object the row's check answered with (`mark`)."""

    def __init__(self, batch_id: int, object_types: tuple[str, ...]):
        self.batch_id, self.object_types = batch_id, object_types
        self.row: int | None = None
        self._rows: dict[int, int] = {}  # id() of an object the import holds until it ends -> its row

    def mark(self, obj, row: int) -> None:
        self._rows[id(obj)] = row

    def row_of(self, obj, object_type: str) -> int | None:
        row = self._rows.get(id(obj))
        if row is None and object_type in self.object_types:
            row = self.row
        return row


_IMPORTING: contextvars.ContextVar[ImportHistory | None] = contextvars.ContextVar("townbrain_importing", default=None)


@contextmanager
def importing(batch_id: int, object_types: tuple[str, ...]):
    """Audit rows written inside carry the import batch and, for the records its rows changed, the row:
    the import's undo and its page read them (exchange/history.py), so no second copy is kept."""
    token = _IMPORTING.set(ImportHistory(batch_id, object_types))
    try:
        yield _IMPORTING.get()
    finally:
        _IMPORTING.reset(token)


def entry(actor, action: str, obj, before: dict | None, after: dict | None, *, org_code: str = "",
          object_type: str | None = None, object_id: str | None = None) -> AuditEntry:
    """The audit row for `action` on `obj` with the changed fields, not yet saved (see record_many)."""
    return bulk.instance(AuditEntry, _values(actor, action, obj, before, after, org_code, object_type, object_id,
                                             current_origin(), _IMPORTING.get()))


def _values(actor, action, obj, before, after, org_code, object_type, object_id, where, history) -> dict:
    """An audit row's fields but its time (the model's default: now)."""
    object_type = object_type or obj._meta.model_name
    return {
        "actor": actor if getattr(actor, "pk", None) else None,
        "actor_name": getattr(actor, "username", "") or "system",
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id if object_id is not None else obj.pk),
        "object_repr": str(obj)[:200],
        "org_code": org_code,
        "changes": diff(before or {}, after or {}),
        "source": where["source"],
        "request_id": where["request_id"],
        "import_batch": history.batch_id if history else None,
        "import_row": history.row_of(obj, object_type) if history else None,
    }


def record(actor, action: str, obj, before: dict | None, after: dict | None, *, org_code: str = "",
           object_type: str | None = None, object_id: str | None = None) -> AuditEntry:
    """Write one audit row for `action` on `obj` with the changed fields."""
    row = entry(actor, action, obj, before, after, org_code=org_code, object_type=object_type, object_id=object_id)
    row.save()
    return row


def record_many(rows: list[AuditEntry]) -> None:
    """Write the rows built by entry() at once (a service that changes many objects in one go). Nothing
    reads an audit row's key back: many rows (an import's pieces) go in without drawing their keys first."""
    bulk.insert(AuditEntry, rows, keys=len(rows) < bulk.BATCH)


def record_all(actor, changes) -> None:
    """An audit row for each (action, obj, before, after, org code) of the iterable `changes`, written
    in pieces, so a batch of 100,000 changes never holds all its rows at once."""
    for piece in pieces(actor, changes):
        write(piece)


class _Values(list):
    """A piece of audit rows as the values COPY takes (pieces())."""


def pieces(actor, changes):
    """record_all()'s rows in pieces of bulk.ROWS_CHUNK, each built when asked for, for write().

    Many rows on PostgreSQL (an import) are built as values, with no model instance each: building
    100,000 AuditEntry objects and preparing their fields again was about 30% of a projects import's
    Python. Both ways write the same rows (core/tests/test_audit_values.py)."""
    changes = iter(changes)
    where, history = current_origin(), _IMPORTING.get()
    while piece := list(itertools.islice(changes, bulk.ROWS_CHUNK)):
        if len(piece) < bulk.BATCH or not bulk.copies():
            yield [entry(actor, action, obj, before, after, org_code=org_code)
                   for action, obj, before, after, org_code in piece]
            continue
        now = timezone.now()  # the piece's one time, as bulk.insert() stamps a batch
        actor_id = actor.pk if getattr(actor, "pk", None) else None
        rows = _Values()
        for action, obj, before, after, org_code in piece:
            v = _values(actor, action, obj, before, after, org_code, None, None, where, history)
            rows.append((now, actor_id, v["actor_name"], action, v["object_type"], v["object_id"], v["object_repr"],
                         org_code, json.dumps(v["changes"]), v["source"], v["request_id"], v["import_batch"],
                         v["import_row"]))
        yield rows


def ahead(actor, changes):
    """pieces() for a writer with time to fill (inside bulk.meanwhile()): built now where the database
    works meanwhile (PostgreSQL), built as they are written elsewhere (one piece alive at a time)."""
    built = pieces(actor, changes)
    return list(built) if bulk.copies() else built


def write(piece: list) -> None:
    """Write a piece of pieces()."""
    if isinstance(piece, _Values):
        bulk.copy_values(AuditEntry, _COPIED, piece)
    else:
        record_many(piece)


# The columns of pieces()'s values, in their order.
_COPIED = ("time", "actor", "actor_name", "action", "object_type", "object_id", "object_repr", "org_code", "changes",
           "source", "request_id", "import_batch", "import_row")


def snapshot_value(value):
    """The form `snapshot()` stores a value in, to compare a new value with a snapshot."""
    return _plain(value)
