"""GET /api/briefings/?org=&period=&programme=&format=pdf|docx|xlsx — a briefing as a download; for an area
of more than TOWNBRAIN_JOB_THRESHOLD_TOWNS towns, 202 {"job": url} of the background job that makes it."""

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from townbrain.jobs.kinds import briefing_is_job, briefing_job

from . import briefing


class _FileFormatNegotiation(DefaultContentNegotiation):
    """`?format=` names the briefing's file format here, not one of DRF's renderers (DRF would
    answer 404 to `?format=pdf`); errors are JSON, the briefing itself a plain file response."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class BriefingView(APIView):
    """The briefing (工作简报) of an org unit, programme and month: the cockpit's figures as a file.

    The briefing of an area of more than TOWNBRAIN_JOB_THRESHOLD_TOWNS towns (default 200: a province's) is
    made by a background job: the answer is 202 `{"job": "<url>"}`; GET on that URL shows `state` (queued,
    running, done, failed, cancelled) and `progress` (0–100), and once done `download`, the URL of the file
    (`/api/jobs/<id>/file/`, for the job's owner and the office administrators of the owner's area who see
    the briefing's unit). Asked again while the same briefing is queued or running, the answer names the
    same job (docs/jobs.md).
    """

    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FileFormatNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("org", OpenApiTypes.STR, required=True, description="division code"),
            OpenApiParameter("format", OpenApiTypes.STR, required=True, enum=list(briefing.FORMATS)),
            OpenApiParameter("period", OpenApiTypes.STR, description="YYYYMM; default: the latest month with data"),
            OpenApiParameter("programme", OpenApiTypes.STR,
                             description="programme code; default: the unit's programme with the most projects"),
        ],
        responses={
            **{(200, media): OpenApiResponse(OpenApiTypes.BINARY, description=f"the briefing as {fmt}")
               for fmt, media in briefing.FORMATS.items()},
            (202, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="A large area (more than TOWNBRAIN_JOB_THRESHOLD_TOWNS towns): "
                "`{job: url}` of the background job making the briefing; once it is done, the job's `download` "
                "is the file"),
            400: OpenApiResponse(description="a parameter is missing or wrong: {parameter: [reason]}"),
            404: OpenApiResponse(description="no such unit in your area, or no figures for that month"),
        },
    )
    def get(self, request):
        q = request.query_params
        errors = {name: [_("This parameter is required.")] for name in ("org", "format") if not q.get(name)}
        if errors:
            raise ValidationError(errors)
        fmt = q["format"]
        if fmt not in briefing.FORMATS:
            raise ValidationError({"format": [_("Choose one of: %(formats)s.") % {"formats": ", ".join(briefing.FORMATS)}]})
        try:
            cockpit = briefing.cockpit_for(request.user, q["org"], q.get("programme") or None, q.get("period") or None)
        except (briefing.UnknownUnit, briefing.OutsideArea) as exc:
            # The same answer for both, so the API does not tell which codes exist outside the area.
            raise NotFound(_("No org unit with code %(code)s in your area.") % {"code": q["org"]}) from exc
        except briefing.NoData as exc:
            raise NotFound(str(exc)) from exc
        except briefing.BriefingError as exc:
            raise ValidationError({exc.field or "detail": [str(exc)]}) from exc
        if briefing_is_job(cockpit.org.code):
            # A large area: 202 and the job's URL; GET it for state, progress and, once done, the download.
            job = briefing_job(request.user, cockpit, fmt)
            return Response({"job": request.build_absolute_uri(reverse("api:job-detail", args=[job.pk]))},
                            status=status.HTTP_202_ACCEPTED)
        return briefing.response(cockpit, fmt)
