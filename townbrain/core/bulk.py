"""Inserting many rows at once, for the service functions that write in bulk (imports).

instance() and clean_fields() are Django's Model(**fields) and Model.clean_fields() for such
callers, made cheap per row: an import of 100,000 rows repeats the same towns, dates and
statuses, so each field's checks run once per distinct value.

On PostgreSQL the rows go in by COPY, several times faster than multi-row INSERTs; primary keys
the rows need (to be referred to by audit rows and import changes) are drawn first from the
table's sequence in one query. Elsewhere (SQLite) Django's bulk_create does the same job.
update() saves changed fields of many rows the same way (UPDATE … FROM a COPY).
Callers are inside their own transaction: this writes, it does not commit.

The other end is the one-record write (a monthly report saved from its form is a one-item batch):
there the ORM compiling each statement, not the database, took most of the time — 0.5–0.9 ms of
Python per query, and Django's bulk_update() of one row, a CASE per field, 1.2–1.8 ms where a plain
UPDATE costs 0.15 ms. So a few rows are written (insert(), update() below FEW rows), and fetch()
reads rows, by SQL made once per model and shape, the values prepared and converted by the fields
exactly as the ORM prepares and converts them.
"""

import contextvars
import functools
import gc
import operator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction
from django.db.models import F, Lookup, signals
from django.db.models.base import ModelState
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone

BATCH = 1000
FEW = 20  # fewer rows than this go in by one INSERT (COPY costs a round trip more: the keys first)
IN_CHUNK = 5000  # values per IN (...) where there are no arrays (SQLite takes a limited number of parameters)
MEMO_MAX = 10_000  # distinct values remembered per field (or column) in a batch
ROWS_CHUNK = 10_000  # rows built and written together, so a batch's objects need not all be alive at once
_UNCHECKED = (None, None)
_HASHABLE = frozenset({str, int, bool, float, date, datetime, type(None)})  # values whose (type, value) is the key
PLAIN = {"AutoField", "BigAutoField", "CharField", "TextField", "IntegerField", "BigIntegerField",
         "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "BooleanField", "DateField",
         "DecimalField", "ForeignKey", "SlugField"}


def insert(model, objects: list, keys: bool = True, staged: list | None = None) -> list:
    """Insert unsaved `objects` of `model`; sets their primary keys; returns them. `keys=False`: nobody
    reads the new rows' keys (audit rows): the COPY leaves them to the database instead of drawing them
    first (a round trip of as many numbers as rows), and the objects keep none. `staged`: the rows
    stage() built for these objects."""
    if not objects:
        return objects
    if len(objects) < FEW and _insert_few(model, objects):
        return objects
    if not copied(objects):
        return model.objects.bulk_create(objects, batch_size=BATCH)  # one INSERT … RETURNING for a few rows
    meta = model._meta
    pk = meta.pk
    if staged is None and not keys and all(obj.pk is None for obj in objects) and _auto(model):
        _stamp(model, objects, auto_now_add=True)
        with connection.cursor() as cursor:
            _copy(cursor, meta.db_table, [f for f in meta.concrete_fields if f is not pk], objects)
        return objects
    if staged is None:
        draw_keys(model, objects)
        staged = stage(model, objects)
    with connection.cursor() as cursor:
        copy_rows(cursor, meta.db_table, [f.column for f in meta.concrete_fields], staged)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objects


def _auto(model) -> bool:
    return model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField")


def draw_keys(model, objects: list) -> None:
    """Give `objects` without a primary key one from the table's sequence (PostgreSQL; one query)."""
    need = [obj for obj in objects if obj.pk is None]
    if not need or connection.vendor != "postgresql" or not _auto(model):
        return
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(need)])
        for obj, (value,) in zip(need, cursor.fetchall(), strict=True):
            setattr(obj, meta.pk.attname, value)


def copied(objects: list) -> bool:
    """Whether insert() COPYs `objects` (PostgreSQL, not a few rows)."""
    return copies() and len(objects) >= FEW


