"""Cells of the list tables: dict values (audit changes) and plain whole numbers (years)."""

from types import SimpleNamespace

from django.template.loader import render_to_string
from django.utils import translation

from townbrain.core.lists import Column


def test_a_change_of_a_field_called_items_is_listed_not_looked_up():
    rows = [[{"value": {"items": [["a"], ["a", "b"]], "name": ["旧", "新"]}, "href": None, "classes": ""}]]
    with translation.override("en"):
        html = render_to_string("core/_table.html", {"columns": [Column("changes", "changes")], "rows": rows})
    assert "items:" in html and "name:" in html and "旧" in html


def test_a_year_column_shows_no_thousands_separator_but_amounts_do():
    row = SimpleNamespace(year=2022, amount=12345)
    assert Column("year", "Year", num_format="0").cell(row)["value"] == "2022"
    assert Column("amount", "Amount", num_format="#,##0").cell(row)["value"] == 12345
