"""API: facilities and coverage, sensors (token shown once) and their readings, alarm rules, alarms
(ack / clear / counts), and the device door `POST /api/ingest/`. Reads through restrict(), writes
through services."""

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated, Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from townbrain.core import geo, ratelimit
from townbrain.core.api import RestrictedModelViewSet, RestrictedReadOnlyViewSet, ScopedSlugRelatedField
from townbrain.core.models import OrgUnit

from . import alarms, charts, facilities, ingest, services
from .filters import AlarmFilterSet, AlarmRuleFilterSet, FacilityFilterSet, SensorFilterSet
from .models import Alarm, AlarmRule, Facility, Sensor, SensorKind

MAX_READINGS = 100000


def alarms_may_change(user, code: str) -> bool:
    from townbrain.core.scope import allows

    return allows(user, "change", code)


class FacilitySerializer(serializers.ModelSerializer):
    town = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all())
    town_name = serializers.CharField(source="town.name", read_only=True)
    kind_name = serializers.SerializerMethodField()
    crs = serializers.CharField(write_only=True, required=False, default=geo.WGS84)

    class Meta:
        model = Facility
        fields = ["code", "name", "town", "town_name", "kind", "kind_name", "status", "capacity", "capacity_unit",
                  "lat", "lng", "crs", "started_on", "notes"]

    def get_kind_name(self, obj) -> str:
        return facilities.kind_name(obj.kind)


class FacilityViewSet(RestrictedModelViewSet):
    """Facilities (设施) of the towns: the 十个一 items and the treatment plants. `GET coverage/?org=&programme=&period=`."""

    queryset = Facility.objects.select_related("town")
    serializer_class = FacilitySerializer
    filterset_class = FacilityFilterSet
    lookup_field = "code"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        facility = services.create_facility(request.user, d.pop("town"), **d)
        return Response(self.get_serializer(facility).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        facility = self.get_object()
        s = self.get_serializer(facility, data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        d.pop("town", None)
        facility = services.update_facility(request.user, facility, **d)
        return Response(self.get_serializer(facility).data)

    @action(detail=False, methods=["get"])
    def coverage(self, request):
        code = request.query_params.get("org", "")
        org = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=code)
        period = request.query_params.get("period", "")
        try:
            data = facilities.coverage(request.user, org, request.query_params.get("programme", ""), period)
        except DjangoValidationError as exc:
            raise ValidationError({"period": exc.messages}) from None
        data["rates"] = {k: {**v, "value": str(v["value"])} for k, v in data["rates"].items()}
        return Response(data)


class SensorSerializer(serializers.ModelSerializer):
    town = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all())
    facility = ScopedSlugRelatedField(slug_field="code", queryset=Facility.objects.all(), required=False,
                                      allow_null=True)
    kind = serializers.ChoiceField(choices=SensorKind.choices)
    unit = serializers.CharField(required=False, allow_blank=True, default="")
    crs = serializers.CharField(write_only=True, required=False, default=geo.WGS84)

    class Meta:
        model = Sensor
        fields = ["code", "name", "town", "facility", "kind", "unit", "lat", "lng", "crs", "inactive_after_s",
                  "last_ts", "last_value", "last_seen", "readings_stored", "bad_payloads", "last_bad_payload",
                  "last_bad_at"]
        read_only_fields = ["last_ts", "last_value", "last_seen", "readings_stored", "bad_payloads",
                            "last_bad_payload", "last_bad_at"]