def stage(model, objects: list) -> list:
    """insert()'s COPY rows of `objects` (copied(); their keys drawn), built now without the database:
    a writer builds them while the database works on something else (bulk.meanwhile())."""
    _stamp(model, objects, auto_now_add=True)
    return list(_rows(list(model._meta.concrete_fields), objects))


def update(model, objects: list, names) -> None:
    """Save fields `names` of saved `objects` of `model` (auto_now fields get the batch's time):
    UPDATE … FROM a COPY on PostgreSQL for many rows, Django's bulk_update otherwise."""
    if not objects:
        return
    meta = model._meta
    names = [*names, *(f.name for f in _stamp(model, objects) if f.name not in names)]
    if len(objects) < FEW and _update_few(model, objects, names):
        return
    if connection.vendor != "postgresql" or len(objects) <= BATCH:
        model.objects.bulk_update(objects, names, batch_size=BATCH)
        return
    fields = [meta.pk, *(meta.get_field(name) for name in names)]
    table, staged = connection.ops.quote_name(meta.db_table), f"tb_update_{meta.db_table}"
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {staged} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA")
        _copy(cursor, staged, fields, objects)
        pk = connection.ops.quote_name(meta.pk.column)
        assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = s.{connection.ops.quote_name(f.column)}"
                                for f in fields[1:])
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {staged} s WHERE {table}.{pk} = s.{pk}")
        cursor.execute(f"DROP TABLE {staged}")


def _simple(fields) -> bool:
    """Fields whose values go in as a plain %s placeholder (no get_placeholder(): e.g. no geometry)."""
    return not any(hasattr(f, "get_placeholder") for f in fields)


def _insert_few(model, objects: list) -> bool:
    """insert() of a few rows as one INSERT … RETURNING made here, not by bulk_create()'s compiler
    (the audit rows of a one-report save). The values are what bulk_create() sends: each field's
    pre_save() then get_db_prep_save(). False (nothing written) for what it does not cover: a
    primary key given for some rows only, database defaults or expressions as values, columns
    the database fills in besides the key, a model whose fields span tables; bulk_create() deals
    with those."""
    meta, alias = model._meta, router.db_for_write(model)
    db = connections[alias]
    if meta.parents:  # columns in more than one table (multi-table inheritance)
        return False
    pk = meta.pk
    keyed = [obj.pk is not None for obj in objects]
    if any(keyed) and not all(keyed):
        return False
    returning = [] if all(keyed) else [pk]
    if (returning and (list(meta.db_returning_fields) != returning
                       or not db.features.can_return_rows_from_bulk_insert)):
        return False
    fields = [f for f in meta.concrete_fields if f is not pk or not returning]
    if not _simple(fields):
        return False
    rows = []
    for obj in objects:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        row = []
        for f in fields:
            value = f.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):  # DatabaseDefault, F(), Now() …
                return False
            row.append(f.get_db_prep_save(value, db))
        rows.append(row)
    sql = _insert_sql(model, len(objects), bool(returning), db)
    with db.cursor() as cursor:
        cursor.execute(sql, [v for row in rows for v in row])
        if returning:
            for obj, (value,) in zip(objects, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = alias
    return True


@functools.lru_cache(maxsize=256)
def _insert_sql(model, n: int, returning: bool, db) -> str:
    meta, quote = model._meta, db.ops.quote_name
    columns = [f.column for f in meta.concrete_fields if not (returning and f is meta.pk)]
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES {', '.join([row] * n)}")
    return sql + (f" RETURNING {quote(meta.pk.column)}" if returning else "")


def _update_few(model, objects: list, names) -> bool:
    """update() of a few rows, one `UPDATE … SET … WHERE pk = %s` each (sent together on
    PostgreSQL: psycopg pipelines executemany), instead of bulk_update()'s CASE per field and row.
    The values are bulk_update()'s: get_db_prep_save() of each field's value. False (nothing
    written) when a value is an expression or the fields span tables; bulk_update() writes those."""
    meta, alias = model._meta, router.db_for_write(model)
    db = connections[alias]
    fields = [meta.get_field(name) for name in names]
    if any(not f.concrete or f.many_to_many or f.primary_key for f in fields):
        raise ValueError("update() can only write concrete fields other than the primary key.")
    if meta.parents or not _simple(fields):  # columns in more than one table, or not a plain %s
        return False
    rows = []
    for obj in objects:
        if obj.pk is None:
            raise ValueError("All update() objects must have a primary key set.")
        obj._prepare_related_fields_for_save(operation_name="bulk_update", fields=fields)
        row = []
        for f in fields:
            value = getattr(obj, f.attname)
            if hasattr(value, "resolve_expression"):
                return False
            row.append(f.get_db_prep_save(value, db))
        row.append(meta.pk.get_db_prep_value(obj.pk, db))
        rows.append(row)
    sql = _update_sql(model, tuple(names), db)
    with db.cursor() as cursor:
        if len(rows) == 1:
            cursor.execute(sql, rows[0])
        else:
            cursor.executemany(sql, rows)
    return True


@functools.lru_cache(maxsize=256)
def _update_sql(model, names: tuple, db) -> str:
    meta, quote = model._meta, db.ops.quote_name
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in names)
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"


