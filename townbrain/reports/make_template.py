"""Make the default Word template of the briefings: templates/reports/briefing.docx.

    .venv/bin/python -m townbrain.reports.make_template [OUTPUT]

Run once; its output is committed. An office that wants its own letterhead opens a copy in Word
or WPS, changes "××办公室" (and fonts, colours, margins, a logo …), keeps the {{ … }} and {% … %}
tags, and saves it as $TOWNBRAIN_HOME/briefing-templates/<code>.docx (docs/briefings.md).

The tags are docxtpl's (Jinja2): `{%p … %}` repeats paragraphs, `{%tr … %}` table rows and
`{%tc … %}` table columns, so one template prints any panel's cards, tables and charts.
"""

import sys
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

OUTPUT = Path(__file__).resolve().parent / "templates" / "reports" / "briefing.docx"
RED = RGBColor(0xC0, 0x00, 0x00)
FONT = "Noto Sans CJK SC"  # Word substitutes 宋体/等线 where it is not installed; WPS likewise


def _font(run_or_style, size=None, bold=None, colour=None):
    font = run_or_style.font
    font.name = FONT
    # East Asian text takes its font from w:eastAsia, which python-docx's font.name leaves alone.
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), FONT)
    if size:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if colour is not None:
        font.color.rgb = colour


def _para(doc, text, size=None, bold=None, colour=None, align=None, style=None):
    p = doc.add_paragraph(style=style)
    if text:
        _font(p.add_run(text), size, bold, colour)
    if align is not None:
        p.alignment = align
    return p


def _bottom_rule(paragraph, colour="C00000", size=18):
    """The red rule under a 红头 letterhead."""
    ppr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", str(size)), ("space", "4"), ("color", colour)):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    ppr.append(border)


def _row_flags(row, header=False):
    """Header rows repeat on every page (w:tblHeader); no row splits across pages (w:cantSplit)."""
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))
    if header:
        trpr.append(OxmlElement("w:tblHeader"))


def _shade(cell, fill="E7EEF7"):
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _cell(cell, text, bold=None):
    cell.text = ""
    _font(cell.paragraphs[0].add_run(text), 10, bold)


def make(output: Path = OUTPUT) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin, section.bottom_margin = Mm(25), Mm(22)
    _font(doc.styles["Normal"], 11)
    for name, size in (("Title", 18), ("Heading 1", 14), ("Heading 2", 12)):
        _font(doc.styles[name], size, True, RGBColor(0x1D, 0x27, 0x3B))

    # 红头: the office's name (the part an office replaces), the kind of document, the date line.
    _para(doc, "××办公室", 24, True, RED, WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "{{ kind }}", 16, True, RED, WD_ALIGN_PARAGRAPH.CENTER)
    _bottom_rule(_para(doc, "{{ date_line }}", 10.5, None, None, WD_ALIGN_PARAGRAPH.CENTER))
    _para(doc, "{{ title }}", style="Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    _para(doc, "{{ unit }} · {{ programme }} · {{ period }}", 10.5, align=WD_ALIGN_PARAGRAPH.CENTER)

    _para(doc, "{%p for s in sections %}")
    _para(doc, "{{ loop.index }}. {{ s.title }}", style="Heading 1")

    # The section's cards: figure | value (with unit) | note.
    _para(doc, "{%p if s.cards %}")
    cards = doc.add_table(rows=4, cols=3)
    cards.style = "Table Grid"
    cards.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(cards.rows[0].cells, ("{{ labels.figure }}", "{{ labels.value }}", "{{ labels.note }}"), strict=True):
        _cell(cell, text, True)
        _shade(cell)
    _row_flags(cards.rows[0], header=True)
    _cell(cards.rows[1].cells[0], "{%tr for c in s.cards %}")
    for cell, text in zip(cards.rows[2].cells, ("{{ c.label }}", "{{ c.value }}", "{{ c.note }}"), strict=True):
        _cell(cell, text)
    _row_flags(cards.rows[2])
    _cell(cards.rows[3].cells[0], "{%tr endfor %}")
    _para(doc, "{%p endif %}")

    # Charts, drawn server-side (reports/charts.py) as images 16 cm wide.
    _para(doc, "{%p for img in s.charts %}")
    _para(doc, "{{ img }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "{%p endfor %}")

    # Tables of any shape: columns repeat with {%tc %}, rows with {%tr %}.
    _para(doc, "{%p for t in s.tables %}")
    _para(doc, "{{ t.title }}", style="Heading 2")
    table = doc.add_table(rows=4, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("{%tc for col in t.columns %}", "{{ col }}", "{%tc endfor %}"), strict=True):
        _cell(cell, text, True)
        _shade(cell)
    _row_flags(table.rows[0], header=True)
    _cell(table.rows[1].cells[0], "{%tr for row in t.rows %}")
    for cell, text in zip(table.rows[2].cells, ("{%tc for v in row %}", "{{ v }}", "{%tc endfor %}"), strict=True):
        _cell(cell, text)
    _row_flags(table.rows[2])
    _cell(table.rows[3].cells[0], "{%tr endfor %}")
    _para(doc, "{%p endfor %}")

    _para(doc, "{%p endfor %}")
    output.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(output))
    return output


if __name__ == "__main__":
    print(make(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
