"""Live roll-ups for any org unit and month, read from an aggregate table kept current on every write.

There is no batch job: every service that changes a project, a monthly report or an enrolment
moves the project's contribution in the roll-up table (RollupCell) inside its own transaction,
so a report saved in a town is in the county, city and province figures on the very next
request. `compute_from_ledger()` computes the same figures by a plain GROUP BY over the ledger;
the tests hold the two equal and `townbrain bench rollups` measures both.

Definitions (DOMAIN §4), for month P of year Y:
- planned_to_start: projects whose planned start falls in Y up to the end of P (cancelled excluded)
- started:          of those, the ones with an actual start on or before the end of P
- start_rate:       started ÷ planned_to_start × 100
- investment_plan:  the annual planned investment of the projects in scope (万元)
- investment_done:  cumulative investment reported for P or the latest month before it (万元)
- laggards:         planned to start by P but not started, or physical progress more than
                    LAG_TOLERANCE points behind the linear plan from planned start to completion

How the table answers (projects/models.py RollupCell): a project adds to cells of each of its
ancestors (province, city, county, town), keyed by programme, category, its town's role and
batch in the programme, kind and month:
- plan    (month '')               1 and the annual plan              -> investment_plan
- planned (planned-start month)    1                                  -> planned_to_start: months Y01..P
- started (max(planned, actual start month), only when the actual start is in or before the
           planned start's year)   1                                  -> started: months Y01..P
- done    (report month)           the change of cumulative investment from the previous
           report                                                     -> investment_done: sum to P
- lag     (month the verdict changes) +1 when the project becomes a laggard, -1 when it stops
           (the schedule rule, evaluated month by month)              -> laggards: sum to P
Each such row is kept in five slices: all categories/roles/batches together (-1 = all), by
category, by role, by batch, and by all three (the detail). A request reads one slice: with no
filter or one filter the cells of exactly that slice, with two or three the detail rows that
match, so an org's figures for month P come from about one row per kind and month up to P.
Cancelled projects add nothing. Money is held in hundredths of 万元 (exact on every database).
"""

import calendar
import contextvars
from collections import defaultdict
from contextlib import contextmanager
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

from django.db import connection, transaction
from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Length, Substr

from townbrain.core import bulk, codes, periods
from townbrain.core.models import OrgUnit
from townbrain.core.scope import ALL, scope_prefixes
from townbrain.programmes.models import Enrolment, Programme

from .models import MonthlyPlan, ProgressReport, Project, RollupCell, Status
from .schedule import curves_for, schedule_state

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=16, decimal_places=2))

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


def _rate(part, whole):
    if not whole:
        return None
    return round(float(part) * 100 / float(whole), 1)


def _figures(planned, started, plan, done, lag) -> dict:
    return {
        "planned_to_start": planned,
        "started": started,
        "start_rate": _rate(started, planned),
        "investment_plan": plan,
        "investment_done": done,
        "investment_rate": _rate(done, plan),
        "laggards": lag,
    }


# --- reading the table ------------------------------------------------------------------------

def compute(user, org: OrgUnit, period: str, programme, category=None, role=None, batch=None) -> dict:
    """The roll-up of `org` for month `period` in `programme`, with the same figures for each child unit.

    Reads a few hundred cells: the org's own and its children's (or, when `user` sees only parts
    of `org`, the cells of those parts), so the figures count only what `user` may view.
    """
    year, month = periods.parse_month(period)
    period = periods.month_id(year, month)
    prefixes = scope_prefixes(user, "view")
    if prefixes is ALL or any(org.code.startswith(p) for p in prefixes):
        parts = [org.code]
    else:  # only subtrees inside org are visible: add up their own cells
        parts = sorted(p for p in prefixes if p.startswith(org.code))
    children = []
    if _child_length(org):
        children = list(org.children.restrict(user, "view").order_by("code").values_list("code", "name"))
    sums = read_sums(programme, {*parts, *(code for code, _name in children)}, period, category, role, batch)
    empty = (0, 0, 0, 0, 0)

    def figures(rows) -> dict:
        planned, started, plan, done, lag = (sum(col) for col in zip(empty, *rows, strict=True))
        return _figures(planned, started, _money(plan), _money(done), lag)

    result = {"org": org.code, "name": org.name, "period": period, "programme": programme.code,
              **figures([sums[p] for p in parts if p in sums])}
    result["children"] = [{"code": code, "name": name, **figures([sums[code]] if code in sums else [])}
                          for code, name in children]
    return result