def fetch(model, field: str, values, *, where=None, order_by=(), for_update=False, names=None, defer=()) -> list:
    """The rows of `model` whose `field` is one of `values` (and, given `where` {field: value or a
    set, list or tuple of values}, matching those too), as instances, or given `names` as tuples of
    those fields' values: where_in() for a write path that reads a few rows per call, its SQL made
    once per shape, the values converted as the ORM converts them. `for_update` locks the rows on
    PostgreSQL (SQLite has no row locks: its writer holds the database). `defer`: fields the
    instances load only when read, as QuerySet.defer() (timestamps a writer never reads cost the
    most to convert)."""
    values = list(dict.fromkeys(values))
    if not values:
        return []
    alias = router.db_for_write(model) if for_update else router.db_for_read(model)
    db = connections[alias]
    as_tuples = names is not None
    loaded = [f for f in model._meta.concrete_fields if f.name not in defer]
    names = tuple(names) if as_tuples else tuple(f.name for f in loaded)
    head, tail, converters = _fetch_plan(model, tuple(order_by), for_update, names, db)
    also, also_params = [], []
    for name, wanted in (where or {}).items():
        sql, params = _condition(model, name, wanted, db)
        also.append(sql)
        also_params.extend(params)
    rows = []
    with db.cursor() as cursor:
        for piece in ([values] if db.vendor == "postgresql" else pieces(values, IN_CHUNK)):
            sql, params = _condition(model, field, piece, db)
            cursor.execute(" AND ".join([head + sql, *also]) + tail, [*params, *also_params])
            rows.extend(cursor.fetchall())
    if converters:
        rows = [list(row) for row in rows]
        for row in rows:
            for i, convert, expression in converters:
                for fn in convert:
                    row[i] = fn(row[i], expression, db)
    if as_tuples:
        return [tuple(row) for row in rows]
    attnames = [f.attname for f in loaded]
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return [model.from_db(alias, attnames, row) for row in rows]
    return [_loaded(model, alias, attnames, row) for row in rows]


def _loaded(model, alias, attnames, row):
    """model.from_db(alias, attnames, row) without __init__, as instance() builds a new object (a
    project's year of reports is read on every save of one); a field left out is deferred."""
    obj = model.__new__(model)
    obj._state = state = ModelState()
    state.adding, state.db = False, alias
    obj.__dict__.update(zip(attnames, row, strict=True))
    return obj


def _field(meta, name: str):
    return meta.pk if name == "pk" else meta.get_field(name)


