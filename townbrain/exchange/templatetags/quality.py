"""{% record_warnings obj %}: a record's data-quality warnings on its own page (one line in the page's template)."""

from django import template

from townbrain.exchange.quality import open_warnings

register = template.Library()


@register.inclusion_tag("exchange/_record_warnings.html")
def record_warnings(obj):
    return {"record_warnings": open_warnings(obj) if obj is not None and getattr(obj, "pk", None) else []}
