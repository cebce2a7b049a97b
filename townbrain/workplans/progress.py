"""How far a work plan and each of its items have come, computed from the linked projects — never typed.

Definitions (the ledger's own, DOMAIN §4 and projects/rollups/, taken on the day asked — today by default):
- projects:          the linked projects; a plan counts each project once, however many of its items link it
- counted:           the linked projects not cancelled (cancelled projects add nothing, as in the roll-ups)
- started:           counted projects with an actual start on or before the day (the roll-ups' 已开工)
- start_rate:        started ÷ counted × 100 (开工率 over the linked projects)
- completed:         counted projects with status 完工
- investment_total:  their total investment (总投资, 万元)
- investment_plan:   their annual planned investment (年度计划投资, 万元)
- investment_done:   their cumulative investment as last reported (累计完成投资, 万元)
- investment_rate:   investment_done ÷ investment_plan × 100 (the roll-ups' 投资完成率)
- progress:          investment_done ÷ investment_total × 100, at most 100: how much of the work's money is spent
- an item is done when it has counted projects and all of them are completed; overdue when its deadline has
  passed and it is not done (an item with nothing linked by its deadline is overdue too)
Rates of nothing (no counted project, no planned money) are None, shown "—".
"""

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from townbrain.core import bulk
from townbrain.projects.models import Project, Status
from townbrain.projects.rollups import _rate

from .models import WorkPlanItem

# What the figures read of a project (a list page fetches only these).
PROJECT_FIELDS = ("status", "actual_start", "total_investment", "annual_plan", "cumulative_investment")
ZERO = Decimal(0)


@dataclass
class Figures:
    projects: int = 0
    counted: int = 0
    started: int = 0
    completed: int = 0
    investment_total: Decimal = ZERO
    investment_plan: Decimal = ZERO
    investment_done: Decimal = ZERO

    @property
    def start_rate(self) -> float | None:
        return _rate(self.started, self.counted)

    @property
    def completion_rate(self) -> float | None:
        return _rate(self.completed, self.counted)

    @property
    def investment_rate(self) -> float | None:
        return _rate(self.investment_done, self.investment_plan)

    @property
    def progress(self) -> float | None:
        rate = _rate(self.investment_done, self.investment_total)
        return None if rate is None else min(rate, 100.0)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(start_rate=self.start_rate, completion_rate=self.completion_rate,
                    investment_rate=self.investment_rate, progress=self.progress)
        return data


@dataclass
class ItemFigures(Figures):
    done: bool = False
    overdue: bool = False


@dataclass
class PlanFigures(Figures):
    items: int = 0
    done_items: int = 0
    overdue_items: int = 0
    headings: dict = field(default_factory=dict)  # heading id -> Figures of its items' projects


def _add(figures: Figures, projects, day: date) -> Figures:
    for p in projects:
        figures.projects += 1
        if p.status == Status.CANCELLED:
            continue
        figures.counted += 1
        if p.actual_start is not None and p.actual_start <= day:
            figures.started += 1
        if p.status == Status.COMPLETED:
            figures.completed += 1
        figures.investment_total += p.total_investment or ZERO
        figures.investment_plan += p.annual_plan or ZERO
        figures.investment_done += p.cumulative_investment or ZERO
    return figures


def item_figures(projects, deadline: date | None, day: date | None = None) -> ItemFigures:
    """The figures of one item from its linked projects (distinct) and its deadline."""
    day = day or timezone.localdate()
    figures = _add(ItemFigures(), {p.pk: p for p in projects}.values(), day)
    figures.done = figures.counted > 0 and figures.completed == figures.counted
    figures.overdue = deadline is not None and deadline < day and not figures.done
    return figures


def plan_figures(items, day: date | None = None) -> PlanFigures:
    """A plan's figures from its items, each given as (heading id, deadline, linked projects)."""
    day = day or timezone.localdate()
    plan, everything, by_heading = PlanFigures(), {}, {}
    for heading_id, deadline, projects in items:
        projects = list(projects)
        own = item_figures(projects, deadline, day)
        plan.items += 1
        plan.done_items += own.done
        plan.overdue_items += own.overdue
        for p in projects:
            everything[p.pk] = p
            by_heading.setdefault(heading_id, {})[p.pk] = p
        by_heading.setdefault(heading_id, {})
    _add(plan, everything.values(), day)
    plan.headings = {h: _add(Figures(), found.values(), day) for h, found in by_heading.items()}
    return plan


def attach(plans, day: date | None = None) -> None:
    """Set `figures` on each plan: its items and their linked projects read in two queries for all of them."""
    plans = list(plans)
    if not plans:
        return
    items = {}
    for pk, plan_id, heading_id, deadline in bulk.where_in(
            WorkPlanItem.objects.order_by().values_list("pk", "plan_id", "heading_id", "deadline"), "plan_id",
            [p.pk for p in plans]):
        items[pk] = (plan_id, heading_id, deadline, [])
    through = WorkPlanItem.projects.through
    links = through.objects.select_related("project").only("workplanitem_id", "project_id",
                                                              *(f"project__{f}" for f in PROJECT_FIELDS))
    for link in bulk.where_in(links, "workplanitem_id", list(items)):
        items[link.workplanitem_id][3].append(link.project)
    by_plan = {}
    for plan_id, heading_id, deadline, projects in items.values():
        by_plan.setdefault(plan_id, []).append((heading_id, deadline, projects))
    for plan in plans:
        plan.figures = plan_figures(by_plan.get(plan.pk, []), day)


def linked_projects() -> Prefetch:
    """An item's linked projects as the pages and the API show them (with their towns), in one query."""
    return Prefetch("projects", queryset=Project.objects.select_related("town").order_by("town_id", "code"))


def attach_items(plan, items, day: date | None = None) -> None:
    """Set `figures` on a plan's items (their `projects` prefetched) and on the plan, from the same rows."""
    day = day or timezone.localdate()
    for item in items:
        item.figures = item_figures(item.projects.all(), item.deadline, day)
    plan.figures = plan_figures([(i.heading_id, i.deadline, i.projects.all()) for i in items], day)


def fingerprint(plan, items) -> str:
    """What the plan page shows, in a few characters: the live refresh redraws only when it changes."""
    parts = [repr(plan.figures.as_dict())]
    for item in items:
        parts.append(repr((item.pk, item.updated.isoformat(), item.heading_id, item.goal, item.deadline, item.owner,
                           item.figures.as_dict(), sorted((p.pk, p.code, p.name, p.status, str(p.cumulative_investment))
                                                          for p in item.projects.all()))))
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]
