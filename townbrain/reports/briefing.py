"""Briefings (工作简报 / 通报): the cockpit of an area, programme and month as xlsx, docx or PDF.

`render(cockpit, fmt)` prints a `cockpit.figures.Cockpit` — the very object the cockpit page
shows — so a briefing can never disagree with the screen or with `/api/rollups/`. It renders the
panels generically (cards, charts, tables), so panels that later apps register appear in the
briefings without a change here.

- xlsx: an overview sheet (title, unit, programme, month, every card) and a sheet per section with
  its cards, its tables (header frozen, numbers right-aligned and stored as numbers with the
  cockpit's format, units in the headers) and its charts as native Excel charts over their data.
- docx: docxtpl over a Word template an office can replace with its own letterhead
  (`template_for()`; the default is made by `make_template.py`).
- pdf: WeasyPrint over `reports/briefing.html` + `briefing.css` (A4, page numbers, the CJK font
  named and embedded, table headers repeated on every page), charts drawn by `charts.py`.
"""

from __future__ import annotations

import base64
import io
import re
from datetime import date
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import formats
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from townbrain.core import codes, periods

from . import charts

FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

HERE = Path(__file__).resolve().parent
DEFAULT_DOCX = HERE / "templates" / "reports" / "briefing.docx"
CSS_FILE = HERE / "templates" / "reports" / "briefing.css"


class BriefingError(ValueError):
    """Why no briefing can be made; the message is one translated line (CLI, API, page)."""

    field = ""  # the parameter at fault, for the API's {"field": [reason]}


class UnknownFormat(BriefingError):
    field = "format"