class SensorViewSet(mixins.CreateModelMixin, RestrictedReadOnlyViewSet):
    """Sensors. Creating one answers with its device `token`, shown this once (only a hash is kept)."""

    queryset = Sensor.objects.select_related("town", "facility")
    serializer_class = SensorSerializer
    filterset_class = SensorFilterSet
    lookup_field = "code"

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        sensor, token = services.create_sensor(request.user, d.pop("town"), **d)
        return Response({**self.get_serializer(sensor).data, "token": token}, status=status.HTTP_201_CREATED)

    def _span(self, request):
        now = timezone.now()
        try:
            end = charts.parse_time(request.query_params.get("to"), now)
            span = charts.SPANS.get(request.query_params.get("span", ""), charts.SPANS["day"])
            start = charts.parse_time(request.query_params.get("from"), end - span)
        except ValueError as exc:
            raise ValidationError({"from": [str(exc)]}) from None
        if start >= end:
            raise ValidationError({"from": [_("“from” must be before “to”.")]})
        return start, end

    @action(detail=True, methods=["get"])
    def readings(self, request, code=None):
        """Raw readings in [from, to) (default: the last day), oldest first: {count, results: [{ts, value}]}."""
        sensor = self.get_object()
        start, end = self._span(request)
        rows = charts.raw(sensor, start, end).values_list("ts", "value")[:MAX_READINGS]
        results = [{"ts": ts.isoformat(), "value": v} for ts, v in rows]
        return Response({"count": len(results), "results": results})

    @action(detail=True, methods=["get"])
    def chart(self, request, code=None):
        """The series for a chart from raw readings, hourly or daily aggregates by the span (`?from&to` or `?span=`)."""
        sensor = self.get_object()
        start, end = self._span(request)
        return Response(charts.series(sensor, start, end, request.query_params.get("grain", "")))

    @action(detail=True, methods=["get", "post"])
    def token(self, request, code=None):
        """POST: issue a new device token (the old one stops working), shown this once. GET: who may."""
        sensor = self.get_object()
        if request.method == "GET":
            return Response({"code": sensor.code, "may_issue": alarms_may_change(request.user, sensor.town_id)})
        return Response({"code": sensor.code, "token": services.new_token(request.user, sensor)})


class AlarmRuleSerializer(serializers.ModelSerializer):
    org = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(), required=False)
    sensor = ScopedSlugRelatedField(slug_field="code", queryset=Sensor.objects.all(), required=False,
                                    allow_null=True)
    kind = serializers.ChoiceField(choices=SensorKind.choices, required=False, allow_blank=True)
    clear_value = serializers.FloatField(required=False, allow_null=True)

    class Meta:
        model = AlarmRule
        fields = ["id", "org", "sensor", "kind", "name", "op", "value", "clear_value", "duration_s", "repeat",
                  "severity", "critical_value", "active"]


