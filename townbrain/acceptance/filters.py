"""One filter set for acceptances: the list page, the API and the exports all use it."""

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import ChoiceFilterSet, DivisionCodeFilter, ProgrammeFilter, ValueFilter

from .models import Acceptance, Stage


class AcceptanceFilterSet(ChoiceFilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    programme = ProgrammeFilter(field_name="programme__code")
    year = filters.NumberFilter(label=_("Year"))
    stage = filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices, empty_label=_("All"))
    town = DivisionCodeFilter(label=_("Town (code)"), field_name="town_id")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="town__code", lookup_expr="startswith")
    outcome = ValueFilter(label=_("Outcome"), field_name="outcome", model_path="acceptance.Acceptance")

    class Meta:
        model = Acceptance
        fields = ["q", "programme", "year", "stage", "town", "under", "outcome"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(town__name__icontains=value) if value else queryset
