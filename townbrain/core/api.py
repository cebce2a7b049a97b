"""API base classes: every viewset reads through `restrict()` and writes through services."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, viewsets

from . import conflicts


class RestrictedViewSetMixin:
    """get_queryset() = queryset.restrict(user, action): view for reads, change/delete for writes.

    Rows outside the user's view scope are never found (404); rows the user may see but not
    change are refused by the service function (403 with the reason).
    """

    read_action = "view"  # the right a row is read with ("contact" where every row is a person's details)

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, self.read_action)


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
            try:
                elsewhere = super().get_queryset().filter(**{self.slug_field: data}).exists()
            except (TypeError, ValueError, OverflowError):  # not even a value of the field (`?plan=abc`)
                elsewhere = False
            if elsewhere:
                raise exceptions.PermissionDenied(
                    _("“%(value)s” is outside your area.") % {"value": data}) from None
            raise


# --- concurrent edits: ETag / If-Match (core/conflicts.py) -------------------------------------------------

class ConflictSerializer(serializers.Serializer):
    """The 412 answer to a write whose If-Match names a version the record has left."""

    detail = serializers.CharField()
    changed_fields = serializers.ListField(child=serializers.CharField(),
                                           help_text="Fields changed since the version the client sent")
    changes = serializers.DictField(help_text="{field: [value at the client's version, value now]}")
    changed_by = serializers.CharField()
    changed_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField(help_text="The record's version now (its ETag)")


IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag of the record as read (GET). If the record changed since, nothing is saved: 412.")
CONFLICT_RESPONSE = OpenApiResponse(ConflictSerializer, description="The record changed since the ETag in If-Match")


def conflict_schema(responses, **kwargs):
    """extend_schema for a write honouring If-Match: `responses` and 412, the If-Match header."""
    return extend_schema(parameters=[IF_MATCH], responses={**responses, 412: CONFLICT_RESPONSE}, **kwargs)


class ConditionalViewSetMixin:
    """Optimistic locking for a viewset of versioned records (a `version` field raised by its services).

    GET of one record answers an `ETag` (its version); PUT/PATCH with an `If-Match` naming another
    version answer 412 `{"detail", "changed_fields", …}` and save nothing; without If-Match the write
    proceeds as ever. The version matched is in `self.expected_version` for perform_update to hand
    to the service, which checks it again under the row lock (two writers racing: one gets 412).
    `conflict_checked` tells the schema hooks the PUT/PATCH of the viewset may answer 412.
    """

    conflict_checked = True
    version_field = "version"
    expected_version = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        serializer = cls.__dict__.get("serializer_class") or getattr(cls, "serializer_class", None)
        # A viewset writing its own update/partial_update declares it with conflict_schema() itself.
        methods = {name: conflict_schema({200: serializer}) for name in ("update", "partial_update")
                   if hasattr(cls, name) and name not in cls.__dict__}
        if methods:
            extend_schema_view(**methods)(cls)

    def version_of(self, obj) -> int:
        return getattr(obj, self.version_field)

    def check_if_match(self, obj):
        """The version the request's If-Match accepts (None without one); Conflict if it is not `obj`'s."""
        try:
            versions = conflicts.if_match_versions(self.request.headers.get("If-Match"))
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"If-Match": exc.messages}) from None
        if versions is None:
            return None
        current = self.version_of(obj)
        if current in versions:
            return current
        self.raise_conflict(obj, versions[0])
        return current  # pragma: no cover - raise_conflict raises

    def raise_conflict(self, obj, expected):
        """Raise the Conflict saying what changed since `expected` (a subclass with parts overrides)."""
        conflicts.expect_version(obj, expected)

    def with_etag(self, response, obj):
        if obj is not None and 200 <= response.status_code < 300:
            response["ETag"] = conflicts.etag(self.version_of(obj))
        return response

    def get_object(self):
        self.read_object = super().get_object()
        return self.read_object

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        return self.with_etag(response, getattr(self, "read_object", None))

    def update(self, request, *args, **kwargs):
        obj = self.get_object()
        self.expected_version = self.check_if_match(obj)
        response = super().update(request, *args, **kwargs)
        fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
        return self.with_etag(response, fresh)
