"""Turning what offices type into values: numbers, dates, codes, text.

Accept whatever is unambiguous (full-width digits and brackets, thousands separators,
stray spaces, numeric cells for codes, the common Chinese ways of writing a date, Excel
serial dates) and reject the rest with a message that says why (DOMAIN §8).
"""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from townbrain.core import codes, periods

# Full-width ASCII (！ to ～) to half-width, and the ideographic space to a space.
FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
EXCEL_EPOCH = date(1899, 12, 30)
NEUTRALISED = ("=", "+", "-", "@")


class BadValue(ValueError):
    """A cell that cannot be read; the message is for the user."""


def clean_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).translate(FULLWIDTH).replace("\u00a0", " ").strip()
    if text[:1] == "'" and text[1:2] in NEUTRALISED:
        # Exports write '=… '+… '-… '@… so no spreadsheet runs them as formulas; the value is what follows.
        text = text[1:]
    return text


def is_blank(value) -> bool:
    return clean_text(value) == ""


def parse_decimal(value, *, allow_negative=False) -> Decimal | None:
    if isinstance(value, bool):
        raise BadValue(_("“%(value)s” is not a number.") % {"value": value})
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        text = clean_text(value)
        if not text:
            return None
        text = text.replace(" ", "")
        if re.search(r"\d元$", text):
            # 1200元 in a column of 万元 would be read 10,000 times too big: make the clerk convert it.
            raise BadValue(_("“%(value)s” is in 元; amounts are in 万元 (10,000 yuan): divide by 10,000.")
                           % {"value": value})
        text = re.sub(r"(万元|万|%)$", "", text)
        if "," in text:
            if not re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?", text):
                # 12,50 may be a decimal comma: ambiguous, so refused rather than read as 1250
                raise BadValue(_("“%(value)s” is not a number.") % {"value": value})
            text = text.replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise BadValue(_("“%(value)s” is not a number.") % {"value": value}) from None
    if not number.is_finite():
        raise BadValue(_("“%(value)s” is not a number.") % {"value": value})
    if number < 0 and not allow_negative:
        raise BadValue(_("%(value)s is negative; amounts cannot be negative.") % {"value": value})
    return number


# A time after the date (a date-time cell saved as text: 2020/9/30 0:00) is dropped.
_TIME = r"(?:[T ]?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + "$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?" + _TIME + "$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # An Excel serial date that reached us as a plain number (CSV saved from Excel).
        if 20000 <= value <= 80000:
            return EXCEL_EPOCH + timedelta(days=int(value))
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = clean_text(value)
    text = re.sub(r"(?<=\d)\s+(?=\d{1,2}:)", "T", text).replace(" ", "")
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
    if re.fullmatch(r"\d{5}(\.\d+)?", text) and 20000 <= float(text) <= 80000:
        return EXCEL_EPOCH + timedelta(days=int(float(text)))
    raise BadValue(_("“%(value)s” is not a date; write it as 2020-09-30, 2020/9/30 or 2020年9月30日.")
                   % {"value": value})


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