class BadParameter(BriefingError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class UnknownUnit(BriefingError):
    field = "org"


class OutsideArea(BriefingError):
    field = "org"


class NoData(BriefingError):
    field = "period"


def _about_the_month(panel) -> bool:
    """Whether a panel's figures belong to the month. The area panel (units, enrolled towns) shows
    whatever the month, so that the cockpit is never empty; a briefing of it alone would report
    nothing, so a month in which only such `timeless` panels speak is a month without data."""
    return not panel.timeless


def cockpit_for(user, code, programme: str | None = None, period: str | None = None):
    """The cockpit a briefing prints, from the codes people type; BriefingError says what is wrong.

    `programme` and `period` default as on the cockpit page (the area's main programme, its latest
    month with data). A unit outside `user`'s area is refused as such (the CLI says so); the web
    and the API answer 404 for it, as for a unit that does not exist.
    """
    from townbrain.cockpit import figures
    from townbrain.core.models import OrgUnit
    from townbrain.programmes.models import Programme

    try:
        code = codes.normalize(code)
    except codes.InvalidCode as exc:
        raise BadParameter("org", str(exc)) from exc
    if not OrgUnit.objects.filter(code=code).exists():
        raise UnknownUnit(_("No org unit with code %(code)s.") % {"code": code})
    org = OrgUnit.objects.restrict(user, "view").filter(code=code).first()
    if org is None:
        raise OutsideArea(_("Org unit %(code)s is outside your area.") % {"code": code})
    prog = None
    if programme:
        prog = Programme.objects.filter(code=programme).first()
        if prog is None:
            raise BadParameter("programme", _("Unknown programme “%(code)s”.") % {"code": programme})
    if period:
        try:
            period = periods.month_id(*periods.parse_month(str(period).replace("-", "")))
        except periods.InvalidPeriod as exc:
            raise BadParameter("period", str(exc)) from exc
    cockpit = figures.build(user, org, prog, period or None)
    if not any(_about_the_month(panel) for panel, _data in cockpit.sections):
        raise NoData(_("No figures for %(unit)s in %(period)s: nothing was planned, started or reported "
                       "there by then.") % {"unit": org.name, "period": cockpit.period_label})
    return cockpit


def render(cockpit, fmt: str) -> bytes:
    """The briefing of `cockpit` (figures.build()) as bytes in `fmt`: "pdf", "docx" or "xlsx"."""
    if fmt not in FORMATS:
        raise UnknownFormat(_("Unknown briefing format “%(fmt)s”: choose pdf, docx or xlsx.") % {"fmt": fmt})
    return {"pdf": render_pdf, "docx": render_docx, "xlsx": render_xlsx}[fmt](cockpit)


def filename(cockpit, fmt: str) -> str:
    """The download's name: the briefing's title, without characters file systems refuse."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", cockpit.title).strip("_") + f".{fmt}"


def response(cockpit, fmt: str) -> HttpResponse:
    """The briefing as a download (RFC 5987 `filename*` so Chinese names survive every browser)."""
    resp = HttpResponse(render(cockpit, fmt), content_type=FORMATS[fmt])
    resp["Content-Disposition"] = content_disposition_header(True, filename(cockpit, fmt))
    return resp


def _facts(cockpit) -> dict:
    """What every format prints above the figures."""
    return {
        "title": cockpit.title,
        "kind": _("Work briefing"),
        "unit": f"{cockpit.org.name}({cockpit.org.code})",
        "programme": cockpit.programme.name if cockpit.programme else "—",
        "period": cockpit.period_label,
        "issued": formats.date_format(date.today(), "DATE_FORMAT"),
    }


def _value(card) -> str:
    return f"{card.value} {card.unit}".strip() if card.unit else str(card.value)


# --- PDF ------------------------------------------------------------------------------------


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _ems(text) -> float:
    """How wide a text runs, in ems: a Chinese character is one, a Latin letter or digit about half."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in str(text))


def _paired(table) -> dict:
    """A table with each header and cell paired with whether its column holds numbers (right-aligned),
    and column widths in % from what the columns hold.

    The PDF lays tables out with fixed widths: left to the automatic layout, a wide table squeezes
    its text columns to their narrowest (one Chinese character a line) to make room for the numbers.
    """
    numeric = list(table.numeric) + [False] * (len(table.columns) - len(table.numeric))
    weights = []
    for i, header in enumerate(table.columns):
        cells = [str(row[i]) for row in table.rows if i < len(row)]
        longest = max((_ems(c) for c in cells), default=0)
        # Codes and dates (HZ2020-0321, 2020-03-21) do not break, nor do numbers: room for the longest.
        whole = max((_ems(c) for c in cells if not any(ch.isspace() or ord(ch) > 0x2E80 for ch in c)), default=0)
        # A header may wrap onto two lines; other text wraps beyond 14 ems.
        weights.append(max(min(longest, 14), whole, _ems(header) / 2, 2.5) + 1)
    total = sum(weights) or 1
    return {"key": table.key, "title": table.title, "header": list(zip(table.columns, numeric, strict=True)),
            "widths": [f"{100 * w / total:.1f}%" for w in weights],
            "rows": [list(zip(row, numeric, strict=False)) for row in table.rows]}  # a short row: fewer cells


def render_pdf(cockpit) -> bytes:
    # Imported here: WeasyPrint loads Pango at import, which the other formats do not need.
    from weasyprint import CSS, HTML

    sections = [{"title": panel.title, "key": panel.key, "cards": data.cards,
                 "tables": [_paired(t) for t in data.tables],
                 "charts": [{"title": c.title, "src": _data_uri(charts.png(c))} for c in data.charts]}
                for panel, data in cockpit.sections]
    html = render_to_string("reports/briefing.html", {"facts": _facts(cockpit), "sections": sections,
                                                     "font_family": charts.CJK_FAMILY})
    return HTML(string=html, base_url=str(HERE)).write_pdf(stylesheets=[CSS(filename=str(CSS_FILE))])


# --- docx -----------------------------------------------------------------------------------


def template_for(org) -> Path:
    """The Word template for `org`'s briefings: the nearest office's own, else the default.

    An office swaps the letterhead by saving its copy of the default template as
    `$TOWNBRAIN_HOME/briefing-templates/<code>.docx`: 3301.docx serves 杭州市 and every unit
    below it, unless a unit nearer to the town has its own.
    """
    folder = Path(settings.HOME) / "briefing-templates"
    for code in reversed([*codes.ancestors_of(org.code), org.code]):
        candidate = folder / f"{code}.docx"
        if candidate.is_file():
            return candidate
    return DEFAULT_DOCX


def render_docx(cockpit, template: Path | None = None) -> bytes:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    path = template or template_for(cockpit.org)
    tpl = DocxTemplate(str(path))
    sections = []
    for panel, data in cockpit.sections:
        sections.append({
            "title": str(panel.title),
            "cards": [{"label": c.label, "value": _value(c), "note": c.note} for c in data.cards],
            "tables": [{"title": t.title, "columns": t.columns, "rows": [[str(v) for v in row] for row in t.rows]}
                       for t in data.tables],
            "charts": [InlineImage(tpl, io.BytesIO(charts.png(c)), width=Mm(160)) for c in data.charts],
        })
    labels = {"figure": _("Figure"), "value": _("Value"), "note": _("Note")}
    facts = _facts(cockpit)
    facts["date_line"] = _("%(period)s · issued %(issued)s") % facts
    tpl.render({**facts, "sections": sections, "labels": labels}, autoescape=True)
    # Numbers right-aligned. A template cannot know which of a panel's columns hold numbers, so
    # the rendered tables are matched by their header row: the cards' (value column) and each
    # panel table's (its `numeric` flags). Tables an office adds to its template are left alone.
    numeric_by_header = {(labels["figure"], labels["value"], labels["note"]): [False, True, False]}
    for _panel, data in cockpit.sections:
        for t in data.tables:
            numeric_by_header[tuple(str(c) for c in t.columns)] = list(t.numeric)
    for table in tpl.docx.tables:
        if not table.rows:
            continue
        flags = numeric_by_header.get(tuple(c.text for c in table.rows[0].cells))
        if not flags:
            continue
        for row in table.rows:
            for cell, numeric in zip(row.cells, flags, strict=False):  # merged cells shorten a row
                if numeric:
                    for paragraph in cell.paragraphs:
                        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


# --- xlsx -----------------------------------------------------------------------------------

_NUMBER = re.compile(r"^(-?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(%?)$")


def as_number(text) -> tuple[object, str | None]:
    """A figure as the panels wrote it ("1,892", "97.0%", "86.37", "1,234.50") → (number, Excel
    format) so Excel shows exactly the cockpit's text yet sums and sorts; anything else stays text."""
    if isinstance(text, bool):
        return text, None
    if isinstance(text, int):
        return text, "#,##0"
    if isinstance(text, float):
        return text, "General"
    m = _NUMBER.match(str(text).strip())
    if not m:
        return text, None
    sign, whole, decimals, pct = m.groups()
    value = float(f"{sign}{whole.replace(',', '')}.{decimals or '0'}")
    places = "." + "0" * len(decimals) if decimals else ""
    if pct:
        return round(value / 100, len(decimals or "") + 2), f"0{places}%"
    if not decimals:
        return int(value), "#,##0"
    return value, ("#,##0" if "," in whole else "0") + places


def _sheet_name(title: str, taken: set) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", str(title)).strip()[:31] or "sheet"
    base, n = name, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


_CHART_TYPES = {"bar": ("column", None), "hbar": ("bar", None), "line": ("line", None), "pie": ("pie", None)}


def render_xlsx(cockpit) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    title_f = book.add_format({"bold": True, "font_size": 14})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": "#E7EEF7", "border": 1, "text_wrap": True, "valign": "top"})
    head_num = book.add_format({"bold": True, "bg_color": "#E7EEF7", "border": 1, "text_wrap": True,
                                "valign": "top", "align": "right"})
    text_f = book.add_format({"border": 1})
    formats_cache: dict[str, object] = {}

    def num_format(fmt):
        if fmt not in formats_cache:
            formats_cache[fmt] = book.add_format({"border": 1, "align": "right", "num_format": fmt})
        return formats_cache[fmt]

    def write(sheet, row, col, value, numeric=True):
        number, fmt = as_number(value) if numeric else (value, None)
        if fmt:
            sheet.write_number(row, col, number, num_format(fmt))
        elif numeric and value not in ("", None):
            sheet.write_string(row, col, str(value), num_format("@"))  # "—": right-aligned like the numbers
        else:
            sheet.write_string(row, col, "" if value is None else str(value), text_f)

    facts = _facts(cockpit)
    taken: set = set()
    overview = book.add_worksheet(_sheet_name(_("Overview"), taken))
    overview.write(0, 0, facts["title"], title_f)
    for i, (label, value) in enumerate(((_("Unit"), facts["unit"]), (_("Programme"), facts["programme"]),
                                        (_("Period"), facts["period"]), (_("Issued"), facts["issued"]))):
        overview.write(2 + i, 0, label, bold)
        overview.write(2 + i, 1, value)
    row = 7
    for col, label in enumerate((_("Section"), _("Figure"), _("Value"), _("Unit"), _("Note"))):
        overview.write(row, col, label, head_num if col == 2 else head)
    overview.freeze_panes(row + 1, 0)
    for panel, data in cockpit.sections:
        for card in data.cards:
            row += 1
            overview.write_string(row, 0, str(panel.title), text_f)
            overview.write_string(row, 1, str(card.label), text_f)
            write(overview, row, 2, card.value)
            overview.write_string(row, 3, str(card.unit), text_f)
            overview.write_string(row, 4, str(card.note), text_f)
    overview.set_column(0, 0, 28)
    overview.set_column(1, 1, 26)
    overview.set_column(2, 2, 14)
    overview.set_column(3, 4, 18)

    for panel, data in cockpit.sections:
        sheet = book.add_worksheet(_sheet_name(panel.title, taken))
        sheet.write(0, 0, str(panel.title), title_f)
        sheet.write(1, 0, f"{facts['unit']} · {facts['programme']} · {facts['period']}")
        row = 3
        widths: dict[int, float] = {}
        if data.cards:  # one compact block: a header of labels (units in brackets), one row of figures
            for col, card in enumerate(data.cards):
                label = f"{card.label}({card.unit})" if card.unit else str(card.label)
                sheet.write(row, col, label, head_num)
                write(sheet, row + 1, col, card.value)
                if card.note:
                    sheet.write_string(row + 2, col, str(card.note))
                widths[col] = max(widths.get(col, 0), min(len(label) * 1.8, 30))
            row += 4
        frozen = False
        for table in data.tables:
            numeric = table.numeric or [False] * len(table.columns)
            sheet.write(row, 0, str(table.title), bold)
            row += 1
            for col, label in enumerate(table.columns):
                sheet.write(row, col, str(label), head_num if numeric[col] else head)
                widths[col] = max(widths.get(col, 0), min(len(str(label)) * 1.8, 30))
            if not frozen:  # a sheet freezes one pane: its first table's header
                sheet.freeze_panes(row + 1, 0)
                frozen = True
            for values in table.rows:
                row += 1
                for col, value in enumerate(values):
                    write(sheet, row, col, value, numeric=numeric[col] if col < len(numeric) else False)
                    widths[col] = max(widths.get(col, 0), min(len(str(value)) * 1.6 + 2, 40))
            row += 2
        for col, width in widths.items():
            sheet.set_column(col, col, max(width, 10))
        for chart in data.charts:
            row = _xlsx_chart(book, sheet, chart, row, bold)
    book.close()
    return out.getvalue()


def _xlsx_chart(book, sheet, chart, row, bold) -> int:
    """The chart's data as a range (categories down, one column per series) and a native chart over it."""
    sheet.write(row, 0, str(chart.title), bold)
    row += 1
    first = row
    sheet.write(row, 0, "")
    for j, series in enumerate(chart.series):
        name = f"{series.name}({series.unit})" if series.unit else str(series.name)
        sheet.write(row, 1 + j, name, bold)
    for i, category in enumerate(chart.categories):
        sheet.write_string(first + 1 + i, 0, str(category))
        for j, series in enumerate(chart.series):
            value = series.data[i] if i < len(series.data) else None
            if value is not None:
                sheet.write_number(first + 1 + i, 1 + j, float(value))
    last = first + len(chart.categories)
    kind, _sub = _CHART_TYPES.get(chart.kind, ("column", None))
    xl = book.add_chart({"type": kind})
    for j in range(len(chart.series) if kind != "pie" else min(len(chart.series), 1)):
        xl.add_series({
            "name": [sheet.name, first, 1 + j],
            "categories": [sheet.name, first + 1, 0, last, 0],
            "values": [sheet.name, first + 1, 1 + j, last, 1 + j],
            **({"data_labels": {"percentage": True}} if kind == "pie" else {}),
        })
    xl.set_title({"name": str(chart.title)})
    if kind == "bar":
        xl.set_y_axis({"reverse": True})  # rank 1 on top, as in the cockpit
    height = max(288, 20 * len(chart.categories) + 80) if kind == "bar" else 288
    xl.set_size({"width": 640, "height": height})
    sheet.insert_chart(first, 3 + len(chart.series), xl)
    return max(last + 2, first + height // 20 + 2)
