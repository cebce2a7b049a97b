"""Rebuilding the roll-up table from the ledger (`townbrain rollups rebuild`, the benchmark loader):
the laggard steps staged in a temporary table, then one INSERT…SELECT for every cell."""

from types import SimpleNamespace

from django.db import connection, transaction

from townbrain.programmes.models import Enrolment

from ..models import MonthlyPlan, ProgressReport, Project, RollupCell, Status
from .cells import (
    ALL_IDS,
    CELL_LEVELS,
    DETAIL_S,
    DIMS,
    DONE,
    LAG,
    LEVEL_SLICES,
    PLAN,
    PLANNED,
    SLICES,
    STARTED,
)
from .delta import lag_events

_LAG_TABLE = "tb_rollup_lag_events"


def rebuild(programme=None, progress=None) -> int:
    """Recompute the roll-up table (or one programme's cells) from the ledger; returns the number of cells.

    The laggard steps come from the schedule rule (one pass over the projects that can lag, with
    their reports); everything else, and the sum to the four ancestor levels, is one INSERT…SELECT.
    Writers wait while it runs (PostgreSQL: SHARE lock on the ledger). Used by the benchmark
    loader and as a repair tool (`townbrain rollups rebuild`).
    """
    pg = connection.vendor == "postgresql"
    # TRUNCATE is much faster, but PostgreSQL refuses it inside an outer transaction with pending checks.
    truncate = pg and programme is None and not connection.in_atomic_block
    with transaction.atomic():
        cells = RollupCell.objects.all()
        with connection.cursor() as cursor:
            if pg:
                cursor.execute(f"LOCK TABLE {Project._meta.db_table}, {ProgressReport._meta.db_table}, "
                               f"{Enrolment._meta.db_table} IN SHARE MODE")
                cursor.execute("SET LOCAL work_mem = '256MB'")
            if truncate:
                cursor.execute(f"TRUNCATE {RollupCell._meta.db_table}")
            else:
                (cells if programme is None else cells.filter(programme=programme)).delete()
            cursor.execute(f"DROP TABLE IF EXISTS {_LAG_TABLE}")
            cursor.execute(f"CREATE TEMPORARY TABLE {_LAG_TABLE} (project_id bigint, month varchar(6), n integer)")
        _stage_lag_events(programme, progress)
        with connection.cursor() as cursor:
            sql, params = _rebuild_sql(programme)
            cursor.execute(sql, params)
            cursor.execute(f"DROP TABLE {_LAG_TABLE}")
            if pg:
                cursor.execute(f"ANALYZE {RollupCell._meta.db_table}")
        count = RollupCell.objects.filter(**({"programme": programme} if programme is not None else {})).count()
    return count


def _stage_lag_events(programme, progress=None) -> None:
    """Write every (project, month, ±1) laggard step into the temporary table, streaming the ledger."""
    can_lag = Project.objects.filter(planned_start__isnull=False).exclude(
        status__in=[Status.COMPLETED, Status.CANCELLED])
    if programme is not None:
        can_lag = can_lag.filter(programme=programme)
    projects = can_lag.order_by("pk").values_list(
        "pk", "status", "planned_start", "actual_start", "planned_completion").iterator(chunk_size=20000)
    reports = (ProgressReport.objects.filter(project__in=can_lag.values("pk")).order_by("project_id", "period")
               .values_list("project_id", "period", "progress_percent").iterator(chunk_size=50000))
    pending = next(reports, None)
    plans = (MonthlyPlan.objects.filter(project__in=can_lag.values("pk")).order_by("project_id", "period")
             .values_list("project_id", "period", "planned_progress").iterator(chunk_size=50000))
    pending_plan = next(plans, None)
    buffer: list[tuple] = []
    done = 0
    for pk, status, planned_start, actual_start, planned_completion in projects:
        own = []
        while pending is not None and pending[0] <= pk:
            if pending[0] == pk:
                own.append((pending[1], None, pending[2]))
            pending = next(reports, None)
        curve = []
        while pending_plan is not None and pending_plan[0] <= pk:
            if pending_plan[0] == pk:
                curve.append((pending_plan[1], pending_plan[2]))
            pending_plan = next(plans, None)
        project = SimpleNamespace(status=status, planned_start=planned_start, actual_start=actual_start,
                                  planned_completion=planned_completion)
        buffer.extend((pk, month, step) for month, step in lag_events(project, own, curve or None))
        done += 1
        if len(buffer) >= 100_000:
            _write_lag_events(buffer)
            buffer = []
        if progress and done % 50_000 == 0:
            progress(done)
    _write_lag_events(buffer)


def _write_lag_events(rows) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {_LAG_TABLE} (project_id, month, n) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {_LAG_TABLE} (project_id, month, n) VALUES (%s, %s, %s)", rows)


