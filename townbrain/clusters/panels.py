"""The clusters cockpit panel: the clusters touching the area, each with its member towns' combined roll-up for
the cockpit's programme and month (the towns the user may see), linked to the cluster's page."""

from urllib.parse import urlencode

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.panels import Context, Panel, PanelData, Table

from . import services
from .models import Cluster

LIMIT = 20


def build(ctx: Context) -> PanelData | None:
    if ctx.programme is None:
        return None
    clusters = list(Cluster.objects.restrict(ctx.user, "view").touching(ctx.org.code)
                    .select_related("lead").prefetch_related("memberships__town")[:LIMIT])
    if not clusters:
        return None
    rows, links = [], []
    for cluster in clusters:
        f = services.rollup(ctx.user, cluster, ctx.period, ctx.programme)
        rows.append([cluster.name, cluster.lead.name, len(f["children"]), f["planned_to_start"], f["started"],
                     f["start_rate"], f["investment_done"], f["investment_rate"]])
        links.append(f"{cluster.get_absolute_url()}?{urlencode({'programme': ctx.programme.code, 'period': ctx.period})}")
    return PanelData(tables=[Table(
        "clusters", _("Town clusters (集群)"),
        [_("Cluster"), _("Lead town"), _("Member towns"), _("Planned to start"), _("Started"), _("Start rate (%)"),
         _("Cumulative (10k yuan)"), _("Investment rate (%)")],
        rows, links, [False, False, True, True, True, True, True, True])])


PANEL = Panel("clusters", gettext_lazy("Town clusters (集群)"), 48, build)
