"""One filter set per model: the list pages, the API and the exports all use them."""

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import (
    ChoiceFilterSet,
    DivisionCodeFilter,
    ProgrammeFilter,
    ValueFilter,
    YesNoFilter,
)

from .models import Result, Run, Scheme


def scheme_choices():
    """Schemes by code (what the API takes); a scheme's versions share their code, so each code once."""
    seen = {}
    for code, name in Scheme.objects.order_by("code", "-version").values_list("code", "name"):
        seen.setdefault(code, name)
    return list(seen.items())


class SchemeFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    programme = ProgrammeFilter(field_name="programme__code")
    status = filters.ChoiceFilter(label=_("Status"), choices=Scheme.Status.choices, empty_label=_("All"))

    class Meta:
        model = Scheme
        fields = ["q", "programme", "status"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)) if value else queryset


class RunFilterSet(filters.FilterSet):
    programme = ProgrammeFilter(field_name="programme__code")
    scheme = filters.ChoiceFilter(label=_("Scheme"), field_name="scheme__code", choices=scheme_choices,
                                  empty_label=_("All"))
    year = filters.NumberFilter(label=_("Year"))
    kind = filters.ChoiceFilter(label=_("Kind"), choices=Run.Kind.choices, empty_label=_("All"))
    frozen = YesNoFilter(label=_("Frozen"))

    class Meta:
        model = Run
        fields = ["programme", "scheme", "year", "kind", "frozen"]


class ResultFilterSet(ChoiceFilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    run = filters.NumberFilter(label=_("Run"), field_name="run_id")
    town = DivisionCodeFilter(label=_("Town (code)"), field_name="town_id")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="town__code", lookup_expr="startswith")
    grade = ValueFilter(label=_("Grade"), field_name="grade", model_path="assessments.Result")
    year = filters.NumberFilter(label=_("Year"), field_name="run__year")
    programme = ProgrammeFilter(field_name="run__programme__code")

    class Meta:
        model = Result
        fields = ["q", "run", "town", "under", "grade", "year", "programme"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(town__name__icontains=value) if value else queryset
