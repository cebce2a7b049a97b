"""Which programme and month to show first: never an empty month.

A page that opens on the calendar month shows nothing when an area's data is of another year
(the demo's 2020, a county that has not reported yet): 开工率 "—" beside 1,950 laggards reads as
a broken product. Every period field and every figure page therefore starts from the latest
month that holds data for the area the user sees, read off the roll-up cells in one query.
"""

from datetime import date

from django.db.models import Count, Max, Q, Sum

from townbrain.core import periods
from townbrain.core.scope import ALL, scope_prefixes
from townbrain.programmes.models import Programme

from .models import RollupCell

# Cells of these kinds mark a month in which something happened: a report, a start.
_EVIDENCE = ("done", "started")


def visible_parts(user, org) -> list[str]:
    """The codes whose cells add up to what `user` sees of `org`: [org] or the visible subtrees inside it."""
    prefixes = scope_prefixes(user, "view")
    if prefixes is ALL or any(org.code.startswith(p) for p in prefixes):
        return [org.code]
    return sorted(p for p in prefixes if p.startswith(org.code))


def area_cells(user, org, programme=None, by_category: bool = False):
    """The cells that add up to what `user` sees of `org`: all roles and batches, every category
    together or (by_category) each category on its own."""
    # Units below a town (villages) hold no cells: they read their town's. A town keeps only its
    # detail cells (it has one role and batch); the other levels keep a slice over all of them.
    parts = {code[:9] for code in visible_parts(user, org)}
    towns = [code for code in parts if len(code) == 9]
    above = [code for code in parts if len(code) != 9]
    category = Q(category__gte=0) if by_category else Q(category=-1)
    qs = RollupCell.objects.filter(Q(org__in=above, role=-1, batch=-1) & category | Q(org__in=towns))
    return qs.filter(programme=programme) if programme is not None else qs


def programmes_with_data(user, org) -> list[Programme]:
    """The programmes that hold projects in what `user` sees of `org`, the most projects first."""
    programmes = {p.pk: p for p in Programme.objects.all()}
    # Naming the programmes lets the cells' key index (programme, org, …) answer: a handful of
    # programmes, each an index range, where "any programme" would read the whole table.
    counts = dict(area_cells(user, org).filter(programme__in=list(programmes), kind="plan")
                  .values_list("programme").annotate(n=Sum("n")))
    return sorted((programmes[pk] for pk, n in counts.items() if n), key=lambda p: (-counts[p.pk], p.code))


def default_programme(user, org) -> Programme | None:
    """The programme to open first: the one with the most projects there, else the first programme."""
    found = programmes_with_data(user, org)
    return found[0] if found else Programme.objects.order_by("code").first()


def latest_period(user, org, programme, today: date | None = None) -> str:
    """The latest month (YYYYMM) up to this month with a report or a start in what `user` sees of `org`.

    Falls back to the latest month in which a project was planned to start, then to this month.
    """
    today = today or date.today()
    this_month = periods.month_id(today.year, today.month)
    if programme is None:
        return this_month
    found = (area_cells(user, org, programme).filter(month__lte=this_month).exclude(month="")
             .values("kind").annotate(last=Max("month"), rows=Count("id")))
    last = {row["kind"]: row["last"] for row in found}
    for kind in (*_EVIDENCE, "planned"):
        months = [last[k] for k in ((kind,) if kind == "planned" else _EVIDENCE) if last.get(k)]
        if months:
            return max(months)
    return this_month


def has_data(user, org, programme, period: str) -> bool:
    """Whether anything happened in `period`'s year up to `period` (a plan, a start, a report, a lag)."""
    year_start = period[:4] + "01"
    return area_cells(user, org, programme).filter(month__gte=year_start, month__lte=period).exists()