def read_sums(programme, orgs, period: str, category=None, role=None, batch=None) -> dict[str, tuple]:
    """{org: (planned_to_start, started, plan cents, done cents, laggards)} for month `period`.

    Orgs without cells (no projects) are left out. Many orgs at once cost one or two queries.

    Each org is read from the slice made for the request when its level keeps it, else from its
    own detail, else (a county asked with several filters) from the detail of its towns.
    """
    given = {name: obj.pk for name, obj in zip(DIMS, (category, role, batch), strict=True) if obj is not None}
    want = DETAIL_S if len(given) > 1 else tuple(name in given for name in DIMS)
    by_slice: dict[tuple, list[str]] = defaultdict(list)
    by_towns: dict[int, list[str]] = defaultdict(list)
    for code in sorted(orgs):
        kept = LEVEL_SLICES.get(len(code), ())
        if want in kept:
            by_slice[want].append(code)
        elif DETAIL_S in kept:
            by_slice[DETAIL_S].append(code)
        elif kept:
            by_towns[len(code)].append(code)
    cells = RollupCell.objects.filter(programme=programme, month__lte=period)
    queries = []
    if by_slice:
        either = Q(pk__in=[])
        for slice_, codes_ in by_slice.items():
            either |= Q(org__in=codes_, **_slice_filter(slice_, given))
        queries.append((cells.filter(either).values("org"), "org"))
    town_length = codes.LEVEL_LENGTHS["town"]
    for length, codes_ in by_towns.items():
        either = Q(pk__in=[])
        for code in codes_:
            either |= Q(org__gt=code, org__lte=code + "9" * (town_length - length))
        towns = (cells.filter(either, **_slice_filter(DETAIL_S, given)).annotate(length=Length("org"))
                 .filter(length=town_length).annotate(unit=Substr("org", 1, length)))
        queries.append((towns.values("unit"), "unit"))
    year_start = period[:4] + "01"
    sums = {}
    for query, key in queries:
        rows = query.annotate(
            planned=Sum("n", filter=Q(kind=PLANNED, month__gte=year_start)),
            started=Sum("n", filter=Q(kind=STARTED, month__gte=year_start)),
            plan=Sum("cents", filter=Q(kind=PLAN)),
            done=Sum("cents", filter=Q(kind=DONE)),
            lag=Sum("n", filter=Q(kind=LAG)),
        ).values_list(key, "planned", "started", "plan", "done", "lag")
        sums.update({org: tuple(v or 0 for v in values) for org, *values in rows})
    return sums


_read = read_sums  # the name assessments/sources.py calls


def _slice_filter(slice_, given: dict) -> dict:
    """The lookups that pick a slice's cells: kept dims equal the filter or are any value, others are ALL."""
    lookups = {}
    for name, kept in zip(DIMS, slice_, strict=True):
        if not kept:
            lookups[name] = ALL_IDS
        elif name in given:
            lookups[name] = given[name]
        else:
            lookups[f"{name}__gte"] = 0
    return lookups


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


# --- keeping the table current ------------------------------------------------------------------

def _cents(amount) -> int:
    return int((Decimal(str(amount or 0)) * 100).to_integral_value(ROUND_HALF_UP))


def _month(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}"


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[4:]) - 1


def enrolment_dims(town_code: str, programme_id) -> tuple[int, int]:
    """(role id, batch id) of the town in the programme; 0 for none.

    Takes the town's roll-up lock shared first: project writes in a town run side by side, but a
    change of the town's role or batch (move_town, exclusive) waits for them and they for it.
    """
    return inputs(town_code, programme_id)[0]


