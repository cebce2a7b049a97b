"""The clusters API: `/api/clusters/` (list, detail, create, update, delete; `?org=` the clusters touching
an area), `/api/clusters/<id>/rollup/` (the member towns' combined roll-up), `/api/clusters/<id>/indicator/`
(a joint indicator's assessment for a year), and `/api/rollups/?cluster=<id>`."""

from django.core.exceptions import ValidationError as ModelValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from townbrain.core import periods
from townbrain.core.api import RestrictedModelViewSet
from townbrain.core.scope import allows
from townbrain.programmes.models import Programme
from townbrain.projects import api as projects_api

from . import services
from .filters import ClusterFilterSet
from .models import Assessment, Cluster, Indicator, MemberRole


class ClusterSerializer(serializers.ModelSerializer):
    lead = serializers.CharField(help_text=_("Division code of the lead town"))
    wings = serializers.ListField(child=serializers.CharField(), write_only=True, required=False,
                                  help_text=_("Division codes of the wing towns"))
    programme = serializers.SlugRelatedField(slug_field="code", queryset=Programme.objects.all(), required=False,
                                             allow_null=True, help_text=_("Programme code"))

    class Meta:
        model = Cluster
        fields = ["id", "name", "theme", "programme", "lead", "wings", "note", "updated"]
        read_only_fields = ["id", "updated"]
        validators = []

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["lead"] = obj.lead_id
        user = self.context["request"].user
        members = [m for m in obj.memberships.all() if allows(user, "view", m.town_id)]
        members.sort(key=lambda m: (m.role != MemberRole.LEAD, m.town_id))
        data["members"] = [m.town_id for m in members]
        data["member_names"] = {m.town_id: m.town.name for m in members}
        data["wings"] = [m.town_id for m in members if m.role == MemberRole.WING]
        data["indicators"] = [{"indicator": i.indicator, "year": i.year, "status": i.status, "text": i.text}
                              for i in obj.indicators.all()]
        return data


class JointIndicatorSerializer(serializers.Serializer):
    indicator = serializers.ChoiceField(choices=Indicator.choices)
    year = serializers.IntegerField(min_value=1900, max_value=2100)
    status = serializers.ChoiceField(choices=Assessment.choices, default=Assessment.NOT_STARTED)
    text = serializers.CharField(required=False, allow_blank=True, default="")


def _service(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except ModelValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from None


def _period_programme(request) -> tuple[str, Programme]:
    q = request.query_params
    errors = {name: _("This parameter is required.") for name in ("period", "programme") if not q.get(name)}
    if errors:
        raise ValidationError(errors)
    try:
        period = periods.month_id(*periods.parse_month(q["period"]))
    except periods.InvalidPeriod as exc:
        raise ValidationError({"period": str(exc)}) from exc
    programme = Programme.objects.filter(code=q["programme"]).first()
    if programme is None:
        raise ValidationError({"programme": _("Unknown programme “%(code)s”.") % {"code": q["programme"]}})
    return period, programme


ROLLUP_PARAMS = [
    OpenApiParameter("period", OpenApiTypes.STR, required=True, description="YYYYMM"),
    OpenApiParameter("programme", OpenApiTypes.STR, required=True, description="programme code"),
]


class ClusterViewSet(RestrictedModelViewSet):
    """美丽城镇集群: a lead town and its wing towns (possibly across counties), a theme, and the joint indicators
    (交通互通, 资源互用, 文化互融, 产业互补, 经济互动) by year. A cluster is listed when you may see any of its towns;
    `members` (lead first) holds the towns you may see. `?org=<code>`: the clusters touching that area.
    Writing needs the right on every member town; `wings` replaces the wing towns."""

    queryset = Cluster.objects.select_related("lead", "programme").prefetch_related("memberships__town", "indicators")
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilterSet

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        serializer.instance = _service(services.create_cluster, self.request.user, name=d.pop("name"),
                                       lead=d.pop("lead"), wings=d.pop("wings", []), **d)

    def perform_update(self, serializer):
        serializer.instance = _service(services.update_cluster, self.request.user, serializer.instance,
                                       **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_cluster(self.request.user, instance)

    @extend_schema(parameters=ROLLUP_PARAMS, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def rollup(self, request, pk=None):
        """The combined live roll-up of the member towns you may see for a month and programme, with each town's
        figures in `children` (the figures of /api/rollups/)."""
        cluster = self.get_object()
        period, programme = _period_programme(request)
        return Response(services.rollup(request.user, cluster, period, programme))

    @extend_schema(request=JointIndicatorSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def indicator(self, request, pk=None):
        """GET: the cluster's joint indicators, newest year first. POST: record a joint indicator's assessment for a
        year: indicator (transport, resources, culture, industry, economy), year, status (not_started, in_progress,
        achieved), text."""
        cluster = self.get_object()
        if request.method == "GET":
            return Response([{"indicator": i.indicator, "year": i.year, "status": i.status, "text": i.text}
                             for i in cluster.indicators.all()])
        data = JointIndicatorSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = _service(services.set_indicator, request.user, cluster, **data.validated_data)
        return Response({"indicator": row.indicator, "year": row.year, "status": row.status, "text": row.text})


class RollupView(projects_api.RollupView):
    """Live figures for an org unit, month and programme, with the same figures per child unit; or, with
    `?cluster=<id>` in place of `org`, the combined figures of a cluster's member towns, per town."""

    @extend_schema(parameters=[
        OpenApiParameter("org", OpenApiTypes.STR, description="division code (required without cluster)"),
        OpenApiParameter("cluster", OpenApiTypes.INT, description="a cluster's id, in place of org"),
        OpenApiParameter("period", OpenApiTypes.STR, required=True, description="YYYYMM"),
        OpenApiParameter("programme", OpenApiTypes.STR, required=True, description="programme code"),
        OpenApiParameter("category", OpenApiTypes.STR), OpenApiParameter("role", OpenApiTypes.STR),
        OpenApiParameter("batch", OpenApiTypes.STR),
    ], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        value = request.query_params.get("cluster")
        if not value:
            return super().get(request)
        if not value.isdigit():
            raise ValidationError({"cluster": _("Give a cluster's id.")})
        cluster = get_object_or_404(Cluster.objects.restrict(request.user, "view"), pk=int(value))
        period, programme = _period_programme(request)
        return Response(services.rollup(request.user, cluster, period, programme, **_dims(request, programme)))


def _dims(request, programme) -> dict:
    from townbrain.programmes.models import Batch, Category, ProgrammeRole

    q, dims = request.query_params, {}
    for name, model in (("category", Category), ("role", ProgrammeRole), ("batch", Batch)):
        if q.get(name):
            obj = model.objects.filter(programme=programme, code=q[name]).first()
            if obj is None:
                raise ValidationError({name: _("Programme %(programme)s has no %(dim)s “%(code)s”.")
                                       % {"programme": programme.code, "dim": name, "code": q[name]}})
            dims[name] = obj
    return dims
