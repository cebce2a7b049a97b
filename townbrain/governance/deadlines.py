"""Deadlines (时限): working days by the official calendar, or hours for urgent categories.

The official calendar is PyPI's `chinese-calendar` (holidays and the swapped working weekends,
调休, as the State Council publishes them each year). A year it does not know yet (it raises
NotImplementedError) falls back to Monday–Friday, so a deadline is never refused; the fallback
is only wrong on that year's holidays, and a new release of the package fixes it.

A deadline of N working days ends at the end (23:59:59 local time) of the Nth working day after
the day the clock started: the start day never counts, whatever the hour — the rule 12345
centres apply ("3个工作日内" from the day after dispatch). Hours are plain clock hours.
"""

from datetime import date, datetime, time, timedelta

import chinese_calendar
from django.utils import timezone

END_OF_DAY = time(23, 59, 59)


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(day: date, n: int) -> date:
    """The Nth working day after `day` (n ≥ 1); n = 0 is `day` itself."""
    while n > 0:
        day += timedelta(days=1)
        if is_workday(day):
            n -= 1
    return day


def workdays_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end ≤ start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_workday(day)
    return count


def due(start: datetime, days: int | None = None, hours: int | None = None) -> datetime:
    """The deadline for a clock started at `start` (aware): `hours` if given, else `days` working days."""
    if hours:
        return start + timedelta(hours=hours)
    local = timezone.localtime(start)
    end = add_workdays(local.date(), int(days or 0))
    return timezone.make_aware(datetime.combine(end, END_OF_DAY), local.tzinfo)


def extend(deadline: datetime, days: int | None = None, hours: int | None = None) -> datetime:
    """An extension (延期) moves the deadline on by `days` working days (or `hours`) from where it was."""
    return due(deadline, days=days, hours=hours)
