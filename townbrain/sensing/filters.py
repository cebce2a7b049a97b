import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeFilter

from .models import Alarm, AlarmRule, Facility, FacilityStatus, Sensor, SensorKind, Severity

ALARM_STATUSES = [("active", _("Active")), ("cleared", _("Cleared")), ("active_unack", _("Active, unacknowledged")),
                  ("active_ack", _("Active, acknowledged")), ("cleared_unack", _("Cleared, unacknowledged")),
                  ("cleared_ack", _("Cleared, acknowledged"))]


class FacilityFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    kind = filters.CharFilter(label=_("Kind"))
    status = filters.ChoiceFilter(label=_("Status"), choices=FacilityStatus.choices, empty_label=_("All"))

    class Meta:
        model = Facility
        fields = ["q", "org", "kind", "status"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value)) if value else queryset


class SensorFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    kind = filters.ChoiceFilter(label=_("Kind"), choices=SensorKind.choices, empty_label=_("All"))
    facility = filters.CharFilter(label=_("Facility code"), field_name="facility__code")

    class Meta:
        model = Sensor
        fields = ["q", "org", "kind", "facility"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value)) if value else queryset


class AlarmRuleFilterSet(filters.FilterSet):
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="org__code", lookup_expr="startswith")
    kind = filters.ChoiceFilter(label=_("Kind"), choices=SensorKind.choices, empty_label=_("All"))
    sensor = filters.CharFilter(label=_("Sensor code"), field_name="sensor__code")

    class Meta:
        model = AlarmRule
        fields = ["org", "kind", "sensor"]


class AlarmFilterSet(filters.FilterSet):
    org = DivisionCodeFilter(label=_("Org unit (subtree)"), field_name="town__code", lookup_expr="startswith")
    status = filters.ChoiceFilter(label=_("Status"), choices=ALARM_STATUSES, method="filter_status",
                                  empty_label=_("All"))
    severity = filters.ChoiceFilter(label=_("Severity"), choices=Severity.choices, empty_label=_("All"))
    sensor = filters.CharFilter(label=_("Sensor code"), field_name="sensor__code")

    class Meta:
        model = Alarm
        fields = ["org", "status", "severity", "sensor"]

    def filter_status(self, queryset, name, value):
        cleared, _sep, ack = value.partition("_")
        queryset = queryset.filter(cleared=(cleared == "cleared"))
        if ack:
            queryset = queryset.filter(acknowledged=(ack == "ack"))
        return queryset
