"""The roll-up table's cells: their kinds, the levels and slices they are kept in, and moving them by
a difference (apply(): one upsert per 500 cells, or a COPY and one statement for an import on PostgreSQL)."""

from collections import defaultdict

from django.db import connection

from townbrain.core import bulk, codes

from ..models import RollupCell

PLAN, PLANNED, STARTED, DONE, LAG = "plan", "planned", "started", "done", "lag"
# Code lengths of the ancestors that hold cells: province, city, county, town.
CELL_LEVELS = tuple(codes.LEVEL_LENGTHS[level] for level in ("province", "city", "county", "town"))
ALL_IDS = -1  # in a cell's category/role/batch: the sum over every value (0 means none)
DIMS = ("category", "role", "batch")
# Slices: which of (category, role, batch) a cell keeps; the others are summed over (ALL_IDS).
ALL_S, CAT_S, ROLE_S, BATCH_S, DETAIL_S = SLICES = (
    (False, False, False), (True, False, False), (False, True, False), (False, False, True), (True, True, True))
# The slices kept at each level. A town has one role and batch, so its detail answers every
# request; a county asked with two or three filters adds up the detail of its towns.
LEVEL_SLICES = {2: SLICES, 4: SLICES, 6: (ALL_S, CAT_S, ROLE_S, BATCH_S), 9: (DETAIL_S,)}
UPSERT_CHUNK = 500


def apply(before: dict, after: dict) -> int:
    """Move the cells from one contribution to another (inside the caller's transaction).

    Writes only the difference, to the four ancestors and their slices, in one upsert per 500 cells in key order
    (so concurrent writers lock cells in the same order); cells that fall to zero are removed.
    Returns the number of cells changed.
    """
    change: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])  # first the town's own cells
    for sign, cells in ((-1, before), (1, after)):
        for key, (n, cents) in cells.items():
            c = change[key]
            c[0] += sign * n
            c[1] += sign * cents
    # Then every ancestor and slice. Each level's detail is added up from the level below (a
    # county from its towns, a city from its counties), so a change of many towns costs about
    # one pass over its cells, not one per ancestor and slice.
    detail = {(town, programme, category, role, batch, month, kind): value
              for (town, programme, category, role, batch, kind, month), value in change.items() if value != [0, 0]}
    delta: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for length in reversed(CELL_LEVELS):  # town, county, city, province
        if length != CELL_LEVELS[-1]:
            upper: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
            for (org, *rest), (n, cents) in detail.items():
                u = upper[(org[:length], *rest)]
                u[0] += n
                u[1] += cents
            detail = upper
        for (org, programme, category, role, batch, month, kind), (n, cents) in detail.items():
            for keep_c, keep_r, keep_b in LEVEL_SLICES[length]:
                d = delta[(programme, org, category if keep_c else ALL_IDS, role if keep_r else ALL_IDS,
                           batch if keep_b else ALL_IDS, month, kind)]
                d[0] += n
                d[1] += cents
    rows = sorted((key, value) for key, value in delta.items() if value != [0, 0])
    if len(rows) > UPSERT_CHUNK and connection.vendor == "postgresql":
        _upsert_copy(rows)  # an import: one statement instead of thousands
        return len(rows)
    for piece in bulk.pieces(rows, UPSERT_CHUNK):
        _upsert(piece)
    return len(rows)


def _upsert(rows) -> None:
    table = connection.ops.quote_name(RollupCell._meta.db_table)
    key = "programme_id, org, category, role, batch, month, kind"
    params = [v for k, (n, cents) in rows for v in (*k, n, cents)]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key}, n, cents) VALUES {values} ON CONFLICT ({key}) DO UPDATE "
            f"SET n = {table}.n + excluded.n, cents = {table}.cents + excluded.cents RETURNING id, n, cents",
            params,
        )
        empty = [pk for pk, n, cents in cursor.fetchall() if n == 0 and cents == 0]
        if empty:
            marks = ", ".join(["%s"] * len(empty))
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks}) AND n = 0 AND cents = 0", empty)


def _upsert_copy(rows) -> None:
    """_upsert() for many cells on PostgreSQL: COPY the deltas into a temporary table, then add them in key
    order and remove the emptied cells in one round trip (bulk.later(): inside bulk.meanwhile(), while the
    caller goes on in Python)."""
    table = connection.ops.quote_name(RollupCell._meta.db_table)
    key = "programme_id, org, category, role, batch, month, kind"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS tb_rollup_delta (programme_id bigint, org varchar(12),"
                       " category bigint, role bigint, batch bigint, month varchar(6), kind varchar(10), n bigint,"
                       " cents bigint) ON COMMIT DELETE ROWS;"
                       " CREATE TEMPORARY TABLE IF NOT EXISTS tb_rollup_emptied (id bigint) ON COMMIT DELETE ROWS;"
                       " TRUNCATE tb_rollup_delta, tb_rollup_emptied")
        bulk.copy_rows(cursor, "tb_rollup_delta", key.split(", ") + ["n", "cents"],
                       ((*k, n, cents) for k, (n, cents) in rows))
    # A statement cannot change a row its WITH clause changed: the emptied cells are removed by the next.
    bulk.later(
        f"WITH moved AS (INSERT INTO {table} ({key}, n, cents) SELECT {key}, n, cents FROM tb_rollup_delta"
        f" ORDER BY {key} ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n,"
        f" cents = {table}.cents + excluded.cents RETURNING id, n, cents)"
        f" INSERT INTO tb_rollup_emptied SELECT id FROM moved WHERE n = 0 AND cents = 0;"
        f" DELETE FROM {table} WHERE id IN (SELECT id FROM tb_rollup_emptied) AND n = 0 AND cents = 0;"
        f" TRUNCATE tb_rollup_delta, tb_rollup_emptied")
