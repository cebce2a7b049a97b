import io

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from townbrain.core.api import RestrictedReadOnlyViewSet, RestrictedViewSetMixin
from townbrain.core.parsers import FormParser, MultiPartParser

from . import pipeline, standard
from .filters import ImportBatchFilterSet
from .kinds import KINDS
from .models import DataWarning, ImportBatch
from .quality_filters import DataWarningFilterSet
from .readers import MIB

ALLOWED_SUFFIXES = (".xlsx", ".xls", ".ods", ".csv", ".json", ".txt")


class ImportBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportBatch
        fields = ["id", "kind", "actor_name", "created", "file_name", "file_hash", "org_code", "counts", "errors",
                  "warnings", "state", "undone_at"]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=[*KINDS, *pipeline.PLANNED_KINDS])
    dry_run = serializers.BooleanField(required=False, default=False)
    only_valid = serializers.BooleanField(required=False, default=False)


def check_upload(upload) -> str | None:
    """A reason to refuse the upload before reading it, or None."""
    if upload.size > settings.IMPORT_MAX_BYTES:
        return _("The file is %(size).1f MB; the limit is %(limit).0f MB.") % {
            "size": upload.size / MIB, "limit": settings.IMPORT_MAX_BYTES / MIB}
    if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
        return _("“%(name)s” is not a spreadsheet: use .xlsx, .xls, .ods, .csv or .json.") % {"name": upload.name}
    return None


def count_rows(data: bytes, name: str) -> int:
    """About how many rows the file has, cheaply (to choose between answering now and a background job);
    0 when it cannot tell (the import itself then says what is wrong)."""
    from .readers import OLE2, ZIP, _check_zip, limits

    try:
        if data.startswith(ZIP) or data.startswith(OLE2):
            from python_calamine import CalamineWorkbook

            if data.startswith(ZIP):
                _check_zip(data, limits())  # a zip bomb is refused before anything unpacks it
                rows = _xlsx_dimension(data)
                if rows is not None:
                    return rows
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            return book.get_sheet_by_index(0).height if book.sheet_names else 0
        if name.lower().endswith(".json") or data.lstrip()[:1] in (b"[", b"{"):
            return data.count(b"}")  # objects, give or take nested ones: an estimate is enough
        return data.count(b"\n")
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the import, synchronously
        return 0


