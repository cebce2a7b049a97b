from datetime import date

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import ChoiceFilterSet, DivisionCodeFilter, ValueFilter

from .models import Article, Honour, HonourKind, OutletLevel, Quota


class YearFilter(filters.NumberFilter):
    field_class = forms.IntegerField


def _year(queryset, field, value):
    year = int(value)
    return queryset.filter(**{f"{field}__gte": date(year, 1, 1), f"{field}__lte": date(year, 12, 31)})


class ArticleFilterSet(ChoiceFilterSet):
    q = filters.CharFilter(label=_("Title"), field_name="title", lookup_expr="icontains")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    town = DivisionCodeFilter(label=_("Town"), field_name="town_id")
    year = YearFilter(label=_("Year"), method="filter_year", min_value=1900, max_value=2100)
    date_from = filters.DateFilter(label=_("From date"), field_name="published_on", lookup_expr="gte")
    date_to = filters.DateFilter(label=_("To date"), field_name="published_on", lookup_expr="lte")
    level = filters.ChoiceFilter(label=_("Outlet level"), choices=OutletLevel.choices, empty_label=_("All"))
    outlet = ValueFilter(label=_("Outlet"), field_name="outlet", model_path="publicity.Article")

    class Meta:
        model = Article
        fields = ["q", "org", "town", "year", "date_from", "date_to", "level", "outlet"]

    def filter_year(self, queryset, name, value):
        return _year(queryset, "published_on", value)


class QuotaFilterSet(ChoiceFilterSet):
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    town = DivisionCodeFilter(label=_("Town"), field_name="town_id")
    year = YearFilter(label=_("Year"), method="filter_year", min_value=1900, max_value=2100)
    period = ValueFilter(label=_("Period"), field_name="period", model_path="publicity.Quota")

    class Meta:
        model = Quota
        fields = ["org", "town", "year", "period"]

    def filter_year(self, queryset, name, value):
        return queryset.filter(period__startswith=str(int(value)))


class HonourFilterSet(ChoiceFilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="unit__code", lookup_expr="startswith")
    year = YearFilter(label=_("Year"), method="filter_year", min_value=1900, max_value=2100)
    kind = filters.ChoiceFilter(label=_("Kind of honour"), choices=HonourKind.choices, empty_label=_("All"))
    issuer = ValueFilter(label=_("Issuing body"), field_name="issuer", model_path="publicity.Honour")

    class Meta:
        model = Honour
        fields = ["q", "org", "year", "kind", "issuer"]

    def filter_year(self, queryset, name, value):
        return _year(queryset, "awarded_on", value)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(recipient__icontains=value) | Q(title__icontains=value))
