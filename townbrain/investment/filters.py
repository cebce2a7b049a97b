from datetime import date

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import ChoiceFilterSet, DivisionCodeFilter, ValueFilter

from .models import Deal, FundsReceipt, Stage


class YearFilter(filters.NumberFilter):
    field_class = forms.IntegerField


def _year(queryset, field, value):
    year = int(value)
    return queryset.filter(**{f"{field}__gte": date(year, 1, 1), f"{field}__lte": date(year, 12, 31)})


class DealFilterSet(ChoiceFilterSet):
    """One filter set for the page, the API and the export. Industry and event list the values found in
    the deals the user may see (selects, not free text)."""

    q = filters.CharFilter(label=_("Search"), method="search")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    town = DivisionCodeFilter(label=_("Town"), field_name="town_id")
    year = YearFilter(label=_("Year signed"), method="filter_year", min_value=1900, max_value=2100)
    date_from = filters.DateFilter(label=_("Signed from"), field_name="signed_on", lookup_expr="gte")
    date_to = filters.DateFilter(label=_("Signed until"), field_name="signed_on", lookup_expr="lte")
    stage = filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices, empty_label=_("All"))
    industry = ValueFilter(label=_("Industry"), field_name="industry", model_path="investment.Deal")
    event = ValueFilter(label=_("Signing event"), field_name="event", model_path="investment.Deal")

    class Meta:
        model = Deal
        fields = ["q", "org", "town", "year", "date_from", "date_to", "stage", "industry", "event"]

    def filter_year(self, queryset, name, value):
        return _year(queryset, "signed_on", value)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(investor__icontains=value))


class ReceiptFilterSet(filters.FilterSet):
    deal = filters.NumberFilter(label=_("Deal id"), field_name="deal_id")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="deal__town__code", lookup_expr="startswith")
    year = YearFilter(label=_("Year received"), method="filter_year", min_value=1900, max_value=2100)

    class Meta:
        model = FundsReceipt
        fields = ["deal", "org", "year"]

    def filter_year(self, queryset, name, value):
        return _year(queryset, "date", value)
