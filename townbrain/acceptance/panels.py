"""The 省级验收 cockpit panel: how many of the area's acceptances stand at each stage, and their outcomes."""

from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.numbers import amount
from townbrain.core.panels import Card, Chart, Context, Panel, PanelData, Series

from .models import Acceptance, Stage


def build(ctx: Context) -> PanelData | None:
    if ctx.programme is None:
        return None
    year = int(ctx.period[:4])
    qs = Acceptance.objects.restrict(ctx.user, "view").filter(
        programme=ctx.programme, year=year, town__code__startswith=ctx.org.code)
    stages = dict(qs.order_by().values_list("stage").annotate(n=Count("id")))
    if not stages:
        return None
    outcomes = dict(qs.filter(stage=Stage.SIGNED).exclude(outcome="").order_by()
                    .values_list("outcome").annotate(n=Count("id")))
    url = f"{reverse('acceptance-list')}?{urlencode({'programme': ctx.programme.code, 'year': year, 'under': ctx.org.code})}"
    order = [s for s in Stage if stages.get(s.value)]
    return PanelData(
        cards=[Card("acceptances", _("Acceptances %(year)s") % {"year": year}, amount(sum(stages.values())),
                    _("towns"), url=url,
                    note=" / ".join(f"{n} {o}" for o, n in sorted(outcomes.items())))]
        + [Card(f"stage_{s.value}", s.label, amount(stages[s.value]), _("towns")) for s in order],
        charts=[Chart("stages", _("Acceptance stages"), "bar", [s.label for s in order],
                      [Series(_("Towns"), [stages[s.value] for s in order], _("towns"))])],
    )


PANEL = Panel("acceptance", gettext_lazy("Provincial acceptance (省级验收)"), 30, build)
