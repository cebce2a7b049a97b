from datetime import date

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeFilter, YesNoFilter

from .models import (
    COUNT_FIELDS,
    OPEN_STATUSES,
    ActivityType,
    Expert,
    ExpertActivity,
    ExpertAssignment,
    ExpertKind,
    ExpertProblem,
    ProblemStatus,
    of_expert,
)


class YearFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class ExpertFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    kind = filters.ChoiceFilter(label=_("Kind of expert"), choices=ExpertKind.choices, empty_label=_("All"))
    org = DivisionCodeFilter(label=_("Managing office (subtree)"), field_name="home__code", lookup_expr="startswith")
    town = DivisionCodeFilter(label=_("Assigned to town"), method="filter_town")
    active = YesNoFilter(label=_("Active"))

    class Meta:
        model = Expert
        fields = ["q", "kind", "org", "town", "active"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(employer__icontains=value))

    def filter_town(self, queryset, name, value):
        return queryset.filter(assignments__town_id=value).distinct()


class AssignmentFilterSet(filters.FilterSet):
    expert = filters.NumberFilter(label=_("Expert id"), field_name="expert_id")
    town = DivisionCodeFilter(label=_("Town"), field_name="town_id")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    role = filters.ChoiceFilter(label=_("Role"), choices=ExpertKind.choices, empty_label=_("All"))

    class Meta:
        model = ExpertAssignment
        fields = ["expert", "town", "org", "role"]


class ActivityFilterSet(filters.FilterSet):
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    town = DivisionCodeFilter(label=_("Town"), field_name="town_id")
    year = YearFilter(label=_("Year"), method="filter_year", min_value=1900, max_value=2100)
    date_from = filters.DateFilter(label=_("From date"), field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(label=_("To date"), field_name="date", lookup_expr="lte")
    type = filters.ChoiceFilter(label=_("Activity type"), field_name="activity_type", choices=ActivityType.choices,
                                empty_label=_("All"))
    kind = filters.ChoiceFilter(label=_("With experts of kind"), choices=ExpertKind.choices, method="filter_kind",
                                empty_label=_("All"))
    q = filters.CharFilter(label=_("Expert name"), field_name="expert_names", lookup_expr="icontains")
    expert = filters.NumberFilter(label=_("Expert id"), field_name="experts", method="filter_expert")

    class Meta:
        model = ExpertActivity
        fields = ["org", "town", "year", "date_from", "date_to", "type", "kind", "q", "expert"]

    def filter_year(self, queryset, name, value):
        year = int(value)
        return queryset.filter(date__gte=date(year, 1, 1), date__lte=date(year, 12, 31))

    def filter_kind(self, queryset, name, value):
        return queryset.filter(**{f"{COUNT_FIELDS[value]}__gt": 0})

    def filter_expert(self, queryset, name, value):
        return queryset.filter(of_expert(value)).distinct()


class ProblemFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    town = DivisionCodeFilter(label=_("Town"), field_name="town_id")
    status = filters.ChoiceFilter(label=_("Status"), choices=ProblemStatus.choices, empty_label=_("All"))
    overdue = YesNoFilter(label=_("Overdue"), method="filter_overdue")
    activity = filters.NumberFilter(label=_("Activity id"), field_name="activity_id")

    class Meta:
        model = ExpertProblem
        fields = ["q", "org", "town", "status", "overdue", "activity"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(description__icontains=value) | Q(owner__icontains=value))

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(status__in=OPEN_STATUSES, due_date__lt=timezone.localdate())
        return queryset.filter(late) if value else queryset.exclude(late)
