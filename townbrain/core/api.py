"""API base classes: every viewset reads through `restrict()` and writes through services."""

from rest_framework import viewsets


class RestrictedViewSetMixin:
    """get_queryset() = queryset.restrict(user, action): view for reads, change/delete for writes.

    Rows outside the user's view scope are never found (404); rows the user may see but not
    change are refused by the service function (403 with the reason).
    """

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, "view")


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class RestrictedModelViewSet(RestrictedViewSetMixin, viewsets.ModelViewSet):
    """Subclasses implement perform_create/perform_update/perform_destroy by calling services."""

    def perform_create(self, serializer):  # pragma: no cover - guard against forgetting
        raise NotImplementedError("write through a service function")

    def perform_update(self, serializer):  # pragma: no cover
        raise NotImplementedError("write through a service function")

    def perform_destroy(self, instance):  # pragma: no cover
        raise NotImplementedError("write through a service function")
