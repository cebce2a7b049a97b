"""Template helpers shared by every list and form page."""

import json
import math
from datetime import datetime
from decimal import Decimal

from django import forms, template
from django.utils import timezone
from django.utils.translation import gettext as _

from townbrain.core import audit_labels
from townbrain.core.numbers import group_digits

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced (None drops one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.filter
def sort_toggle(column_sort: str, current: str) -> str:
    """Clicking a sorted column again reverses it."""
    return f"-{column_sort}" if current == column_sort else column_sort


@register.filter
def pairs(value) -> list:
    """(key, value) pairs of a dict, [] for anything else. `value.items` in a template would read a
    key named "items" (an audit change of a field called items) instead of calling the method."""
    return list(value.items()) if isinstance(value, dict) else []


@register.filter
def cell(value, unit=""):
    """One table cell: numbers with thousands separators, booleans as words, dashes for nothing.

    `unit` follows a number after a space (`{{ unit.population|cell:people }}` → 181,234 人);
    an empty cell is a dash without a unit.
    """
    if value is None or value == "" or (isinstance(value, dict | list) and not value):
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | Decimal | float):
        text = group_digits(value)
        return f"{text} {unit}" if unit else text
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


@register.filter
def form_control(bound_field):
    """Render a form field with Tabler's classes."""
    widget = bound_field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select | forms.SelectMultiple):
        css = "form-select"
    else:
        css = "form-control"
    if bound_field.errors:
        css += " is-invalid"
    return bound_field.as_widget(attrs={"class": css})


@register.filter
def action_label(code: str) -> str:
    """An audit action code in words (`orgunit.update` → Edited profile)."""
    return audit_labels.action_label(code)


@register.filter
def source_label(code: str) -> str:
    """An audit row's source in words (web, api, cli, internal)."""
    return audit_labels.source_label(code)


@register.filter
def object_type_label(code: str) -> str:
    return audit_labels.object_type_label(code)


@register.filter
def change_rows(entry) -> list[dict]:
    """An audit row's changes as [{field, label, before, after, change}] in words."""
    return audit_labels.change_rows(entry)


@register.filter
def bar_width(value) -> int:
    """A progress bar's width class suffix: the per cent rounded and held to 0…100 (class tb-pct-<n>),
    since a Content-Security-Policy without 'unsafe-inline' allows no style="width: …" attribute."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(number):
        return 0
    return max(0, min(100, round(number)))
