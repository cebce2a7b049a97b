"""The data-quality list (数据质量清单): the open warnings of an area, to work through and export."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils.translation import gettext_lazy

from townbrain.core import codes
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.scope import ALL, allows, scope_prefixes

from . import quality
from .models import DataWarning
from .quality_filters import DataWarningFilterSet


def _state(w) -> str:
    return str(gettext_lazy("Resolved")) if w.resolved_at else str(gettext_lazy("Open"))


class QualityListView(LoginRequiredMixin, RestrictedListView):
    """What is incomplete or unusual, where, and since when, in the user's area (or under ?org=).

    The register is brought up to date for the area first (one query per rule), so a record fixed
    by an edit drops off and one entered by a form shows, not only what imports found."""

    model = DataWarning
    filterset_class = DataWarningFilterSet
    template_name = "exchange/quality_list.html"
    columns = [
        Column("first_seen", gettext_lazy("Since"), sort="first_seen"),
        Column("town.name", gettext_lazy("Town"), sort="town_id"),
        Column("kind_label", gettext_lazy("Kind of record"), sort="object_type"),
        Column("object_repr", gettext_lazy("Record"), sort="object_repr", link=True),
        Column("column", gettext_lazy("Column"), sort="column"),
        Column("value", gettext_lazy("Value")),
        Column("message", gettext_lazy("Problem"), sort="rule"),
        Column("state", gettext_lazy("State"), getter=_state),
    ]
    default_sort = "-first_seen"
    export_name = "data-quality"
    title = gettext_lazy("Data quality (数据质量清单)")

    def base_queryset(self):
        return super().base_queryset().select_related("town")

    def get_filterset(self):
        # Always bound: the filter set's default (open problems) applies to the plain page too.
        return self.filterset_class(self.request.GET.copy(), queryset=self.base_queryset(), request=self.request)

    def get(self, request, *args, **kwargs):
        refresh_area(request.user, request.GET.get("org"))
        return super().get(request, *args, **kwargs)


def refresh_area(user, org: str | None) -> None:
    """Bring the register up to date for ?org= when the user may see it, else for the user's own area."""
    try:
        org = codes.normalize(org) if org else ""
    except codes.InvalidCode:
        org = ""
    if org and allows(user, "view", org):
        areas = [org]
    else:
        prefixes = scope_prefixes(user, "view")
        areas = [""] if prefixes is ALL else sorted(prefixes)
    for prefix in areas:
        for object_type in quality.SUBJECTS:
            quality.sync(object_type, prefix=prefix)
