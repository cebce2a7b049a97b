"""What each kind of job does. A kind's `run(job, actor, progress)` does its work inside the
transaction the worker opened (services.run_job), calls `progress(stage, done, total)` between chunks
(where a cancel request stops it), and returns a JSON-able result shown on the job's page.

Kinds so far: `import` (an import above TOWNBRAIN_JOB_THRESHOLD_ROWS rows, from the import page or
POST /api/imports/), `rollups` (rebuild the roll-up table) and `assessment` (a run of the run form that
scores more than TOWNBRAIN_JOB_THRESHOLD_TOWNS towns, e.g. a province's)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class JobKind:
    name: str
    label: object
    run: Callable
    stages: dict = field(default_factory=dict)  # stage -> (percent at its start, percent at its end)
    needs_file: bool = False


def _run_import(job, actor, progress):
    from townbrain.exchange import pipeline

    p = job.params
    progress("reading", 0, 0)
    return pipeline.run_import(actor, bytes(job.file.data), job.file.name, p["kind"], dry_run=p.get("dry_run", False),
                               only_valid=p.get("only_valid", False), progress=progress, crs=p.get("crs"))


def _run_rollups(job, actor, progress):
    from townbrain.core.scope import ALL, scope_prefixes
    from townbrain.programmes.models import Programme
    from townbrain.projects.rollups import rebuild

    if scope_prefixes(actor, "manage") is not ALL:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(_("Only a system administrator may rebuild the roll-ups."))
    programme = Programme.objects.get(code=job.params["programme"]) if job.params.get("programme") else None
    from townbrain.projects.models import Project

    total = Project.objects.count()
    progress("rebuilding", 0, total)
    cells = rebuild(programme, progress=lambda done: progress("rebuilding", min(done, total), total))
    progress("rebuilding", total, total)
    return {"cells": cells, "programme": job.params.get("programme") or ""}


def _run_assessment(job, actor, progress):
    from townbrain.assessments import services as assessment_services
    from townbrain.assessments.models import Scheme

    p = job.params
    progress("assessing", 0, 1)
    run = assessment_services.start_run(actor, Scheme.objects.get(pk=p["scheme"]), p["year"], p.get("area") or None,
                                        note=p.get("note", ""))
    progress("assessing", 1, 1)
    return {"run": run.pk, "url": run.get_absolute_url(), "area": run.area_name, "year": run.year,
            "towns": run.results.count()}


def towns_to_assess(scheme, year: int, area: str | None) -> int:
    """How many towns a run of `scheme` would score (to choose between the request and a background job)."""
    from townbrain.assessments import engine

    return engine.enrolled_queryset(scheme.programme, int(year), (), area or "").count()


def assessment_job(actor, scheme, year: int, area: str | None, *, note: str = ""):
    """Queue a run of `scheme` as a background job, after the checks the run would make first (the area
    exists and the actor manages it: a refusal is the form's error, not a failed job)."""
    from townbrain.assessments import services as assessment_services
    from townbrain.assessments import spec as specs
    from townbrain.core.scope import require

    from .services import enqueue

    code, name = assessment_services.run_area(specs.from_scheme(scheme, with_elements=False), int(year), area)
    require(actor, "manage", code)
    return enqueue(actor, "assessment", {"scheme": scheme.pk, "year": int(year), "area": area or "", "note": note},
                   title=f"{scheme.name} · {year} · {name}")


STAGE_LABELS = {
    "reading": _("reading the file"),
    "checking": _("checking rows"),
    "applying": _("applying rows"),
    "writing": _("writing"),
    "rebuilding": _("rebuilding"),
    "assessing": _("assessing the towns"),
    "done": _("done"),
}

KINDS = {k.name: k for k in (
    JobKind("import", _("Import"), _run_import, needs_file=True,
            stages={"reading": (0, 5), "checking": (5, 35), "applying": (35, 70), "writing": (70, 99)}),
    JobKind("rollups", _("Roll-up rebuild"), _run_rollups, stages={"rebuilding": (0, 99)}),
    JobKind("assessment", _("Assessment run"), _run_assessment, stages={"assessing": (0, 99)}),
)}


def get_kind(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}") from None
