import django_filters as filters
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import ChoiceFilterSet, DivisionCodeFilter, ProgrammeFilter, ProgrammePartFilter

from .models import ProgressReport, Project, Status


class ProjectFilterSet(ChoiceFilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="town__code", lookup_expr="startswith")
    town = DivisionCodeFilter(label=_("Town"), field_name="town__code")
    programme = ProgrammeFilter(field_name="programme__code")
    category = ProgrammePartFilter(label=_("Category"), field_name="category__code", model_path="programmes.Category")
    status = filters.MultipleChoiceFilter(label=_("Status"), choices=Status.choices)
    role = ProgrammePartFilter(label=_("Role"), method="filter_role", model_path="programmes.ProgrammeRole")
    batch = ProgrammePartFilter(label=_("Batch"), method="filter_batch", model_path="programmes.Batch")
    planned_start_after = filters.DateFilter(label=_("Planned start from"), field_name="planned_start",
                                             lookup_expr="gte")
    planned_start_before = filters.DateFilter(label=_("Planned start until"), field_name="planned_start",
                                              lookup_expr="lte")

    class Meta:
        model = Project
        fields = ["q", "under", "town", "programme", "category", "status", "role", "batch"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))

    def filter_role(self, queryset, name, value: str):
        return queryset.filter(town__enrolments__role__code=value,
                               town__enrolments__programme=F("programme")).distinct()

    def filter_batch(self, queryset, name, value: str):
        return queryset.filter(town__enrolments__batch__code=value,
                               town__enrolments__programme=F("programme")).distinct()



class ProgressFilterSet(filters.FilterSet):
    # A number, not a ModelChoiceFilter: a <select> would list every project of the country.
    project = filters.NumberFilter(label=_("Project id"), field_name="project_id")
    project_code = filters.CharFilter(label=_("Project code"), field_name="project__code")
    programme = ProgrammeFilter(field_name="project__programme__code")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="project__town__code", lookup_expr="startswith")
    period = filters.CharFilter(label=_("Period (YYYYMM)"))
    period_from = filters.CharFilter(label=_("From period"), field_name="period", lookup_expr="gte")
    period_to = filters.CharFilter(label=_("To period"), field_name="period", lookup_expr="lte")
    status = filters.MultipleChoiceFilter(label=_("Status"), choices=Status.choices)

    class Meta:
        model = ProgressReport
        fields = ["project", "project_code", "programme", "under", "period", "period_from", "period_to", "status"]
