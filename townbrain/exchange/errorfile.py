"""The error list as the user's own file: every row as they sent it, plus an error column."""

import csv
import io
from collections import defaultdict
from datetime import date, datetime

import xlsxwriter
from django.utils.translation import gettext as _

from .kinds import KINDS
from .pipeline import locate_header
from .readers import read_grid


def error_file(data: bytes, filename: str, kind_name: str, summary: dict) -> tuple[bytes, str, str]:
    """(content, file name, content type) of the user's file with an added 错误 column."""
    grid = read_grid(data, filename)
    header_idx, *_rest = locate_header(grid, KINDS[kind_name])
    by_row = defaultdict(list)
    for e in summary["errors"]:
        if e["row"]:
            by_row[e["row"]].append((f"{e['column']}: " if e["column"] else "") + e["message"])
    width = max((len(r) for r in grid.rows), default=0)
    label = _("Errors")
    rows = []
    for idx, row in enumerate(grid.rows):
        cells = list(row) + [""] * (width - len(row))
        extra = label if idx == header_idx else "；".join(by_row.get(idx + 1, []))
        rows.append(cells + [extra])
    stem = filename.rsplit(".", 1)[0] or "import"
    if grid.fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")
        csv.writer(buf).writerows(rows)
        return buf.getvalue().encode("utf-8"), f"{stem}-errors.csv", "text/csv; charset=utf-8"
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet()
    red = book.add_format({"font_color": "#C00000", "text_wrap": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime | date):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(r, c, value)
            elif value not in (None, ""):
                sheet.write_string(r, c, str(value), red if c == width and r != header_idx else None)
    sheet.set_column(width, width, 60)
    sheet.freeze_panes(header_idx + 1, 0)
    book.close()
    return buf.getvalue(), f"{stem}-errors.xlsx", \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
