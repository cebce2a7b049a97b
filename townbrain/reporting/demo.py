"""The demo's reporting cycle, as of mid-October 2020 (the seed's date), for Hangzhou's 美丽城镇 towns:

- January–August: every town submitted; most on time (the day before or on the deadline), a few
  one to four working days late; the county approved each month two days after the deadline and
  locked it the day after — except one town's August reports, returned with a comment (退回) and
  not yet submitted again;
- September (due 9 October 2020, the 5th falling in the 国庆 holiday): about two towns in three
  submitted, the others are still entering; nothing from September on is approved or locked, so
  offices can still import September's reports, as they did;
- October–December: still being entered (填报中).

Through the services (take_steps on many towns at once: one bulk write and one audit row per town
and step), deterministic (seeded) and idempotent: nothing is done once Hangzhou has submissions.
"""

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from townbrain.core import periods, workdays
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects.models import Project

from . import services
from .deadlines import Deadlines
from .models import Submission

YEAR = 2020
LATE_SHARE = 0.04  # of a month's submissions, how many come one to four working days late
SEPTEMBER_SHARE = 0.65  # of the towns, how many submitted September by mid-October
RETURNED = ("202008", "退回：累计完成投资与7月不衔接，请核实后重新提交。")  # one town's August reports


def _at(day, hour: int):
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def load(progress=None) -> dict:
    meili = Programme.objects.filter(code="meili").first()
    if meili is None or Submission.objects.filter(programme=meili, town__code__startswith="3301").exists():
        return {"submissions": 0}
    codes = set(Project.objects.filter(programme=meili, town__code__startswith="3301").values_list("town_id", flat=True))
    towns = list(OrgUnit.objects.filter(code__in=codes, level=Level.TOWN).order_by("code"))
    if not towns:
        return {"submissions": 0}
    rng = random.Random(YEAR + 19)
    deadlines = Deadlines()
    returned_town = towns[len(towns) // 3]
    count = 0
    with transaction.atomic():
        for month in range(1, 10):
            period = periods.month_id(YEAR, month)
            due = deadlines.due(meili.pk, period)
            submitters = towns if month < 9 else [t for t in towns if rng.random() < SEPTEMBER_SHARE]
            by_day = {}
            for town in submitters:
                late = rng.random() < LATE_SHARE
                day = workdays.add_workdays(due, rng.randint(1, 4)) if late else due - timedelta(days=rng.randint(0, 3))
                by_day.setdefault(day, []).append(town)
            for day, group in sorted(by_day.items()):
                _all(services.take_steps(SYSTEM, group, meili, period, "submit", at=_at(day, 16)))
                count += len(group)
            if month == 9:
                continue
            review = workdays.add_workdays(max(by_day), 2)
            _all(services.take_steps(SYSTEM, towns, meili, period, "approve", at=_at(review, 10)))
            if period == RETURNED[0]:
                _all(services.take_steps(SYSTEM, [returned_town], meili, period, "return", RETURNED[1],
                                         at=_at(review, 11)))
            kept = [t for t in towns if not (period == RETURNED[0] and t.code == returned_town.code)]
            _all(services.take_steps(SYSTEM, kept, meili, period, "lock", at=_at(workdays.add_workdays(review, 1), 9)))
        if progress:
            progress("reporting submissions", count, count)
    return {"submissions": count}


def _all(results) -> None:
    refused = [r for r in results if isinstance(r, Exception)]
    if refused:
        raise refused[0]
