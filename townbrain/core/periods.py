"""Reporting periods as DHIS2 writes them. Monthly reports use `YYYYMM`."""

import calendar
import re
from datetime import date

from django.utils.translation import gettext as _

_MONTH = re.compile(r"^(\d{4})(\d{2})$")


class InvalidPeriod(ValueError):
    pass


def parse_month(period) -> tuple[int, int]:
    """`202009` (or the int 202009, or `2020-09`) -> (2020, 9); InvalidPeriod with a reason otherwise."""
    text = str(period).strip().replace("-", "").replace("/", "")
    m = _MONTH.match(text)
    if not m or not (1 <= int(m.group(2)) <= 12) or not (1990 <= int(m.group(1)) <= 2100):
        raise InvalidPeriod(_("“%(value)s” is not a month period; write it as YYYYMM, e.g. 202009.")
                            % {"value": period})
    return int(m.group(1)), int(m.group(2))


def month_id(year: int, month: int) -> str:
    return f"{year:04d}{month:02d}"


def month_start(period) -> date:
    year, month = parse_month(period)
    return date(year, month, 1)


def month_end(period) -> date:
    year, month = parse_month(period)
    return date(year, month, calendar.monthrange(year, month)[1])


def previous_month(period) -> str:
    year, month = parse_month(period)
    return month_id(year - 1, 12) if month == 1 else month_id(year, month - 1)


def months_between(start: date, end: date) -> int:
    """Whole months from start's month to end's month, inclusive (Jan→Mar = 3)."""
    return (end.year - start.year) * 12 + end.month - start.month + 1
