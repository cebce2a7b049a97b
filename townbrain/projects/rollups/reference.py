"""The same figures as compute() by a plain GROUP BY over the ledger on every call: what the cells
are checked against (tests, `townbrain doctor`, `townbrain bench rollups`)."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Substr

from townbrain.core import periods
from townbrain.core.models import OrgUnit

from ..models import ProgressReport, Project, Status
from ..schedule import curves_for, schedule_state
from .reads import _child_length, _figures

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=16, decimal_places=2))


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
        return _figures(planned, started, plan, done, lag)

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

