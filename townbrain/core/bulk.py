"""Inserting many rows at once, for the service functions that write in bulk (imports).

On PostgreSQL the rows go in by COPY, several times faster than multi-row INSERTs; primary keys
the rows need (to be referred to by audit rows and import changes) are drawn first from the
table's sequence in one query. Elsewhere (SQLite) Django's bulk_create does the same job.
Callers are inside their own transaction: this writes, it does not commit.
"""

from django.db import connection

BATCH = 1000
PLAIN = {"AutoField", "BigAutoField", "CharField", "TextField", "IntegerField", "BigIntegerField",
         "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "BooleanField", "DateField",
         "DecimalField", "ForeignKey", "SlugField"}


def insert(model, objects: list) -> list:
    """Insert unsaved `objects` of `model`; sets their primary keys; returns them."""
    if not objects:
        return objects
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objects, batch_size=BATCH)
    meta = model._meta
    pk = meta.pk
    need = [obj for obj in objects if obj.pk is None]
    if need and pk.get_internal_type() in ("AutoField", "BigAutoField"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [meta.db_table, pk.column, len(need)])
            for obj, (value,) in zip(need, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
    fields = list(meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # COPY takes Python's str, int, Decimal, date and datetime as they are; other fields (JSON)
    # are prepared by Django. pre_save fills auto_now fields as save() and bulk_create() would.
    plain = [f.get_internal_type() in PLAIN and not getattr(f, "auto_now", False) for f in fields]
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row([getattr(obj, f.attname) if simple else f.get_db_prep_save(f.pre_save(obj, True), connection)
                                for f, simple in zip(fields, plain, strict=True)])
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objects