def inputs(town_code: str, programme_id, project_id=None) -> tuple[tuple[int, int], list[tuple]]:
    """The town's (role id, batch id) like enrolment_dims(), and the project's reports like
    project_reports() when `project_id` is given: one round trip on PostgreSQL."""
    if not _locks_per_town():  # SQLite runs one writer at a time; a bulk writer holds the programmes' locks
        row = (Enrolment.objects.filter(town_id=town_code, programme_id=programme_id)
               .values_list("role_id", "batch_id").first())
        return ((row[0] or 0, row[1] or 0) if row else (0, 0),
                project_reports(project_id) if project_id is not None else [])
    enrolment, reports = Enrolment._meta.db_table, ProgressReport._meta.db_table
    # The lock is taken in `l` before the correlated subqueries read the enrolment.
    sql = (f"SELECT '' AS period, NULL AS cumulative, NULL AS progress,"
           f" (SELECT e.role_id FROM {enrolment} e WHERE e.town_id = %s AND e.programme_id = %s AND l.ok),"
           f" (SELECT e.batch_id FROM {enrolment} e WHERE e.town_id = %s AND e.programme_id = %s AND l.ok)"
           f" FROM (SELECT pg_advisory_xact_lock_shared(%s)::text = '' AS ok OFFSET 0) AS l")
    params = [town_code, programme_id, town_code, programme_id, _town_key(town_code, programme_id)]
    if project_id is not None:
        sql += (f" UNION ALL SELECT period, cumulative_investment, progress_percent, NULL, NULL FROM {reports}"
                f" WHERE project_id = %s ORDER BY 1")
        params.append(project_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (_blank, _c, _p, role, batch), *rows = cursor.fetchall()
    return (role or 0, batch or 0), [(period, c, p) for period, c, p, _r, _b in rows]


def created(projects) -> int:
    """New projects (saved, no reports or plan curve yet) add their contributions: one move for all."""
    return apply({}, contributions(projects, {}, {}))


def removed(projects) -> int:
    """Projects about to be deleted take their contributions out: one move for all, their reports
    and plan curves read in one query each."""
    reports, curves = _ledger_of([p.pk for p in projects])
    return apply(contributions(projects, reports, curves), {})


def changed(originals, projects) -> int:
    """Projects changed in place (`originals` as they were, `projects` as they are now, the same
    reports and curves): one move for all."""
    reports, curves = _ledger_of([p.pk for p in projects])
    dims = enrolments_of({(p.town_id, p.programme_id) for p in [*originals, *projects]})
    return apply(contributions(originals, reports, curves, dims), contributions(projects, reports, curves, dims))


def _ledger_of(ids) -> tuple[dict, dict]:
    """({project id: its reports as contribution() takes them}, {project id: its plan curve})."""
    reports: dict[int, list[tuple]] = defaultdict(list)
    rows = bulk.where_in(ProgressReport.objects.order_by("project_id", "period")
                         .values_list("project_id", "period", "cumulative_investment", "progress_percent"),
                         "project_id", ids)
    for pid, period, cumulative, progress in rows:
        reports[pid].append((period, cumulative, progress))
    return reports, curves_for(ids)


def contributions(projects, reports: dict, curves: dict, dims: dict | None = None) -> dict[tuple, list[int]]:
    """The cells many projects add up to, given their reports and curves by project id (and their
    towns' enrolment dims by (town, programme), read when not given)."""
    if dims is None:
        dims = enrolments_of({(p.town_id, p.programme_id) for p in projects})
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    memo: dict = {}  # many projects share their dates and status: their schedule steps are worked out once
    for project in projects:
        for key, (n, cents) in contribution(project, reports.get(project.pk, []),
                                            dims[(project.town_id, project.programme_id)],
                                            curves.get(project.pk, []), memo).items():
            cell = cells[key]
            cell[0] += n
            cell[1] += cents
    return cells


def enrolments_of(pairs) -> dict[tuple, tuple[int, int]]:
    """{(town, programme): (role id, batch id)} for many towns, taking each town's roll-up lock shared
    (in key order, so two bulk writers cannot deadlock) as enrolment_dims() does for one."""
    pairs = sorted(pairs)
    if _locks_per_town() and len(pairs) > TOWN_LOCKS_MAX:
        _lock_programmes()
    elif _locks_per_town() and pairs:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_advisory_xact_lock_shared(k)) FROM"
                           " (SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS keys",
                           [sorted(_town_key(t, p) for t, p in pairs)])
    out = {pair: (0, 0) for pair in pairs}
    rows = bulk.where_in(Enrolment.objects.filter(programme_id__in={p for _t, p in pairs})
                         .values_list("town_id", "programme_id", "role_id", "batch_id"), "town_id", [t for t, _p in pairs])
    for town, programme, role, batch in rows:
        if (town, programme) in out:
            out[(town, programme)] = (role or 0, batch or 0)
    return out


