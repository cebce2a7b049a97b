"""RecordBatch: the one batch shape of the services that record and change records of one model.

A service's records are created and changed for one actor in one transaction by a batch (bulk.one()
is the one-record case — what the service's create/update functions are —, an import's BatchKind the
many):

    check(items)  answers each item, in the order given, as one service call after another would:
                  (record, snapshot before or None, "created" | "updated" | "unchanged"), or the
                  ValidationError / PermissionDenied that refuses it. Nothing is written.
    write()       writes the accepted ones together: the new records in bulk, the changed ones in one
                  UPDATE, an audit row each, then what follows from them (links, derived figures).

An item is (None, fields) for a new record, (record, fields) for a change of a stored one, or
(record, fields, expected version) for a change an editor made from the version they read (a model
with a `version` field: conflicts.Conflict when it moved since; write() raises the version by one).

Checking many items costs no query per item: the stored records the items change are locked and read
once, in primary-key order (two writers lock in the same order, so they cannot deadlock); a change
works on a copy, so the record as read stays to compare and audit against. A natural key (`key()`) is
refused when another record holds it — a stored one, or one this batch created or moved earlier
(core/naturalkeys.py): the stored keys an item could meet are read by `prepare()` for all items at
once, or by `read_keys()` for one record.

A subclass names its `model` (a class attribute, or set in __init__), the fields an item may give
(`accepts`; `changeable` for a change, when fewer) and the fields its audit rows show (`fields`), and
overrides the hooks it needs, each small and per model:

    scope(obj)               the org unit code its permission is checked at and its audit row filed under
    require(obj, action)     the permission ("add" for a new record, "change" before and after a change)
    locked()                 the queryset the changed records are read (and locked) from: related records
                             by prefetch_related (a join would lock their rows too)
    read_changed(ids)        what the changed records need read once besides themselves (counts of children)
    prepare(items)           what the items need read once before they are checked (stored natural keys)
    build(fields)            a new, unsaved record from an item's fields
    assign(obj, fields)      an item's fields set on a copy of a stored record
    clean(obj, before)       normalise and validate (before: the stored record's snapshot, None for a new
                             one); by default the fields and Model.clean(), as full_clean() does
    key(obj), read_keys(obj), clash(obj)
                             the natural key (None: none), the stored keys it could meet, the refusal;
                             by default the key is `key_fields`, its stored keys read by `key_group`
                             (hold_keys(groups) reads those of many groups in one query)
    snapshot(obj, new)       what an audit row shows of it (and what tells a change from no change)
    accepted(obj, held, fields)
                             what an accepted item brings besides the record, held until write() (held:
                             the record as the batch held it before this change; None for a new one)
    write_first(new, changed), audit_changes(new, changed), write_related(new, changed)
                             what is written before the rows (a new parent), their audit rows, and what
                             follows from them (links, a parent's derived figures, with their own audit rows)

`missing` is the refusal of a change whose record was deleted meanwhile; `audit_name` the prefix of
the audit actions (`<audit_name>.create`, `.update`; the model's name when empty); `written` the
columns an UPDATE writes (every column but the key when empty).
"""

import itertools
from copy import copy

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from . import audit, bulk, conflicts
from .naturalkeys import NaturalKeys
from .scope import require
from .services import refuse_unknown