def _condition(model, name: str, wanted, db) -> tuple[str, list]:
    """`column = %s`, or for a collection `column = ANY(%s)` (one array, PostgreSQL) / `column IN (…)`."""
    meta = model._meta
    f = _field(meta, name)
    column = f"{db.ops.quote_name(meta.db_table)}.{db.ops.quote_name(f.column)}"
    if not isinstance(wanted, list | tuple | set | frozenset):
        return f"{column} = %s", [f.get_db_prep_value(wanted, db)]
    prepared = [f.get_db_prep_value(v, db) for v in wanted]
    if db.vendor == "postgresql":
        return f"{column} = ANY(%s)", [prepared]
    return f"{column} IN ({', '.join(['%s'] * len(prepared))})" if prepared else "1 = 0", prepared


@functools.lru_cache(maxsize=256)
def _fetch_plan(model, order_by, for_update, names, db) -> tuple[str, str, list]:
    """("SELECT … WHERE ", " ORDER BY … FOR UPDATE", [(position, converters, column)]): the converters as
    the ORM's compiler gets them (SQLCompiler.get_converters); per connection, whose converters they are."""
    meta, quote = model._meta, db.ops.quote_name
    table = quote(meta.db_table)
    fields = [_field(meta, n) for n in names]
    head = f"SELECT {', '.join(f'{table}.{quote(f.column)}' for f in fields)} FROM {table} WHERE "
    tail = ""
    if order_by:
        tail += " ORDER BY " + ", ".join(f"{table}.{quote(_field(meta, n).column)}" for n in order_by)
    if for_update and db.features.has_select_for_update:
        tail += " FOR UPDATE"
    converters = []
    for i, f in enumerate(fields):
        col = f.get_col(meta.db_table)
        convert = db.ops.get_db_converters(col) + col.get_db_converters(db)
        if convert:
            converters.append((i, convert, col))
    return head, tail, converters


def _stamp(model, objects, auto_now_add=False) -> list:
    """Give auto_now (and, for new rows, auto_now_add) fields the batch's one time, as pre_save()
    would give each row its own; returns those fields."""
    now = timezone.now()
    stamped = [f for f in model._meta.concrete_fields
               if getattr(f, "auto_now", False) or (auto_now_add and getattr(f, "auto_now_add", False))]
    for f in stamped:
        for obj in objects:
            setattr(obj, f.attname, now)
    return stamped


def _copy(cursor, table: str, fields, objects) -> None:
    """COPY the `fields` of `objects` into `table`."""
    copy_rows(cursor, table, [f.column for f in fields], _rows(fields, objects))


def _rows(fields, objects):
    """The values of `fields` of each of `objects`, as COPY takes them: Python's str, int, Decimal, date
    and aware datetime as they are; other values (JSON, a naive datetime) prepared by Django."""
    read = operator.attrgetter(*(f.attname for f in fields))
    one = len(fields) == 1  # attrgetter of one name gives the value, not a tuple
    prepare = [(i, f, f.get_internal_type() == "DateTimeField") for i, f in enumerate(fields)
               if f.get_internal_type() not in PLAIN]
    for obj in objects:
        row = [read(obj)] if one else list(read(obj))
        for i, f, is_time in prepare:
            if not (is_time and (row[i] is None or row[i].tzinfo is not None)):
                row[i] = f.get_db_prep_save(row[i], connection)
        yield row


