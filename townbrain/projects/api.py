from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from townbrain.core import codes, periods
from townbrain.core.api import (
    ConditionalViewSetMixin,
    RestrictedModelViewSet,
    RestrictedViewSetMixin,
    ScopedSlugRelatedField,
)
from townbrain.core.models import OrgUnit
from townbrain.programmes.models import Batch, Category, Programme, ProgrammeRole

from . import rollups, services, warnings
from .filters import ProgressFilterSet, ProjectFilterSet
from .models import ProgressReport, Project

MONEY = {"max_digits": 14, "decimal_places": 2, "coerce_to_string": False}


class ProjectSerializer(serializers.ModelSerializer):
    town = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all())
    programme = serializers.SlugRelatedField(slug_field="code", queryset=Programme.objects.all())
    category = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                     help_text=_("Category code or name within the programme"))
    total_investment = serializers.DecimalField(**MONEY, min_value=0, required=False)
    annual_plan = serializers.DecimalField(**MONEY, min_value=0, required=False)
    cumulative_investment = serializers.DecimalField(**MONEY, read_only=True)
    progress_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False,
                                                read_only=True)
    confirm_annual_over_total = serializers.BooleanField(write_only=True, required=False, default=False)

    class Meta:
        model = Project
        fields = ["id", "code", "name", "town", "programme", "category", "owner_unit", "total_investment",
                  "annual_plan", "planned_start", "actual_start", "planned_completion", "actual_completion",
                  "status", "latitude", "longitude", "cumulative_investment", "progress_percent", "last_period",
                  "confirm_annual_over_total", "updated"]
        read_only_fields = ["id", "cumulative_investment", "progress_percent", "last_period", "updated"]
        validators = []  # uniqueness is checked by the service, with a clear message

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["category"] = obj.category.code if obj.category_id else None
        data["town_name"] = obj.town.name
        return data

    def validate(self, attrs):
        programme = attrs.get("programme") or (self.instance.programme if self.instance else None)
        if "category" in attrs:
            value = attrs["category"]
            if value in (None, ""):
                attrs["category"] = None
            else:
                cat = Category.objects.filter(programme=programme, code=value).first() or \
                    Category.objects.filter(programme=programme, name=value).first()
                if cat is None:
                    raise ValidationError({"category": _("Programme %(programme)s has no category “%(value)s”.")
                                           % {"programme": programme, "value": value}})
                attrs["category"] = cat
        return attrs


class ProjectViewSet(ConditionalViewSetMixin, RestrictedModelViewSet):
    """The project ledger. Money in 万元. Writes go through the lifecycle rules of the service layer.

    GET of one project answers an `ETag`; PUT/PATCH with `If-Match` naming an older version answer 412
    with the fields changed since (nothing saved).
    """

    queryset = Project.objects.select_related("town", "programme", "category")
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        confirm = d.pop("confirm_annual_over_total", False)
        serializer.instance = services.create_project(self.request.user, confirm_annual_over_total=confirm, **d)

    def perform_update(self, serializer):
        d = dict(serializer.validated_data)
        confirm = d.pop("confirm_annual_over_total", False)
        serializer.instance = services.update_project(self.request.user, serializer.instance,
                                                      confirm_annual_over_total=confirm,
                                                      expected_version=self.expected_version, **d)

    def perform_destroy(self, instance):
        services.delete_project(self.request.user, instance)


@extend_schema_field({"anyOf": [{"type": "integer"}, {"type": "string"}]})
class ProjectReference(serializers.CharField):
    """Written as the project's id or its code (with `programme`); read back as the id (an integer)."""


class ProgressSerializer(serializers.ModelSerializer):
    project = ProjectReference(help_text=_("Project id, or its code together with `programme`"))
    project_code = serializers.CharField(source="project.code", read_only=True)
    programme = serializers.CharField(write_only=True, required=False)
    month_investment = serializers.DecimalField(**MONEY, required=False)
    cumulative_investment = serializers.DecimalField(**MONEY, required=False)
    progress_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False,
                                                required=False)

    class Meta:
        model = ProgressReport
        fields = ["id", "project", "project_code", "programme", "period", "month_investment",
                  "cumulative_investment", "progress_percent", "status", "problems", "correction_reason", "updated"]
        read_only_fields = ["id", "updated"]
        validators = []

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["project"] = obj.project_id
        data["project_code"] = obj.project.code
        return data


