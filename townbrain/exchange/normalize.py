"""Turning what offices type into values: numbers, dates, codes, text.

Numbers and dates are read by `townbrain.core.parse`, the one reading the entry forms and the API
use too; this module adds what only files need (codes, months, headers). Accept whatever is
unambiguous and reject the rest with a message that says why (DOMAIN §8).
"""

import re
from datetime import date, datetime

from django.utils.translation import gettext as _

from townbrain.core import codes, periods
from townbrain.core.parse import NEUTRALISED, BadValue, clean_text, parse_date, parse_number

__all__ = ["BadValue", "clean_text", "is_blank", "parse_text", "parse_paragraph", "parse_decimal", "parse_whole",
           "parse_date", "parse_code", "parse_month", "parse_period", "header_key"]

# The units an amount or a rate of the standard may carry after the number (money in 万元, rates in %).
UNITS = ("万元", "万", "%")


def is_blank(value) -> bool:
    return clean_text(value) == ""


def _unguarded(text: str) -> str:
    """Exports write '=… '+… '-… '@… so no spreadsheet runs them as formulas; the value is what follows."""
    return text[1:] if text[:1] == "'" and text[1:2] in NEUTRALISED else text


def parse_text(value) -> str:
    """Free text as written — full-width punctuation kept (clean_text would turn ？ into ?, and the text
    would no longer match the stored one) — trimmed, spaces collapsed, the exports' '= guard undone."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _unguarded(" ".join(str(value).split()))


def parse_paragraph(value) -> str:
    """Text of several lines (a reason) as written: trimmed, its lines kept as the form keeps them, the
    exports' '= guard undone — so an exported text imports back unchanged."""
    return _unguarded("" if value is None else str(value).strip())


def parse_decimal(value, *, allow_negative=False):
    """A figure of the standard: core's one reading of numbers (see townbrain.core.parse), negatives refused."""
    return parse_number(value, allow_negative=allow_negative, units=UNITS)


def parse_whole(value, *, units=(), message=None) -> int | None:
    """A count (articles, person-times): a whole number, not negative; None for an empty cell. `message`
    (with %(value)s) says what is counted when the number has a fraction."""
    number = parse_number(value, units=units)
    if number is None:
        return None
    if number < 0:
        raise BadValue(_("%(value)s is negative; a count cannot be negative.") % {"value": value})
    if number != number.to_integral_value():
        raise BadValue(str(message or _("%(value)s is not a whole number.")) % {"value": value})
    return int(number)


def parse_code(value) -> str:
    try:
        return codes.normalize(clean_text(value))
    except codes.InvalidCode as exc:
        raise BadValue(str(exc)) from None


def parse_month(value) -> str:
    if isinstance(value, datetime | date):
        return periods.month_id(value.year, value.month)
    text = clean_text(value).replace(" ", "")
    m = re.match(r"^(\d{4})年(\d{1,2})月?$", text)
    if m:
        text = f"{m.group(1)}{int(m.group(2)):02d}"
    m = re.match(r"^(\d{4})[-/.](\d{1,2})$", text)
    if m:
        text = f"{m.group(1)}{int(m.group(2)):02d}"
    try:
        return periods.month_id(*periods.parse_month(text))
    except periods.InvalidPeriod as exc:
        raise BadValue(str(exc)) from None


_HALF = re.compile(r"^(\d{4})年?度?([上下])半年度?$")
_QUARTER = re.compile(r"^(\d{4})年?度?第?([1-4一二三四])季度?$")
_CHINESE_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}


def parse_period(value) -> str:
    """A period id of any type (DHIS2: 2020, 2020S1, 2020Q3, 202009) as offices write it: also 2020年,
    2020年上半年, 2020年第三季度 / 2020年3季度, 2020-Q3, the month forms parse_month reads, a date cell
    (its month)."""
    if isinstance(value, datetime | date):
        return periods.month_id(value.year, value.month)
    text = clean_text(value).replace(" ", "").upper()
    if m := _HALF.match(text):
        text = f"{m.group(1)}S{1 if m.group(2) == '上' else 2}"
    elif m := _QUARTER.match(text):
        text = f"{m.group(1)}Q{_CHINESE_DIGITS.get(m.group(2), m.group(2))}"
    elif m := re.match(r"^(\d{4})[-/.]([SQ]\d)$", text):
        text = m.group(1) + m.group(2)
    elif m := re.match(r"^(\d{4})年度?$", text):
        text = m.group(1)
    elif re.match(r"^\d{4}(年\d{1,2}月?|[-/.]\d{1,2})$", text):
        return parse_month(text)
    try:
        return periods.canonical(text)
    except periods.InvalidPeriod as exc:
        raise BadValue(str(exc)) from None


def header_key(text) -> str:
    """A header reduced to what identifies it: no spaces, half-width, brackets and units unified."""
    text = clean_text(text).lower()
    text = text.replace("（", "(").replace("）", ")").replace(" ", "").replace("\n", "")
    return text