class RecordBatch:
    model = None
    accepts: tuple = ()  # the fields an item may give
    changeable: tuple | None = None  # the fields a change may give (None: `accepts`)
    fields: tuple = ()  # the fields audit rows show
    written: tuple = ()  # the columns a change writes (empty: all but the primary key)
    audit_name = ""  # the audit actions' prefix (empty: the model's name)
    missing = gettext_lazy("This record no longer exists.")
    key_fields: tuple = ()  # the natural key's columns (attnames); empty: none, or key() says
    key_group = ""  # the key column the stored keys are read by (a unit, a parent record)

    def __init__(self, actor):
        self.actor = actor
        self.now: dict = {}  # pk -> the stored record as the batch holds it
        self.original: dict = {}  # pk -> the stored record as read
        self.new: list = []  # records to create, in order
        self.keys = NaturalKeys()
        self.memo: dict = {}  # each field's verdict on a value, for bulk.clean_fields
        self.held_groups: set = set()  # values of key_group whose stored keys are held

    # --- the shape ----------------------------------------------------------------------------------

    def check(self, items) -> list:
        items = list(items)
        ids = sorted({item[0].pk for item in items if item[0] is not None} - self.now.keys())
        if ids:
            for obj in bulk.where_in(self.locked().select_for_update().order_by("pk"), "pk", ids):
                self.now[obj.pk], self.original[obj.pk] = obj, copy(obj)
            self.read_changed(ids)
        self.prepare(items)
        results = []
        for obj, fields, *expected in items:
            try:
                results.append(self._create(fields) if obj is None else self._change(obj.pk, fields, *expected))
            except (ValidationError, PermissionDenied) as exc:
                results.append(exc)
        return results

    def _create(self, fields: dict) -> tuple:
        refuse_unknown(fields, self.accepts)
        obj = self.build(fields)
        self.require(obj, "add")
        self.clean(obj, None)
        self._claim(obj, obj)
        self.new.append(obj)
        self.accepted(obj, None, fields)
        return obj, None, "created"

    def _change(self, pk, fields: dict, expected_version=None) -> tuple:
        refuse_unknown(fields, self.accepts if self.changeable is None else self.changeable)
        obj = self.now.get(pk)
        if obj is None:
            raise ValidationError(self.missing)
        self.require(obj, "change")  # where it is now, read under the lock
        if self.versioned():
            conflicts.expect_version(self.original[pk], expected_version)  # the version as read under the lock
        before = self.snapshot(obj)
        candidate = copy(obj)
        self.assign(candidate, fields)
        self.require(candidate, "change")  # a record moved to another unit: the right there too
        self.clean(candidate, before)
        if self.snapshot(candidate) == before:
            return obj, before, "unchanged"
        self._claim(candidate, pk)
        self.now[pk] = candidate
        self.accepted(candidate, obj, fields)
        return candidate, before, "updated"

    def _claim(self, obj, holder) -> None:
        """Refuse the natural key another record holds (stored, or taken in this batch); else take it.
        `holder`: the stored record's id, or the new record itself."""
        key = self.key(obj)
        if key is None:
            return
        self.read_keys(obj)
        if not self.keys.take(key, holder):
            raise self.clash(obj)

    def write(self) -> None:
        """Write what the batch holds (once): new and changed records, an audit row each, what follows them."""
        changed = [o for pk, o in self.now.items() if self.snapshot(o) != self.snapshot(self.original[pk])]
        new, self.new = self.new, []
        if not changed and not new:
            return
        written = self.written or tuple(f.name for f in self.model._meta.concrete_fields if not f.primary_key)
        if self.versioned():
            for o in changed:
                o.version = self.original[o.pk].version + 1
            written = tuple(dict.fromkeys((*written, "version")))
        with transaction.atomic(savepoint=False):  # one unit with the caller's transaction, if any
            self.write_first(new, changed)
            if new:
                bulk.insert(self.model, new)
            if changed:
                bulk.update(self.model, changed, written)
            self.audit_changes(new, changed)
            self.write_related(new, changed)  # after the records' own audit rows: what it audits follows from them
        for o in changed:
            self.original[o.pk] = copy(o)

    # --- hooks --------------------------------------------------------------------------------------

    def versioned(self) -> bool:
        return any(f.name == "version" for f in self.model._meta.concrete_fields)

    def scope(self, obj) -> str:
        raise NotImplementedError

    def require(self, obj, action: str) -> None:
        require(self.actor, action, self.scope(obj) or "")

    def locked(self):
        return self.model.objects.all()

    def read_changed(self, ids) -> None:
        """Read once what the changed records (`ids`, now in self.now) need besides themselves."""

    def prepare(self, items) -> None:
        """Read once what the items need before they are checked (e.g. the stored keys they could meet)."""

    def build(self, fields: dict):
        return self.model(**fields)

    def assign(self, obj, fields: dict) -> None:
        for name, value in fields.items():
            setattr(obj, name, value)

    def clean(self, obj, before: dict | None) -> None:
        """Normalise and validate `obj`; by default its fields and Model.clean(), as full_clean() without
        the unique checks (the natural keys are the batch's): each field's verdict on a value is kept for
        the batch, and a related record given loaded from the database is not read again (the database's
        foreign key still holds)."""
        bulk.clean_fields(obj, exclude=loaded_relations(obj), memo=self.memo)

    def key(self, obj) -> tuple | None:
        return tuple(getattr(obj, name) for name in self.key_fields) if self.key_fields else None

    def read_keys(self, obj) -> None:
        """Hold (self.keys.add_stored) the stored keys `obj` could meet, unless already held."""
        if self.key_group:
            self.hold_keys({getattr(obj, self.key_group)})

    def hold_keys(self, groups) -> None:
        """Hold the keys of the stored records of these groups (values of key_group) not held yet: one
        query for all (prepare() gives it the groups of all the items)."""
        groups = {g for g in groups if g is not None} - self.held_groups
        if not groups:
            return
        stored = self.model.objects.values_list("pk", *self.key_fields)
        for pk, *key in bulk.where_in(stored, self.key_group, groups):
            self.keys.add_stored(tuple(key), pk)
        self.held_groups |= groups

    def clash(self, obj) -> ValidationError:
        raise NotImplementedError

    def snapshot(self, obj, new: bool = False) -> dict:
        """What an audit row shows of `obj` (`new`: of a record being created)."""
        return audit.snapshot(obj, self.fields)

    def accepted(self, obj, held, fields: dict) -> None:
        """An item accepted (created, or changed from `held`): what it brings besides the record."""

    def action(self, verb: str) -> str:
        return f"{self.audit_name or self.model._meta.model_name}.{verb}"

    def write_first(self, new: list, changed: list) -> None:
        """Write what the new and changed rows need written before them."""

    def write_related(self, new: list, changed: list) -> None:
        """Write what follows the new and changed rows (links, derived figures)."""

    def audit_changes(self, new: list, changed: list) -> None:
        """An audit row for each new and changed record."""
        audit.record_all(self.actor, itertools.chain(
            ((self.action("create"), o, {}, self.snapshot(o, new=True), self.scope(o)) for o in new),
            ((self.action("update"), o, self.snapshot(self.original[o.pk]), self.snapshot(o), self.scope(o))
             for o in changed)))


def loaded_relations(obj) -> list[str]:
    """The foreign keys of `obj` whose related record it holds as read from the database (or saved)."""
    loaded = []
    for f in obj._meta.concrete_fields:
        if f.is_relation and f.is_cached(obj):
            related = f.get_cached_value(obj)
            if related is not None and not related._state.adding:
                loaded.append(f.name)
    return loaded
