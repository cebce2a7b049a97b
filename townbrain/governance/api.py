"""API: events (事件) scoped by town, their workflow steps, statistics; the categories (reference data)."""

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from townbrain.core import codes, geo
from townbrain.core.api import RestrictedReadOnlyViewSet, ScopedSlugRelatedField
from townbrain.core.models import OrgUnit
from townbrain.core.parsers import FormParser, MultiPartParser
from townbrain.core.scope import allows

from . import services, stats
from .filters import EventFilterSet
from .models import Event, EventCategory, Platform, Source, Verdict

STEP_PATTERN = "|".join(services.STEP_NAMES)


@extend_schema_serializer(component_name="EventCategory")
class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = EventCategory
        fields = ["code", "name", "platform", "parent", "deadline_days", "deadline_hours"]
        read_only_fields = fields


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Event categories (大类 / 小类) of the four platforms; a 小类 carries the deadline in working days or hours.

    Reference data, the same for everyone signed in. `?platform=` filters; `?leaf=1` only the 小类.
    """

    queryset = EventCategory.objects.select_related("parent")
    serializer_class = CategorySerializer
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self):
        qs = super().get_queryset()
        platform = self.request.query_params.get("platform")
        if platform:
            qs = qs.filter(platform=platform)
        if self.request.query_params.get("leaf") in ("1", "true"):
            qs = qs.filter(parent__isnull=False)
        return qs


@extend_schema_serializer(component_name="EventStep")
class StepSerializer(serializers.Serializer):
    step = serializers.CharField()
    actor = serializers.CharField(source="actor_name")
    time = serializers.DateTimeField()
    comment = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    detail = serializers.JSONField()


class EventSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    town_name = serializers.CharField(source="town.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    reporter_phone = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    extension_pending = serializers.BooleanField(read_only=True)
    handler = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Event
        fields = ["id", "town", "town_name", "village", "grid", "platform", "category", "category_name",
                  "description", "address", "lat", "lng", "source", "reporter_name", "reporter_phone", "media_url",
                  "status", "status_label", "reported_at", "accepted_at", "dispatched_at", "deadline", "overdue",
                  "closed_at", "closed_on_time", "office", "department", "handler", "verdict", "reopened",
                  "extended", "extension_pending", "extension_requested_at", "extension_days", "extension_hours",
                  "updated"]
        read_only_fields = fields

    def get_reporter_phone(self, obj) -> str:
        request = self.context.get("request")
        return services.shown_phone(getattr(request, "user", None), obj)

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue()


@extend_schema_serializer(component_name="EventPhoto")
class PhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_by = serializers.CharField(source="uploaded_by_name")
    uploaded_at = serializers.DateTimeField()

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        url = obj.get_absolute_url()
        return request.build_absolute_uri(url) if request else url


class PhotoUploadSerializer(serializers.Serializer):
    photo = serializers.FileField(help_text=gettext_lazy("A JPEG, PNG, WebP or GIF image."))


class EventDetailSerializer(EventSerializer):
    steps = StepSerializer(many=True, read_only=True)
    photos = PhotoSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField()

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "actions", "photos", "steps"]
        read_only_fields = fields

    def get_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        return services.available_steps(getattr(request, "user", None), obj)


class EventCreateSerializer(serializers.Serializer):
    town = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(),
                                  help_text=gettext_lazy("The town's division code."))
    platform = serializers.ChoiceField(choices=Platform.choices)
    category = serializers.SlugRelatedField(slug_field="code", queryset=EventCategory.objects.all(),
                                            help_text=gettext_lazy("A sub-category (小类) code."))
    description = serializers.CharField()
    lat = serializers.DecimalField(max_digits=12, decimal_places=8, required=False, allow_null=True)
    lng = serializers.DecimalField(max_digits=12, decimal_places=8, required=False, allow_null=True)
    crs = serializers.ChoiceField(choices=list(geo.SYSTEMS), default=geo.WGS84)
    reporter_phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    reporter_name = serializers.CharField(required=False, allow_blank=True, max_length=60)
    address = serializers.CharField(required=False, allow_blank=True, max_length=200)
    village = serializers.CharField(required=False, allow_blank=True)
    grid = serializers.CharField(required=False, allow_blank=True, max_length=60)
    source = serializers.ChoiceField(choices=Source.choices, default=Source.GRID)
    media_url = serializers.URLField(required=False, allow_blank=True, max_length=300)


class StepWriteSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True)
    to = serializers.CharField(required=False, allow_blank=True, help_text=gettext_lazy(
        "dispatch: a user name, an office's division code or a department's name; empty: the town's office."))
    verdict = serializers.ChoiceField(choices=Verdict.choices, required=False, allow_blank=True)
    days = serializers.IntegerField(required=False, min_value=1, max_value=365)
    hours = serializers.IntegerField(required=False, min_value=1, max_value=24 * 30)


STATS_FIELDS = stats.FIELDS


class EventViewSet(mixins.CreateModelMixin, RestrictedReadOnlyViewSet):
    """Events (事件) of the towns in your area, newest first.

    POST reports one (`town`, `platform`, `category`, `description`, optional `lat`/`lng` with `crs`
    wgs84/gcj02/bd09, `reporter_phone` …). `…/<id>/<step>/` POST takes a workflow step: accept, reject,
    dispatch (`to`), handle, feedback, verify, close, review (`verdict`), return, extend (`days`/`hours`;
    asked by the handling office it waits for the office above, which takes approve or deny), each with a
    `comment`. `stats/?org=&period=` gives the bulletin figures. The reporter's phone is
    masked except for the handling office.
    """

    queryset = Event.objects.select_related("category", "town", "handler")
    serializer_class = EventSerializer
    filterset_class = EventFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action not in ("list", "stats"):
            qs = qs.prefetch_related("steps", "photos")
        return qs

    def get_serializer_class(self):
        return {"create": EventCreateSerializer, "list": EventSerializer, "step": StepWriteSerializer,
                "photos": PhotoUploadSerializer}.get(self.action, EventDetailSerializer)

    def _detail(self, event, code=status.HTTP_200_OK):
        event = self.get_queryset().get(pk=event.pk)
        return Response(EventDetailSerializer(event, context=self.get_serializer_context()).data, status=code)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(request=EventCreateSerializer, responses={201: EventDetailSerializer})
    def create(self, request, *args, **kwargs):
        form = EventCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        d = dict(form.validated_data)
        town, category = d.pop("town"), d.pop("category")
        village_code = d.pop("village", "")
        village = None
        if village_code:
            try:
                village = OrgUnit.objects.filter(code=codes.normalize(village_code)).first()
            except codes.InvalidCode as exc:
                raise ValidationError({"village": [str(exc)]}) from None
            if village is None:
                raise ValidationError({"village": [_("No such village.")]})
        event = services.report_event(request.user, town, category, d.pop("description"), village=village, **d)
        return self._detail(event, status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], operation_id="events_step_retrieve", responses={200: EventDetailSerializer})
    @extend_schema(methods=["POST"], operation_id="events_step_create", request=StepWriteSerializer,
                   responses={200: EventDetailSerializer})
    @action(detail=True, methods=["get", "post"], url_path=f"(?P<step>{STEP_PATTERN})", url_name="step")
    def step(self, request, pk=None, step=None):
        """POST: take the workflow step named in the URL, with a `comment` (see the list's description); GET shows the event."""
        event = self.get_object()
        if request.method == "GET":
            return self._detail(event)
        form = StepWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        event = services.take_step(request.user, event, step, **form.validated_data)
        return self._detail(event)

    @extend_schema(methods=["GET"], operation_id="events_photos_retrieve", responses={200: EventDetailSerializer})
    @extend_schema(methods=["POST"], operation_id="events_photos_create",
                   request={"multipart/form-data": PhotoUploadSerializer}, responses={201: EventDetailSerializer})
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, pk=None):
        """POST: add a photo (multipart `photo`: JPEG, PNG, WebP or GIF, size-limited; needs "add" on the town).

        GET shows the event with its `photos`.
        """
        event = self.get_object()
        if request.method == "GET":
            return self._detail(event)
        form = PhotoUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.add_photo(request.user, event, form.validated_data["photo"])
        return self._detail(event, status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("org", OpenApiTypes.STR, required=True),
                               OpenApiParameter("period", OpenApiTypes.STR, required=True,
                                                description="YYYY or YYYYMM"),
                               OpenApiParameter("platform", OpenApiTypes.STR),
                               OpenApiParameter("category", OpenApiTypes.STR,
                                                description="a 大类 or 小类 code"),
                               OpenApiParameter("children", OpenApiTypes.BOOL,
                                                description="add the figures of each unit below")],
                   responses={200: inline_serializer("EventStats", {f: serializers.FloatField(allow_null=True)
                                                                    for f in STATS_FIELDS})})
    @action(detail=False, methods=["get"])
    def stats(self, request):
        """The bulletin figures of an org unit for a year or a month (按期办结率, 满意率 …); 404 outside your area.

        `platform` and `category` narrow them; `children=1` adds `children`, the same figures per unit below.
        """
        params = request.query_params
        try:
            org = codes.normalize(params.get("org", ""))
        except codes.InvalidCode as exc:
            raise ValidationError({"org": [str(exc)]}) from None
        unit = OrgUnit.objects.filter(code=org).first()
        if unit is None or not allows(request.user, "view", org):
            raise Http404
        children = []
        if params.get("children") in ("1", "true"):
            children = list(OrgUnit.objects.filter(parent=unit).order_by("code").values_list("code", "name"))
        platform = params.get("platform", "")
        if platform and platform not in Platform.values:
            raise ValidationError({"platform": [_("One of zongzhi, shichang, zhifa, bianmin.")]})
        try:
            figures, parts = stats.area(request.user, org, params.get("period", ""), platform,
                                        params.get("category", ""), [code for code, _name in children])
        except ValueError:
            raise ValidationError({"period": [_("A year (YYYY) or a month (YYYYMM).")]}) from None
        answer = {"org": org, "name": unit.name, "period": params["period"], **{f: figures[f] for f in STATS_FIELDS}}
        if params.get("children") in ("1", "true"):
            answer["children"] = [{"org": code, "name": name, **{k: parts[code][k] for k in STATS_FIELDS}}
                                  for code, name in children]
        return Response(answer)