class AlarmRuleViewSet(RestrictedModelViewSet):
    """Alarm rules: for a `sensor` (code) or a `kind` of sensor in an `org`'s area (default: the caller's unit)."""

    queryset = AlarmRule.objects.select_related("org", "sensor")
    serializer_class = AlarmRuleSerializer
    filterset_class = AlarmRuleFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request, *args, **kwargs):
        s = self.get_serializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        sensor = d.pop("sensor", None)
        org = d.pop("org", None)
        if sensor is None and org is None:
            from townbrain.access.scoping import home_code

            org = home_code(request.user)
        d.pop("active", None)
        rule = services.create_alarm_rule(request.user, org=org, sensor=sensor, **d)
        return Response(self.get_serializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        rule = self.get_object()
        s = self.get_serializer(rule, data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        d = {k: v for k, v in s.validated_data.items() if k not in ("org", "sensor", "kind")}
        rule = services.update_alarm_rule(request.user, rule, **d)
        return Response(self.get_serializer(rule).data)

    def perform_destroy(self, instance):
        services.delete_alarm_rule(self.request.user, instance)


class AlarmSerializer(serializers.ModelSerializer):
    sensor = serializers.SlugRelatedField(slug_field="code", read_only=True)
    town = serializers.SlugRelatedField(slug_field="code", read_only=True)
    rule = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Alarm
        fields = ["id", "sensor", "town", "rule", "type", "severity", "status", "start", "end", "peak",
                  "cleared_at", "cleared_by", "acked_at", "acked_by", "escalated_at", "event_id"]
        read_only_fields = fields

    def get_rule(self, obj) -> dict | None:
        if obj.rule_id is None:
            return None
        r = obj.rule
        return {"id": r.pk, "name": str(r), "op": r.op, "value": r.value, "clear_value": r.clear_value}


class AlarmViewSet(RestrictedReadOnlyViewSet):
    """Alarms (`?org=&status=active|cleared|active_unack|active_ack|cleared_unack|cleared_ack&severity=`);
    `POST <id>/ack/`, `POST <id>/clear/`, `GET counts/?org=` (active alarms by severity under the unit)."""

    # rule__sensor: the rule's name (AlarmRule.__str__) is its sensor's code; read with the page, not per row.
    queryset = Alarm.objects.select_related("sensor", "town", "rule", "rule__sensor")
    serializer_class = AlarmSerializer
    filterset_class = AlarmFilterSet

    @action(detail=True, methods=["get", "post"])
    def ack(self, request, pk=None):
        """POST acknowledges the alarm (GET shows it)."""
        alarm = self.get_object()
        if request.method == "POST":
            alarm = alarms.acknowledge(request.user, alarm)
        return Response(self.get_serializer(alarm).data)

    @action(detail=True, methods=["get", "post"])
    def clear(self, request, pk=None):
        """POST clears the alarm (GET shows it)."""
        alarm = self.get_object()
        if request.method == "POST":
            alarm = alarms.clear(request.user, alarm)
        return Response(self.get_serializer(alarm).data)

    @action(detail=False, methods=["get"])
    def counts(self, request):
        code = request.query_params.get("org", "")
        org = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=code)
        return Response({"org": org.code, **alarms.counts(request.user, org.code)})


class IngestView(APIView):
    """The device door: `Authorization: Device <token>`, body `{"sensor": code, "readings": [{ts, value}]}`.

    Answers `{"stored", "duplicates", "rejected": [{"index", "message"}]}`; a bad item is rejected by
    its index, the good ones are stored. 401 without a valid token, 403 for another sensor's code.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    error_statuses = (401, 403)  # its own device token (declared in the schema by core/openapi.py)
    rate_limited = True  # per device token (core/ratelimit.py): 429 with Retry-After

    def get_authenticate_header(self, request):
        return "Device"

    def initial(self, request, *args, **kwargs):
        # The device token first, whatever the method: without it nothing here answers but 401.
        super().initial(request, *args, **kwargs)
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        if request.method == "POST":
            wait = ratelimit.check("ingest", token.strip())
            if wait is not None:
                raise Throttled(wait=wait, detail=ratelimit.message())
        self.sensor = services.sensor_for_token(token.strip()) if scheme.lower() == "device" else None
        if self.sensor is None:
            raise NotAuthenticated(_("Give the device token: Authorization: Device <token>."))

    @extend_schema(
        auth=[], operation_id="ingest_create",
        request=inline_serializer("IngestBatch", {
            "sensor": serializers.CharField(help_text="the sensor's code (the token's own sensor)"),
            "readings": inline_serializer("IngestReading", {
                "ts": serializers.DateTimeField(help_text="ISO 8601 with offset"),
                "value": serializers.FloatField()}, many=True)}),
        responses={200: inline_serializer("IngestResult", {
            "stored": serializers.IntegerField(), "duplicates": serializers.IntegerField(),
            "rejected": inline_serializer("IngestRejected", {
                "index": serializers.IntegerField(), "message": serializers.CharField()}, many=True)})})
    def post(self, request):
        sensor = self.sensor
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return Response({"detail": _("The body is not JSON.")}, status=status.HTTP_400_BAD_REQUEST)
        if not isinstance(body, dict):
            return Response({"detail": _("The body is an object with “sensor” and “readings”.")},
                            status=status.HTTP_400_BAD_REQUEST)
        code = body.get("sensor", sensor.code)
        if code != sensor.code:
            return Response({"detail": _("This token belongs to another sensor.")}, status=status.HTTP_403_FORBIDDEN)
        result = ingest.ingest(sensor, body.get("readings"))
        return Response(result.as_dict())
