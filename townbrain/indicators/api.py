from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from townbrain.core import codes, periods
from townbrain.core.api import RestrictedReadOnlyViewSet, ScopedSlugRelatedField
from townbrain.core.models import OrgUnit

from . import evaluation, services
from .expressions import FormulaError
from .filters import DataValueFilterSet
from .models import DataElement, DataValue, Indicator, ValidationRule


class DataElementSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataElement
        fields = ["code", "name", "value_type", "unit", "aggregation", "description"]


class IndicatorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Indicator
        fields = ["code", "name", "formula", "unit", "decimals", "description"]


class ValidationRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ValidationRule
        fields = ["code", "name", "left", "operator", "right", "importance", "missing", "message"]


class _ReferenceViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Reference data: every signed-in user reads it; system administrators create and edit it."""

    lookup_field = "code"
    http_method_names = ["get", "post", "patch", "head", "options"]
    save = None

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        serializer.instance = type(self).save(self.request.user, d.pop("code"), **d)

    def perform_update(self, serializer):
        d = dict(serializer.validated_data)
        d.pop("code", None)
        serializer.instance = type(self).save(self.request.user, serializer.instance.code, **d)


class DataElementViewSet(_ReferenceViewSet):
    queryset = DataElement.objects.all()
    serializer_class = DataElementSerializer
    save = staticmethod(services.save_element)


class ValidationRuleViewSet(_ReferenceViewSet):
    queryset = ValidationRule.objects.all()
    serializer_class = ValidationRuleSerializer
    save = staticmethod(services.save_rule)


def _org_and_period(request):
    q = request.query_params
    errors = {n: _("This parameter is required.") for n in ("org", "period") if not q.get(n)}
    if errors:
        raise ValidationError(errors)
    try:
        code = codes.normalize(q["org"])
        period = periods.canonical(q["period"])
    except codes.InvalidCode as exc:
        raise ValidationError({"org": str(exc)}) from exc
    except periods.InvalidPeriod as exc:
        raise ValidationError({"period": str(exc)}) from exc
    org = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=code)
    return org, period


ORG_PERIOD = [OpenApiParameter("org", OpenApiTypes.STR, required=True, description="division code"),
              OpenApiParameter("period", OpenApiTypes.STR, required=True, description="2024, 2024S1, 2024Q3, 202409")]


class IndicatorViewSet(_ReferenceViewSet):
    queryset = Indicator.objects.all()
    serializer_class = IndicatorSerializer
    save = staticmethod(services.save_indicator)

    @extend_schema(parameters=ORG_PERIOD, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def value(self, request, code=None):
        """The indicator for an org unit and period (values aggregated over the tree and time)."""
        indicator = self.get_object()
        org, period = _org_and_period(request)
        try:
            value = evaluation.indicator_value(indicator, org.code, period)
        except FormulaError as exc:
            raise ValidationError({"formula": str(exc)}) from exc
        return Response({"indicator": indicator.code, "org": org.code, "period": period, "value": value,
                         "unit": indicator.unit})


class DataValueSerializer(serializers.ModelSerializer):
    element = serializers.SlugRelatedField(slug_field="code", queryset=DataElement.objects.all())
    org_unit = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all())
    value = serializers.JSONField(help_text=_("number, true/false, or text (by the element's value type)"))

    class Meta:
        model = DataValue
        fields = ["id", "element", "org_unit", "period", "value", "comment", "updated"]
        read_only_fields = ["id", "updated"]
        validators = []

    def to_representation(self, obj):
        data = super().to_representation(obj)
        value = obj.value
        data["value"] = float(value) if value is not None and not isinstance(value, bool | str) else value
        return data


class DataValueViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, RestrictedReadOnlyViewSet):
    """Values keyed by (element, org unit, period). POST stores or replaces one and answers with the
    validation rules it now violates (`violations`)."""

    queryset = DataValue.objects.select_related("element", "org_unit")  # both render by code: no read per row
    serializer_class = DataValueSerializer
    filterset_class = DataValueFilterSet

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
        value = services.set_value(request.user, d["element"], d["org_unit"], d["period"], d["value"],
                                   d.get("comment", ""))
        violations = evaluation.run_rules(value.org_unit_id, value.period,
                                          evaluation.rules_for_element(value.element.code), below=False)
        return Response({**self.get_serializer(value).data, "violations": violations}, status=201)

    def perform_destroy(self, instance):
        services.delete_value(self.request.user, instance)


class ValidationView(APIView):
    """Run every validation rule for an org unit (and the units below it with values) and a period."""

    @extend_schema(parameters=ORG_PERIOD, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        org, period = _org_and_period(request)
        violations = evaluation.run_rules(org.code, period)
        return Response({"org": org.code, "period": period, "count": len(violations), "results": violations})
