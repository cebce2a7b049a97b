"""{% reporting_deadline programme period [town] %}: a period's deadline, days left and (for a town) its status."""

from django import template
from django.urls import reverse

from townbrain.core import periods

from ..deadlines import Deadlines
from ..models import Kind, Status, Submission

register = template.Library()


@register.inclusion_tag("reporting/_deadline_badge.html", takes_context=True)
def reporting_deadline(context, programme, period, town=None, org=None):
    try:
        period = periods.month_id(*periods.parse_month(period))
    except (periods.InvalidPeriod, TypeError, ValueError):
        return {"show": False}
    if programme is None:
        return {"show": False}
    from django.utils import timezone

    due = Deadlines().due(programme.pk, period, Kind.PROGRESS)
    left = (due - timezone.localdate()).days
    status, approved = None, None
    user = context.get("user") or getattr(context.get("request"), "user", None)
    town_code = getattr(town, "code", town) or ""
    if town_code:
        sub = Submission.objects.restrict(user, "view").filter(
            town_id=town_code, programme=programme, kind=Kind.PROGRESS, period=period).first()
        status = Status(sub.status) if sub else None
        url = reverse("reporting-town", args=[town_code, programme.code, period])
    else:
        code = getattr(org, "code", org) or ""
        url = reverse("reporting-board", args=[code, programme.code, period]) if code else ""
        if code and len(code) < 9 and hasattr(org, "code"):
            # Roll-ups say how much of what they add up is approved; the rest is provisional.
            from ..timeliness import rows, summary

            s = summary(rows(user, org, programme, period))
            approved = {"approved": s["approved"], "towns": s["towns"]}
    return {"show": True, "due": due, "left": left, "late": -left if left < 0 else 0, "period": period,
            "status": status, "url": url, "locked": status in (Status.APPROVED, Status.LOCKED),
            "approved": approved}
