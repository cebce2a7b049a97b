"""The cockpit panel of the governance app: the month's events, 按期办结率, overdue now, 满意率, by child unit."""

from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import panels
from townbrain.core.models import OrgUnit

from . import stats
from .models import Event, Platform

# Counties judge towns by floors like these (DOMAIN §10: reply ≥ 92%, satisfaction ≥ 85%).
ON_TIME_FLOOR, SATISFACTION_FLOOR = 92, 85


def _tone(value, floor):
    if value is None:
        return ""
    return "good" if value >= floor else "bad"


def build(ctx: panels.Context):
    events = Event.objects.restrict(ctx.user, "view").filter(town__code__startswith=ctx.org.code)
    if not events.exists():
        return None
    try:
        start, end = stats.period_bounds(ctx.period)
    except ValueError:
        return None
    children = list(OrgUnit.objects.filter(parent=ctx.org).order_by("code").values_list("code", "name"))
    figures, parts = stats.area(ctx.user, ctx.org.code, ctx.period, children=[code for code, _name in children])
    queue = reverse("event-list") + f"?under={ctx.org.code}"
    cards = [
        panels.Card("events_received", _("Events reported"), figures["received"], _("个"), url=queue),
        panels.Card("events_on_time", _("On-time closure rate (按期办结率)"), figures["on_time_rate"], "%",
                    note=_("%(closed)s closed on time of %(due)s due") % {
                        "closed": figures["closed_on_time"], "due": figures["closed"] + figures["open_overdue"]},
                    tone=_tone(figures["on_time_rate"], ON_TIME_FLOOR)),
        panels.Card("events_overdue", _("Open past the deadline"), figures["open_overdue"], _("个"),
                    url=queue + "&overdue=true", tone="bad" if figures["open_overdue"] else "good"),
        panels.Card("events_satisfaction", _("Satisfaction (满意率)"), figures["satisfaction_rate"], "%",
                    tone=_tone(figures["satisfaction_rate"], SATISFACTION_FLOOR)),
    ]
    month_cells = stats.cells_for(ctx.user).filter(town__code__startswith=ctx.org.code, month__gte=start.date(),
                                                   month__lt=end.date())
    by_platform = dict(month_cells.order_by().values_list("platform").annotate(n=Sum("received")))
    chart = panels.Chart("events_platforms", _("Events by platform"), "bar",
                         [str(label) for _v, label in Platform.choices],
                         [panels.Series(_("Events"), [by_platform.get(v, 0) for v, _l in Platform.choices], _("个"))])
    rows, links = [], []
    for code, name in children:
        f = parts[code]
        if not f["received"]:
            continue
        rows.append([name, f["received"], f["closed"], f["open_overdue"], f["on_time_rate"], f["satisfaction_rate"]])
        links.append(reverse("event-list") + f"?under={code}")
    tables = []
    if rows:
        tables.append(panels.Table(
            "events_children", _("Events by unit"),
            [_("Unit"), _("Reported (个)"), _("Closed (个)"), _("Overdue (个)"), _("On time (%)"),
             _("Satisfaction (%)")], rows, links, [False, True, True, True, True, True]))
    return panels.PanelData(cards=cards, charts=[chart], tables=tables)


def register_panel():
    panels.register(panels.Panel("governance", gettext_lazy("Grassroots governance (基层治理)"), 60, build))
