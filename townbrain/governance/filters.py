import django_filters as filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeFilter

from .models import CLOCK_RUNNING, Event, Platform, Source, Status


class EventFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    town = DivisionCodeFilter(label=_("Town (code)"), field_name="town_id")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="town__code", lookup_expr="startswith")
    platform = filters.ChoiceFilter(label=_("Platform"), choices=Platform.choices)
    status = filters.ChoiceFilter(label=_("Status"), choices=Status.choices)
    source = filters.ChoiceFilter(label=_("Source"), choices=Source.choices)
    category = filters.CharFilter(label=_("Category (code)"), method="by_category")
    overdue = filters.BooleanFilter(label=_("Overdue now"), method="by_overdue")
    open = filters.BooleanFilter(label=_("Not yet closed"), method="by_open")

    class Meta:
        model = Event
        fields = ["q", "town", "under", "platform", "status", "source", "category", "overdue", "open"]

    def search(self, queryset, name, value):
        value = value.strip()
        q = Q(description__icontains=value) | Q(address__icontains=value)
        if value.isdigit():
            q |= Q(pk=int(value))
        return queryset.filter(q)

    def by_category(self, queryset, name, value):
        return queryset.filter(Q(category__code=value) | Q(category__parent__code=value))

    def by_overdue(self, queryset, name, value):
        overdue = Q(status__in=CLOCK_RUNNING, deadline__lt=timezone.now())
        return queryset.filter(overdue if value else ~overdue)

    def by_open(self, queryset, name, value):
        from .models import OPEN

        return queryset.filter(status__in=OPEN) if value else queryset.exclude(status__in=OPEN)
