"""Working days by the official calendar (法定节假日 and the swapped working weekends, 调休).

The calendar is PyPI's `chinese-calendar`, which follows the State Council's notice each year. A
year it does not know yet (it raises NotImplementedError) falls back to Monday–Friday, so a
deadline is never refused; the fallback is only wrong on that year's holidays until a new release
of the package knows them. Ground floor, so every app (reporting deadlines, event 时限) counts days
the same way. The calendar is fixed for the life of a process, so answers are cached: a county's
board asks how late each of its towns is, all against the same deadline and the same day.
"""

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar


@lru_cache(maxsize=8192)
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def on_or_after(day: date) -> date:
    """`day` itself when it is a working day, else the next working day (a deadline on a holiday moves on)."""
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def add_workdays(day: date, n: int) -> date:
    """The Nth working day after `day` (n ≥ 1); n = 0 is `day` itself."""
    while n > 0:
        day += timedelta(days=1)
        if is_workday(day):
            n -= 1
    return day


@lru_cache(maxsize=4096)
def workdays_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end ≤ start): how late a thing
    due on `start` is when it comes on `end`."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_workday(day)
    return count
