"""The reporting cycle's API (docs/reporting.md):

- GET  /api/reporting/?org=&programme=&period=[&kind=progress|values]
       → {"count", "deadline", "summary", "results": [{"town", "town_name", "status", "deadline",
          "days_left", "submitted_at", "late_days", "approved_level", "comment", "reports", "owing"}]}
- GET  /api/reporting/ranking/?org=&programme=&period=   the child units by timeliness
- POST /api/reporting/<town>/<programme>/<YYYYMM>/<step>/  step: submit, approve, return (comment),
       lock, unlock (reason) → the town's row; 403 with the reason when the caller may not.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from townbrain.core import codes
from townbrain.core.models import OrgUnit
from townbrain.programmes.models import Programme

from . import services, timeliness
from .deadlines import Deadlines
from .models import Kind

PARAMS = [
    OpenApiParameter("org", OpenApiTypes.STR, required=True, description="division code"),
    OpenApiParameter("programme", OpenApiTypes.STR, required=True, description="programme code"),
    OpenApiParameter("period", OpenApiTypes.STR, required=True, description="YYYYMM (values: any DHIS2 period)"),
    OpenApiParameter("kind", OpenApiTypes.STR, description="progress (default) or values"),
]


def _kind(value) -> str:
    kind = value or Kind.PROGRESS
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Unknown kind of report “%(kind)s”.") % {"kind": kind}})
    return kind


def _programme(code) -> Programme:
    programme = Programme.objects.filter(code=code).first()
    if programme is None:
        raise ValidationError({"programme": _("Unknown programme “%(code)s”.") % {"code": code}})
    return programme


def _params(request):
    q = request.query_params
    errors = {name: _("This parameter is required.") for name in ("org", "period", "programme") if not q.get(name)}
    if errors:
        raise ValidationError(errors)
    try:
        code = codes.normalize(q["org"])
    except codes.InvalidCode as exc:
        raise ValidationError({"org": str(exc)}) from exc
    kind = _kind(q.get("kind"))
    period = services.clean_period(q["period"], kind)
    org = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=code)
    return org, _programme(q["programme"]), period, kind


def row_json(r: timeliness.Row) -> dict:
    return {"town": r.town.code, "town_name": r.town.name, "status": str(r.status), "deadline": r.deadline.isoformat(),
            "days_left": r.days_left, "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
            "late_days": r.late_days, "approved_level": r.approved_level, "comment": r.comment,
            "returned_count": r.returned_count, "reports": r.reports, "owing": r.owing}


class SubmissionListView(APIView):
    """Where every town under an org unit stands in a period of the reporting cycle."""

    @extend_schema(parameters=PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        org, programme, period, kind = _params(request)
        rows = timeliness.rows(request.user, org, programme, period, kind)
        deadline = rows[0].deadline if rows else Deadlines().due(programme.pk, period, kind)
        return Response({"count": len(rows), "org": org.code, "programme": programme.code, "period": period,
                         "kind": kind, "deadline": deadline.isoformat(), "summary": timeliness.summary(rows),
                         "results": [row_json(r) for r in rows]})


class RankingView(APIView):
    """The child units of an org unit ranked by reporting timeliness in a period."""

    @extend_schema(parameters=PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        org, programme, period, kind = _params(request)
        results = timeliness.ranking(request.user, org, programme, period, kind)
        return Response({"count": len(results), "results": results})


class StepView(APIView):
    """One step of the cycle for one town: submit, approve, return (comment), lock, unlock (reason)."""

    def _target(self, request, town, programme):
        try:
            code = codes.normalize(town)
        except codes.InvalidCode as exc:
            raise ValidationError({"town": str(exc)}) from exc
        unit = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=code, level="town")
        return unit, get_object_or_404(Programme, code=programme)

    @extend_schema(operation_id="reporting_step_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request, town, programme, period, step):
        """The town's row, as the step would answer it (nothing is changed)."""
        unit, prog = self._target(request, town, programme)
        return self._row(request, unit, prog, period, _kind(request.query_params.get("kind")))

    @extend_schema(operation_id="reporting_step_create", request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, town, programme, period, step):
        unit, prog = self._target(request, town, programme)
        kind = _kind(request.data.get("kind"))
        comment = request.data.get("comment") or request.data.get("reason") or ""
        services.take_step(request.user, unit, prog, period, step, str(comment), kind=kind)
        return self._row(request, unit, prog, period, kind)

    def _row(self, request, unit, prog, period, kind):
        period = services.clean_period(period, kind)
        rows = timeliness.rows(request.user, unit, prog, period, kind)
        if not rows:  # a town neither enrolled nor with projects, and no submission: nothing owed
            return Response({"town": unit.code, "town_name": unit.name, "status": "empty"})
        return Response(row_json(rows[0]))
