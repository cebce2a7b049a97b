"""API base classes: every viewset reads through `restrict()` and writes through services."""

from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, viewsets


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


class ScopedSlugRelatedField(serializers.SlugRelatedField):
    """A related field that only finds rows inside the requesting user's area.

    It renders as a text input: DRF's browsable API would otherwise list every candidate row
    (every org unit of the country, every user) in a <select> — a leak and a 40,000-row page.
    `scope(queryset, user)` narrows the candidates; the default is `restrict(user, "view")`.
    """

    def __init__(self, scope=None, **kwargs):
        kwargs.setdefault("style", {"base_template": "input.html"})
        self.scope = scope or (lambda qs, user: qs.restrict(user, "view"))
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return self.scope(super().get_queryset(), getattr(request, "user", None))

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            # Say "outside your area" (403) for a row that exists elsewhere, like every other write.
            if super().get_queryset().filter(**{self.slug_field: data}).exists():
                raise exceptions.PermissionDenied(
                    _("“%(value)s” is outside your area.") % {"value": data}) from None
            raise
