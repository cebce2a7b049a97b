"""One reading of the numbers and dates people type, for imports, forms and the API alike (DOMAIN §8).

Accept whatever is unambiguous and refuse the rest with a sentence that says why:

- full-width digits, signs, brackets and commas (１２３４, （１，２３４）) are read as their ASCII forms;
- spaces are dropped wherever they are (`  12.5 `, `- 5`, `300 万元`, `6 0 0`, `1 234`);
- thousands separators are commas between groups of exactly three digits before the decimal
  point: `1,234.5`, `1,234,567`;
- **a comma that is not a thousands separator is refused**: `12,50` may be the decimal comma of a
  European sheet (12.5) or a mistyped 1250; no reading is safe, so neither is chosen and the
  message asks for `12.50` or `1250`;
- accounting brackets mean a negative number: `(1,234)` is −1234 (refused where negatives are);
- a unit the caller names may follow (`万元`, `%`); an amount in `元` in a column of 万元 is refused;
- dates: `2020-09-30`, `2020/9/30`, `2020.9.30`, `2020年9月30日`, `20200930`, a date-time whose time
  is dropped, and Excel serial days (a date cell saved as a number, 20000–80000 = 1954–2119).
"""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Full-width ASCII (！ to ～) to half-width, the ideographic space and no-break space to a space.
FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0x00A0: 0x20}
EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_SERIALS = (20000, 80000)  # 1954-10-03 … 2119-01-10: outside it a number is not a date
NEUTRALISED = ("=", "+", "-", "@")
MINUS = {"\u2212": "-", "\u2013": "-", "\u2014": "-"}  # − – — typed for a minus sign


class BadValue(ValueError):
    """A value that cannot be read; the message is for the user."""


def clean_text(value) -> str:
    """A cell as text: full-width to half-width, whole floats without .0, trimmed; exports' '= guard undone."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).translate(FULLWIDTH).strip()
    if text[:1] == "'" and text[1:2] in NEUTRALISED:
        # Exports write '=… '+… '-… '@… so no spreadsheet runs them as formulas; the value is what follows.
        text = text[1:]
    return text


def _not_a_number(value):
    return BadValue(_("“%(value)s” is not a number.") % {"value": value})


def parse_number(value, *, allow_negative=True, units=()) -> Decimal | None:
    """The number `value` denotes, or None for an empty cell; BadValue with the reason otherwise.

    `units` are suffixes that may follow the number (e.g. ("万元", "万") for money, ("%",) for rates).
    """
    if isinstance(value, bool):
        raise _not_a_number(value)
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        text = clean_text(value)
        for wrong, right in MINUS.items():
            text = text.replace(wrong, right)
        if not text:
            return None
        if "万元" in units and re.search(r"\d\s*元$", text) and not text.endswith("万元"):
            # 1200元 in a column of 万元 would be read 10,000 times too big: make the clerk convert it.
            raise BadValue(_("“%(value)s” is in 元; amounts are in 万元 (10,000 yuan): divide by 10,000.")
                           % {"value": value})
        for unit in sorted(units, key=len, reverse=True):
            if unit and text.endswith(unit):
                text = text[: -len(unit)].strip()
                break
        negative = False
        if text[:1] == "(" and text[-1:] == ")":
            negative, text = True, text[1:-1].strip()
        # Spaces are stray wherever they are (a sheet spaced out as 6 0 0 or grouped as 1 234 means 600, 1234).
        text = re.sub(r"\s", "", text)
        if "," in text:
            if not re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?", text):
                # 12,50 may be a decimal comma (12.5) or a typo for 1250: refused rather than guessed.
                raise BadValue(_("“%(value)s” is ambiguous: a comma separates thousands only (1,234.5). Write "
                                 "12.50 for a decimal, 1250 for a whole number.") % {"value": value})
            text = text.replace(",", "")
        if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
            raise _not_a_number(value)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise _not_a_number(value) from None
        if negative:
            if number < 0:
                raise _not_a_number(value)
            number = -number
    if not number.is_finite() or abs(number.adjusted()) > 30:
        # No figure of ours has 30 digits: 1e999999999 is a typo (and would overflow every column).
        raise _not_a_number(value)
    if number < 0 and not allow_negative:
        raise BadValue(_("%(value)s is negative; amounts cannot be negative.") % {"value": value})
    return number


# A time after the date (a date-time cell saved as text: 2020/9/30 0:00) is dropped.
_TIME = r"(?:[T ]?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + "$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?" + _TIME + "$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def _excel(serial) -> date:
    return EXCEL_EPOCH + timedelta(days=int(serial))


def parse_date(value) -> date | None:
    """The date `value` denotes, or None for an empty cell; BadValue with the accepted forms otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        # An Excel serial date that reached us as a plain number (CSV saved from Excel).
        if EXCEL_SERIALS[0] <= value <= EXCEL_SERIALS[1]:
            return _excel(value)
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
    if re.fullmatch(r"\d{5}(\.\d+)?", text) and EXCEL_SERIALS[0] <= float(text) <= EXCEL_SERIALS[1]:
        return _excel(float(text))
    raise BadValue(_("“%(value)s” is not a date; write it as 2020-09-30, 2020/9/30 or 2020年9月30日.")
                   % {"value": value})


class NumberField(forms.DecimalField):
    """A form field reading its input with parse_number — the same reading as imports and the API — so
    `1,234.5`, `１２３４` and `(12)` mean on a form what they mean in a file, and `12,50` is refused here too."""

    def __init__(self, *, units=(), allow_negative=True, **kwargs):
        self.units, self.allow_negative = tuple(units), allow_negative
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            number = parse_number(value, allow_negative=self.allow_negative, units=self.units)
        except BadValue as exc:
            raise ValidationError(str(exc), code="invalid") from None
        return number

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("step", None)  # a text box: the browser must not refuse 1,234.5 before we read it
        return attrs