class ProgressViewSet(RestrictedViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Monthly progress reports (月报). POSTing a report for an existing (project, period) replaces it."""

    queryset = ProgressReport.objects.select_related("project")
    serializer_class = ProgressSerializer
    filterset_class = ProgressFilterSet

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        ref, programme = d.pop("project"), d.pop("programme", None)
        visible = Project.objects.restrict(self.request.user, "view")
        if programme:
            project = visible.filter(code=ref, programme__code=programme).first()
        else:
            project = visible.filter(pk=int(ref)).first() if str(ref).isdigit() else None
        if project is None:
            raise ValidationError({"project": _("No project “%(ref)s” in your area%(suffix)s.") % {
                "ref": ref, "suffix": f" ({programme})" if programme else ""}})
        period = d.pop("period")
        serializer.instance = services.report_progress(self.request.user, project, period, **d)


def _org_period_programme(request) -> tuple[OrgUnit, str, Programme]:
    """Validate the common ?org=&period=&programme= parameters (400 with a reason; 404 outside scope)."""
    q = request.query_params
    errors = {name: _("This parameter is required.") for name in ("org", "period", "programme") if not q.get(name)}
    if errors:
        raise ValidationError(errors)
    try:
        code = codes.normalize(q["org"])
    except codes.InvalidCode as exc:
        raise ValidationError({"org": str(exc)}) from exc
    try:
        period = periods.month_id(*periods.parse_month(q["period"]))
    except periods.InvalidPeriod as exc:
        raise ValidationError({"period": str(exc)}) from exc
    org = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=code)
    programme = Programme.objects.filter(code=q["programme"]).first()
    if programme is None:
        raise ValidationError({"programme": _("Unknown programme “%(code)s”.") % {"code": q["programme"]}})
    return org, period, programme


class RollupView(APIView):
    """Live figures for an org unit, month and programme, with the same figures per child unit."""

    @extend_schema(parameters=[
        OpenApiParameter("org", OpenApiTypes.STR, required=True, description="division code"),
        OpenApiParameter("period", OpenApiTypes.STR, required=True, description="YYYYMM"),
        OpenApiParameter("programme", OpenApiTypes.STR, required=True, description="programme code"),
        OpenApiParameter("category", OpenApiTypes.STR), OpenApiParameter("role", OpenApiTypes.STR),
        OpenApiParameter("batch", OpenApiTypes.STR),
    ], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        q = request.query_params
        org, period, programme = _org_period_programme(request)
        dims = {}
        for name, model in (("category", Category), ("role", ProgrammeRole), ("batch", Batch)):
            if q.get(name):
                obj = model.objects.filter(programme=programme, code=q[name]).first()
                if obj is None:
                    raise ValidationError({name: _("Programme %(programme)s has no %(dim)s “%(code)s”.")
                                           % {"programme": programme.code, "dim": name, "code": q[name]}})
                dims[name] = obj
        return Response(rollups.compute(request.user, org, period, programme, **dims))


class WarningsView(APIView):
    """Warnings for an org unit, month and programme: missing reports, not started, laggards.

    `?kind=` (repeatable) limits the kinds.
    """

    @extend_schema(parameters=[
        OpenApiParameter("org", OpenApiTypes.STR, required=True), OpenApiParameter("period", OpenApiTypes.STR,
                                                                                   required=True),
        OpenApiParameter("programme", OpenApiTypes.STR, required=True),
        OpenApiParameter("kind", OpenApiTypes.STR, many=True, enum=list(warnings.KINDS)),
    ], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        org, period, programme = _org_period_programme(request)
        kinds = request.query_params.getlist("kind") or list(warnings.KINDS)
        unknown = set(kinds) - set(warnings.KINDS)
        if unknown:
            raise ValidationError({"kind": _("Unknown warning kind: %(kinds)s.") % {"kinds": ", ".join(sorted(unknown))}})
        rows = warnings.compute(request.user, org, period, programme, kinds)
        return Response({"org": org.code, "period": period, "programme": programme.code, "count": len(rows),
                         "results": rows})
