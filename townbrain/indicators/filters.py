import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeFilter

from .models import Aggregation, DataElement, DataValue, Indicator, ValueType


class DataValueFilterSet(filters.FilterSet):
    element = filters.CharFilter(label=_("Data element"), field_name="element__code")
    org_unit = DivisionCodeFilter(label=_("Org unit"), field_name="org_unit__code")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="org_unit__code", lookup_expr="startswith")
    period = filters.CharFilter(label=_("Period"))

    class Meta:
        model = DataValue
        fields = ["element", "org_unit", "under", "period"]


class DataElementFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    value_type = filters.ChoiceFilter(label=_("Value type"), choices=ValueType.choices, empty_label=_("All"))
    aggregation = filters.ChoiceFilter(label=_("Aggregation"), choices=Aggregation.choices, empty_label=_("All"))

    class Meta:
        model = DataElement
        fields = ["q", "value_type", "aggregation"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value)) if value else queryset


class IndicatorFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = Indicator
        fields = ["q"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value)) if value else queryset
