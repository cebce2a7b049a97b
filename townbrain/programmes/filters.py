"""One filter set per model: the list pages, the API and the exports all use them."""

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import ChoiceFilterSet, DivisionCodeFilter, ProgrammeFilter, ProgrammePartFilter

from .models import Enrolment, Target


class TargetFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    org_unit = DivisionCodeFilter(label=_("Org unit (code)"), field_name="org_unit_id")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="org_unit__code", lookup_expr="startswith")
    programme = ProgrammeFilter(field_name="programme__code")
    year = filters.NumberFilter(label=_("Year"))
    measure = filters.CharFilter(label=_("Measure"))

    class Meta:
        model = Target
        fields = ["q", "org_unit", "under", "programme", "year", "measure"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(label__icontains=value) | Q(target_text__icontains=value)
                               | Q(org_unit__name__icontains=value))


class EnrolmentFilterSet(ChoiceFilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    town = DivisionCodeFilter(label=_("Town (code)"), field_name="town_id")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="town__code", lookup_expr="startswith")
    programme = ProgrammeFilter(field_name="programme__code")
    role = ProgrammePartFilter(label=_("Role"), field_name="role__code", model_path="programmes.ProgrammeRole")
    batch = ProgrammePartFilter(label=_("Batch"), field_name="batch__code", model_path="programmes.Batch")
    year_joined = filters.NumberFilter(label=_("Year joined"))
    active_in = filters.NumberFilter(label=_("Enrolled in year"), method="filter_active_in")

    class Meta:
        model = Enrolment
        fields = ["q", "town", "under", "programme", "role", "batch", "year_joined", "active_in"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(town__name__icontains=value) if value else queryset

    def filter_active_in(self, queryset, name, value):
        """Towns in the programme during that year: joined by then and not yet left."""
        return queryset.filter(Q(year_joined__lte=value), Q(exit_year__isnull=True) | Q(exit_year__gte=value))
