"""The raw readings table and its aggregates: partitions, inserts without duplicates, upserts, retention.

Called only from `ingest.py` (the write path) and the maintenance command. Plain SQL on purpose:
one INSERT … ON CONFLICT DO NOTHING RETURNING tells which readings were new (stored) and which
were exact duplicates of (sensor, ts) — on PostgreSQL the whole batch as arrays through unnest()
in one round trip, on SQLite a multi-row VALUES per thousand readings; the ORM has no such statement.
"""

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import retention_days

log = logging.getLogger(__name__)
CHUNK = 1000
MONTHS_AHEAD = 2  # partitions made ahead of today by `maintain`
_known_partitions: set[str] = set()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# --- partitions (PostgreSQL) --------------------------------------------------------------------

def month_of(ts: dt.datetime) -> dt.date:
    ts = ts.astimezone(dt.UTC)
    return dt.date(ts.year, ts.month, 1)


def _next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"sensing_reading_p{month:%Y%m}"


def ensure_partitions(months) -> list[str]:
    """Create the monthly partitions (UTC months) that are missing; a no-op on SQLite."""
    if not is_postgres():
        return []
    made = []
    for month in sorted(set(months)):
        name = partition_name(month)
        if name in _known_partitions:
            continue
        upper = _next_month(month)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF sensing_reading "  # noqa: S608 - from dates only
                f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00+00') TO ('{upper:%Y-%m-%d} 00:00+00')")
        # Remembered once the transaction that made it commits: a rolled-back batch (or test) takes
        # the partition with it, and a stale entry would refuse every later reading of that month.
        transaction.on_commit(lambda name=name: _known_partitions.add(name))
        made.append(name)
    return made


def forget_partitions() -> None:
    """Forget what is known (tests whose transactions roll back; a partition dropped elsewhere)."""
    _known_partitions.clear()


def partitions() -> list[tuple[str, dt.date]]:
    """(name, month) of every partition, oldest first (PostgreSQL)."""
    if not is_postgres():
        return []
    with connection.cursor() as cursor:
        cursor.execute("""SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                          JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sensing_reading'""")
        names = sorted(r[0] for r in cursor.fetchall())
    out = []
    for name in names:
        stamp = name.rsplit("_p", 1)[-1]
        if len(stamp) == 6 and stamp.isdigit():
            out.append((name, dt.date(int(stamp[:4]), int(stamp[4:]), 1)))
    return out


def cutoff(now=None) -> dt.datetime | None:
    days = retention_days()
    if not days:
        return None
    return (now or timezone.now()) - dt.timedelta(days=days)


def drop_old(now=None) -> dict:
    """Retention: drop raw readings older than the setting — whole partitions on PostgreSQL (a month
    goes once all of it is past the cut-off), rows on SQLite. Aggregates are never touched."""
    limit = cutoff(now)
    if limit is None:
        return {"dropped_partitions": [], "deleted_rows": 0}
    if is_postgres():
        dropped = []
        for name, month in partitions():
            if dt.datetime.combine(_next_month(month), dt.time(), dt.UTC) <= limit:
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE {name}")  # noqa: S608 - a name read from pg_class
                _known_partitions.discard(name)
                dropped.append(name)
        return {"dropped_partitions": dropped, "deleted_rows": 0}
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sensing_reading WHERE ts < %s", [connection.ops.adapt_datetimefield_value(limit)])
        return {"dropped_partitions": [], "deleted_rows": cursor.rowcount}


def maintain(now=None) -> dict:
    """Partitions for this month and the next ones, and retention; run daily (cron) or by `townbrain mqtt`."""
    now = now or timezone.now()
    month = month_of(now)
    months = [month]
    for _i in range(MONTHS_AHEAD):
        months.append(_next_month(months[-1]))
    with transaction.atomic():
        made = ensure_partitions(months)
        dropped = drop_old(now)
    return {"created_partitions": made, **dropped}


# --- inserts --------------------------------------------------------------------------------------

