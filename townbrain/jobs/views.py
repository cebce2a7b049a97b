"""Job pages: /jobs/ (yours, and your area's for an office administrator), /jobs/<id>/ with a progress
bar that htmx refreshes while the job is queued or running (/jobs/<id>/status/), cancel and retry;
/jobs/<id>/file/ (the file a briefing job made); a system administrator's buttons to rebuild the roll-ups
and to load the demo."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from townbrain.core.scope import ALL, scope_prefixes

from . import services
from .kinds import KINDS, STAGE_LABELS, demo_job
from .models import Job, JobFile

REFRESH_SECONDS = 2


def _view(job: Job, user=None) -> dict:
    st = services.status(job)
    kind = KINDS.get(job.kind)
    return {"job": job, "st": st, "kind_label": kind.label if kind else job.kind,
            "stage_label": STAGE_LABELS.get(st["stage"], st["stage"]), "error": services.error_text(st["error"]),
            "active": st["state"] in (Job.State.QUEUED, Job.State.RUNNING),
            "state_label": Job.State(st["state"]).label, "refresh_seconds": REFRESH_SECONDS,
            "has_file": st["state"] == Job.State.DONE and JobFile.objects.filter(job_id=job.pk).exists(),
            "download": user is not None and st["state"] == Job.State.DONE and services.may_download(user, job)}


@login_required
def job_list(request):
    jobs = services.visible_jobs(request.user).select_related(None).defer("result", "params")
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    rows = [{"job": job, "st": (st := services.status(job)), "state_label": Job.State(st["state"]).label,
             "kind_label": KINDS[job.kind].label if job.kind in KINDS else job.kind} for job in page.object_list]
    return render(request, "jobs/job_list.html", {"page": page, "rows": rows,
                                                  "may_rebuild": scope_prefixes(request.user, "manage") is ALL,
                                                  "may_load_demo": _may_load_demo(request.user)})


def _job(request, pk) -> Job:
    return get_object_or_404(services.visible_jobs(request.user), pk=pk)


@login_required
def job_detail(request, pk):
    job = _job(request, pk)
    return render(request, "jobs/job_detail.html",
                  {**_view(job, request.user), "may_act": services.may_act(request.user, job)})


@login_required
def job_status(request, pk):
    """The part of the job's page that changes: htmx asks for it every few seconds while the job is open."""
    job = _job(request, pk)
    return render(request, "jobs/_status.html",
                  {**_view(job, request.user), "may_act": services.may_act(request.user, job)})


def _act(request, pk, step, done: str, level=messages.SUCCESS):
    """POST takes `step` (services.request_cancel or services.retry) on the job; GET shows the job."""
    job = _job(request, pk)
    if request.method != "POST":
        return job_detail(request, pk)
    try:
        step(request.user, job)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.add_message(request, level, done)
    return redirect("job-detail", pk=job.pk)


@login_required
def job_cancel(request, pk):
    return _act(request, pk, services.request_cancel,
                _("Cancelling: the job stops at its next chunk of rows and nothing it did is kept."), messages.INFO)


@login_required
def job_retry(request, pk):
    return _act(request, pk, services.retry, _("The job is queued again."))


@login_required
@require_POST
def rollups_rebuild(request):
    """Start a roll-up rebuild (system administrators: it recomputes every area's roll-ups)."""
    if scope_prefixes(request.user, "manage") is not ALL:
        raise PermissionDenied(_("Only a system administrator may rebuild the roll-ups."))
    job = services.enqueue(request.user, "rollups", {"programme": ""}, title=_("Roll-up rebuild"))
    return redirect("job-detail", pk=job.pk)


@login_required
@require_safe
def job_file(request, pk):
    """The file a finished job made (a briefing): for whoever sees the job and the area it is about."""
    job = _job(request, pk)
    kept = services.output(request.user, job)
    if kept is None:
        raise Http404(_("This job has no file to download."))
    return file_response(job, kept)


def file_response(job: Job, kept: JobFile) -> HttpResponse:
    content_type = (job.result or {}).get("content_type") or "application/octet-stream"
    resp = HttpResponse(bytes(kept.data), content_type=content_type)
    resp["Content-Disposition"] = content_disposition_header(True, kept.name)
    return resp


def _may_load_demo(user) -> bool:
    return settings.DEBUG and scope_prefixes(user, "manage") is ALL


@login_required
@require_POST
def demo_load(request):
    """Load the demo data in the background (system administrators, and only with TOWNBRAIN_DEBUG on)."""
    if not _may_load_demo(request.user):
        raise PermissionDenied(_("Only a system administrator may load the demo, and only with TOWNBRAIN_DEBUG on."))
    return redirect("job-detail", pk=demo_job(request.user).pk)
