from django.core.exceptions import ValidationError as ModelValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from townbrain.core import codes
from townbrain.core.api import RestrictedModelViewSet, RestrictedViewSetMixin, ScopedSlugRelatedField
from townbrain.core.models import OrgUnit

from . import services
from .filters import DealFilterSet, ReceiptFilterSet
from .models import Deal, FundsReceipt


class DealSerializer(serializers.ModelSerializer):
    town = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(),
                                  help_text=_("Division code of the town"))
    project = serializers.CharField(source="project.code", required=False, allow_blank=True, allow_null=True,
                                    help_text=_("Code of the town's ledger project the deal became"))
    funds_in_place = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0,
                                              help_text=_("Total funds in place (万元); a change is kept as a receipt"))
    funds_on = serializers.DateField(write_only=True, required=False,
                                     help_text=_("Date of the funds' change (default today)"))
    stage_on = serializers.DateField(write_only=True, required=False,
                                     help_text=_("Date a new stage was reached (default today)"))
    funds_rate = serializers.FloatField(read_only=True, allow_null=True, help_text=_("资金到位率 (%)"))

    class Meta:
        model = Deal
        fields = ["id", "signed_on", "town", "name", "investor", "industry", "signed_amount", "funds_in_place",
                  "funds_rate", "stage", "project", "event", "note", "funds_on", "stage_on", "updated"]
        read_only_fields = ["id", "updated"]
        validators = []  # the natural key is checked by the service, with a clear message

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["town_name"] = obj.town.name
        data["stages"] = {s.stage: s.date.isoformat() for s in obj.stages.all()}
        return data

    def service_fields(self, town=None) -> dict:
        d = dict(self.validated_data)
        project = d.pop("project", None)
        town = d.get("town") or town
        if project is not None:
            try:
                d["project"] = services.find_project(town, project.get("code") or "")
            except ModelValidationError as exc:
                raise ValidationError(exc.message_dict) from None
        return d


SUMMARY = inline_serializer("DealSummary", {
    "org": serializers.CharField(allow_null=True),
    "deals": serializers.IntegerField(help_text="个"),
    "signed_amount": serializers.FloatField(help_text="万元"),
    "funds_in_place": serializers.FloatField(help_text="万元"),
    "funds_rate": serializers.FloatField(allow_null=True, help_text="资金到位率, %"),
    "fulfilment_rate": serializers.FloatField(allow_null=True, help_text="履约率, %"),
    "started": serializers.IntegerField(),
    "producing": serializers.IntegerField(),
})

BREAKDOWN = inline_serializer("DealBreakdownRow", {
    "key": serializers.CharField(), "label": serializers.CharField(), "deals": serializers.IntegerField(),
    "signed_amount": serializers.FloatField(), "funds_in_place": serializers.FloatField(),
    "funds_rate": serializers.FloatField(allow_null=True), "fulfilment_rate": serializers.FloatField(allow_null=True),
    "started": serializers.IntegerField(), "producing": serializers.IntegerField(),
}, many=True)

TIMELINE = inline_serializer("DealFundsMonth", {
    "period": serializers.CharField(help_text="YYYYMM"), "received": serializers.FloatField(help_text="万元"),
    "in_place": serializers.FloatField(help_text="万元, running total"),
}, many=True)

FILTER_PARAMS = [
    OpenApiParameter("org", OpenApiTypes.STR, description="division code: the subtree to sum"),
    OpenApiParameter("year", OpenApiTypes.INT, description="year signed, e.g. 2020"),
    OpenApiParameter("date_from", OpenApiTypes.DATE), OpenApiParameter("date_to", OpenApiTypes.DATE),
    OpenApiParameter("industry", OpenApiTypes.STR), OpenApiParameter("event", OpenApiTypes.STR),
]


