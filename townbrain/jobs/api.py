"""GET /api/jobs/ (your jobs; an office administrator's also those of the area) and GET /api/jobs/<id>/:
{id, url, kind, title, state, progress, stage, rows_done, rows_total, error, owner, created, started,
finished, result, download} — `result` once done (an import's: the summary POST /api/imports/ answers with,
also given as `summary`); `download`, for a job that made a file (a briefing), the URL of GET .../file/.
POST .../cancel/ and .../retry/."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from townbrain.reports.briefing import FORMATS as BRIEFING_FORMATS

from . import services
from .models import Job


class AnyAccept(DefaultContentNegotiation):
    """A download answers whatever Accept header it is asked with (an error is still JSON)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class JobSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    stage = serializers.SerializerMethodField()
    rows_done = serializers.SerializerMethodField()
    rows_total = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    cancel_requested = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner_name", read_only=True)
    summary = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "url", "kind", "title", "state", "progress", "stage", "rows_done", "rows_total", "error",
                  "cancel_requested", "owner", "org_code", "attempt", "created", "started", "finished", "result",
                  "summary", "download"]
        read_only_fields = fields

    def _status(self, job) -> dict:
        cache = self.context.setdefault("_status", {})
        if job.pk not in cache:
            cache[job.pk] = services.status(job)
        return cache[job.pk]

    def get_url(self, job) -> str:
        from django.urls import reverse

        path = reverse("api:job-detail", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_state(self, job) -> str:
        return self._status(job)["state"]

    def get_progress(self, job) -> int:
        return self._status(job)["progress"]

    def get_stage(self, job) -> str:
        return self._status(job)["stage"]

    def get_rows_done(self, job) -> int:
        return self._status(job)["rows_done"]

    def get_rows_total(self, job) -> int:
        return self._status(job)["rows_total"]

    def get_error(self, job) -> str:
        return services.error_text(self._status(job)["error"])

    def get_cancel_requested(self, job) -> bool:
        return self._status(job)["cancel_requested"]

    def get_download(self, job) -> str | None:
        """GET /api/jobs/<id>/file/ of a finished job that made a file (a briefing); null otherwise."""
        from django.urls import reverse

        from .kinds import KINDS

        kind = KINDS.get(job.kind)
        if not (kind and kind.makes_file and self._status(job)["state"] == Job.State.DONE):
            return None
        path = reverse("api:job-file", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_summary(self, job) -> dict | None:
        return job.result if job.kind == "import" and job.state == Job.State.DONE else None


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    """Background jobs you may see: your own, and an office administrator's area's."""

    serializer_class = JobSerializer
    queryset = Job.objects.none()  # the schema's model; requests read visible_jobs()

    def get_queryset(self):
        return services.visible_jobs(self.request.user)

    def _act(self, fn):
        job = self.get_object()
        if self.request.method == "GET":  # only shows the job
            return Response(JobSerializer(job, context=self.get_serializer_context()).data)
        try:
            fn(self.request.user, job)
        except services.PermissionDenied as exc:
            raise DRFPermissionDenied(str(exc)) from None
        except ValidationError as exc:
            from rest_framework.exceptions import ValidationError as DRFValidationError

            raise DRFValidationError({"detail": exc.messages}) from None
        job.refresh_from_db()
        return Response(JobSerializer(job, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["get", "post"])
    def cancel(self, request, pk=None):
        """POST cancels (GET only shows the job): a queued job at once, a running one at its next chunk of rows (its work is rolled back)."""
        return self._act(services.request_cancel)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["get", "post"])
    def retry(self, request, pk=None):
        """POST queues a failed job again (GET only shows the job) (one whose worker died included)."""
        return self._act(services.retry)

    @extend_schema(responses={
        **{(200, media): OpenApiResponse(OpenApiTypes.BINARY, description=f"the file the job made (a briefing as {fmt})")
           for fmt, media in BRIEFING_FORMATS.items()},
        404: OpenApiResponse(description="no such job for you, the job made no file or is not done, or the "
                             "area the file is about is outside yours")})
    @action(detail=True, methods=["get"], content_negotiation_class=AnyAccept)
    def file(self, request, pk=None):
        """The file a finished job made (a briefing), as a download; for whoever sees the job and its area."""
        from .views import file_response

        job = self.get_object()
        kept = services.output(request.user, job)
        if kept is None:
            raise NotFound(_("This job has no file to download."))
        return file_response(job, kept)
