"""Filters of the data-quality list (kept apart from filters.py, the import list's)."""

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeFilter

from .models import DataWarning
from .quality import RULES, SUBJECTS

STATES = (("open", _("Open")), ("resolved", _("Resolved")), ("all", _("All")))


def _rule_choices():
    return [(r.code, r.text({"value": "…"})) for r in RULES]


class DataWarningFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    kind = filters.ChoiceFilter(label=_("Kind of record"), field_name="object_type", empty_label=_("All"),
                                choices=[(k, s.label) for k, s in SUBJECTS.items()])
    rule = filters.ChoiceFilter(label=_("Problem"), choices=_rule_choices, empty_label=_("All"))
    state = filters.ChoiceFilter(label=_("State"), choices=STATES, method="filter_state", empty_label=None)
    since = filters.DateFilter(label=_("First seen from"), field_name="first_seen", lookup_expr="date__gte")

    class Meta:
        model = DataWarning
        fields = ["q", "org", "kind", "rule", "state", "since"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and not data.get("state"):
            data = data.copy()
            data["state"] = "open"  # what is left to do, unless asked otherwise
        super().__init__(data, *args, **kwargs)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(object_repr__icontains=value) | Q(value__icontains=value) | Q(town__name__icontains=value))

    def filter_state(self, queryset, name, value):
        if value == "open":
            return queryset.filter(resolved_at__isnull=True)
        if value == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset
