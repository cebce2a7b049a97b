"""What a project adds to the roll-up cells and the moves a write makes.

contribution(s): a project's cells (plan, planned and started months, investment done, lag
events by the schedule rule); created(), changed(), removed(): one move for many projects;
move_town(): a town's role or batch changed; inputs(), enrolment_dims(), enrolments_of(): a
town's role and batch, read under its shared roll-up lock (locks.py).
"""

import calendar
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

from django.db import connection

from townbrain.core import bulk
from townbrain.programmes.models import Enrolment

from ..models import ProgressReport, RollupCell, Status
from ..schedule import curves_for, schedule_state
from .cells import DONE, LAG, PLAN, PLANNED, STARTED, apply
from .locks import _lock_role_change, _lock_towns_shared, _locks_per_town, _town_key


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
    _lock_towns_shared(pairs)
    out = {pair: (0, 0) for pair in pairs}
    rows = bulk.where_in(Enrolment.objects.filter(programme_id__in={p for _t, p in pairs})
                         .values_list("town_id", "programme_id", "role_id", "batch_id"), "town_id", [t for t, _p in pairs])
    for town, programme, role, batch in rows:
        if (town, programme) in out:
            out[(town, programme)] = (role or 0, batch or 0)
    return out


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


def move_town(town_code: str, programme_id, role_id, batch_id) -> int:
    """A town's role or batch in a programme changed: move its projects' cells to the new role and batch."""
    _lock_role_change(town_code, programme_id)
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
