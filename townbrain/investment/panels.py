"""The 招商 cockpit panel: the deals signed in the year up to the month, their funds and how far they went."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import periods
from townbrain.core.numbers import amount, percent
from townbrain.core.panels import Card, Chart, Context, Panel, PanelData, Series

from .models import Deal
from .services import breakdown, summarise


def build(ctx: Context) -> PanelData | None:
    year = int(ctx.period[:4])
    qs = Deal.objects.restrict(ctx.user, "view").filter(
        town__code__startswith=ctx.org.code, signed_on__gte=periods.month_start(f"{year}01"),
        signed_on__lte=periods.month_end(ctx.period))
    s = summarise(qs)
    if not s["deals"]:
        return None
    url = f"{reverse('deal-list')}?{urlencode({'org': ctx.org.code, 'year': year})}"
    rate = s["funds_rate"]
    industries = breakdown(qs, "industry")[:8]
    return PanelData(
        cards=[
            Card("deals", _("Deals signed"), amount(s["deals"]), "个", url=url),
            Card("signed_amount", _("Signed amount"), amount(s["signed_amount"]), "万元"),
            Card("funds_in_place", _("Funds in place"), amount(s["funds_in_place"]), "万元",
                 note=_("funds rate %(rate)s") % {"rate": percent(rate)},
                 tone="" if rate is None else "good" if rate >= 50 else "warn"),
            Card("fulfilment_rate", _("Fulfilment rate (履约率)"), percent(s["fulfilment_rate"])),
            Card("started", _("Started (开工)"), amount(s["started"]), "个"),
            Card("producing", _("Producing (投产)"), amount(s["producing"]), "个"),
        ],
        charts=[Chart("deals_by_industry", _("Signed and in place by industry"), "bar",
                      [r["label"] for r in industries],
                      [Series(_("Signed amount"), [r["signed_amount"] for r in industries], "万元"),
                       Series(_("Funds in place"), [r["funds_in_place"] for r in industries], "万元")])],
    )


PANEL = Panel("investment", gettext_lazy("Investment attraction (招商)"), 45, build)
