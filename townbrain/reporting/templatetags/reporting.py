"""{% reporting_deadline programme period [town] [org] [kind] %}: a period's deadline, days left and
(for a town) its status; {% reporting_due programme period [kind] as due %}: the deadline alone.

Monthly progress reports take a month (YYYYMM); indicator values (kind "values") any DHIS2 period
(2020Q3, 2020, 202009) and, without a programme, the rule for every programme."""

from django import template
from django.urls import reverse

from townbrain.core import periods

from ..deadlines import Deadlines
from ..models import Kind, Status, Submission

register = template.Library()


def _clean(period, kind: str) -> str | None:
    try:
        if kind == Kind.VALUES:
            return periods.canonical(str(period))
        return periods.month_id(*periods.parse_month(period))
    except (periods.InvalidPeriod, TypeError, ValueError):
        return None


@register.simple_tag
def reporting_due(programme, period, kind=Kind.PROGRESS):
    """The period's deadline (rules, overrides, working days), or None for no period."""
    period = _clean(period, kind)
    if period is None or (programme is None and kind == Kind.PROGRESS):
        return None
    return Deadlines().due(getattr(programme, "pk", None), period, kind)


@register.inclusion_tag("reporting/_deadline_badge.html", takes_context=True)
def reporting_deadline(context, programme, period, town=None, org=None, kind=Kind.PROGRESS):
    kind = kind or Kind.PROGRESS
    period = _clean(period, kind)
    if period is None or (programme is None and kind == Kind.PROGRESS):
        return {"show": False}
    from django.utils import timezone

    due = Deadlines().due(getattr(programme, "pk", None), period, kind)
    left = (due - timezone.localdate()).days
    status, approved, url = None, None, ""
    user = context.get("user") or getattr(context.get("request"), "user", None)
    town_code = getattr(town, "code", town) or ""
    if programme is None:  # indicator values of no programme in particular: the date alone
        pass
    elif town_code:
        sub = Submission.objects.restrict(user, "view").filter(
            town_id=town_code, programme=programme, kind=kind, period=period).first()
        status = Status(sub.status) if sub else None
        if kind == Kind.PROGRESS:
            url = reverse("reporting-town", args=[town_code, programme.code, period])
    else:
        code = getattr(org, "code", org) or ""
        url = reverse("reporting-board", args=[code, programme.code, period]) if code and kind == Kind.PROGRESS else ""
        if code and len(code) < 9 and hasattr(org, "code"):
            # Roll-ups say how much of what they add up is approved; the rest is provisional.
            from ..timeliness import rows, summary

            s = summary(rows(user, org, programme, period, kind))
            approved = {"approved": s["approved"], "towns": s["towns"]}
    return {"show": True, "due": due, "left": left, "late": -left if left < 0 else 0, "period": period,
            "status": status, "url": url, "locked": status in (Status.APPROVED, Status.LOCKED),
            "approved": approved}
