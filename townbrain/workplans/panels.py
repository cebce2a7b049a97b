"""The work plans cockpit panel: the plans of the area (一镇一方案 of its towns, 十个统筹 of its counties) — how many,
their items, the overdue ones and the average progress — and a table of the plans linked to their pages. The
figures are live (today's, from the linked projects), so the panel is the same in every month."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.numbers import amount, percent
from townbrain.core.panels import Card, Context, Panel, PanelData, Table

from .models import WorkPlan

LIMIT = 20


def build(ctx: Context) -> PanelData | None:
    plans = list(WorkPlan.objects.restrict(ctx.user, "view").filter(org_unit__code__startswith=ctx.org.code)
                 .select_related("org_unit").order_by("org_unit_id", "kind", "title").with_progress())
    if not plans:
        return None
    items = sum(p.figures.items for p in plans)
    overdue = sum(p.figures.overdue_items for p in plans)
    measured = [p.figures.progress for p in plans if p.figures.progress is not None]
    average = round(sum(measured) / len(measured), 1) if measured else None
    url = f"{reverse('workplan-list')}?{urlencode({'org': ctx.org.code})}"
    rows, links = [], []
    for plan in plans[:LIMIT]:
        f = plan.figures
        rows.append([plan.title, plan.org_unit.name, plan.get_kind_display(), f.items, f.overdue_items, f.start_rate,
                     f.progress])
        links.append(plan.get_absolute_url())
    return PanelData(
        cards=[
            Card("plans", _("Work plans"), amount(len(plans)), "个", url=url),
            Card("items", _("Plan items"), amount(items), "项"),
            Card("overdue", _("Overdue items"), amount(overdue), "项", tone="bad" if overdue else "good"),
            Card("progress", _("Average progress"), percent(average),
                 note=_("investment done of the linked projects' total")),
        ],
        tables=[Table("workplans", _("Work plans"),
                      [_("Plan"), _("Org unit"), _("Kind"), _("Items"), _("Overdue items"), _("Start rate (%)"),
                       _("Plan progress (%)")],
                      rows, links, [False, False, False, True, True, True, True])],
    )


PANEL = Panel("workplans", gettext_lazy("Work plans (一镇一方案、十个统筹)"), 49, build, timeless=True)
