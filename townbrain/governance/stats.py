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

The pages, the API and the cockpit panel read them from the cells (cells.py: per town, month and
category, kept current by every write of the services, so never stale) plus a live count of what is
open past its deadline — a county's year is a few thousand cells instead of ~100,000 events. compute()
and for_area() count the same figures from any queryset of events in one query: the reference the
tests and `townbrain doctor` hold the cells to.
"""

from datetime import date, datetime

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit

from . import cells as cells_module
from .models import CLOCK_RUNNING, DONE, Event, EventCell, Platform

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


def _n(condition=None):
    # count(reported_at): every event has one, and unlike the primary key it is a column of the index
    # the live overdue count reads (governance_event_running), so PostgreSQL counts from the index alone.
    # (Django allows no COUNT(*) FILTER.)
    return Count("reported_at", filter=condition)


def _sums(now) -> dict:
    """The aggregates every figure is made of, summable across towns (the average as a sum and a count)."""
    done = Q(status__in=DONE)
    took = done & Q(closed_at__isnull=False)
    return {
        "received": _n(),
        "accepted": _n(Q(accepted_at__isnull=False)),
        "closed": _n(done),
        "closed_on_time": _n(done & Q(closed_on_time=True)),
        "open_overdue": _n(Q(status__in=CLOCK_RUNNING, deadline__lt=now)),
        "reopened_events": _n(Q(reopened__gt=0)),  # not "reopened": the field's name
        "reopened_open": _n(Q(reopened__gt=0) & ~done),
        # 满意率 counts every 回访, not only the last: an event reviewed 不满意 and then 满意 after 重办
        # counts one of each, as the hotline bulletins do. The events carry their 回访 counts (kept by the
        # services with the steps, checked by `townbrain doctor`), so no join with the timeline.
        "reviewed": Sum("reviews", default=0),
        "satisfied": Sum("reviews_satisfied", default=0),
        # 上报 → 结案 in the database (an interval on PostgreSQL, microseconds on SQLite): a county's year is
        # ~100,000 events, too many to fetch for one number.
        "took_sum": Sum(ExpressionWrapper(F("closed_at") - F("reported_at"), output_field=DurationField()),
                        filter=took),
        "took_n": _n(took),
    }


EMPTY = {"received": 0, "accepted": 0, "closed": 0, "closed_on_time": 0, "open_overdue": 0, "reopened_events": 0,
         "reopened_open": 0, "reviewed": 0, "satisfied": 0, "took_sum": None, "took_n": 0}


def _add(total: dict, part: dict) -> None:
    for key, value in part.items():
        if key == "took_sum":
            if value is not None:
                total[key] = value if total[key] is None else total[key] + value
        elif key in total:
            total[key] += value or 0


def _figures(sums: dict) -> dict:
    """The published figures (FIELDS, and `reopened`) from the sums of _sums()."""
    figures = {k: sums[k] or 0 for k in ("received", "accepted", "closed", "closed_on_time", "open_overdue",
                                         "reviewed", "satisfied")}
    figures["reopened"] = sums["reopened_events"] or 0
    figures["on_time_rate"] = _rate(figures["closed_on_time"], figures["closed"] + figures["open_overdue"])
    figures["satisfaction_rate"] = _rate(figures["satisfied"], figures["reviewed"])
    figures["reopen_rate"] = _rate(figures["reopened"], figures["closed"] + sums["reopened_open"])
    took = sums["took_sum"]
    figures["avg_hours"] = (round(took.total_seconds() / sums["took_n"] / 3600, 1)
                            if took is not None and sums["took_n"] else None)
    return figures


def compute(queryset, now=None) -> dict:
    """The figures over `queryset` (already restricted and filtered to the area and period): one query."""
    return _figures(queryset.aggregate(**_sums(now or timezone.now())))


def in_period(queryset, org_code: str, period: str):
    """`queryset` narrowed to the events reported in `period` under `org_code`; ValueError for a bad period."""
    start, end = period_bounds(period)
    return queryset.filter(town__code__startswith=org_code, reported_at__gte=start, reported_at__lt=end)


def for_area(queryset, org_code: str, period: str, now=None) -> dict:
    return compute(in_period(queryset, org_code, period), now)


# --- from the cells (cells.py): the API, the statistics page and the cockpit panel -------------------------

def month_bounds(period: str) -> tuple[date, date]:
    """[first month, month after) of a YYYY or YYYYMM period, as the cells' months; ValueError otherwise."""
    start, end = period_bounds(period)
    return start.date(), end.date()


def cells_for(user, platform: str = "", category: str = ""):
    """The cells of the events `user` may view, narrowed as events_for() narrows the events."""
    cells = EventCell.objects.restrict(user, "view")
    if platform:
        if platform not in Platform.values:
            raise ValueError(platform)
        cells = cells.filter(platform=platform)
    if category:
        cells = cells.filter(Q(category__code=category) | Q(category__parent__code=category))
    return cells


def area(user, org_code: str, period: str, platform: str = "", category: str = "", children=(),
         now=None) -> tuple[dict, dict]:
    """The figures of the events `user` may view reported in `period` under `org_code`, and of those under
    each of `children` (division code prefixes): (total, {code: figures}). The same figures as
    for_area(events_for(user, platform, category), …), from the cells of the area's towns and months
    plus a live count of the running events past their deadline: two queries, grouped by town.
    ValueError for a bad period or platform."""
    first, after = month_bounds(period)
    now = now or timezone.now()
    cells = cells_for(user, platform, category).filter(town__code__startswith=org_code, month__gte=first,
                                                       month__lt=after)
    sums = cells.order_by().values("town_id").annotate(**{f"s_{f}": Sum(f) for f in cells_module.FIELDS})
    overdue = dict(in_period(events_for(user, platform, category), org_code, period)
                   .filter(status__in=CLOCK_RUNNING, deadline__lt=now)
                   .order_by().values("town_id").annotate(n=_n()).values_list("town_id", "n"))
    towns = {}
    for row in sums:
        towns[row["town_id"]] = {
            **{f: row[f"s_{f}"] or 0 for f in ("received", "accepted", "closed", "closed_on_time", "reopened_open",
                                                "reviewed", "satisfied", "took_n")},
            "reopened_events": row["s_reopened"] or 0, "took_sum": row["s_took"], "open_overdue": 0}
    for town, n in overdue.items():
        towns.setdefault(town, dict(EMPTY))["open_overdue"] = n
    total, parts = dict(EMPTY), {code: dict(EMPTY) for code in children}
    for town, row in towns.items():
        _add(total, row)
        for code in children:
            if town.startswith(code):
                _add(parts[code], row)
    return _figures(total), {code: _figures(part) for code, part in parts.items()}


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


def table(user, unit: OrgUnit, period: str, platform: str = "", category: str = "", now=None) -> list[dict]:
    """The unit's figures, then one row per unit directly below it: {"org", "name", figures…} (from the cells)."""
    children = list(OrgUnit.objects.filter(parent=unit).order_by("code").values_list("code", "name"))
    total, parts = area(user, unit.code, period, platform, category, [code for code, _name in children], now)
    return [{"org": unit.code, "name": unit.name, **total},
            *({"org": code, "name": name, **parts[code]} for code, name in children)]