def copy_rows(cursor, table: str, columns, rows) -> None:
    """COPY `rows` (values as COPY takes them) into `columns` of `table` (psycopg holds the connection for the
    whole COPY: a statement meanwhile() runs waits for its end)."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def copies() -> bool:
    """Whether many rows go in by COPY here (PostgreSQL)."""
    return connection.vendor == "postgresql"


def copy_values(model, names, rows) -> None:
    """COPY `rows` of values ready for the database (str, int, Decimal, date, aware datetime, JSON as
    text), in the order of the fields `names`, into `model`'s table (PostgreSQL): for a writer that
    builds many rows as values, not as model instances."""
    meta = model._meta
    with connection.cursor() as cursor:
        copy_rows(cursor, meta.db_table, [meta.get_field(name).column for name in names], rows)


_MEANWHILE: contextvars.ContextVar["_Background | None"] = contextvars.ContextVar("townbrain_meanwhile", default=None)


@contextmanager
def meanwhile():
    """Inside the block, statements given to later() run on this transaction's connection in a thread
    of their own while the caller goes on in Python; the block's end waits for them and raises their
    error. The thread only waits for the server (no Python work of its own to contend for the GIL
    with), and psycopg serialises a connection's users: a query or COPY the caller sends meanwhile
    waits its turn. An import's roll-up cells (seconds of the server's work) are added up while its
    audit rows are built. A block that gives later() nothing (a one-report save) starts no thread."""
    background = _Background()
    token = _MEANWHILE.set(background)
    try:
        yield
    except BaseException as exc:  # a statement that failed in the background is the cause, not what followed it
        failed = background.wait()
        if failed is not None:
            raise failed from exc
        raise
    finally:
        _MEANWHILE.reset(token)
    failed = background.wait()
    if failed is not None:
        raise failed


class _Background:
    """meanwhile()'s thread, started by its first statement."""

    def __init__(self):
        self.db, self.pool, self.futures = connections[DEFAULT_DB_ALIAS], None, []

    def run(self, sql: str) -> None:
        if self.pool is None:
            self.db.inc_thread_sharing()
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="townbrain-meanwhile")
        self.futures.append(self.pool.submit(_run, self.db, sql))  # one after another, in order

    def wait(self):
        """Wait for every statement; the first error."""
        if self.pool is None:
            return None
        self.pool.shutdown(wait=True)
        self.pool = None
        self.db.dec_thread_sharing()
        return next((f.exception() for f in self.futures if f.exception() is not None), None)


def later(sql: str) -> None:
    """Run `sql` (statements without parameters, one round trip) on the default connection: now, or in
    the background inside meanwhile()."""
    background = _MEANWHILE.get()
    if background is None:
        _run(connections[DEFAULT_DB_ALIAS], sql)
    else:
        background.run(sql)


def _run(db, sql: str) -> None:
    with db.cursor() as cursor:
        cursor.execute(sql)


def one(batch, item):
    """The one-record case of a service's batch (check([item]), then write()) in one transaction:
    the checked object, or the error that refused it raised."""
    with transaction.atomic():
        (result,) = batch.check([item])
        if isinstance(result, Exception):
            raise result
        batch.write()
    return result[0]


def every(batch, items) -> list:
    """Many records through a service's batch that must all hold (a loader, a test): the checked
    objects, or the first refusal raised with nothing written."""
    with transaction.atomic():
        results = batch.check(items)
        refused = next((r for r in results if isinstance(r, Exception)), None)
        if refused is not None:
            raise refused
        batch.write()
    return [r[0] for r in results]


def instance(model, fields: dict):
    """model(**fields) for a bulk writer: the values set as Model.__init__ sets positional ones (as
    for rows read from the database, and as unpickling does without __init__ at all), several
    times faster than keyword arguments. Related objects given as instances are kept in the new
    object's cache, as assigning them would. A model with pre_init/post_init receivers is built
    through its __init__, so they still run."""
    values, related = {}, []
    for f, target, default in _instance_plan(model):
        if f.name not in fields:
            values[f.attname] = default() if callable(default) else default
            continue
        value = fields[f.name]
        if target and value is not None:
            related.append((f, value))
            value = getattr(value, target)
        values[f.attname] = value
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        obj = model(**values)
    else:
        obj = model.__new__(model)
        obj._state = ModelState()
        obj.__dict__.update(values)
    for f, value in related:
        f.set_cached_value(obj, value)
    return obj


@functools.cache
def _instance_plan(model) -> tuple:
    """(field, the related key's attname or None, its default) of `model`'s fields. A default that is the
    same object on every call (a constant, None, '') is asked once: an import's 100,000 rows leave most
    fields at their default; a callable one (a time, a database default) is asked per object."""
    return tuple((f, f.target_field.attname if f.is_relation else None, _default(f)) for f in model._meta.concrete_fields)


def _default(f):
    if (f.has_default() and callable(f.default)) or (not f.has_default() and f.has_db_default()):
        return f.get_default  # a new value each time
    value = f.get_default()
    return f.get_default if callable(value) else value