def insert(rows: list[tuple[int, dt.datetime, float]]) -> list[tuple[int, dt.datetime, float]]:
    """Insert readings (sensor_id, aware ts, value); return those that were new. Exact duplicates of a
    stored (sensor, ts) are dropped by the primary key; callers drop duplicates inside the batch."""
    if not rows:
        return []
    ensure_partitions({month_of(ts) for _s, ts, _v in rows})
    if is_postgres():
        return _insert_arrays(rows)
    adapt = connection.ops.adapt_datetimefield_value
    new = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            keyed = {(s, _naive_utc(ts)): (s, ts, v) for s, ts, v in chunk}
            params = []
            for _s, ts, v in keyed.values():
                params.extend((_s, adapt(ts), v))
            values = ",".join(["(%s, %s, %s)"] * len(keyed))
            cursor.execute(f"INSERT INTO sensing_reading (sensor_id, ts, value) VALUES {values} "  # noqa: S608
                           "ON CONFLICT (sensor_id, ts) DO NOTHING RETURNING sensor_id, ts", params)
            for s, ts_db in cursor.fetchall():
                new.append(keyed[(s, _naive_utc(ts_db))])
    return new


def insert_aggregated(rows: list[tuple[int, dt.datetime, float]]) -> list[tuple[int, dt.datetime, float]]:
    """`insert` and `upsert_aggregates` of what was new: on PostgreSQL one statement (the hourly and daily
    figures summed by the server from the rows the insert returns, in a data-modifying CTE); elsewhere
    the two in turn."""
    if not rows:
        return []
    if not is_postgres():
        new = insert(rows)
        upsert_aggregates(new)
        return new
    ensure_partitions({month_of(ts) for _s, ts, _v in rows})
    return _insert_arrays(rows, aggregate=True)


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
QUARTER = dt.timedelta(minutes=15)


# The aggregates of the rows an INSERT … RETURNING gave (`new`): the hour in UTC, the day in the local zone,
# grouped and upserted in key order (concurrent writers lock the rows in the same order).
_AGGREGATE_NEW = (
    ", buckets AS ("
    "SELECT sensor_id, 'h' AS grain, date_trunc('hour', ts, 'UTC') AS bucket, ts, value FROM new "
    "UNION ALL SELECT sensor_id, 'd', date_trunc('day', ts, %s), ts, value FROM new), "
    "agg AS (INSERT INTO sensing_aggregate AS t "
    '(sensor_id, grain, bucket, "count", "sum", "min", "max", last_ts, "last") '
    "SELECT sensor_id, grain, bucket, count(*), sum(value), min(value), max(value), max(ts), "
    "(array_agg(value ORDER BY ts DESC))[1] FROM buckets GROUP BY sensor_id, grain, bucket "
    "ORDER BY sensor_id, grain, bucket "
    'ON CONFLICT (sensor_id, grain, bucket) DO UPDATE SET "count" = t."count" + excluded."count", '
    '"sum" = t."sum" + excluded."sum", "min" = LEAST(t."min", excluded."min"), '
    '"max" = GREATEST(t."max", excluded."max"), '
    '"last" = CASE WHEN excluded.last_ts >= t.last_ts THEN excluded."last" ELSE t."last" END, '
    "last_ts = GREATEST(t.last_ts, excluded.last_ts)) ")


