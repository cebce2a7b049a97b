"""Template helpers of the cockpit: a panel's chart as JSON data for cockpit.js, list items by index."""

from dataclasses import asdict

from django import template
from django.utils.html import json_script

register = template.Library()


@register.simple_tag
def chart_json(chart, panel_key: str):
    """<script type="application/json" id="chart-<panel>-<chart>-data"> — data, not code (allowed by a CSP)."""
    return json_script(asdict(chart), f"chart-{panel_key}-{chart.key}-data")


@register.filter
def index(items, i):
    try:
        return items[int(i)]
    except (IndexError, TypeError, ValueError):
        return ""