def memo_key(value):
    """What remembers a verdict on `value`: its type and value (a Decimal's exponent too: 1.000
    has three decimal places, 1 none, though they are equal); None for an unhashable value."""
    cls = value.__class__
    if cls in _HASHABLE:  # most cells of a sheet: no need to try hash()
        return (cls, value)
    key = (cls, value.as_tuple() if isinstance(value, Decimal) else value)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def memo_keys(values: list) -> list:
    """memo_key() of each of `values` (a column of a sheet), an unhashable value given a key of its own:
    a column of common values is keyed without a call per value."""
    if set(map(type, values)) <= _HASHABLE:
        return list(zip(map(type, values), values, strict=True))
    return [key if (key := memo_key(value)) is not None else _Own() for value in values]


class _Own:
    """The key of one unhashable value: equal to no other."""

    __slots__ = ()


def clean_fields(obj, exclude=(), memo: dict | None = None) -> None:
    """obj.clean_fields(exclude) + obj.clean(), with each field's verdict on a value remembered in
    `memo` (one dict for the rows of one model in a batch; up to MEMO_MAX values a field, so a
    column of unique codes does not keep them all). Mirrors Django's Model.clean_fields()."""
    if memo is None:
        memo = {}
    plan = memo.get(obj.__class__)  # each field with its verdicts, found once for the batch
    if plan is None:
        plan = memo[obj.__class__] = tuple((f, name, attname, memo.setdefault(attname, {}))
                                           for f, name, attname in _cleaned_fields(obj.__class__))
    errors = {}
    for f, name, attname, seen in plan:
        if name in exclude:
            continue
        raw = getattr(obj, attname)
        cls = raw.__class__
        key = (cls, raw) if cls in _HASHABLE else memo_key(raw)  # memo_key() without a call for most values
        done = seen.get(key) if key is not None else None
        if done is None:
            if (f.blank and raw in f.empty_values) or isinstance(raw, DatabaseDefault):
                done = _UNCHECKED  # as Django: a blank value of a field that may be blank is not checked
            else:
                try:
                    done = (True, f.clean(raw, obj))
                except ValidationError as e:
                    done = (False, e.error_list)
            if key is not None and len(seen) < MEMO_MAX:
                seen[key] = done
        if done is _UNCHECKED:
            continue
        ok, value = done
        if not ok:
            errors[name] = value
        elif value is not raw:
            setattr(obj, attname, value)
    try:
        obj.clean()
    except ValidationError as e:
        errors = e.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


@functools.cache
def _cleaned_fields(model) -> tuple:
    """(field, name, attname) of the fields Model.clean_fields() checks (not the generated ones)."""
    return tuple((f, f.name, f.attname) for f in model._meta.fields if not f.generated)


class _AnyOf(Lookup):
    """`column = ANY(%s)` with the values as one array parameter (PostgreSQL): a query with thousands
    of placeholders costs more to build and parse than to run."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        return f"{lhs} = ANY(%s)", [*params, [field.get_db_prep_value(v, connection) for v in self.rhs]]


def where_in(queryset, field: str, values):
    """The rows of `queryset` whose `field` is one of `values` (thousands of them: codes read from a file)."""
    values = list(dict.fromkeys(values))
    if not values:
        return
    if connection.vendor == "postgresql":
        yield from queryset.filter(_AnyOf(F(field), values))
        return
    for piece in pieces(values, IN_CHUNK):
        yield from queryset.filter(**{f"{field}__in": piece})


def pieces(items: list, size: int | None = None):
    """`items` in slices of `size` (ROWS_CHUNK when not given), for writing or asking in pieces."""
    size = size or ROWS_CHUNK
    for start in range(0, len(items), size):
        yield items[start:start + size]


@contextmanager
def many_objects():
    """Python's cyclic garbage collector paused while a bulk write holds its rows: with 100,000
    rows of objects alive, each collection walks them all (a third of an import's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
