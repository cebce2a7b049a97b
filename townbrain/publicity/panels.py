"""The publicity cockpit panel: the year's articles by outlet level, 定期约稿 fulfilment and honours."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import periods
from townbrain.core.numbers import amount, percent
from townbrain.core.panels import Card, Chart, Context, Panel, PanelData, Series

from . import services
from .models import Article, Honour, OutletLevel, Quota


def build(ctx: Context) -> PanelData | None:
    year = int(ctx.period[:4])
    start, end = periods.month_start(f"{year}01"), periods.month_end(ctx.period)
    articles = Article.objects.restrict(ctx.user, "view").filter(
        town__code__startswith=ctx.org.code, published_on__gte=start, published_on__lte=end)
    honours = Honour.objects.restrict(ctx.user, "view").filter(
        unit__code__startswith=ctx.org.code, awarded_on__gte=start, awarded_on__lte=end)
    quotas = services.quotas_in_year(Quota.objects.restrict(ctx.user, "view").filter(
        town__code__startswith=ctx.org.code), year)
    a, h, q = services.article_summary(articles), services.honour_summary(honours), services.quota_summary(quotas)
    if not (a["articles"] or h["honours"] or q["quotas"]):
        return None
    query = urlencode({"org": ctx.org.code, "year": year})
    levels = list(OutletLevel)
    return PanelData(
        cards=[
            Card("articles", _("Articles"), amount(a["articles"]), "篇", url=f"{reverse('article-list')}?{query}"),
            Card("quota_fulfilment", _("Quota fulfilment (约稿完成率)"), percent(q["fulfilment_rate"]),
                 note=_("%(delivered)s of %(owed)s owed") % {"delivered": amount(q["delivered"]),
                                                           "owed": amount(q["owed"])},
                 url=f"{reverse('quota-list')}?{query}"),
            Card("honours", _("Honours"), amount(h["honours"]), "项", url=f"{reverse('honour-list')}?{query}",
                 note=_("%(units)s units, %(people)s individuals") % {"units": amount(h["units"]),
                                                                      "people": amount(h["people"])}),
        ],
        charts=[Chart("articles_by_level", _("Articles by outlet level"), "bar", [str(lv.label) for lv in levels],
                      [Series(_("Articles"), [a["by_level"][lv.value] for lv in levels], "篇")])],
    )


PANEL = Panel("publicity", gettext_lazy("Publicity and honours (宣传与表彰)"), 50, build)
