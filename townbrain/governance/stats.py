"""Event statistics (考核口径): what bulletins publish per org unit and period.

The events counted are those reported (上报) in the period under the org unit. Of them:

- received 受理量: all of them; accepted: those accepted (受理), whatever happened after;
- closed 办结: closed (结案) or reviewed now; closed_on_time: of those, closed by the deadline;
- open_overdue: not closed, the clock running and the deadline passed (as of `now`);
- on_time_rate 按期办结率 = closed_on_time ÷ (closed + open_overdue) × 100 — so a month of unfinished
  work past its deadlines never looks like 100%; None when the divisor is 0;
- satisfaction_rate 满意率 = (满意 + 基本满意) ÷ reviews × 100, over every 回访 of these events (a
  不满意 before a 重办 still counts);
- reopen_rate 重办率 = events reopened at least once ÷ (closed + reopened and open again) × 100;
- avg_hours: the average hours from 上报 to 结案 over the closed events.

Figures are read live from the events (counts with conditions in one query), so they are never stale.
"""

from datetime import datetime

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit

from .models import CLOCK_RUNNING, DONE, Event, Platform, Step, Verdict

# The published figures, in order, with their column labels (the API's keys, the page's and the exports' columns).
FIELDS = ["received", "accepted", "closed", "closed_on_time", "open_overdue", "on_time_rate",
          "satisfaction_rate", "avg_hours", "reviewed", "satisfied", "reopened", "reopen_rate"]
LABELS = {
    "received": _("Reported (个)"), "accepted": _("Accepted (个)"), "closed": _("Closed (个)"),
    "closed_on_time": _("Closed on time (个)"), "open_overdue": _("Open past the deadline (个)"),
    "on_time_rate": _("On-time closure rate (%)"), "satisfaction_rate": _("Satisfaction (%)"),
    "avg_hours": _("Average handling time (h)"), "reviewed": _("Reviews (个)"), "satisfied": _("Satisfied (个)"),
    "reopened": _("Reopened (个)"), "reopen_rate": _("Reopen rate (%)"),
}


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a YYYY or YYYYMM period in local time; ValueError otherwise."""
    period = (period or "").strip()
    if len(period) == 4 and period.isdigit():
        year = int(period)
        start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    elif len(period) == 6 and period.isdigit() and 1 <= int(period[4:]) <= 12:
        year, month = int(period[:4]), int(period[4:])
        start = datetime(year, month, 1)
        end = datetime(year + (month == 12), month % 12 + 1, 1)
    else:
        raise ValueError(period)
    return timezone.make_aware(start), timezone.make_aware(end)


def _rate(part, whole):
    return round(100 * part / whole, 1) if whole else None


def compute(queryset, now=None) -> dict:
    """The figures over `queryset` (already restricted and filtered to the area and period)."""
    now = now or timezone.now()
    done = Q(status__in=DONE)
    figures = queryset.aggregate(
        received=Count("pk"),
        accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
        closed=Count("pk", filter=done),
        closed_on_time=Count("pk", filter=done & Q(closed_on_time=True)),
        open_overdue=Count("pk", filter=Q(status__in=CLOCK_RUNNING, deadline__lt=now)),
        reopened_events=Count("pk", filter=Q(reopened__gt=0)),
        reopened_open=Count("pk", filter=Q(reopened__gt=0) & ~done),
    )
    figures["reopened"] = figures.pop("reopened_events")
    # 满意率 counts every 回访, not only the last: an event reviewed 不满意 and then 满意 after 重办
    # counts one of each, as the hotline bulletins do.
    reviews = Step.objects.filter(event__in=queryset.values("pk"), step=Step.Kind.REVIEW).aggregate(
        reviewed=Count("pk"),
        satisfied=Count("pk", filter=Q(detail__verdict__in=[Verdict.SATISFIED, Verdict.BASICALLY])))
    figures.update(reviews)
    # The average in the database (an interval on PostgreSQL, microseconds on SQLite): a county's year
    # is ~100,000 events, too many to fetch for one number.
    took = queryset.filter(done, closed_at__isnull=False).aggregate(
        avg=Avg(ExpressionWrapper(F("closed_at") - F("reported_at"), output_field=DurationField())))["avg"]
    figures["on_time_rate"] = _rate(figures["closed_on_time"], figures["closed"] + figures["open_overdue"])
    figures["satisfaction_rate"] = _rate(figures["satisfied"], figures["reviewed"])
    figures["reopen_rate"] = _rate(figures["reopened"], figures["closed"] + figures.pop("reopened_open"))
    figures["avg_hours"] = round(took.total_seconds() / 3600, 1) if took is not None else None
    return figures


def for_area(queryset, org_code: str, period: str, now=None) -> dict:
    start, end = period_bounds(period)
    qs = queryset.filter(town__code__startswith=org_code, reported_at__gte=start, reported_at__lt=end)
    return compute(qs, now)


def events_for(user, platform: str = "", category: str = ""):
    """The events `user` may view, narrowed by platform and by a 大类 or 小类 code; ValueError for a bad platform."""
    events = Event.objects.restrict(user, "view")
    if platform:
        if platform not in Platform.values:
            raise ValueError(platform)
        events = events.filter(platform=platform)
    if category:
        events = events.filter(Q(category__code=category) | Q(category__parent__code=category))
    return events


def table(events, unit: OrgUnit, period: str, now=None) -> list[dict]:
    """The unit's figures, then one row per unit directly below it: {"org", "name", figures…}."""
    rows = [{"org": unit.code, "name": unit.name, **for_area(events, unit.code, period, now)}]
    for child in OrgUnit.objects.filter(parent=unit).order_by("code"):
        rows.append({"org": child.code, "name": child.name, **for_area(events, child.code, period, now)})
    return rows
