import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeFilter, ProgrammeFilter

from .models import Kind, PlanStatus, WorkPlan, WorkPlanItem


class YearFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class WorkPlanFilterSet(filters.FilterSet):
    """One filter set for the list page, the API and the export."""

    q = filters.CharFilter(label=_("Search"), method="search")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="org_unit__code", lookup_expr="startswith")
    kind = filters.ChoiceFilter(label=_("Kind of plan"), choices=Kind.choices, empty_label=_("All"))
    year = YearFilter(label=_("Year"), method="filter_year", min_value=1990, max_value=2100)
    programme = ProgrammeFilter(field_name="programme__code")
    status = filters.ChoiceFilter(label=_("Status"), choices=PlanStatus.choices, empty_label=_("All"))

    class Meta:
        model = WorkPlan
        fields = ["q", "org", "kind", "year", "programme", "status"]

    def filter_year(self, queryset, name, value):
        """The plans running in the year: from-year to to-year (one of them alone: that year), or approved then
        when the plan names no years."""
        year = int(value)
        return queryset.filter(
            Q(start_year__lte=year, end_year__gte=year)
            | Q(start_year=year, end_year__isnull=True) | Q(start_year__isnull=True, end_year=year)
            | Q(start_year__isnull=True, end_year__isnull=True, approved_on__year=year))

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(title__icontains=value) if value else queryset


class WorkPlanItemFilterSet(filters.FilterSet):
    plan = filters.NumberFilter(label=_("Work plan (id)"), field_name="plan_id")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="plan__org_unit__code",
                             lookup_expr="startswith")
    heading = filters.CharFilter(label=_("Heading (code)"), field_name="heading__code")

    class Meta:
        model = WorkPlanItem
        fields = ["plan", "org", "heading"]
