"""The 物联感知 cockpit panel: the area's active alarms by severity and the unacknowledged ones,
the sensors reporting and the silent ones, and facility coverage (towns with an operating sewage
AND garbage facility). Live figures, not the month's: the panel is `timeless`. Left out for an
area with neither sensors nor facilities."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.numbers import amount, percent
from townbrain.core.panels import Card, Chart, Context, Panel, PanelData, Series

from . import alarms, facilities
from .models import Facility, Sensor, Severity


def _url(name: str, **params) -> str:
    return f"{reverse(name)}?{urlencode(params)}"


def sensor_status(user, org_code: str, now=None) -> dict:
    """Sensors under the area: reporting (heard from within their `inactive_after_s`) and silent
    (never heard from, or quiet for longer)."""
    now = now or timezone.now()
    rows = Sensor.objects.restrict(user, "view").filter(town__code__startswith=org_code).values_list(
        "last_seen", "inactive_after_s")
    total = reporting = 0
    for last_seen, after in rows:
        total += 1
        if last_seen is not None and (not after or (now - last_seen).total_seconds() <= after):
            reporting += 1
    return {"sensors": total, "reporting": reporting, "silent": total - reporting}


def build(ctx: Context) -> PanelData | None:
    code = ctx.org.code
    status = sensor_status(ctx.user, code)
    has_facilities = Facility.objects.restrict(ctx.user, "view").filter(town__code__startswith=code).exists()
    if not status["sensors"] and not has_facilities:
        return None
    counts = alarms.counts(ctx.user, code)
    by_severity = counts["by_severity"]
    severities = list(Severity)
    cards = [Card(f"alarms_{s.value}", _("%(severity)s alarms") % {"severity": s.label}, amount(by_severity[s.value]),
                  url=_url("alarm-list", org=code, status="active", severity=s.value),
                  tone=("bad" if s.value in ("critical", "major") else "warn") if by_severity[s.value] else "good")
             for s in severities]
    cards.append(Card("alarms_unacknowledged", _("Unacknowledged alarms"), amount(counts["unacknowledged"]),
                      note=_("of %(n)s active") % {"n": amount(counts["active"])},
                      url=_url("alarm-list", org=code, status="active_unack"),
                      tone="warn" if counts["unacknowledged"] else "good"))
    if status["sensors"]:
        cards.append(Card("sensors_reporting", _("Sensors reporting"), amount(status["reporting"]),
                          note=_("of %(n)s sensors") % {"n": amount(status["sensors"])},
                          url=_url("sensor-list", org=code)))
        cards.append(Card("sensors_silent", _("Silent sensors"), amount(status["silent"]),
                          note=_("an inactivity alarm each, once past their limit"),
                          url=_url("sensor-list", org=code), tone="warn" if status["silent"] else "good"))
    cover = facilities.coverage(ctx.user, ctx.org)
    if cover["towns"]:
        share = cover["both_share"]
        cards.append(Card("facility_coverage", _("Towns with sewage and garbage treatment"), percent(share),
                          note=_("%(both)s of %(towns)s towns") % {"both": amount(cover["with_both"]),
                                                                  "towns": amount(cover["towns"])},
                          url=_url("facility-coverage", org=code),
                          tone="" if share is None else "good" if share >= 80 else "warn"))
    charts = []
    if counts["active"]:
        charts.append(Chart("alarms_by_severity", _("Active alarms by severity"), "bar",
                            [str(s.label) for s in severities],
                            [Series(_("Active alarms"), [by_severity[s.value] for s in severities])],
                            links=[_url("alarm-list", org=code, status="active", severity=s.value)
                                   for s in severities]))
    return PanelData(cards=cards, charts=charts)


PANEL = Panel("sensing", gettext_lazy("Sensing (物联感知)"), 60, build, timeless=True)
