"""What each kind of job does. A kind's `run(job, actor, progress)` does its work inside the
transaction the worker opened (services.run_job), calls `progress(stage, done, total)` between chunks
(where a cancel request stops it), and returns a JSON-able result shown on the job's page.

Kinds so far: `import` (an import above TOWNBRAIN_JOB_THRESHOLD_ROWS rows, from the import page or
POST /api/imports/), `rollups` (rebuild the roll-up table), `assessment` (a run of the run form or of
POST /api/assessment-runs/ that scores more than TOWNBRAIN_JOB_THRESHOLD_TOWNS towns, e.g. a province's),
`briefing` (the briefing of an area of more than TOWNBRAIN_JOB_THRESHOLD_TOWNS towns: the file it makes is
kept with the job, jobs_jobfile) and `demo` (the demo load, by a system administrator)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class JobKind:
    name: str
    label: object
    run: Callable
    stages: dict = field(default_factory=dict)  # stage -> (percent at its start, percent at its end)
    needs_file: bool = False  # reads the uploaded file kept with the job (JobFile)
    makes_file: bool = False  # leaves its product in JobFile, downloaded from the job's page (services.output)


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


# --- briefings -----------------------------------------------------------------------------------------


def towns_in(code: str) -> int:
    """How many towns the area `code` holds (a briefing of more than TOWNBRAIN_JOB_THRESHOLD_TOWNS is a job)."""
    from townbrain.core.models import OrgUnit

    return OrgUnit.objects.filter(level="town", code__startswith=code).count()


def briefing_is_job(code: str) -> bool:
    return towns_in(code) > settings.JOB_THRESHOLD_TOWNS


def briefing_job(actor, cockpit, fmt: str):
    """Queue the briefing of `cockpit` (briefing.cockpit_for: the unit, programme and month already checked)
    as `fmt`, in the language of the request; an identical briefing of the same person still queued or running
    is answered instead of a second job (a double click, an API client asking again)."""
    from django.utils import translation

    from . import services
    from .models import Job

    params = {"org": cockpit.org.code, "programme": cockpit.programme.code if cockpit.programme else "",
              "period": cockpit.period or "", "format": fmt, "language": translation.get_language() or ""}
    if getattr(actor, "pk", None):
        for job in Job.objects.filter(kind="briefing", owner=actor, state__in=(Job.State.QUEUED, Job.State.RUNNING)):
            if all(job.params.get(k) == v for k, v in params.items()) and not services.is_dead(job):
                return job
    return services.enqueue(actor, "briefing", params, title=f"{cockpit.title} · {fmt.upper()}")


def _run_briefing(job, actor, progress):
    from django.utils import translation

    from townbrain.reports import briefing

    from .models import JobFile

    p = job.params
    progress("gathering", 0, 1)
    with translation.override(p.get("language") or None):
        # The unit is read again with the owner's rights of today (who may have lost the area meanwhile).
        cockpit = briefing.cockpit_for(actor, p["org"], p.get("programme") or None, p.get("period") or None)
        progress("rendering", 0, 1)
        data = briefing.render(cockpit, p["format"])
        name = briefing.filename(cockpit, p["format"])
    progress("rendering", 1, 1)
    JobFile.objects.update_or_create(job=job, defaults={"name": name[:255], "data": data})
    return {"file": name, "format": p["format"], "content_type": briefing.FORMATS[p["format"]], "size": len(data),
            "org": cockpit.org.code, "unit": cockpit.org.name,
            "programme": cockpit.programme.code if cockpit.programme else "", "period": cockpit.period or "",
            "period_label": str(cockpit.period_label)}


# --- the demo ----------------------------------------------------------------------------------------

# Seconds each step of the demo load took on SQLite (the bar's share of each stage), townbrain/demo.py STEPS.
DEMO_WEIGHTS = {"org tree": 7, "projects": 6, "reporting": 2, "assessments": 2, "rulebooks": 2, "experts": 3,
                "acceptances": 2, "events": 10, "deals": 1, "publicity": 1, "sensing": 1, "clusters": 1,
                "work plans": 1}

DEMO_LABELS = {"org tree": _("the org tree and users"), "projects": _("projects"), "reporting": _("reporting"),
               "assessments": _("assessments"), "rulebooks": _("rulebooks"), "experts": _("experts"),
               "acceptances": _("acceptances"), "events": _("events"), "deals": _("investment deals"),
               "publicity": _("publicity"), "sensing": _("sensing"), "clusters": _("clusters"),
               "work plans": _("work plans")}


def _demo_stages() -> dict:
    stages, start, total = {}, 0, sum(DEMO_WEIGHTS.values())
    for name, weight in DEMO_WEIGHTS.items():
        stages[name] = (round(99 * start / total), round(99 * (start + weight) / total))
        start += weight
    return stages


def _run_demo(job, actor, progress):
    from django.core.exceptions import PermissionDenied

    from townbrain.core.scope import ALL, scope_prefixes
    from townbrain.demo import load_demo

    if scope_prefixes(actor, "manage") is not ALL:
        raise PermissionDenied(_("Only a system administrator may load the demo."))
    if not settings.DEBUG:
        raise PermissionDenied(_("The demo refuses to load with TOWNBRAIN_DEBUG=0 (its passwords are public)."))
    current = {"stage": ""}

    def step(stage, index, count):
        current["stage"] = stage
        progress(stage, 0, 1)

    # The loaders' own reports (rows of one part of a step) only let a cancel be heard sooner.
    summary = load_demo(villages=job.params.get("villages", True), step=step,
                        progress=lambda label, done, total: progress(current["stage"], 0, 1))
    return {k: v for k, v in summary.items() if isinstance(v, (int, str))}


def demo_job(actor, *, villages: bool = True):
    from .services import enqueue

    return enqueue(actor, "demo", {"villages": bool(villages)}, title=str(_("Demo data")))


STAGE_LABELS = {
    "reading": _("reading the file"),
    "checking": _("checking rows"),
    "applying": _("applying rows"),
    "writing": _("writing"),
    "rebuilding": _("rebuilding"),
    "assessing": _("assessing the towns"),
    "gathering": _("gathering the figures"),
    "rendering": _("writing the file"),
    **{name: format_lazy("{}: {}", _("loading the demo"), label) for name, label in DEMO_LABELS.items()},
    "done": _("done"),
}

KINDS = {k.name: k for k in (
    JobKind("import", _("Import"), _run_import, needs_file=True,
            stages={"reading": (0, 5), "checking": (5, 35), "applying": (35, 70), "writing": (70, 99)}),
    JobKind("rollups", _("Roll-up rebuild"), _run_rollups, stages={"rebuilding": (0, 99)}),
    JobKind("assessment", _("Assessment run"), _run_assessment, stages={"assessing": (0, 99)}),
    JobKind("briefing", _("Briefing"), _run_briefing, makes_file=True,
            stages={"gathering": (0, 20), "rendering": (20, 99)}),
    JobKind("demo", _("Demo load"), _run_demo, stages=_demo_stages()),
)}


def get_kind(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}") from None
