"""API: assessment schemes (reference data), runs (scoped by area) and results (scoped by town)."""

from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from townbrain.core.api import ConditionalViewSetMixin, RestrictedReadOnlyViewSet, conflict_schema

from . import breakdown, services
from . import spec as specs
from .filters import ResultFilterSet, RunFilterSet, SchemeFilterSet
from .models import Result, Run, Scheme

NUMBER = {"max_digits": 9, "decimal_places": 2, "coerce_to_string": False}


# --- schemes --------------------------------------------------------------------------------------------

class SchemeSerializer(serializers.ModelSerializer):
    programme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    based_on = serializers.SlugRelatedField(slug_field="code", read_only=True)
    bonus_cap = serializers.DecimalField(max_digits=8, decimal_places=2, coerce_to_string=False, read_only=True)
    status = serializers.CharField(read_only=True, help_text="draft | official")
    rank_by = serializers.CharField(read_only=True, help_text="score | grade")
    criteria = serializers.SerializerMethodField()

    class Meta:
        model = Scheme
        fields = ["code", "name", "programme", "version", "status", "year_from", "year_to", "roles", "grades",
                  "rank_scopes", "rank_by", "bonus_cap", "description", "based_on", "criteria", "updated"]
        read_only_fields = fields

    def get_criteria(self, obj) -> int:
        counted = getattr(obj, "criteria_count", None)  # the list counts them in its query (no COUNT per scheme)
        return obj.criteria.count() if counted is None else counted


class SchemeDetailSerializer(SchemeSerializer):
    spec = serializers.SerializerMethodField()

    class Meta(SchemeSerializer.Meta):
        fields = [*SchemeSerializer.Meta.fields, "spec"]
        read_only_fields = fields

    def get_spec(self, obj) -> dict:
        return specs.from_scheme(obj)


class SchemeImportSerializer(serializers.Serializer):
    yaml = serializers.CharField(required=False, help_text=_("The scheme as YAML or JSON text."))
    file = serializers.FileField(required=False, help_text=_("A .yaml or .json file holding the scheme."))
    copy_of = serializers.CharField(required=False, help_text=_("Code of a scheme to copy as a draft."))
    code = serializers.CharField(required=False, help_text=_("Code of the draft copy."))


class SchemeUpdateSerializer(serializers.Serializer):
    """A scheme's own settings (PATCH); criteria change one by one, a whole scheme by import."""

    name = serializers.CharField(required=False, max_length=200)
    status = serializers.ChoiceField(choices=Scheme.Status.choices, required=False)
    year_from = serializers.IntegerField(required=False, allow_null=True, min_value=1990, max_value=2100)
    year_to = serializers.IntegerField(required=False, allow_null=True, min_value=1990, max_value=2100)
    grades = serializers.JSONField(required=False, help_text=gettext_lazy("Best first: [{name, min, en}]"))
    rank_scopes = serializers.JSONField(required=False)
    rank_by = serializers.ChoiceField(choices=["score", "grade"], required=False)
    bonus_cap = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True)


