"""Turning what offices type into values: numbers, dates, codes, text.

Numbers and dates are read by `townbrain.core.parse`, the one reading the entry forms and the API
use too; this module adds what only files need (codes, months, headers). Accept whatever is
unambiguous and reject the rest with a message that says why (DOMAIN §8).
"""

import re
from datetime import date, datetime

from townbrain.core import codes, periods
from townbrain.core.parse import BadValue, clean_text, parse_date, parse_number

__all__ = ["BadValue", "clean_text", "is_blank", "parse_decimal", "parse_date", "parse_code", "parse_month",
           "header_key"]

# The units an amount or a rate of the standard may carry after the number (money in 万元, rates in %).
UNITS = ("万元", "万", "%")


def is_blank(value) -> bool:
    return clean_text(value) == ""


def parse_decimal(value, *, allow_negative=False):
    """A figure of the standard: core's one reading of numbers (see townbrain.core.parse), negatives refused."""
    return parse_number(value, allow_negative=allow_negative, units=UNITS)


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


def header_key(text) -> str:
    """A header reduced to what identifies it: no spaces, half-width, brackets and units unified."""
    text = clean_text(text).lower()
    text = text.replace("（", "(").replace("）", ")").replace(" ", "").replace("\n", "")
    return text
