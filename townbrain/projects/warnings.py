"""Warnings (预警) for an org unit and month: what an office chases on Monday.

- missing_report: a town with started projects that has not reported month P by the deadline
  (the reporting cycle's, through core/due.py; without that app the
  `TOWNBRAIN_REPORT_DEADLINE_DAY`-th of the following month, default 5)
- not_started:    a project planned to start by the end of P that has not started (应开工未开工)
- laggard:        a started project whose physical progress is behind its linear plan (滞后)
"""

from datetime import date

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from townbrain.core import due, periods

from .models import ProgressReport, Status
from .rollups import scoped_projects
from .schedule import curves_for, schedule_state

KINDS = ("missing_report", "not_started", "laggard")


def report_deadline(period: str, programme=None) -> date:
    """The reporting cycle's deadline for `programme`'s month (its rules, overrides and calendar),
    else the fixed day of the following month."""
    cycle = due.report_due(programme, period)
    if cycle is not None:
        return cycle
    year, month = periods.parse_month(period)
    nxt = periods.month_start(periods.month_id(year + (month == 12), 1 if month == 12 else month + 1))
    return nxt.replace(day=getattr(settings, "REPORT_DEADLINE_DAY", 5))


def compute(user, org, period: str, programme, kinds=KINDS, today: date | None = None) -> list[dict]:
    today = today or timezone.localdate()
    end = periods.month_end(period)
    qs = scoped_projects(user, org, programme).select_related("town")
    rows: list[dict] = []
    deadline = report_deadline(period, programme)
    if "missing_report" in kinds and today > deadline:
        active = qs.filter(actual_start__lte=end).exclude(status=Status.COMPLETED)
        reported = set(ProgressReport.objects.filter(project__in=active, period=period)
                       .values_list("project__town_id", flat=True))
        towns = {p.town_id: p.town for p in active.only("town__code", "town__name")}
        for code in sorted(set(towns) - reported):
            rows.append({"kind": "missing_report", "town": code, "town_name": towns[code].name, "project": None,
                         "message": _("No progress report for %(period)s (due %(deadline)s).")
                         % {"period": period, "deadline": deadline.isoformat()}})
    if {"not_started", "laggard"} & set(kinds):
        progress = dict(ProgressReport.objects.filter(project__in=qs, period__lte=period).order_by("period")
                        .values_list("project_id", "progress_percent"))
        candidates = list(qs.filter(planned_start__lte=end).exclude(status=Status.COMPLETED).order_by("town_id", "code"))
        curves = curves_for(p.pk for p in candidates)
        for p in candidates:
            started = p.actual_start is not None and p.actual_start <= end
            if not started and "not_started" in kinds:
                rows.append({"kind": "not_started", "town": p.town_id, "town_name": p.town.name, "project": p.pk,
                             "project_code": p.code, "project_name": p.name,
                             "message": _("Planned to start on %(date)s, not started.")
                             % {"date": p.planned_start.isoformat()}})
            elif started and "laggard" in kinds and schedule_state(p, end, progress.get(p.pk), curves.get(p.pk)) == "late":
                rows.append({"kind": "laggard", "town": p.town_id, "town_name": p.town.name, "project": p.pk,
                             "project_code": p.code, "project_name": p.name,
                             "message": _("Physical progress %(progress)s%% is behind the plan.")
                             % {"progress": progress.get(p.pk, 0)}})
    return rows
