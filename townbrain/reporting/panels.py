"""The cockpit panel of the reporting cycle: the month's timeliness and the area's late towns."""

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.models import OrgUnit
from townbrain.core.panels import Card, Context, Panel, PanelData, Table

from . import timeliness
from .models import Status


def build(ctx: Context) -> PanelData | None:
    if ctx.programme is None or not ctx.period:
        return None
    # The cards need deadlines and submissions only; what towns entered is read for the late ones shown.
    rows = timeliness.rows(ctx.user, ctx.org, ctx.programme, ctx.period, entries=False, towns=False)
    if not rows:
        return None
    s = timeliness.summary(rows)
    url = reverse("reporting-board", args=[ctx.org.code, ctx.programme.code, ctx.period])
    rate = s["on_time_rate"]
    cards = [
        Card("deadline", _("Deadline"), rows[0].deadline.isoformat(),
             note=(_("%(n)s days left") % {"n": rows[0].days_left}) if rows[0].days_left >= 0 else _("passed"),
             url=url),
        Card("on_time_rate", _("Reports on time"), "—" if rate is None else rate, "%",
             tone="" if rate is None else ("good" if rate >= 90 else "warn" if rate >= 60 else "bad"), url=url),
        Card("late", _("Submitted late"), s["late"], _("towns"), tone="warn" if s["late"] else ""),
        Card("missing", _("Missing"), s["missing"], _("towns"), tone="bad" if s["missing"] else ""),
        Card("approved", _("Approved"), s["approved"], _("towns"),
             note=_("of %(n)s towns") % {"n": s["towns"]}),
    ]
    late = [r for r in rows if r.late_days and r.status != Status.LOCKED][:20]
    unsent = {r.code for r in late if r.submitted_at is None and r.status == Status.EMPTY}
    if unsent:
        entered, _owing = timeliness.entered_for(ctx.user, ctx.org, ctx.programme, ctx.period, towns=unsent)
        for r in late:
            if r.code in entered and r.status == Status.EMPTY:
                r.status, r.reports = Status.ENTERING, entered[r.code]
    names = dict(OrgUnit.objects.filter(code__in=[r.code for r in late]).values_list("code", "name"))
    tables = []
    if late:
        tables.append(Table(
            "late_towns", _("Late towns (%(period)s)") % {"period": ctx.period},
            [_("Town"), _("Status"), _("Working days late (天)")],
            [[names.get(r.code, r.code), str(r.status_label), r.late_days] for r in late],
            links=[reverse("reporting-town", args=[r.code, ctx.programme.code, ctx.period]) for r in late],
            numeric=[False, False, True]))
    return PanelData(cards=cards, tables=tables)


PANEL = Panel("reporting", gettext_lazy("Reporting (填报 → 审核)"), 35, build)
