"""Reading the roll-up table: compute() for an org unit and its children, read_sums() for many org
units, each from the slice its level keeps."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import Length, Substr

from townbrain.core import codes, periods
from townbrain.core.models import OrgUnit
from townbrain.core.scope import ALL, scope_prefixes

from ..models import RollupCell
from .cells import ALL_IDS, DETAIL_S, DIMS, DONE, LAG, LEVEL_SLICES, PLAN, PLANNED, STARTED


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


def _child_length(org: OrgUnit) -> int | None:
    """Code length of the org's children that hold projects (None for a town: no children to list)."""
    idx = codes.LEVELS.index(org.level)
    if org.level in ("town", "village"):
        return None
    return codes.LEVEL_LENGTHS[codes.LEVELS[idx + 1]]
