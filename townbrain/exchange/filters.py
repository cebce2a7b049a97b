import django_filters as filters
from django.utils.translation import gettext_lazy as _

from .kinds import KINDS
from .models import ImportBatch


class ImportBatchFilterSet(filters.FilterSet):
    kind = filters.ChoiceFilter(label=_("Kind"), choices=[(k.name, k.label) for k in KINDS.values()],
                              empty_label=_("All"))
    state = filters.ChoiceFilter(label=_("State"), choices=ImportBatch.State.choices, empty_label=_("All"))
    file_name = filters.CharFilter(label=_("File name"), lookup_expr="icontains")

    class Meta:
        model = ImportBatch
        fields = ["kind", "state", "file_name"]