def _rebuild_sql(programme) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        month = "to_char({}, 'YYYYMM')".format
        year_end = "(to_char({}, 'YYYY') || '12')".format
        greatest = "GREATEST"
    else:
        month = "strftime('%%Y%%m', {})".format
        year_end = "(strftime('%%Y', {}) || '12')".format
        greatest = "MAX"

    def cents(col):
        return f"CAST(ROUND({col} * 100) AS BIGINT)"

    dims = "proj.programme_id, proj.town_id, proj.category, proj.role, proj.batch"
    only = "AND p.programme_id = %s" if programme is not None else ""
    only_reports = "WHERE r.project_id IN (SELECT id FROM proj)" if programme is not None else ""
    ctes = [f"""proj AS (
        SELECT p.id, p.programme_id, p.town_id, COALESCE(p.category_id, 0) AS category,
               COALESCE(e.role_id, 0) AS role, COALESCE(e.batch_id, 0) AS batch,
               p.planned_start, p.actual_start, p.annual_plan
        FROM {Project._meta.db_table} p
        LEFT JOIN {Enrolment._meta.db_table} e ON e.town_id = p.town_id AND e.programme_id = p.programme_id
        WHERE p.status <> '{Status.CANCELLED.value}' {only}
    )""", f"""c9_4 AS (
        SELECT programme_id, town_id AS org, category, role, batch, month, kind, SUM(n) AS n, SUM(cents) AS cents
        FROM (
            SELECT {dims}, '{PLAN}' AS kind, '' AS month, 1 AS n, {cents('proj.annual_plan')} AS cents
            FROM proj
            UNION ALL
            SELECT {dims}, '{PLANNED}', {month('proj.planned_start')}, 1, 0
            FROM proj WHERE proj.planned_start IS NOT NULL
            UNION ALL
            SELECT {dims}, '{STARTED}', {greatest}({month('proj.planned_start')}, {month('proj.actual_start')}), 1, 0
            FROM proj WHERE proj.planned_start IS NOT NULL AND proj.actual_start IS NOT NULL
              AND {month('proj.actual_start')} <= {year_end('proj.planned_start')}
            UNION ALL
            SELECT {dims}, '{DONE}', d.period, 0, d.delta
            FROM (
                SELECT r.project_id, r.period,
                       {cents('r.cumulative_investment')} - LAG({cents('r.cumulative_investment')}, 1, 0)
                           OVER (PARTITION BY r.project_id ORDER BY r.period) AS delta
                FROM {ProgressReport._meta.db_table} r {only_reports}
            ) d JOIN proj ON proj.id = d.project_id
            WHERE d.delta <> 0
            UNION ALL
            SELECT {dims}, '{LAG}', l.month, l.n, 0
            FROM {_LAG_TABLE} l JOIN proj ON proj.id = l.project_id
        ) b
        GROUP BY programme_id, town_id, category, role, batch, kind, month
        HAVING SUM(n) <> 0 OR SUM(cents) <> 0
    )"""]
    # Each (level, slice) is summed from the same slice one level down when that level keeps it,
    # else from the towns' detail: little is summed twice and nothing is summed from the raw ledger.
    town = CELL_LEVELS[-1]
    names = [f"c{town}_{SLICES.index(DETAIL_S)}"]
    for below, level in zip(CELL_LEVELS[:0:-1], CELL_LEVELS[-2::-1], strict=True):
        for slice_ in LEVEL_SLICES[level]:
            source = f"c{below}_{SLICES.index(slice_)}" if slice_ in LEVEL_SLICES[below] else names[0]
            cols = [col if kept or source != names[0] else str(ALL_IDS) for col, kept in zip(DIMS, slice_, strict=True)]
            name = f"c{level}_{SLICES.index(slice_)}"
            ctes.append(f"""{name} AS (
        SELECT programme_id, SUBSTR(org, 1, {level}) AS org, {", ".join(f"{c} AS {d}" for c, d in zip(cols, DIMS, strict=True))},
               month, kind, SUM(n) AS n, SUM(cents) AS cents
        FROM {source}
        GROUP BY programme_id, SUBSTR(org, 1, {level}), {"".join(f"{c}, " for c in cols if c in DIMS)}month, kind
        HAVING SUM(n) <> 0 OR SUM(cents) <> 0
    )""")
            names.append(name)
    union = "\n        UNION ALL ".join(
        f"SELECT programme_id, org, category, role, batch, month, kind, n, cents FROM {name}" for name in names)
    sql = f"""
    WITH {", ".join(ctes)}
    INSERT INTO {RollupCell._meta.db_table} (programme_id, org, category, role, batch, month, kind, n, cents)
    SELECT * FROM (
        {union}
    ) AS cells
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    """
    return sql, ([programme.pk] if programme is not None else [])
