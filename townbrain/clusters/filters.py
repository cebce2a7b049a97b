import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeFilter

from .models import Cluster, ClusterMember


class ClusterFilterSet(filters.FilterSet):
    """One filter set for the list page, the API and the export."""

    q = filters.CharFilter(label=_("Search"), method="search")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), method="filter_org")

    class Meta:
        model = Cluster
        fields = ["q", "org"]

    def filter_org(self, queryset, name, value):
        """The clusters touching the area: with a member town in the subtree of `org`."""
        if not value:
            return queryset
        return queryset.filter(pk__in=ClusterMember.objects.filter(town__code__startswith=value).values("cluster_id"))

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(theme__icontains=value))
