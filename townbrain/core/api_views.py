from rest_framework import exceptions, mixins

from . import codes
from .api import ConditionalViewSetMixin, RestrictedReadOnlyViewSet
from .filters import AuditFilterSet, OrgUnitFilterSet
from .models import AuditEntry, OrgUnit
from .serializers import AuditEntrySerializer, OrgUnitSerializer
from .services import update_org_profile


class OrgUnitViewSet(ConditionalViewSetMixin, mixins.UpdateModelMixin, RestrictedReadOnlyViewSet):
    """Org units (the division tree). `?under=3301` is the subtree including 3301.

    PATCH edits the town profile: town_type, population, area_km2, latitude, longitude, notes. GET of
    one unit answers an `ETag`; a PATCH with `If-Match` naming an older version answers 412.
    """

    queryset = OrgUnit.objects.all()
    serializer_class = OrgUnitSerializer
    filterset_class = OrgUnitFilterSet
    lookup_field = "code"
    # Anything up to the next slash or dot (the format suffix): get_object() normalises it, so
    # 330109113000 and full-width digits find 330109113, and a malformed code gets a 404 saying why.
    lookup_value_regex = r"[^/.]+"
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        try:
            self.kwargs[self.lookup_field] = codes.normalize(self.kwargs[self.lookup_field])
        except codes.InvalidCode as exc:
            raise exceptions.NotFound(str(exc)) from exc
        return super().get_object()

    def perform_update(self, serializer):
        serializer.instance = update_org_profile(self.request.user, serializer.instance,
                                                 expected_version=self.expected_version, **serializer.validated_data)


class AuditViewSet(RestrictedReadOnlyViewSet):
    """The audit log of the caller's subtree, newest first. Read-only by design."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilterSet
