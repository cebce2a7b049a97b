"""Exports of any list: CSV with a BOM (so Excel/WPS read Chinese), xlsx, JSON.

Strings that begin with = + - @ (or a tab/CR) are neutralised with a leading apostrophe so a
spreadsheet never runs a formula someone typed into a name field.
"""

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter
from django.http import HttpResponse
from django.utils import timezone

FORMATS = ("csv", "xlsx", "json")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json; charset=utf-8",
}
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def _cell(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if value is None:
        return ""
    return neutralise(str(value)) if not isinstance(value, int | float | Decimal | date) else value


def to_csv(headers: list[str], rows) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def to_xlsx(headers: list[str], rows, sheet_name: str = "Sheet1", num_formats: dict[int, str] | None = None) -> bytes:
    """An xlsx with a bold frozen header row, widths fitted to the content, units in number formats."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet(sheet_name[:31])
    bold = book.add_format({"bold": True, "bg_color": "#EEF3FB", "border": 1})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    time_fmt = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    col_fmts = {i: book.add_format({"num_format": f}) for i, f in (num_formats or {}).items()}
    widths = [max(8, _width(h)) for h in headers]
    sheet.write_row(0, 0, headers, bold)
    last_row = 0
    for r, row in enumerate(rows, start=1):
        last_row = r
        for c, value in enumerate(row):
            value = _cell(value)
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, time_fmt)
            elif isinstance(value, date):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
            elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                sheet.write_number(r, c, float(value), col_fmts.get(c))
            else:
                sheet.write_string(r, c, str(value))
            widths[c] = min(60, max(widths[c], _width(str(value))))
    for c, w in enumerate(widths):
        sheet.set_column(c, c, w + 2)
    sheet.freeze_panes(1, 0)
    if headers:
        sheet.autofilter(0, 0, last_row, len(headers) - 1)
    book.close()
    return buf.getvalue()


def _width(text: str) -> int:
    # CJK characters are about two Latin characters wide.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def to_json(keys: list[str], rows) -> bytes:
    return json.dumps([dict(zip(keys, row, strict=True)) for row in rows], ensure_ascii=False,
                      default=_json_default, indent=1).encode("utf-8")


def response(fmt: str, filename: str, headers: list[str], keys: list[str], rows, **kw) -> HttpResponse:
    if fmt == "csv":
        body = to_csv(headers, rows)
    elif fmt == "xlsx":
        body = to_xlsx(headers, rows, **kw)
    else:
        body = to_json(keys, rows)
    resp = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    resp["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.{fmt}"'
    return resp
