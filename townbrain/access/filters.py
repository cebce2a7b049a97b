import django_filters as filters
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeFilter, YesNoFilter
from townbrain.core.roles import Role

from .models import Membership


class UserFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    under = DivisionCodeFilter(label=_("Under (code)"), method="filter_under")
    role = filters.ChoiceFilter(label=_("Role"), choices=Role.choices, method="filter_role", empty_label=_("All"))
    is_active = YesNoFilter(label=_("Active"))

    class Meta:
        model = get_user_model()
        fields = ["q", "under", "role", "is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(username__icontains=value) | Q(first_name__icontains=value)
                               | Q(email__icontains=value))

    # Both filters look only at memberships the caller may see: otherwise `?under=52` would tell a
    # town user that someone they can see also works in another province.
    def _visible_memberships(self):
        user = getattr(self.request, "user", None)
        return Membership.objects.restrict(user, "view") if user is not None else Membership.objects.none()

    def filter_under(self, queryset, name, value):
        return queryset.filter(pk__in=self._visible_memberships().filter(org_unit__code__startswith=value)
                               .values("user_id"))

    def filter_role(self, queryset, name, value):
        return queryset.filter(pk__in=self._visible_memberships().filter(role=value).values("user_id"))


class MembershipFilterSet(filters.FilterSet):
    user = filters.CharFilter(label=_("User name"), field_name="user__username")
    org_unit = DivisionCodeFilter(label=_("Org unit"), field_name="org_unit_id")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="org_unit__code", lookup_expr="startswith")
    role = filters.ChoiceFilter(label=_("Role"), choices=Role.choices, empty_label=_("All"))

    class Meta:
        model = Membership
        fields = ["user", "org_unit", "under", "role"]
