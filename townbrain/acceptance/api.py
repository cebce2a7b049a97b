"""API: acceptances (省级验收) scoped by town, their checklist, evidence and approval chain."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from townbrain.assessments.models import Scheme
from townbrain.core.api import CONFLICT_RESPONSE as CONFLICT
from townbrain.core.api import (
    IF_MATCH,
    ConditionalViewSetMixin,
    RestrictedReadOnlyViewSet,
    ScopedSlugRelatedField,
)
from townbrain.core.models import OrgUnit
from townbrain.core.parsers import FormParser, JSONParser, MultiPartParser
from townbrain.programmes.models import Programme

from . import evidence as evidence_files
from . import services
from .filters import AcceptanceFilterSet
from .models import Acceptance, ChecklistItem, Evidence, Step


class EvidenceSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id", read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "item", "original_name", "content_type", "size", "sha256", "uploaded_by_name", "uploaded_at",
                  "url"]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        from django.urls import reverse

        return reverse("api:acceptance-evidence-file", args=[obj.acceptance_id, obj.pk])


class ItemSerializer(serializers.ModelSerializer):
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistItem
        fields = ["id", "group", "code", "label", "order", "criterion_code", "unit", "value", "value_met", "answer",
                  "note", "verdict", "verdict_note", "verdict_stage", "verdict_by_name", "evidence"]
        read_only_fields = fields

    def get_evidence(self, obj) -> list[int]:
        return [e.pk for e in obj.evidence.all()]


class ItemWriteSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=ChecklistItem.Answer.choices, required=False,
                                     help_text=gettext_lazy("The town's self-assessment (at the town's stage)."))
    note = serializers.CharField(required=False, allow_blank=True)
    verdict = serializers.ChoiceField(choices=ChecklistItem.Verdict.choices, required=False,
                                      help_text=gettext_lazy("A reviewer's verdict (at a review stage)."))
    verdict_note = serializers.CharField(required=False, allow_blank=True)


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = Step
        fields = ["id", "action", "from_stage", "to_stage", "comment", "actor_name", "at"]
        read_only_fields = fields


class AcceptanceSerializer(serializers.ModelSerializer):
    programme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    scheme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    town_name = serializers.CharField(source="town.name", read_only=True)
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)

    class Meta:
        model = Acceptance
        fields = ["id", "programme", "town", "town_name", "year", "scheme", "scheme_version", "stage", "stage_label",
                  "outcome", "frozen", "frozen_at", "values_read_at", "created", "updated"]
        read_only_fields = fields


class AcceptanceDetailSerializer(AcceptanceSerializer):
    items = ItemSerializer(many=True, read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    steps = StepSerializer(many=True, read_only=True)
    outcomes = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(AcceptanceSerializer.Meta):
        fields = [*AcceptanceSerializer.Meta.fields, "outcomes", "actions", "items", "evidence", "steps"]
        read_only_fields = fields

    def get_outcomes(self, obj) -> list[str]:
        return obj.grade_names

    def get_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        return services.available_actions(getattr(request, "user", None), obj)


class AcceptanceCreateSerializer(serializers.Serializer):
    programme = serializers.SlugRelatedField(slug_field="code", queryset=Programme.objects.all())
    year = serializers.IntegerField(min_value=1990, max_value=2100)
    town = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(), required=False,
                                  help_text=gettext_lazy("One town's code; or give `area`."))
    area = serializers.CharField(required=False, help_text=gettext_lazy(
        "A province, city or county code: open the acceptances of every enrolled town there."))
    scheme = serializers.SlugRelatedField(slug_field="code", queryset=Scheme.objects.all(), required=False,
                                          help_text=gettext_lazy("Default: the programme's official scheme."))


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True)


class ReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(help_text=gettext_lazy("What must be corrected (required)."))


class SignOffSerializer(CommentSerializer):
    outcome = serializers.CharField(help_text=gettext_lazy("A grade of the scheme, e.g. 样板 / 基本达标 / 不达标."))


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=gettext_lazy("An image (JPEG, PNG, WebP, GIF) or a PDF."))
    item = serializers.IntegerField(required=False, allow_null=True, help_text=gettext_lazy("Checklist item id."))


class AcceptanceViewSet(ConditionalViewSetMixin, mixins.CreateModelMixin, RestrictedReadOnlyViewSet):
    """Acceptances (省级验收): one per programme, town and year, scoped by the town.

    POST `{programme, year, town}` (or `area` for every enrolled town there) opens them and builds the
    checklist. `…/<id>/items/<item id>/` PATCH answers an item (the town) or gives a verdict (a reviewer);
    `…/<id>/evidence/` POST uploads a file (multipart `file`, `item`); `…/<id>/evidence/<id>/` GET downloads
    it, DELETE removes it. The chain: `…/submit/` (town), `…/approve/` (county, city), `…/return/` (any
    reviewer, `comment` required), `…/sign-off/` (province, `outcome`). GET on an action shows the
    acceptance. A signed-off acceptance is frozen: every change answers 400. GET answers an `ETag` (the
    acceptance's version, raised by every change of it, its items and evidence); a change sent with
    `If-Match` naming an older version answers 412 with what changed meanwhile, nothing saved.
    """

    queryset = Acceptance.objects.select_related("programme", "scheme", "town")
    serializer_class = AcceptanceSerializer
    filterset_class = AcceptanceFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action != "list":
            qs = qs.prefetch_related("items__evidence", "evidence", "steps")
        return qs

    def get_serializer_class(self):
        return {"create": AcceptanceCreateSerializer, "list": AcceptanceSerializer,
                "submit": CommentSerializer, "approve": CommentSerializer, "return_": ReturnSerializer,
                "sign_off": SignOffSerializer, "evidence": EvidenceUploadSerializer,
                "item": ItemWriteSerializer}.get(self.action, AcceptanceDetailSerializer)

    def _detail(self, acceptance, code=status.HTTP_200_OK):
        acceptance = self.get_queryset().get(pk=acceptance.pk)
        return self.with_etag(Response(AcceptanceDetailSerializer(acceptance, context=self.get_serializer_context())
                                       .data, status=code), acceptance)

    def raise_conflict(self, obj, expected):
        services.expect_version(obj, expected)

    def _expected(self, acceptance):
        """The version If-Match names (None without one); 412 when the acceptance has left it."""
        return self.check_if_match(acceptance)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(request=AcceptanceCreateSerializer, responses={201: AcceptanceDetailSerializer})
    def create(self, request, *args, **kwargs):
        form = AcceptanceCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        d = form.validated_data
        if d.get("town") is not None:
            acceptance = services.open_acceptance(request.user, d["programme"], d["town"], d["year"], d.get("scheme"))
            return self._detail(acceptance, status.HTTP_201_CREATED)
        if d.get("area"):
            result = services.open_acceptances(request.user, d["programme"], d["year"], d["area"], d.get("scheme"))
            return Response({"opened": AcceptanceSerializer(result["opened"], many=True).data,
                             "existing": result["existing"]}, status=status.HTTP_201_CREATED)
        raise ValidationError({"town": [_("Give a town, or an area.")]})

    def _step(self, request, fn, **extra):
        acceptance = self.get_object()
        if request.method == "POST":
            expected = self._expected(acceptance)
            form = self.get_serializer(data=request.data)
            form.is_valid(raise_exception=True)
            acceptance = fn(request.user, acceptance, **form.validated_data, **extra, expected_version=expected)
        return self._detail(acceptance)

    @extend_schema(request=CommentSerializer, parameters=[IF_MATCH],
                   responses={200: AcceptanceDetailSerializer, 412: CONFLICT})
    @action(detail=True, methods=["get", "post"])
    def submit(self, request, pk=None):
        """POST: the town submits its self-assessment to the county (every item answered)."""
        return self._step(request, services.submit)

    @extend_schema(request=CommentSerializer, parameters=[IF_MATCH],
                   responses={200: AcceptanceDetailSerializer, 412: CONFLICT})
    @action(detail=True, methods=["get", "post"])
    def approve(self, request, pk=None):
        """POST: the county passes it to the city, the city to the province."""
        return self._step(request, services.approve)

    @extend_schema(request=ReturnSerializer, parameters=[IF_MATCH],
                   responses={200: AcceptanceDetailSerializer, 412: CONFLICT})
    @action(detail=True, methods=["get", "post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        """POST: any reviewer sends it back to the town for correction (退回整改); `comment` is required."""
        return self._step(request, services.return_for_correction)

    @extend_schema(request=SignOffSerializer, parameters=[IF_MATCH],
                   responses={200: AcceptanceDetailSerializer, 412: CONFLICT})
    @action(detail=True, methods=["get", "post"], url_path="sign-off", url_name="sign-off")
    def sign_off(self, request, pk=None):
        """POST: the province signs it off with an outcome (a grade of the scheme); it is frozen from then on."""
        return self._step(request, services.sign_off)

    @extend_schema(request=None, parameters=[IF_MATCH], responses={200: AcceptanceDetailSerializer, 412: CONFLICT})
    @action(detail=True, methods=["get", "post"])
    def refresh(self, request, pk=None):
        """POST: read the binding criteria's values from the indicators again."""
        acceptance = self.get_object()
        if request.method == "POST":
            acceptance = services.refresh_values(request.user, acceptance, expected_version=self._expected(acceptance))
        return self._detail(acceptance)

    @extend_schema(methods=["GET"], responses={200: ItemSerializer})
    @extend_schema(methods=["PATCH"], request=ItemWriteSerializer, parameters=[IF_MATCH],
                   responses={200: ItemSerializer, 412: CONFLICT})
    @action(detail=True, methods=["get", "patch"], url_path=r"items/(?P<item_pk>\d+)", url_name="item")
    def item(self, request, pk=None, item_pk=None):
        """GET one checklist item; PATCH `{answer, note}` (the town) or `{verdict, verdict_note}` (a reviewer)."""
        acceptance = self.get_object()
        item = get_object_or_404(acceptance.items.all(), pk=item_pk)
        if request.method == "PATCH":
            expected = self._expected(acceptance)
            form = ItemWriteSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            d = form.validated_data
            if "verdict" in d:
                item = services.review_item(request.user, item, d["verdict"], d.get("verdict_note", ""),
                                            expected_version=expected)
            elif "answer" in d:
                item = services.self_assess_item(request.user, item, d["answer"], d.get("note", item.note),
                                                 expected_version=expected)
            else:
                raise ValidationError({"answer": [_("Give an answer (the town) or a verdict (a reviewer).")]})
        return self.with_etag(Response(ItemSerializer(item).data), Acceptance.objects.get(pk=acceptance.pk))

    @extend_schema(methods=["GET"], responses={200: EvidenceSerializer(many=True)})
    @extend_schema(methods=["POST"], request={"multipart/form-data": EvidenceUploadSerializer},
                   responses={201: EvidenceSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)  # the whole list, unpaginated
    def evidence(self, request, pk=None):
        """GET the evidence list; POST (multipart) `file` and optionally `item`: images or PDF, size-limited."""
        acceptance = self.get_object()
        if request.method == "GET":
            return Response(EvidenceSerializer(acceptance.evidence.all(), many=True).data)
        item_id = request.data.get("item") or None
        item = None
        if item_id is not None:
            try:
                item = acceptance.items.filter(pk=int(item_id)).first()
            except (TypeError, ValueError):
                item = None
            if item is None:
                raise ValidationError({"item": [_("No such checklist item in this acceptance.")]})
        evidence = services.add_evidence(request.user, acceptance, request.FILES.get("file"), item,
                                         expected_version=self._expected(acceptance))
        return self.with_etag(Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED),
                              Acceptance.objects.get(pk=acceptance.pk))

    @extend_schema(methods=["GET"], parameters=[OpenApiParameter("download", OpenApiTypes.BOOL)],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @extend_schema(methods=["DELETE"], responses={204: None})
    @action(detail=True, methods=["get", "delete"], url_path=r"evidence/(?P<evidence_pk>\d+)",
            url_name="evidence-file")
    def evidence_file(self, request, pk=None, evidence_pk=None):
        """GET the file (inline; `?download=1` as an attachment); DELETE removes it (at a stage you act at)."""
        acceptance = self.get_object()
        evidence = get_object_or_404(acceptance.evidence.all(), pk=evidence_pk)
        if request.method == "DELETE":
            services.remove_evidence(request.user, evidence, expected_version=self._expected(acceptance))
            return Response(status=status.HTTP_204_NO_CONTENT)
        return evidence_files.serve(evidence, attachment=request.query_params.get("download") in ("1", "true"))

