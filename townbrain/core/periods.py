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


# --- DHIS2 period ids: 2024 (year), 2024S1 (half year), 2024Q3 (quarter), 202409 (month) -------

_ANY = re.compile(r"^(\d{4})(?:(S)([12])|(Q)([1-4])|(\d{2}))?$")
PERIOD_TYPES = ("year", "half", "quarter", "month")


def parse(period) -> tuple[str, int, int]:
    """Any DHIS2 period id -> (type, year, index); index is 1-based within the year (0 for a year)."""
    text = str(period).strip().upper()
    m = _ANY.match(text)
    year = int(m.group(1)) if m else 0
    if not m or not (1990 <= year <= 2100):
        raise InvalidPeriod(_("“%(value)s” is not a period; write 2024, 2024S1, 2024Q3 or 202409.") % {"value": period})
    if m.group(2):
        return "half", year, int(m.group(3))
    if m.group(4):
        return "quarter", year, int(m.group(5))
    if m.group(6):
        month = int(m.group(6))
        if not 1 <= month <= 12:
            raise InvalidPeriod(_("“%(value)s” is not a period; write 2024, 2024S1, 2024Q3 or 202409.")
                                % {"value": period})
        return "month", year, month
    return "year", year, 0


def canonical(period) -> str:
    kind, year, index = parse(period)
    return {"year": f"{year}", "half": f"{year}S{index}", "quarter": f"{year}Q{index}",
            "month": f"{year}{index:02d}"}[kind]


def months_of(period) -> list[str]:
    """The month ids a period covers, in order."""
    kind, year, index = parse(period)
    first, count = {"year": (1, 12), "half": ((index - 1) * 6 + 1, 6), "quarter": ((index - 1) * 3 + 1, 3),
                    "month": (index, 1)}[kind]
    return [month_id(year, m) for m in range(first, first + count)]


def sub_periods(period) -> list[str]:
    """The next finer periods inside `period`: a year or half year holds quarters, a quarter months."""
    kind, year, index = parse(period)
    if kind == "year":
        return [f"{year}Q{q}" for q in range(1, 5)]
    if kind == "half":
        return [f"{year}Q{q}" for q in range((index - 1) * 2 + 1, (index - 1) * 2 + 3)]
    if kind == "quarter":
        return months_of(period)
    return []
