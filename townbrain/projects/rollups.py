"""Live roll-ups for any org unit and month, computed from the indexed ledger on every request.

There is no batch job: a report saved in a town is in the county, city and province figures
on the very next request. Each project carries its latest figures (kept by report_progress),
and the figures for an earlier month come from the report of that month or before.

Definitions (DOMAIN §4), for month P of year Y:
- planned_to_start: projects whose planned start falls in Y up to the end of P (cancelled excluded)
- started:          of those, the ones with an actual start on or before the end of P
- start_rate:       started ÷ planned_to_start × 100
- investment_plan:  the annual planned investment of the projects in scope (万元)
- investment_done:  cumulative investment reported for P or the latest month before it (万元)
- laggards:         planned to start by P but not started, or physical progress more than
                    LAG_TOLERANCE points behind the linear plan from planned start to completion
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Substr

from townbrain.core import codes, periods
from townbrain.core.models import OrgUnit

from .models import ProgressReport, Project, Status
from .schedule import schedule_state

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=16, decimal_places=2))


def _rate(part, whole):
    if not whole:
        return None
    return round(float(part) * 100 / float(whole), 1)


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


def compute(user, org: OrgUnit, period: str, programme, **dims) -> dict:
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
    for p in candidates.iterator(chunk_size=5000):
        if schedule_state(p, end, p.progress_at) == "late":
            counts[p.town_id[:child_len] if child_len else ""] += 1
    return counts
