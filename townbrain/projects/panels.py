"""The ledger's cockpit panel: 开工率, investment, laggards, the year's trend, categories, child units.

Registered in ProjectsConfig.ready(); read by the cockpit and the briefings (core/panels.py).
Every figure comes from the live roll-up cells: `rollups.compute()` for the area and its
children (what /api/rollups/ answers), `trends` for the months and the categories.
"""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import periods
from townbrain.core.numbers import amount, percent
from townbrain.core.panels import Card, Chart, Context, Panel, PanelData, Series, Table

from . import latest, rollups, trends
from .models import Project, Status

TOWN_PROJECT_ROWS = 200  # a town's project table on the cockpit; the ledger page has the rest


def _number(value):
    return None if value is None else float(value)


def cockpit_url(code: str, ctx: Context) -> str:
    query = urlencode({"programme": ctx.programme.code, "period": ctx.period})
    return f"{reverse('cockpit', args=[code])}?{query}"


def _tone(rate) -> str:
    if rate is None:
        return ""
    return "good" if rate >= 95 else "warn" if rate >= 80 else "bad"


def cards(ctx: Context, r: dict) -> list[Card]:
    query = urlencode({"org": ctx.org.code, "period": ctx.period, "programme": ctx.programme.code})
    projects = f"{reverse('project-list')}?{urlencode({'under': ctx.org.code, 'programme': ctx.programme.code})}"
    return [
        Card("planned_to_start", _("Planned to start"), amount(r["planned_to_start"]), _("projects"),
             url=projects),
        Card("started", _("Started"), amount(r["started"]), _("projects"), url=projects),
        Card("start_rate", _("Start rate (开工率)"), percent(r["start_rate"]),
             note=_("%(started)s of %(planned)s") % {"started": amount(r["started"]),
                                                     "planned": amount(r["planned_to_start"])},
             tone=_tone(r["start_rate"])),
        Card("investment_plan", _("Annual planned investment"), amount(r["investment_plan"]), _("10k yuan")),
        Card("investment_done", _("Investment completed"), amount(r["investment_done"]), _("10k yuan")),
        Card("investment_rate", _("Investment completion rate"), percent(r["investment_rate"])),
        Card("laggards", _("Lagging projects"), amount(r["laggards"]), _("projects"),
             url=f"{reverse('warning-list')}?{query}", tone="bad" if r["laggards"] else "good"),
    ]


def trend_chart(ctx: Context) -> Chart:
    months = trends.monthly(ctx.user, ctx.org, ctx.programme, ctx.period)
    return Chart(
        "trend", _("Month by month"), "line",
        [dateformat.format(periods.month_start(m["period"]), "M") for m in months],
        [Series(_("Start rate (开工率)"), [_number(m["start_rate"]) for m in months], "%"),
         Series(_("Investment completion rate"), [_number(m["investment_rate"]) for m in months], "%")])


def category_chart(ctx: Context) -> Chart | None:
    rows = trends.by_category(ctx.user, ctx.org, ctx.programme, ctx.period)
    if not rows:
        return None
    return Chart("categories", _("By category"), "bar", [r["name"] or _("No category") for r in rows],
                 [Series(_("Planned to start"), [r["planned_to_start"] for r in rows], _("projects")),
                  Series(_("Started"), [r["started"] for r in rows], _("projects"))])


def children_of(ctx: Context, r: dict) -> tuple[Chart | None, Table | None]:
    children = [c for c in r["children"] if c["planned_to_start"] or c["investment_plan"]]
    if not children:
        return None, None
    ranked = sorted(children, key=lambda c: (-(c["start_rate"] or 0), c["code"]))
    chart = Chart("ranking", _("Start rate by unit"), "hbar", [c["name"] for c in ranked],
                  [Series(_("Start rate (开工率)"), [_number(c["start_rate"]) for c in ranked], "%")],
                  links=[cockpit_url(c["code"], ctx) for c in ranked])
    table = Table(
        "children", _("Units below"),
        [_("Unit"), _("Planned to start"), _("Started"), _("Start rate (开工率)"),
         _("Annual plan (10k yuan)"), _("Investment done (10k yuan)"), _("Investment rate"), _("Lagging")],
        [[c["name"], amount(c["planned_to_start"]), amount(c["started"]), percent(c["start_rate"]),
          amount(c["investment_plan"]), amount(c["investment_done"]), percent(c["investment_rate"]),
          amount(c["laggards"])] for c in ranked],
        links=[cockpit_url(c["code"], ctx) for c in ranked],
        numeric=[False] + [True] * 7)
    return chart, table


def town_projects(ctx: Context) -> Table | None:
    """A town's own projects (a town has no child units that hold projects)."""
    end = periods.month_end(ctx.period)
    qs = (Project.objects.restrict(ctx.user, "view")
          .filter(town__code__startswith=ctx.org.code, programme=ctx.programme)
          .exclude(status=Status.CANCELLED).select_related("category").order_by("planned_start", "code"))
    projects = list(qs[:TOWN_PROJECT_ROWS])
    if not projects:
        return None
    labels = dict(Status.choices)
    return Table(
        "projects", _("Projects"),
        [_("Code"), _("Name"), _("Category"), _("Status"), _("Planned start"), _("Actual start"),
         _("Annual plan (10k yuan)"), _("Investment done (10k yuan)"), _("Progress")],
        [[p.code, p.name, p.category.name if p.category_id else "", labels.get(p.status, p.status),
          p.planned_start.isoformat() if p.planned_start else "",
          p.actual_start.isoformat() if p.actual_start and p.actual_start <= end else "",
          amount(p.annual_plan), amount(p.cumulative_investment),
          percent(p.progress_percent)] for p in projects],
        links=[reverse("project-detail", args=[p.pk]) for p in projects],
        numeric=[False] * 6 + [True] * 3)


def area_rollup(ctx: Context) -> dict:
    """rollups.compute() for the context: what /api/rollups/ answers, worked out once per request."""
    return ctx.once("projects.rollup", lambda: rollups.compute(ctx.user, ctx.org, ctx.period, ctx.programme))


def build(ctx: Context) -> PanelData | None:
    if ctx.programme is None:
        return None
    if not latest.has_data(ctx.user, ctx.org, ctx.programme, ctx.period):
        return None
    r = area_rollup(ctx)
    data = PanelData(cards=cards(ctx, r), charts=[trend_chart(ctx)])
    category = category_chart(ctx)
    ranking, table = children_of(ctx, r)
    data.charts += [c for c in (ranking, category) if c is not None]
    if table is not None:
        data.tables.append(table)
    elif ctx.org.level in ("town", "village"):
        projects = town_projects(ctx)
        if projects is not None:
            data.tables.append(projects)
    return data


PANEL = Panel("projects", gettext_lazy("Projects and investment (项目化管理)"), 10, build)
