import django_filters as filters
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeFilter

from .models import DataValue


class DataValueFilterSet(filters.FilterSet):
    element = filters.CharFilter(label=_("Data element"), field_name="element__code")
    org_unit = DivisionCodeFilter(label=_("Org unit"), field_name="org_unit__code")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="org_unit__code", lookup_expr="startswith")
    period = filters.CharFilter(label=_("Period"))

    class Meta:
        model = DataValue
        fields = ["element", "org_unit", "under", "period"]
