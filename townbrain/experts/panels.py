"""The 一库三师 cockpit panel: the year's expert activities and person-times (人次) up to the month."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import periods
from townbrain.core.numbers import amount
from townbrain.core.panels import Card, Chart, Context, Panel, PanelData, Series

from .models import ExpertActivity
from .services import summarise


def build(ctx: Context) -> PanelData | None:
    year = int(ctx.period[:4])
    qs = ExpertActivity.objects.restrict(ctx.user, "view").filter(
        town__code__startswith=ctx.org.code, date__gte=periods.month_start(f"{year}01"),
        date__lte=periods.month_end(ctx.period))
    s = summarise(qs)
    if not s["activities"]:
        return None
    times = s["person_times"]
    url = f"{reverse('expert-activity-list')}?{urlencode({'org': ctx.org.code, 'year': year})}"
    kinds = [(_("Chief designers"), times["chief_designer"]), (_("Resident planners"), times["resident_planner"]),
             (_("Development advisers"), times["development_adviser"])]
    return PanelData(
        cards=[
            Card("activities", _("Expert activities"), amount(s["activities"]), _("times"), url=url),
            Card("person_times", _("Person-times (人次)"), amount(times["total"]), _("person-times")),
            *[Card(f"person_times_{i}", label, amount(n), _("person-times")) for i, (label, n) in enumerate(kinds)],
            Card("problems_solved", _("Problems solved"), amount(s["problems_solved"]),
                 note=_("of %(found)s found") % {"found": amount(s["problems_found"])}),
        ],
        charts=[Chart("person_times", _("Person-times by kind of expert"), "pie", [k for k, _n in kinds],
                      [Series(_("Person-times (人次)"), [n for _k, n in kinds], _("person-times"))])],
    )


PANEL = Panel("experts", gettext_lazy("Experts (一库三师)"), 40, build)
