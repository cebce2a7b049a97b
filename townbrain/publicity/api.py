from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from townbrain.core import codes
from townbrain.core.api import RestrictedModelViewSet, ScopedSlugRelatedField
from townbrain.core.models import OrgUnit

from . import services
from .filters import ArticleFilterSet, HonourFilterSet, QuotaFilterSet
from .models import Article, Honour, Quota


class _Writes(RestrictedModelViewSet):
    """Writes go through the publicity services (one audited function for the three kinds)."""

    def perform_create(self, serializer):
        serializer.instance = services.create(self.request.user, self.queryset.model, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update(self.request.user, serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete(self.request.user, instance)

    def _org(self, request):
        org = request.query_params.get("org")
        if org:
            try:
                org = codes.normalize(org)
            except codes.InvalidCode as exc:
                raise ValidationError({"org": str(exc)}) from exc
            get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=org)
        return org or None

    def _breakdown(self, request, choices, count):
        org = self._org(request)
        by = request.query_params.get("by") or "unit"
        if by not in choices:
            raise ValidationError({"by": _("Use one of: %(values)s.") % {"values": ", ".join(choices)}})
        qs = self.filter_queryset(self.get_queryset())
        return Response(count(qs, by, org or services.own_area(request.user)))


def _town_field():
    return ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(),
                                  help_text=_("Division code of the town"))


class ArticleSerializer(serializers.ModelSerializer):
    town = _town_field()

    class Meta:
        model = Article
        fields = ["id", "town", "level", "outlet", "published_on", "title", "link", "updated"]
        read_only_fields = ["id", "updated"]
        validators = []  # the natural key is checked by the service, with a clear message

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["town_name"] = obj.town.name
        return data


class QuotaSerializer(serializers.ModelSerializer):
    town = _town_field()
    counted = serializers.IntegerField(read_only=True, help_text=_("Articles that count for the quota (篇)"))

    class Meta:
        model = Quota
        fields = ["id", "town", "period", "articles", "min_level", "note", "counted", "updated"]
        read_only_fields = ["id", "updated"]
        validators = []

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["town_name"] = obj.town.name
        if not hasattr(obj, "counted"):
            data["counted"] = services.with_counted(Quota.objects.filter(pk=obj.pk)).get().counted
        return data


class HonourSerializer(serializers.ModelSerializer):
    unit = ScopedSlugRelatedField(slug_field="code", queryset=OrgUnit.objects.all(),
                                  help_text=_("Division code of the unit honoured, or the person's unit"))

    class Meta:
        model = Honour
        fields = ["id", "unit", "kind", "recipient", "title", "issuer", "awarded_on", "occasion", "reason", "updated"]
        read_only_fields = ["id", "updated"]
        validators = []

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["unit_name"] = obj.unit.name
        return data


ARTICLE_SUMMARY = inline_serializer("ArticleSummary", {
    "org": serializers.CharField(allow_null=True),
    "articles": serializers.IntegerField(help_text="篇"),
    "by_level": inline_serializer("ArticlesByLevel", {
        "central": serializers.IntegerField(), "provincial": serializers.IntegerField(),
        "city": serializers.IntegerField(), "county": serializers.IntegerField()}),
    "quotas": serializers.IntegerField(help_text="定期约稿 quotas of the year"),
    "owed": serializers.IntegerField(help_text="篇"),
    "delivered": serializers.IntegerField(help_text="篇, at most the quota each"),
    "fulfilment_rate": serializers.FloatField(allow_null=True, help_text="约稿完成率, %"),
    "met": serializers.IntegerField(help_text="quotas met in full"),
})
HONOUR_SUMMARY = inline_serializer("HonourSummary", {
    "org": serializers.CharField(allow_null=True), "honours": serializers.IntegerField(),
    "units": serializers.IntegerField(help_text="先进单位"), "people": serializers.IntegerField(help_text="先进个人"),
})
PARAMS = [OpenApiParameter("org", OpenApiTypes.STR, description="division code: the subtree to count"),
          OpenApiParameter("year", OpenApiTypes.INT, description="e.g. 2020")]
LEVELS = inline_serializer("ArticlesByLevelRow", {
    "central": serializers.IntegerField(), "provincial": serializers.IntegerField(),
    "city": serializers.IntegerField(), "county": serializers.IntegerField()})
ARTICLE_BREAKDOWN = inline_serializer("ArticleBreakdownRow", {
    "key": serializers.CharField(), "label": serializers.CharField(), "articles": serializers.IntegerField(),
    "by_level": LEVELS}, many=True)