def _xlsx_dimension(data: bytes) -> int | None:
    """The last row an xlsx's first sheet declares (`<dimension ref="A1:I30001"/>`, which Excel, WPS and
    the usual libraries write at the top of the sheet), without reading the sheet; None when absent."""
    import re
    import zipfile

    from .readers import _first_sheet

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if "xl/workbook.xml" not in zf.namelist():
            return None
        sheet = _first_sheet(zf)
        if not sheet:
            return None
        with zf.open(sheet) as f:
            head = f.read(4096)
    found = re.search(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"', head)
    return int(found.group(1) or 1) if found else None


def import_job(user, data: bytes, name: str, kind: str, rows: int, *, dry_run=False, only_valid=False,
               keep_file=False):
    """Queue the import of a large file as a background job (docs/jobs.md)."""
    from townbrain.jobs.services import enqueue

    title = _("%(kind)s from %(file)s (%(rows)s rows)") % {"kind": KINDS[kind].label if kind in KINDS else kind,
                                                            "file": name, "rows": f"{rows:,}"}
    if dry_run:
        title = _("Check: %(title)s") % {"title": title}
    return enqueue(user, "import", {"kind": kind, "dry_run": dry_run, "only_valid": only_valid,
                                    "keep_file": keep_file}, title=title, rows_total=rows, file=(name, data))


class ImportViewSet(RestrictedReadOnlyViewSet):
    """Imports. POST a file (multipart: file, kind, dry_run, only_valid) to get the plan or apply it;
    the summary is `{status, counts{created, updated, unchanged, deleted}, errors[{row, column, value, message}],
    warnings[{row, column, value, message}], id}` (a row with warnings only is written).
    A file above TOWNBRAIN_JOB_THRESHOLD_ROWS rows runs as a background job: the answer is 202
    `{"job": "<url>"}`, and GET on that URL shows `state` (queued, running, done, failed, cancelled),
    `progress` (0–100) and, once done, the same summary as `result` (docs/jobs.md).
    """

    queryset = ImportBatch.objects.all()
    serializer_class = ImportBatchSerializer
    parser_classes = [MultiPartParser, FormParser]
    filterset_class = ImportBatchFilterSet

    @extend_schema(request=ImportUploadSerializer, responses={
        200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT,
        202: OpenApiResponse(OpenApiTypes.OBJECT, description="A large file: `{job: url}` of the background job"),
        400: OpenApiResponse(OpenApiTypes.OBJECT, description="The upload's field errors, or the summary of an "
                             "import refused (status unreadable or invalid: errors by row, id null)")})
    def create(self, request):
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        d = upload.validated_data
        reason = check_upload(d["file"])
        if reason:
            return Response(_unreadable(d["kind"], d["file"].name, reason), status=status.HTTP_400_BAD_REQUEST)
        data = d["file"].read()
        rows = count_rows(data, d["file"].name) if d["kind"] in KINDS else 0
        if rows > settings.JOB_THRESHOLD_ROWS:
            # A large file: 202 and the job's URL; GET it for state, progress and, once done, the summary.
            job = import_job(request.user, data, d["file"].name, d["kind"], rows, dry_run=d["dry_run"],
                             only_valid=d["only_valid"])
            return Response({"job": request.build_absolute_uri(reverse("api:job-detail", args=[job.pk]))},
                            status=status.HTTP_202_ACCEPTED)
        try:
            summary = pipeline.run_import(request.user, data, d["file"].name, d["kind"],
                                          dry_run=d["dry_run"], only_valid=d["only_valid"])
        except pipeline.UnknownKind as exc:
            return Response(_unreadable(d["kind"], d["file"].name, str(exc)), status=status.HTTP_400_BAD_REQUEST)
        code = {"applied": 201, "partial": 201, "dry_run": 200}.get(summary["status"], 400)
        return Response(summary, status=code)

    @extend_schema(request=None, responses={200: ImportBatchSerializer})
    @action(detail=True, methods=["get", "post"])
    def undo(self, request, pk=None):
        """POST undoes the batch; GET only shows it (what would be undone)."""
        batch = self.get_object()
        if request.method == "GET":
            return Response(ImportBatchSerializer(batch).data)
        pipeline.undo_batch(request.user, batch)
        batch.refresh_from_db()
        return Response(ImportBatchSerializer(batch).data)


def _unreadable(kind, name, message):
    return {"status": "unreadable", "kind": kind, "file": name,
            "counts": {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0},
            "errors": [{"row": None, "column": None, "value": "", "message": message}], "warnings": [], "id": None}


class StandardView(APIView):
    """The data standard: a JSON Schema per kind."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="standard_list",
                   responses=inline_serializer("Standard", {"kinds": serializers.DictField()}))
    def get(self, request):
        return Response({"kinds": {name: standard.json_schema(name) for name in KINDS}})


class StandardKindView(APIView):
    """The JSON Schema of one kind (projects, progress, indicator_values)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="standard_kind_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request, kind):
        if kind not in KINDS:
            raise NotFound(_("Unknown kind “%(kind)s”.") % {"kind": kind})
        return Response(standard.json_schema(kind))


class TemplateView(APIView):
    """The xlsx template of a kind: frozen header, a comment per column, drop-downs, one example row."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
                              OpenApiTypes.BINARY})
    def get(self, request, kind):
        if kind not in KINDS:
            raise NotFound(_("Unknown kind “%(kind)s”.") % {"kind": kind})
        resp = HttpResponse(standard.template_xlsx(kind),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        resp["Content-Disposition"] = f'attachment; filename="townbrain-{kind}-template.xlsx"'
        return resp


class DataWarningSerializer(serializers.ModelSerializer):
    message = serializers.CharField(read_only=True, help_text=_("In the user's language"))
    url = serializers.CharField(source="get_absolute_url", read_only=True, help_text=_("The record's page"))

    class Meta:
        model = DataWarning
        fields = ["id", "object_type", "object_id", "object_repr", "town", "rule", "column", "value", "message",
                  "first_seen", "resolved_at", "batch", "url"]
        read_only_fields = fields


class DataWarningViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The data-quality list (数据质量清单): records saved but incomplete or unusual, in your area. Filters:
    q, org (subtree), kind (project, expertactivity), rule, state (open — the default —, resolved, all),
    since (first seen from). The register is brought up to date for `org` (or your area) first. A list only:
    a warning is looked at through its record (`url`)."""

    queryset = DataWarning.objects.select_related("town")
    serializer_class = DataWarningSerializer
    filterset_class = DataWarningFilterSet

    def list(self, request, *args, **kwargs):
        from .quality_views import refresh_area

        refresh_area(request.user, request.query_params.get("org"))
        return super().list(request, *args, **kwargs)