# Locking (PostgreSQL, transaction-scoped advisory locks). A project write takes its town's lock
# shared; a change of the town's role or batch (move_town) takes it exclusive, and first its
# programme's lock shared. A write that spans many towns (an import) takes every programme's lock
# exclusive instead of thousands of town locks (PostgreSQL's lock table holds a few thousand):
# it then waits only for role changes in progress and holds new ones off; two such writers queue.
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


def project_reports(project_id) -> list[tuple]:
    """[(period, cumulative investment, progress %), ...] of a project, oldest first."""
    return list(ProgressReport.objects.filter(project_id=project_id).order_by("period")
                .values_list("period", "cumulative_investment", "progress_percent"))


# What the schedule steps of a project (planned, started, lag) read of it besides reports and curve.
SCHEDULE_FIELDS = ("status", "planned_start", "actual_start", "planned_completion")


def contribution(project, reports=None, dims=None, curve=None, memo=None) -> dict[tuple, list[int]]:
    """What `project` adds to its town's cells: {(town, programme, category, role, batch, kind, month): [n, cents]}.

    `reports` are its (period, cumulative, progress) oldest first and `dims` its town's
    (role, batch) in the programme; both are read from the database when not given. `memo` (a
    dict kept by a caller adding up many projects) holds the schedule steps of projects without
    reports or plan curve, which depend only on SCHEDULE_FIELDS.
    """
    if project is None or project.status == Status.CANCELLED:
        return {}
    if dims is None:
        dims = enrolment_dims(project.town_id, project.programme_id)
    if reports is None:
        reports = project_reports(project.pk)
    if curve is None and project.pk:
        curve = curves_for([project.pk]).get(project.pk)
    key = (project.town_id, project.programme_id, project.category_id or 0, *dims)
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])

    def add(kind, month, n=0, cents=0):
        cell = cells[(*key, kind, month)]
        cell[0] += n
        cell[1] += cents

    add(PLAN, "", 1, _cents(project.annual_plan))
    if memo is not None and not reports and not curve:
        shape = tuple(getattr(project, name) for name in SCHEDULE_FIELDS)
        if shape not in memo:
            # Worked out on the shape alone: reading any other field of the project would fail here.
            memo[shape] = _schedule_steps(SimpleNamespace(**dict(zip(SCHEDULE_FIELDS, shape, strict=True))), [], [])
        steps = memo[shape]
    else:
        steps = _schedule_steps(project, reports, curve)
    for kind, month, n in steps:
        add(kind, month, n)
    previous = 0
    for period, cumulative, _progress in reports:
        cents = _cents(cumulative)
        if cents != previous:
            add(DONE, period, 0, cents - previous)
        previous = cents
    return {k: v for k, v in cells.items() if v != [0, 0]}


def _schedule_steps(project, reports, curve) -> list[tuple[str, str, int]]:
    """[(kind, month, n)]: the project's planned-start and started months and its lag events."""
    steps = []
    planned, actual = project.planned_start, project.actual_start
    if planned:
        steps.append((PLANNED, _month(planned), 1))
        if actual and _month(actual) <= f"{planned.year:04d}12":
            steps.append((STARTED, max(_month(planned), _month(actual)), 1))
    steps.extend((LAG, month, step) for month, step in lag_events(project, reports, curve))
    return steps