HONOUR_BREAKDOWN = inline_serializer("HonourBreakdownRow", {
    "key": serializers.CharField(), "label": serializers.CharField(), "honours": serializers.IntegerField(),
    "units": serializers.IntegerField(), "people": serializers.IntegerField()}, many=True)
QUOTA_BREAKDOWN = inline_serializer("QuotaBreakdownRow", {
    "key": serializers.CharField(), "label": serializers.CharField(), "quotas": serializers.IntegerField(),
    "owed": serializers.IntegerField(), "delivered": serializers.IntegerField(),
    "fulfilment_rate": serializers.FloatField(allow_null=True), "met": serializers.IntegerField()}, many=True)


def _by_param(choices, default):
    return OpenApiParameter("by", OpenApiTypes.STR, enum=list(choices),
                            description=f"{default} (default): unit = one level below org (or below your area)")


class ArticleViewSet(_Writes):
    """宣传稿件 of the towns in your area: outlet level (central, provincial, city, county), outlet, date, title,
    link. Filters: q (title), org (subtree), town, year, date_from, date_to, level, outlet."""

    queryset = Article.objects.select_related("town")
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilterSet

    @extend_schema(parameters=PARAMS, responses=ARTICLE_SUMMARY)
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request):
        """Articles in your area or under `org` (in `year`), by outlet level, with the 定期约稿 quotas of the
        same towns and year: articles owed and delivered, fulfilment rate (%), quotas met."""
        org = self._org(request)
        articles = services.article_summary(self.filter_queryset(self.get_queryset()))
        quotas = Quota.objects.restrict(request.user, "view")
        if org:
            quotas = quotas.filter(town__code__startswith=org)
        year = request.query_params.get("year")
        if year:
            if not year.isdigit():
                raise ValidationError({"year": _("Enter a whole number.")})
            quotas = services.quotas_in_year(quotas, int(year))
        return Response({"org": org, **articles, **services.quota_summary(quotas)})

    @extend_schema(parameters=[*PARAMS, _by_param(services.ARTICLE_BREAKDOWNS, "unit")], responses=ARTICLE_BREAKDOWN)
    @action(detail=False, methods=["get"], pagination_class=None)
    def breakdown(self, request):
        """Articles counted per org unit one level below `org` (`unit`), per town, per year or month published,
        or per outlet level, each with its counts by outlet level. Takes the list's filters."""
        return self._breakdown(request, services.ARTICLE_BREAKDOWNS, services.article_breakdown)


class QuotaViewSet(_Writes):
    """定期约稿: articles a town owes in a period (2020, 2020S1, 2020Q3, 202009), optionally from outlets of a
    level or above; `counted` is the articles that count for it. Filters: org, town, year, period."""

    queryset = Quota.objects.select_related("town")
    serializer_class = QuotaSerializer
    filterset_class = QuotaFilterSet

    def get_queryset(self):
        return services.with_counted(super().get_queryset())

    @extend_schema(parameters=[*PARAMS, _by_param(services.QUOTA_BREAKDOWNS, "unit")], responses=QUOTA_BREAKDOWN)
    @action(detail=False, methods=["get"], pagination_class=None)
    def breakdown(self, request):
        """约稿完成率 per org unit one level below `org` (`unit`), per town or per period: quotas, articles owed
        and delivered towards them, fulfilment rate (%), quotas met. Takes the list's filters."""
        return self._breakdown(request, services.QUOTA_BREAKDOWNS, services.quota_breakdown)


class HonourViewSet(_Writes):
    """表彰: 先进单位 (unit) and 先进个人 (person), the issuing body, date, meeting and reason; placed at the unit
    honoured or the person's unit. Filters: q, org (subtree), year, kind, issuer."""

    queryset = Honour.objects.select_related("unit")
    serializer_class = HonourSerializer
    filterset_class = HonourFilterSet

    @extend_schema(parameters=PARAMS, responses=HONOUR_SUMMARY)
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request):
        """Honours in your area or under `org` (in `year`): all, 先进单位 and 先进个人."""
        org = self._org(request)
        return Response({"org": org, **services.honour_summary(self.filter_queryset(self.get_queryset()))})

    @extend_schema(parameters=[*PARAMS, _by_param(services.HONOUR_BREAKDOWNS, "unit")], responses=HONOUR_BREAKDOWN)
    @action(detail=False, methods=["get"], pagination_class=None)
    def breakdown(self, request):
        """Honours counted per org unit one level below `org` (`unit`), per year or month awarded, or per kind:
        all, 先进单位 and 先进个人. Takes the list's filters."""
        return self._breakdown(request, services.HONOUR_BREAKDOWNS, services.honour_breakdown)