class SchemeViewSet(ConditionalViewSetMixin, mixins.UpdateModelMixin, mixins.CreateModelMixin,
                    RestrictedReadOnlyViewSet):
    """Assessment schemes (考核办法): reference data every signed-in user reads.

    System administrators POST a scheme to import it: the scheme itself as JSON, `{"yaml": "…"}`, a
    `file` upload (YAML or JSON), or `{"copy_of": "<code>", "code": "<new code>"}` for a draft copy.
    Importing the same scheme again changes nothing; a changed one gets the next version.
    `GET …/<code>/export/?as=yaml|json` gives the scheme in the form it is imported in. PATCH changes
    the scheme's own settings (system administrators); GET of one scheme answers an `ETag` (its
    version), and a PATCH with `If-Match` naming an older version answers 412.
    """

    # Ordered explicitly: a grouped query (the criteria count) does not take Meta.ordering.
    queryset = (Scheme.objects.select_related("programme", "based_on").annotate(criteria_count=Count("criteria"))
                .order_by("programme_id", "code"))
    serializer_class = SchemeSerializer
    filterset_class = SchemeFilterSet
    lookup_field = "code"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return SchemeDetailSerializer
        if self.action == "create":
            return SchemeImportSerializer
        if self.action == "partial_update":
            return SchemeUpdateSerializer
        return SchemeSerializer

    def raise_conflict(self, obj, expected):
        services.expect_scheme_version(obj, expected)

    @conflict_schema({200: SchemeDetailSerializer}, request=SchemeUpdateSerializer)
    def partial_update(self, request, *args, **kwargs):
        services.require_scheme_admin(request.user)
        scheme = self.get_object()
        expected = self.check_if_match(scheme)
        form = SchemeUpdateSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        scheme = services.update_scheme(request.user, scheme, expected_version=expected, **form.validated_data)
        response = Response(SchemeDetailSerializer(scheme, context=self.get_serializer_context()).data)
        return self.with_etag(response, scheme)

    @extend_schema(request=SchemeImportSerializer, responses={201: SchemeDetailSerializer})
    def create(self, request, *args, **kwargs):
        services.require_scheme_admin(request.user)
        data = request.data
        if "groups" in data or "criteria" in data:
            scheme = services.import_scheme(request.user, dict(data))
        elif data.get("copy_of"):
            original = get_object_or_404(Scheme.objects.restrict(request.user, "view"), code=data["copy_of"])
            scheme = services.copy_scheme(request.user, original, code=data.get("code") or None)
        elif data.get("file") or data.get("yaml"):
            upload = data.get("file")
            text = upload.read() if upload else data["yaml"]
            scheme = services.import_scheme(request.user, text)
        else:
            raise ValidationError({"non_field_errors": [_("Send the scheme (JSON), yaml text, a file, or copy_of.")]})
        return Response(SchemeDetailSerializer(scheme, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("as", OpenApiTypes.STR, enum=["yaml", "json"])],
                   responses={(200, "application/yaml"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def export(self, request, code=None):
        """The scheme as YAML (default) or JSON, with the data elements it uses: ready to import."""
        scheme = self.get_object()
        fmt = "json" if request.query_params.get("as") == "json" else "yaml"
        content_type = "application/json" if fmt == "json" else "application/yaml"
        response = HttpResponse(services.export_scheme(scheme, fmt), content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{scheme.code}-v{scheme.version}.{fmt}"'
        return response


# --- runs ---------------------------------------------------------------------------------------------

class RunSerializer(serializers.ModelSerializer):
    scheme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    programme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    grades = serializers.SerializerMethodField()
    kind = serializers.CharField(read_only=True, help_text="official | what_if")

    class Meta:
        model = Run
        fields = ["id", "scheme", "scheme_version", "programme", "year", "area", "area_name", "kind", "based_on",
                  "note", "frozen", "frozen_at", "frozen_by_name", "created", "created_by_name", "grades", "summary",
                  "seconds"]
        read_only_fields = fields

    def get_grades(self, obj) -> dict:
        return obj.summary.get("grades", {})


class RunCreateSerializer(serializers.Serializer):
    scheme = serializers.SlugRelatedField(slug_field="code", queryset=Scheme.objects.all())
    year = serializers.IntegerField(min_value=1990, max_value=2100)
    area = serializers.CharField(required=False, allow_blank=True,
                                 help_text=_("A province, city or county code; default: the programme's province."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class WhatIfSerializer(serializers.Serializer):
    scheme = serializers.SlugRelatedField(slug_field="code", queryset=Scheme.objects.all(), required=False,
                                          help_text=_("A (draft) scheme to run instead."))
    changes = serializers.DictField(required=False, help_text=_(
        "Edits of the run's scheme: {criterion code: {weight, points, bands, zero_at, full_at, threshold, per …}, "
        "scheme: {grades, bonus_cap}}"))
    spec = serializers.DictField(required=False, help_text=_("A whole draft scheme (the import form)."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class PublishedSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text=gettext_lazy(
        "The published table (xlsx, xls, csv, json) with 乡镇代码 or 乡镇, 得分, 等级 (and 名次)"))
    rows = serializers.ListField(child=serializers.DictField(), required=False, help_text=gettext_lazy(
        "Or the rows: [{town or name, score, grade, rank}]"))
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    published_on = serializers.DateField(required=False, allow_null=True)


class PublishedMixin:
    @extend_schema(request=PublishedSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get", "post"])
    def published(self, request, pk=None):
        """The province's published list for this run's programme, year and area, beside the computed
        results: which towns differ and the criteria that cost them points. POST records (or
        replaces) the list, from a file or rows; it needs the right to manage the run's area."""
        from .models import PublishedList

        run = self.get_object()
        if request.method == "POST":
            form = PublishedSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            d = form.validated_data
            if "file" in d:
                upload = d["file"]
                rows = services.read_published(upload.read(), upload.name)
            elif "rows" in d:
                rows = [{k: "" if v is None else str(v) for k, v in row.items()} for row in d["rows"]]
            else:
                raise ValidationError({"file": [_("Give the published table as a file or as rows.")]})
            published = services.record_published(request.user, run.programme, run.year, rows, area=run.area,
                                                   title=d.get("title", ""), published_on=d.get("published_on"))
        else:
            published = PublishedList.objects.restrict(request.user, "view").filter(
                programme=run.programme, year=run.year, area=run.area).first()
            if published is None:  # nothing published yet: the computed side alone
                return Response({"id": None, "title": "", "year": run.year, "area": run.area, "published_on": None,
                                 **services.compare_published(request.user, None, run=run)})
        return Response({"id": published.pk, "title": published.title, "year": published.year,
                         "area": published.area, "published_on": published.published_on,
                         **services.compare_published(request.user, published)})


class RunViewSet(PublishedMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, RestrictedReadOnlyViewSet):
    """Assessment runs: a scheme applied to a programme's towns for a year.

    Seen by whoever works in (or above) the run's area; the results inside are scoped by town.
    POST `{scheme, year, area?}` starts an official run (office administrators of the area);
    `…/<id>/freeze/` (POST) freezes it; `…/<id>/what-if/` (POST) re-runs it with a draft;
    `…/<id>/compare/?with=<id>` compares two runs. A frozen run cannot be deleted or changed.
    """

    queryset = Run.objects.select_related("scheme", "programme").defer("snapshot")
    serializer_class = RunSerializer
    filterset_class = RunFilterSet
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_serializer_class(self):
        return RunCreateSerializer if self.action == "create" else RunSerializer

    @extend_schema(request=RunCreateSerializer, responses={
        201: RunSerializer,
        202: OpenApiResponse(OpenApiTypes.OBJECT, description="A run scoring more than TOWNBRAIN_JOB_THRESHOLD_TOWNS "
                             "towns (a province's): `{job: url}` of the background job; once done, the job's "
                             "`result` names the run (`{run, url, area, year, towns}`)")})
    def create(self, request, *args, **kwargs):
        """Start an official run. One scoring more than TOWNBRAIN_JOB_THRESHOLD_TOWNS towns (default 200: a
        province's) runs as a background job, as from the run form: the answer is 202 `{"job": "<url>"}`, and
        GET on that URL shows `state`, `progress` and, once done, `result` with the run's id and URL. An area
        you do not manage is refused at once (403), not by a failed job."""
        from townbrain.jobs.kinds import assessment_job, towns_to_assess

        form = RunCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        area = d.get("area") or None
        if towns_to_assess(d["scheme"], d["year"], area) > settings.JOB_THRESHOLD_TOWNS:
            job = assessment_job(request.user, d["scheme"], d["year"], area, note=d.get("note", ""))
            return Response({"job": request.build_absolute_uri(reverse("api:job-detail", args=[job.pk]))},
                            status=status.HTTP_202_ACCEPTED)
        run = services.start_run(request.user, d["scheme"], d["year"], area, note=d.get("note", ""))
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.delete_run(self.request.user, instance)

    @extend_schema(request=None, responses={200: RunSerializer})
    @action(detail=True, methods=["get", "post"])
    def freeze(self, request, pk=None):
        """GET: whether the run is frozen. POST: freeze it (it can never change again)."""
        run = self.get_object()
        if request.method == "POST":
            run = services.freeze_run(request.user, run)
        return Response(RunSerializer(run).data)

    @extend_schema(parameters=[OpenApiParameter("with", OpenApiTypes.INT, required=True)],
                   responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def compare(self, request, pk=None):
        """Towns (of your area) whose grade, rank or score change from run `with` (a) to this run (b).

        Without `with`: a what-if is compared with its official run, an official run with the
        previous run of the same scheme, year and area (or with itself, when there is none).
        """
        run = self.get_object()
        visible = Run.objects.restrict(request.user, "view")
        other_id = request.query_params.get("with")
        if other_id is not None:
            try:
                other = get_object_or_404(visible, pk=int(other_id))
            except ValueError:
                raise ValidationError({"with": _("A run id.")}) from None
        else:
            other = services.previous_run(run, visible)
        return Response(services.compare_runs(request.user, other, run))

    @extend_schema(request=WhatIfSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get", "post"], url_path="what-if")
    def what_if(self, request, pk=None):
        """GET: the what-if runs made from this run. POST: a new what-if (the run itself is not touched)."""
        run = self.get_object()
        if request.method == "GET":
            trials = Run.objects.restrict(request.user, "view").filter(based_on=run).defer("snapshot")
            return Response({"results": RunSerializer(trials, many=True).data})
        form = WhatIfSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        if not ({"scheme", "changes", "spec"} & set(d)):
            raise ValidationError({"non_field_errors": [_("Give a draft scheme, changes or a spec.")]})
        trial, comparison = services.what_if(request.user, run, scheme=d.get("scheme"), changes=d.get("changes"),
                                             spec=d.get("spec"), note=d.get("note", ""))
        return Response({"run": RunSerializer(trial).data, "comparison": comparison}, status=status.HTTP_201_CREATED)


# --- results ------------------------------------------------------------------------------------------

class ResultSerializer(serializers.ModelSerializer):
    town_name = serializers.CharField(source="town.name", read_only=True)
    score = serializers.DecimalField(**NUMBER, read_only=True)
    grade_label = serializers.SerializerMethodField()
    breakdown = serializers.SerializerMethodField()

    class Meta:
        model = Result
        fields = ["id", "run", "town", "town_name", "score", "grade", "grade_label", "rank", "ranks", "batch", "role",
                  "vetoes", "breakdown"]
        read_only_fields = fields

    def _spec(self, obj) -> dict:
        cache = self.context.setdefault("snapshots", {})
        if obj.run_id not in cache:
            cache[obj.run_id] = Run.objects.filter(pk=obj.run_id).values_list("snapshot", flat=True).first()
        return cache[obj.run_id]

    def get_grade_label(self, obj) -> str:
        return breakdown.grade_label(self._spec(obj), obj.grade)

    def get_breakdown(self, obj) -> list | None:
        if not self.context.get("with_breakdown", True):
            return None
        return breakdown.expand(self._spec(obj), obj.breakdown)


class ResultViewSet(RestrictedReadOnlyViewSet):
    """Assessment results: score, grade, ranks and the breakdown (value, points, full marks, why) per criterion.

    Each user sees the results of the towns in their area. Lists leave the breakdown out unless
    `?breakdown=1`; a single result always has it.
    """

    queryset = Result.objects.select_related("town")
    serializer_class = ResultSerializer
    filterset_class = ResultFilterSet

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.action == "list":
            context["with_breakdown"] = self.request.query_params.get("breakdown") in ("1", "true", "yes")
        return context
