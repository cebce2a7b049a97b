"""The published data standard: a JSON Schema per kind, and a downloadable xlsx template."""

import io

import xlsxwriter
from django.utils.translation import gettext as _

from . import normalize as n
from .kinds import KINDS

_TYPES = {
    n.parse_decimal: {"type": ["number", "string", "null"], "description_suffix": "number"},
    n.parse_date: {"type": ["string", "null"], "format": "date"},
    n.parse_code: {"type": ["string", "integer"], "pattern": "^[0-9]{2,12}$"},
    n.parse_month: {"type": ["string", "integer"], "pattern": "^[0-9]{6}$"},
    n.parse_period: {"type": ["string", "integer"], "pattern": "^[0-9]{4}([SQ][0-9]|[0-9]{2})?$"},
}


def json_schema(kind_name: str) -> dict:
    kind = KINDS[kind_name]
    props = {}
    for col in kind.columns:
        spec = {k: v for k, v in _TYPES.get(col.parse, {"type": ["string", "null"]}).items()
                if k != "description_suffix"}
        spec["title"] = col.header
        spec["description"] = str(col.help or col.header)
        if col.aliases:
            spec["x-aliases"] = [col.key, *col.aliases]
        if col.choice_list():
            spec["examples"] = list(col.choice_list())
        props[col.header] = spec
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"townbrain:standard:{kind.name}",
        "title": str(kind.label),
        "description": _("One row of %(kind)s. Money in 万元 (10k yuan), rates in %%. Headers may also be "
                         "written as their English aliases.") % {"kind": kind.label},
        "type": "object",
        "properties": props,
        "required": [c.header for c in kind.columns if c.required],
    }


def template_xlsx(kind_name: str) -> bytes:
    """Header row frozen, a comment per column, drop-downs for fixed choices, one example row."""
    kind = KINDS[kind_name]
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet(str(kind.label)[:31])
    head = book.add_format({"bold": True, "bg_color": "#EEF3FB", "border": 1})
    required = book.add_format({"bold": True, "bg_color": "#FDECEC", "border": 1})
    text = book.add_format({"num_format": "@"})
    for i, col in enumerate(kind.columns):
        sheet.write_string(0, i, col.header, required if col.required else head)
        note = str(col.help or "")
        if col.required:
            note = (_("Required.") + " " + note).strip()
        if col.aliases:
            note += "\n" + _("Also accepted: %(aliases)s") % {"aliases": ", ".join(col.aliases)}
        sheet.write_comment(0, i, note or col.header, {"x_scale": 2, "y_scale": 1.5})
        if col.choice_list():
            # An open list (a vocabulary) only suggests: Excel/WPS then let the clerk type another word.
            sheet.data_validation(1, i, 5000, i, {"validate": "list", "source": list(col.choice_list()),
                                                  **({"error_type": "information"} if col.open_choices else {})})
        if col.parse in (n.parse_code, n.parse_month, n.parse_period) or col.key in ("code", "project"):
            sheet.set_column(i, i, 16, text)  # keep leading zeros and codes as text
        else:
            sheet.set_column(i, i, max(12, len(col.header) * 2))
        if col.example != "":
            sheet.write(1, i, col.example)
    sheet.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()
