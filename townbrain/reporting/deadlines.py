"""Deadlines as data: “day N of the month after the period”, moved to the next working day.

N comes from a DeadlineRule for the programme and kind of report, else from the rule for every
programme (programme empty), else from the setting TOWNBRAIN_REPORT_DEADLINE_DAY (default 5). A
DeadlineOverride gives one period its own date (a holiday, a provincial deadline brought forward),
taken as it is. The working days are the official calendar's, with 调休 (core/workdays.py): the
202009 report due on 5 October 2020 falls in the 国庆 holiday (1–8 October) and moves to Friday the
9th; due on the 10th it stays on that Saturday, a 调休 working day.
"""

from datetime import date

from django.conf import settings
from django.utils import timezone

from townbrain.core import periods, workdays

from .models import DeadlineOverride, DeadlineRule, Kind


def default_day() -> int:
    return int(getattr(settings, "REPORT_DEADLINE_DAY", 5))


def by_rule(day: int, period: str) -> date:
    """Day `day` of the month after the period's last month, on or after it the first working day."""
    last = periods.months_of(period)[-1]
    year, month = periods.parse_month(last)
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return workdays.on_or_after(date(year, month, min(day, 28)))


class Deadlines:
    """The rules and overrides read once (two small queries), then any number of deadlines."""

    def __init__(self):
        self.rules = {(r.programme_id, r.kind): r.day for r in DeadlineRule.objects.all()}
        self.overrides = {(o.programme_id, o.kind, o.period): o.due for o in DeadlineOverride.objects.all()}

    def day(self, programme_id, kind: str = Kind.PROGRESS) -> int:
        return self.rules.get((programme_id, kind)) or self.rules.get((None, kind)) or default_day()

    def due(self, programme_id, period: str, kind: str = Kind.PROGRESS) -> date:
        period = periods.canonical(period)
        for key in ((programme_id, kind, period), (None, kind, period)):
            if key in self.overrides:
                return self.overrides[key]
        return by_rule(self.day(programme_id, kind), period)


def deadline_for(programme, period: str, kind: str = Kind.PROGRESS) -> date:
    return Deadlines().due(getattr(programme, "pk", programme), period, kind)


def days_left(due: date, today: date | None = None) -> int:
    """Calendar days from today to the deadline (0 on the day, negative once past)."""
    return (due - (today or timezone.localdate())).days


def working_days_late(due: date, on: date) -> int:
    """How late something due on `due` is when it comes on `on`: working days after the deadline (0 if on time)."""
    return workdays.workdays_between(due, on)
