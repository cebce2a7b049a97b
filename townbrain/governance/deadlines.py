"""Deadlines (时限): working days by the official calendar, or hours for urgent categories.

Working days are core/workdays.py's: the official calendar (PyPI's `chinese-calendar`, holidays and
the swapped working weekends, 调休), Monday–Friday for a year it does not know yet.

A deadline of N working days ends at the end (23:59:59 local time) of the Nth working day after
the day the clock started: the start day never counts, whatever the hour — the rule 12345
centres apply ("3个工作日内" from the day after dispatch). Hours are plain clock hours.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone

from townbrain.core.workdays import add_workdays, is_workday, workdays_between

__all__ = ["END_OF_DAY", "add_workdays", "due", "extend", "is_workday", "workdays_between"]

END_OF_DAY = time(23, 59, 59)


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