def _insert_arrays(rows, aggregate: bool = False) -> list[tuple[int, dt.datetime, float]]:
    """PostgreSQL: the whole batch as three arrays through unnest() — one statement and one round trip
    whatever its size, instead of a thousand-row VALUES list whose placeholders the driver must parse.
    Times travel as integer microseconds since the epoch both ways (exact, and far cheaper to convert
    than timestamps). `aggregate`: the same statement upserts the new rows' hourly and daily figures."""
    keyed = {(s, (ts - EPOCH) // MICROSECOND): (s, ts, v) for s, ts, v in rows}
    sensors, micros, values = [], [], []
    for (s, us), (_s, _ts, v) in keyed.items():
        sensors.append(s)
        micros.append(us)
        values.append(v)
    sensors, micros, values = int_array(sensors), int_array(micros), float_array(values)
    insert_new = ("INSERT INTO sensing_reading (sensor_id, ts, value) "
                  "SELECT s, timestamptz 'epoch' + u * interval '1 microsecond', v "
                  "FROM unnest(%s::bigint[], %s::bigint[], %s::double precision[]) AS x(s, u, v) "
                  "ON CONFLICT (sensor_id, ts) DO NOTHING ")
    with connection.cursor() as cursor:
        if aggregate:
            cursor.execute(f"WITH new AS ({insert_new} RETURNING sensor_id, ts, value){_AGGREGATE_NEW}"
                           "SELECT sensor_id, (extract(epoch FROM ts) * 1000000)::bigint FROM new",
                           [sensors, micros, values, settings.TIME_ZONE])
        else:
            cursor.execute(f"{insert_new} RETURNING sensor_id, (extract(epoch FROM ts) * 1000000)::bigint",
                           [sensors, micros, values])
        return [keyed[(s, us)] for s, us in cursor.fetchall()]


def int_array(values) -> str:
    """A PostgreSQL array literal of integers, for `%s::bigint[]`: one string for the driver to quote
    instead of a list it would dump element by element (a regular expression per element)."""
    return "{" + ",".join(map(str, values)) + "}"


def float_array(values) -> str:
    """A PostgreSQL array literal of finite floats (repr is exact) or None, for `%s::double precision[]`."""
    return "{" + ",".join("NULL" if v is None else repr(float(v)) for v in values) + "}"


def _naive_utc(ts) -> dt.datetime:
    """One key for a time however the driver hands it back (aware on PostgreSQL, naive UTC on SQLite)."""
    if isinstance(ts, str):
        ts = dt.datetime.fromisoformat(ts)
    return ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo else ts


# --- aggregates -----------------------------------------------------------------------------------

def _local_zone():
    return ZoneInfo(settings.TIME_ZONE)


def buckets(ts: dt.datetime, zone=None) -> tuple[dt.datetime, dt.datetime]:
    """The hour (UTC) and the day (local midnight, the day offices speak of) a reading belongs to."""
    hour = ts.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    local = ts.astimezone(zone or _local_zone())
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return hour, day.astimezone(dt.UTC)


def summarise(rows) -> dict:
    """{(sensor_id, grain, bucket): [count, sum, min, max, last_ts, last]} of new readings."""
    zone = _local_zone()
    out: dict = {}
    known: dict = {}  # the buckets of a quarter-hour (every zone's offset is a multiple of 15 minutes)
    for s, ts, v in rows:
        quarter = (ts - EPOCH) // QUARTER
        pair = known.get(quarter)
        if pair is None:
            pair = known[quarter] = buckets(ts, zone)
        hour, day = pair
        for key in ((s, "h", hour), (s, "d", day)):
            a = out.get(key)
            if a is None:
                out[key] = [1, v, v, v, ts, v]
            else:
                a[0] += 1
                a[1] += v
                a[2] = min(a[2], v)
                a[3] = max(a[3], v)
                if ts >= a[4]:
                    a[4], a[5] = ts, v
    return out


def upsert_aggregates(rows) -> int:
    """Add a batch's new readings to the hourly and daily aggregates (one upsert per thousand buckets)."""
    summary = summarise(rows)
    if not summary:
        return 0
    adapt = connection.ops.adapt_datetimefield_value
    least, greatest = ("LEAST", "GREATEST") if is_postgres() else ("MIN", "MAX")
    items = list(summary.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            params = []
            for (s, grain, bucket), (n, total, lo, hi, last_ts, last) in chunk:
                params.extend((s, grain, adapt(bucket), n, total, lo, hi, adapt(last_ts), last))
            values = ",".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            t = "sensing_aggregate"
            cursor.execute(
                f'INSERT INTO {t} (sensor_id, grain, bucket, "count", "sum", "min", "max", last_ts, "last") '  # noqa: S608
                f"VALUES {values} ON CONFLICT (sensor_id, grain, bucket) DO UPDATE SET "
                f'"count" = {t}."count" + excluded."count", "sum" = {t}."sum" + excluded."sum", '
                f'"min" = {least}({t}."min", excluded."min"), "max" = {greatest}({t}."max", excluded."max"), '
                f'"last" = CASE WHEN excluded.last_ts >= {t}.last_ts THEN excluded."last" ELSE {t}."last" END, '
                f"last_ts = {greatest}({t}.last_ts, excluded.last_ts)", params)
    return len(summary)

