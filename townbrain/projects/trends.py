"""A year of roll-up figures month by month, and the figures per category, for charts.

The same cells and the same definitions as `rollups.compute()` (see its module docstring), read
in one query per chart instead of one per month: the cells are grouped by kind and month and
added up in Python month by month. `tests/test_trends.py` holds each month equal to compute().
"""

from collections import defaultdict

from django.db.models import Sum

from townbrain.core import periods
from townbrain.programmes.models import Category

from .latest import area_cells
from .rollups import DONE, LAG, PLAN, PLANNED, STARTED, _figures, _money


def monthly(user, org, programme, period: str) -> list[dict]:
    """[{period, planned_to_start, started, start_rate, investment_plan, investment_done, investment_rate,
    laggards}] for January of `period`'s year up to `period`, as `user` sees `org`."""
    year, month = periods.parse_month(period)
    period = periods.month_id(year, month)
    year_start = periods.month_id(year, 1)
    rows = (area_cells(user, org, programme).filter(month__lte=period).order_by()
            .values_list("kind", "month").annotate(n=Sum("n"), cents=Sum("cents")))
    by = defaultdict(lambda: [0, 0])
    plan = 0
    for kind, month_, n, cents in rows:
        if kind == PLAN:
            plan += cents or 0
        else:
            by[kind, month_][0] += n or 0
            by[kind, month_][1] += cents or 0
    # What lies before the year counts for the cumulative kinds (investment done, laggards).
    done = sum(v[1] for (kind, m), v in by.items() if kind == DONE and m < year_start)
    lag = sum(v[0] for (kind, m), v in by.items() if kind == LAG and m < year_start)
    planned = started = 0
    result = []
    for m in range(1, month + 1):
        p = periods.month_id(year, m)
        planned += by.get((PLANNED, p), (0, 0))[0]
        started += by.get((STARTED, p), (0, 0))[0]
        done += by.get((DONE, p), (0, 0))[1]
        lag += by.get((LAG, p), (0, 0))[0]
        result.append({"period": p, **_figures(planned, started, _money(plan), _money(done), lag)})
    return result


def by_category(user, org, programme, period: str) -> list[dict]:
    """[{code, name, planned_to_start, started, start_rate, …}] per category of `programme` holding projects
    in what `user` sees of `org`, in the programme's order; projects without a category as code ""."""
    year, month = periods.parse_month(period)
    period = periods.month_id(year, month)
    year_start = periods.month_id(year, 1)
    rows = (area_cells(user, org, programme, by_category=True).filter(month__lte=period).order_by()
            .values_list("category", "kind", "month").annotate(n=Sum("n"), cents=Sum("cents")))
    sums = defaultdict(lambda: [0, 0, 0, 0, 0])  # planned, started, plan, done, lag
    for category, kind, month_, n, cents in rows:
        acc = sums[category]
        if kind == PLANNED and month_ >= year_start:
            acc[0] += n or 0
        elif kind == STARTED and month_ >= year_start:
            acc[1] += n or 0
        elif kind == PLAN:
            acc[2] += cents or 0
        elif kind == DONE:
            acc[3] += cents or 0
        elif kind == LAG:
            acc[4] += n or 0
    names = {c.pk: (c.code, c.name, c.order) for c in Category.objects.filter(programme=programme)}
    result = []
    for pk, (planned, started, plan, done, lag) in sums.items():
        if not (planned or started or plan or done or lag):
            continue
        code, name, order = names.get(pk, ("", "", 10_000))
        result.append((order, {"code": code, "name": name,
                               **_figures(planned, started, _money(plan), _money(done), lag)}))
    return [row for _order, row in sorted(result, key=lambda item: (item[0], item[1]["code"]))]
