"""GET /api/briefings/?org=&period=&programme=&format=pdf|docx|xlsx — a briefing as a download."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from . import briefing


class _FileFormatNegotiation(DefaultContentNegotiation):
    """`?format=` names the briefing's file format here, not one of DRF's renderers (DRF would
    answer 404 to `?format=pdf`); errors are JSON, the briefing itself a plain file response."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class BriefingView(APIView):
    """The briefing (工作简报) of an org unit, programme and month: the cockpit's figures as a file."""

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
        return briefing.response(cockpit, fmt)
