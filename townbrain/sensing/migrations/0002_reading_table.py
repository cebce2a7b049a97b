"""The raw readings table, which Django does not manage (see models.Reading).

PostgreSQL: partitioned by month (RANGE on ts), primary key (sensor_id, ts) — it includes the
partition key, as PostgreSQL requires, and makes exact duplicates an ON CONFLICT no-op — and a
BRIN index on ts: readings arrive roughly in time order, so a BRIN index of a few pages answers
time-range scans that a b-tree would need gigabytes for. Partitions are created ahead by the
ingest path and `townbrain sensing maintain` (storage.ensure_partitions); there is no default
partition, so a later partition can always be attached without moving rows.
SQLite (the embedded default): a plain table with the same key.
"""

from django.db import migrations

POSTGRES = [
    """CREATE TABLE sensing_reading (
        sensor_id bigint NOT NULL,
        ts timestamptz NOT NULL,
        value double precision NOT NULL,
        PRIMARY KEY (sensor_id, ts)
    ) PARTITION BY RANGE (ts)""",
    "CREATE INDEX sensing_reading_ts_brin ON sensing_reading USING brin (ts)",
]
SQLITE = [
    """CREATE TABLE sensing_reading (
        sensor_id integer NOT NULL,
        ts datetime NOT NULL,
        value real NOT NULL,
        PRIMARY KEY (sensor_id, ts)
    )""",
    "CREATE INDEX sensing_reading_ts ON sensing_reading (ts)",
]


def create(apps, schema_editor):
    statements = POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE
    for sql in statements:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    schema_editor.execute("DROP TABLE sensing_reading")


class Migration(migrations.Migration):
    dependencies = [("sensing", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