def lag_events(project, reports, curve=None) -> list[tuple[str, int]]:
    """The months in which `project` becomes a laggard (+1) and stops being one (-1).

    The schedule rule (schedule.schedule_state, exactly as compute_from_ledger applies it) is
    evaluated for each month from the planned start to the last month any of its inputs names
    (actual start, planned completion, report months, plan-curve months); after that month its
    verdict cannot change, so the last step holds for every later month. `curve` is the
    project's MonthlyPlan [(period, planned progress)], judged as the project page judges it.
    """
    if project.status in (Status.COMPLETED, Status.CANCELLED) or not project.planned_start:
        return []
    first = _index(_month(project.planned_start))
    last = max([first, *(_index(_month(d)) for d in (project.actual_start, project.planned_completion) if d),
                *(_index(r[0]) for r in reports), *(_index(c[0]) for c in curve or ())])
    events, late, progress, i = [], False, None, 0
    for m in range(first, last + 1):
        year, month = divmod(m, 12)
        month += 1
        period = f"{year:04d}{month:02d}"
        while i < len(reports) and reports[i][0] <= period:
            progress = reports[i][2]
            i += 1
        at = date(year, month, calendar.monthrange(year, month)[1])
        now = schedule_state(project, at, progress, curve) == "late"
        if now != late:
            events.append((period, 1 if now else -1))
            late = now
    return events


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
    """_upsert() for many cells on PostgreSQL: COPY the deltas into a temporary table, add them in key order."""
    table = connection.ops.quote_name(RollupCell._meta.db_table)
    key = "programme_id, org, category, role, batch, month, kind"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS tb_rollup_delta (programme_id bigint, org varchar(12),"
                       " category bigint, role bigint, batch bigint, month varchar(6), kind varchar(10), n bigint,"
                       " cents bigint) ON COMMIT DELETE ROWS")
        cursor.execute("TRUNCATE tb_rollup_delta")
        with cursor.cursor.copy(f"COPY tb_rollup_delta ({key}, n, cents) FROM STDIN") as copy:
            for k, (n, cents) in rows:
                copy.write_row((*k, n, cents))
        cursor.execute(
            f"WITH moved AS (INSERT INTO {table} ({key}, n, cents) SELECT {key}, n, cents FROM tb_rollup_delta"
            f" ORDER BY {key} ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n,"
            f" cents = {table}.cents + excluded.cents RETURNING id, n, cents)"
            f" SELECT id FROM moved WHERE n = 0 AND cents = 0")
        empty = [pk for (pk,) in cursor.fetchall()]
        cursor.execute("TRUNCATE tb_rollup_delta")
        if empty:  # a statement cannot change a row its WITH clause changed: remove the emptied cells after
            cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s) AND n = 0 AND cents = 0", [empty])


def move_town(town_code: str, programme_id, role_id, batch_id) -> int:
    """A town's role or batch in a programme changed: move its projects' cells to the new role and batch."""
    if _locks_per_town():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_programme_key(programme_id)])
    _lock_town(town_code, programme_id)
    rows = (RollupCell.objects.filter(programme_id=programme_id, org=town_code, category__gte=0, role__gte=0,
                                      batch__gte=0).values_list("category", "role", "batch", "kind", "month", "n", "cents"))
    before: dict[tuple, list[int]] = {}
    after: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for category, role, batch, kind, month, n, cents in rows:
        before[(town_code, programme_id, category, role, batch, kind, month)] = [n, cents]
        cell = after[(town_code, programme_id, category, role_id or 0, batch_id or 0, kind, month)]
        cell[0] += n
        cell[1] += cents
    return apply(before, after)


def enrolment_changed(sender, enrolment, **kwargs) -> None:
    """Receiver of programmes.services.enrolment_changed (connected in projects/apps.py)."""
    move_town(enrolment.town_id, enrolment.programme_id, enrolment.role_id, enrolment.batch_id)


# --- rebuilding it from the ledger --------------------------------------------------------------

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


# --- the same figures by a plain GROUP BY over the ledger (tests, benchmark) ----------------------