class DealViewSet(RestrictedModelViewSet):
    """招商 deals of the towns in your area: investor, industry, signed amount (万元), signing date and event,
    stage (签约 → 资金到位 → 开工 → 投产), funds in place and the ledger project the deal became.
    Filters: q, org (subtree), town, year, date_from, date_to, stage, industry, event."""

    queryset = Deal.objects.select_related("town", "project").prefetch_related("stages")
    serializer_class = DealSerializer
    filterset_class = DealFilterSet

    def perform_create(self, serializer):
        serializer.instance = services.create_deal(self.request.user, **serializer.service_fields())

    def perform_update(self, serializer):
        serializer.instance = services.update_deal(self.request.user, serializer.instance,
                                                   **serializer.service_fields(serializer.instance.town))

    def perform_destroy(self, instance):
        services.delete_deal(self.request.user, instance)

    def _org(self, request):
        org = request.query_params.get("org")
        if org:
            try:
                org = codes.normalize(org)
            except codes.InvalidCode as exc:
                raise ValidationError({"org": str(exc)}) from exc
            get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=org)
        return org or None

    @extend_schema(parameters=FILTER_PARAMS, responses=SUMMARY)
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request):
        """Totals of the deals in your area, or under `org`, signed in `year`: deals, signed amount and funds in
        place (万元), funds_rate (资金到位率 %), fulfilment_rate (履约率 %: deals with funds in place, started or
        producing), started and producing deals. Takes the list's filters."""
        org = self._org(request)
        return Response({"org": org, **services.summarise(self.filter_queryset(self.get_queryset()))})

    @extend_schema(parameters=[*FILTER_PARAMS, OpenApiParameter(
        "by", OpenApiTypes.STR, enum=list(services.BREAKDOWNS),
        description="industry (default), unit (one level below org or your area), town, year, month, stage")],
        responses=BREAKDOWN)
    @action(detail=False, methods=["get"], pagination_class=None)
    def breakdown(self, request):
        """The live roll-up: the summary's figures per industry, org unit one level below `org` (`unit`: the
        cities of a province, the counties of a city, the towns of a county; without `org`, below your area), town,
        year or month of signing, or stage."""
        org = self._org(request)
        by = request.query_params.get("by") or "industry"
        if by not in services.BREAKDOWNS:
            raise ValidationError({"by": _("Use one of: %(values)s.") % {"values": ", ".join(services.BREAKDOWNS)}})
        qs = self.filter_queryset(self.get_queryset())
        return Response(services.breakdown(qs, by, org or services.own_area(request.user)))

    @extend_schema(parameters=FILTER_PARAMS, responses=TIMELINE)
    @action(detail=False, methods=["get"], pagination_class=None)
    def timeline(self, request):
        """资金到位 over time: funds received per month (`period`, YYYYMM) for the deals of the filter, and the
        running total in place (万元). A receipt counts in the month it arrived."""
        self._org(request)
        return Response(services.funds_over_time(self.filter_queryset(self.get_queryset())))


class ReceiptSerializer(serializers.ModelSerializer):
    deal = serializers.IntegerField(source="deal_id", help_text=_("Deal id (a deal in your area)"))

    class Meta:
        model = FundsReceipt
        fields = ["id", "deal", "date", "amount", "note", "updated"]
        read_only_fields = ["id", "updated"]


class ReceiptViewSet(RestrictedViewSetMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                     viewsets.ReadOnlyModelViewSet):
    """Funds received for deals (资金到位), dated: POST records funds (the deal's funds in place grow and a
    deal still at 签约 moves to 资金到位); DELETE removes a receipt. Filters: deal, org, year."""

    queryset = FundsReceipt.objects.select_related("deal")
    serializer_class = ReceiptSerializer
    filterset_class = ReceiptFilterSet

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        deal = Deal.objects.restrict(self.request.user, "view").filter(pk=d.pop("deal_id")).first()
        if deal is None:
            raise ValidationError({"deal": _("No such deal in your area.")})
        serializer.instance = services.add_receipt(self.request.user, deal, **d)

    def perform_destroy(self, instance):
        services.delete_receipt(self.request.user, instance)

