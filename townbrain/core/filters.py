"""One filter set per model: the list page, the API and the export all use it."""

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import audit_labels, codes
from .models import AuditEntry, Level, OrgUnit, TownKind, TownType


class DivisionCodeField(forms.CharField):
    """A form field that accepts any way of writing a division code and says what is wrong."""

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return value
        try:
            return codes.normalize(value)
        except codes.InvalidCode as exc:
            raise forms.ValidationError(str(exc)) from exc


class DivisionCodeFilter(filters.CharFilter):
    field_class = DivisionCodeField


class OrgUnitFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    code = DivisionCodeFilter(label=_("Division code"))
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="code", lookup_expr="startswith")
    level = filters.ChoiceFilter(label=_("Level"), choices=Level.choices)
    town_kind = filters.ChoiceFilter(label=_("Kind of town"), choices=TownKind.choices)
    town_type = filters.ChoiceFilter(label=_("Town type"), choices=TownType.choices)
    parent = DivisionCodeFilter(label=_("Parent (code)"), field_name="parent_id")

    class Meta:
        model = OrgUnit
        fields = ["q", "code", "under", "level", "town_kind", "town_type", "parent"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        q = Q(name__icontains=value)
        digits = value.translate(codes.FULLWIDTH)
        if digits.isdigit():
            q |= Q(code__startswith=digits)
        return queryset.filter(q)


class AuditFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    object_type = filters.CharFilter(label=_("Object type"))
    object_id = filters.CharFilter(label=_("Object id"))
    action = filters.CharFilter(label=_("Action"), lookup_expr="startswith")
    actor = filters.CharFilter(label=_("Actor"), field_name="actor_name")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="org_code", lookup_expr="startswith")
    since = filters.DateFilter(label=_("Since"), field_name="time", lookup_expr="date__gte")
    until = filters.DateFilter(label=_("Until"), field_name="time", lookup_expr="date__lte")
    source = filters.ChoiceFilter(label=_("Source"), choices=list(audit_labels.SOURCE_LABELS.items()))

    class Meta:
        model = AuditEntry
        fields = ["q", "object_type", "object_id", "action", "actor", "under", "since", "until", "source"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(object_repr__icontains=value) | Q(actor_name__icontains=value) | Q(action__icontains=value)
            | Q(object_id=value)
        )