def scoped_projects(user, org: OrgUnit, programme, category=None, role=None, batch=None):
    qs = Project.objects.restrict(user, "view").filter(
        town__code__startswith=org.code, programme=programme
    ).exclude(status=Status.CANCELLED)
    if category is not None:
        qs = qs.filter(category=category)
    if role is not None or batch is not None:
        enrol = Q(town__enrolments__programme=programme)
        if role is not None:
            enrol &= Q(town__enrolments__role=role)
        if batch is not None:
            enrol &= Q(town__enrolments__batch=batch)
        qs = qs.filter(enrol)
    return qs


def compute_from_ledger(user, org: OrgUnit, period: str, programme, **dims) -> dict:
    """The roll-up of compute(), by a GROUP BY over the projects and reports on every call."""
    year, month = periods.parse_month(period)
    period = periods.month_id(year, month)
    end = periods.month_end(period)
    jan1 = date(year, 1, 1)
    qs = scoped_projects(user, org, programme, **dims)
    child_len = _child_length(org)
    done_at = Subquery(
        ProgressReport.objects.filter(project=OuterRef("pk"), period__lte=period)
        .order_by("-period").values("cumulative_investment")[:1]
    )
    in_plan = Q(planned_start__gte=jan1, planned_start__lte=end)
    grouped = (
        qs.annotate(done_at=Coalesce(done_at, ZERO), grp=Substr("town_id", 1, child_len) if child_len else Value(""))
        .order_by()  # no Meta.ordering in the GROUP BY (PostgreSQL refuses it for a town)
        .values("grp")
        .annotate(
            planned_to_start=Count("pk", filter=in_plan),
            started=Count("pk", filter=in_plan & Q(actual_start__lte=end)),
            investment_plan=Coalesce(Sum("annual_plan"), ZERO),
            investment_done=Coalesce(Sum("done_at"), ZERO),
        )
    )
    by_group = {row["grp"]: row for row in grouped}
    laggards = _laggards(qs, period, end, child_len)

    def figures(rows: list[dict], lag: int) -> dict:
        planned = sum(r["planned_to_start"] for r in rows)
        started = sum(r["started"] for r in rows)
        plan = sum((r["investment_plan"] for r in rows), Decimal(0))
        done = sum((r["investment_done"] for r in rows), Decimal(0))
        return {
            "planned_to_start": planned,
            "started": started,
            "start_rate": _rate(started, planned),
            "investment_plan": plan,
            "investment_done": done,
            "investment_rate": _rate(done, plan),
            "laggards": lag,
        }

    result = {"org": org.code, "name": org.name, "period": period, "programme": programme.code,
              **figures(list(by_group.values()), sum(laggards.values()))}
    children = []
    if child_len:
        for child in org.children.restrict(user, "view").order_by("code").only("code", "name"):
            row = by_group.get(child.code)
            children.append({"code": child.code, "name": child.name,
                             **figures([row] if row else [], laggards.get(child.code, 0))})
    result["children"] = children
    return result


def _child_length(org: OrgUnit) -> int | None:
    """Code length of the org's children that hold projects (None for a town: no children to list)."""
    idx = codes.LEVELS.index(org.level)
    if org.level in ("town", "village"):
        return None
    return codes.LEVEL_LENGTHS[codes.LEVELS[idx + 1]]


def _laggards(qs, period: str, end: date, child_len: int | None) -> dict[str, int]:
    progress_at = Subquery(
        ProgressReport.objects.filter(project=OuterRef("pk"), period__lte=period)
        .order_by("-period").values("progress_percent")[:1]
    )
    candidates = (
        qs.filter(planned_start__lte=end)
        .exclude(status=Status.COMPLETED)
        .annotate(progress_at=progress_at)
        .only("town_id", "status", "planned_start", "planned_completion", "actual_start")
    )
    counts: dict[str, int] = defaultdict(int)
    candidates = list(candidates)
    curves = curves_for(p.pk for p in candidates)
    for p in candidates:
        if schedule_state(p, end, p.progress_at, curves.get(p.pk)) == "late":
            counts[p.town_id[:child_len] if child_len else ""] += 1
    return counts
