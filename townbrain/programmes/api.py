from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated

from townbrain.core.api import RestrictedViewSetMixin, ScopedSlugRelatedField
from townbrain.core.models import OrgUnit
from townbrain.core.scope import allows

from . import services
from .filters import EnrolmentFilterSet, TargetFilterSet
from .models import Batch, Category, Enrolment, Programme, ProgrammeRole, Target

VALUE = {"max_digits": 16, "decimal_places": 2, "coerce_to_string": False}


class _CodeName(serializers.ModelSerializer):
    class Meta:
        fields = ["code", "name"]


class CategorySerializer(_CodeName):
    class Meta(_CodeName.Meta):
        model = Category


class RoleSerializer(_CodeName):
    class Meta(_CodeName.Meta):
        model = ProgrammeRole


class BatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Batch
        fields = ["code", "name", "year"]


class ProgrammeSerializer(serializers.ModelSerializer):
    categories = CategorySerializer(many=True, required=False)
    roles = RoleSerializer(many=True, required=False)
    batches = BatchSerializer(many=True, required=False)

    class Meta:
        model = Programme
        fields = ["code", "name", "description", "active", "categories", "roles", "batches"]
        extra_kwargs = {"code": {"validators": []}}  # the service says “already exists” itself


class IsSystemAdminToWrite(BasePermission):
    """Everyone signed in reads programmes; only system administrators add them."""

    message = gettext_lazy("Only system administrators may change programmes.")

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or allows(request.user, "manage", "")


class ProgrammeViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Programmes with their categories, roles and batches. Reference data: every signed-in user reads it.

    System administrators may POST a new programme, with its `categories`, `roles` and `batches`
    as lists of `{code, name}` (`{code, name, year}` for batches).
    """

    queryset = Programme.objects.prefetch_related("categories", "roles", "batches")
    serializer_class = ProgrammeSerializer
    permission_classes = [IsAuthenticated, IsSystemAdminToWrite]
    lookup_field = "code"
    filterset_fields = ["active"]
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        with transaction.atomic():
            serializer.instance = services.create_programme(
                self.request.user, d.pop("code"), d.pop("name"), d.pop("description", ""), d.pop("active", True),
                categories=[dict(c) for c in d.pop("categories", [])], roles=[dict(r) for r in d.pop("roles", [])],
                batches=[dict(b) for b in d.pop("batches", [])])


# --- targets ----------------------------------------------------------------------------------------

TARGET_KEYS = ("org_unit", "programme", "year", "measure")


class TargetSerializer(serializers.ModelSerializer):
    org_unit = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(),
                                      help_text=gettext_lazy("Division code of the org unit"))
    programme = serializers.SlugRelatedField(slug_field="code", queryset=Programme.objects.all())
    year = serializers.IntegerField(min_value=1990, max_value=2100)
    target_value = serializers.DecimalField(**VALUE, required=False, allow_null=True)
    actual_value = serializers.DecimalField(**VALUE, required=False, allow_null=True)
    gap = serializers.DecimalField(**VALUE, read_only=True, allow_null=True,
                                   help_text=gettext_lazy("target_value − actual_value, 0 once reached; "
                                                          "null when either is unknown"))

    class Meta:
        model = Target
        fields = ["id", "org_unit", "programme", "year", "measure", "label", "target_value", "unit", "target_text",
                  "actual_value", "actual_text", "gap", "updated"]
        read_only_fields = ["id", "gap", "updated"]
        validators = []  # one target per (org unit, programme, year, measure): POST replaces it

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["org_unit_name"] = obj.org_unit.name
        return data

    def validate(self, attrs):
        if self.instance is not None:
            errors = {}
            for key in TARGET_KEYS:
                if key in attrs and attrs[key] != getattr(self.instance, key):
                    errors[key] = _("A target's org unit, programme, year and measure cannot be changed; "
                                    "create another target instead.")
            if errors:
                raise ValidationError(errors)
        return attrs


class TargetViewSet(RestrictedViewSetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                    viewsets.ReadOnlyModelViewSet):
    """Yearly targets per org unit and programme (e.g. 投资 ≥ 1,000,000 万元), actual against target with the gap.

    POSTing a target for an existing (org unit, programme, year, measure) replaces its values.
    """

    queryset = Target.objects.select_related("org_unit", "programme")
    serializer_class = TargetSerializer
    filterset_class = TargetFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        serializer.instance = services.set_target(self.request.user, d.pop("org_unit"), d.pop("programme"),
                                                  d.pop("year"), d.pop("measure"), **d)

    def perform_update(self, serializer):
        t = serializer.instance
        d = {k: v for k, v in serializer.validated_data.items() if k not in TARGET_KEYS}
        serializer.instance = services.set_target(self.request.user, t.org_unit, t.programme, t.year, t.measure, **d)


# --- enrolments -------------------------------------------------------------------------------------


class EnrolmentSerializer(serializers.ModelSerializer):
    town = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(),
                                  help_text=gettext_lazy("Division code of the town"))
    programme = serializers.SlugRelatedField(slug_field="code", queryset=Programme.objects.all())
    batch = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                  help_text=gettext_lazy("Batch code within the programme"))
    role = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                 help_text=gettext_lazy("Role code within the programme"))
    year_joined = serializers.IntegerField(min_value=1990, max_value=2100)
    exit_year = serializers.IntegerField(min_value=1990, max_value=2100, required=False, allow_null=True)
    history = serializers.SerializerMethodField(
        help_text=gettext_lazy("What grades did to the enrolment: moves between lists, exit, flags (oldest first)"))

    class Meta:
        model = Enrolment
        fields = ["id", "town", "programme", "batch", "role", "year_joined", "exit_year", "flagged_year",
                  "flag_reason", "history", "updated"]
        read_only_fields = ["id", "flagged_year", "flag_reason", "updated"]
        validators = []  # one enrolment per (town, programme): POST replaces it

    def get_history(self, obj) -> list[dict]:
        return [{"year": e.year, "kind": e.kind, "kind_display": e.get_kind_display(),
                 "role_before": e.role_before.code if e.role_before_id else None,
                 "role_after": e.role_after.code if e.role_after_id else None,
                 "reason": e.reason, "source": e.source} for e in obj.events.all()]

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["town_name"] = obj.town.name
        data["batch"] = obj.batch.code if obj.batch_id else None
        data["role"] = obj.role.code if obj.role_id else None
        return data

    def validate(self, attrs):
        errors = {}
        if self.instance is not None:
            for key in ("town", "programme"):
                if key in attrs and attrs[key] != getattr(self.instance, key):
                    errors[key] = _("An enrolment's town and programme cannot be changed; enrol the town anew.")
        programme = attrs.get("programme") or (self.instance.programme if self.instance else None)
        for name, model in (("batch", Batch), ("role", ProgrammeRole)):
            if name not in attrs:
                continue
            value = attrs[name]
            if value in (None, ""):
                attrs[name] = None
                continue
            obj = model.objects.filter(programme=programme, code=value).first() or \
                model.objects.filter(programme=programme, name=value).first()
            if obj is None:
                errors[name] = _("Programme %(programme)s has no %(kind)s “%(value)s”.") % {
                    "programme": getattr(programme, "code", ""), "kind": model._meta.verbose_name, "value": value}
            attrs[name] = obj
        if errors:
            raise ValidationError(errors)
        return attrs


class EnrolmentViewSet(RestrictedViewSetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                       viewsets.ReadOnlyModelViewSet):
    """Towns enrolled in programmes: batch, role (样板创建/达标 …), year joined and exit year.

    POSTing an enrolment for a town already in the programme replaces it.
    """

    queryset = Enrolment.objects.select_related("town", "programme", "batch", "role").prefetch_related(
        "events__role_before", "events__role_after")
    serializer_class = EnrolmentSerializer
    filterset_class = EnrolmentFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer):
        d = serializer.validated_data
        serializer.instance = services.enrol_town(
            self.request.user, d["town"], d["programme"], year_joined=d["year_joined"], role=d.get("role"),
            batch=d.get("batch"), exit_year=d.get("exit_year"))

    def perform_update(self, serializer):
        e, d = serializer.instance, serializer.validated_data
        serializer.instance = services.enrol_town(
            self.request.user, e.town, e.programme, year_joined=d.get("year_joined", e.year_joined),
            role=d["role"] if "role" in d else e.role, batch=d["batch"] if "batch" in d else e.batch,
            exit_year=d["exit_year"] if "exit_year" in d else e.exit_year)
