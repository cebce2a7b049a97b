"""The import page: upload → dry-run plan with every error → apply → batch page with undo."""

import json
import uuid
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.scope import ALL, scope_prefixes

from . import history as import_history
from . import pipeline
from .api import check_upload, count_rows, import_job
from .errorfile import error_file
from .filters import ImportBatchFilterSet
from .forms import UploadForm
from .kinds import KINDS
from .models import ImportBatch
from .quality_views import QualityListView  # noqa: F401 (the data-quality list, routed with the import pages)


def _folder() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stash(user, data: bytes, name: str, kind: str, only_valid: bool) -> str:
    """Keep an upload between the plan and the apply step; only its owner (or a system admin) may use it."""
    token = uuid.uuid4().hex
    (_folder() / token).write_bytes(data)
    (_folder() / f"{token}.json").write_text(json.dumps(
        {"user": user.pk, "name": name, "kind": kind, "only_valid": only_valid}), encoding="utf-8")
    return token


def _stashed(request, token) -> tuple[dict, bytes]:
    if not token.isalnum():
        raise Http404
    meta, data = _folder() / f"{token}.json", _folder() / token
    if not meta.exists() or not data.exists():
        raise Http404(_("This upload has expired; upload the file again."))
    entry = json.loads(meta.read_text(encoding="utf-8"))
    if entry["user"] != request.user.pk and scope_prefixes(request.user, "manage") is not ALL:
        raise Http404(_("This upload has expired; upload the file again."))
    return entry, data.read_bytes()


class ImportListView(LoginRequiredMixin, RestrictedListView):
    model = ImportBatch
    filterset_class = ImportBatchFilterSet
    template_name = "exchange/import_list.html"
    columns = [
        Column("created", gettext_lazy("Time"), sort="created", link=True,
               url=lambda b: reverse("import-detail", args=[b.pk])),
        Column("kind", gettext_lazy("Kind")),
        Column("file_name", gettext_lazy("File name")),
        Column("actor_name", gettext_lazy("Imported by")),
        Column("counts", gettext_lazy("Counts")),
        Column("state", gettext_lazy("State")),
    ]
    default_sort = "-created"
    export_name = "imports"
    title = gettext_lazy("Imports")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["upload_form"] = UploadForm()
        ctx["kinds"] = KINDS.values()
        return ctx


@login_required
def import_upload(request):
    """POST an upload: keep it and show its plan."""
    if request.method != "POST":
        return redirect("import-list")
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        reason = check_upload(form.cleaned_data["file"])
        if reason:
            form.add_error("file", reason)
    if not form.is_valid():
        return render(request, "exchange/import_plan.html", {"form": form, "summary": None}, status=400)
    upload = form.cleaned_data["file"]
    data = upload.read()
    rows = count_rows(data, upload.name)
    if rows > settings.JOB_THRESHOLD_ROWS:
        # A large file is checked in the background: the job's page shows the plan, then offers to apply it.
        job = import_job(request.user, data, upload.name, form.cleaned_data["kind"], rows, dry_run=True,
                         only_valid=form.cleaned_data["only_valid"], keep_file=True)
        return redirect("job-detail", pk=job.pk)
    token = stash(request.user, data, upload.name, form.cleaned_data["kind"],
                  form.cleaned_data["only_valid"])
    return redirect("import-plan", token=token)


@login_required
def import_plan(request, token):
    """GET: the dry-run plan of a kept upload. POST: apply it."""
    entry, data = _stashed(request, token)
    if request.method == "POST":
        summary = pipeline.run_import(request.user, data, entry["name"], entry["kind"],
                                      only_valid=entry["only_valid"])
        if summary["id"]:
            messages.success(request, _("Imported: %(created)s created, %(updated)s updated, %(unchanged)s "
                                        "unchanged.") % summary["counts"])
            return redirect("import-detail", pk=summary["id"])
        if summary["status"] == "applied":
            messages.info(request, _("Nothing to change: every row is already stored as it is in the file."))
            return redirect("import-list")
        status = 400
    else:
        summary = pipeline.run_import(request.user, data, entry["name"], entry["kind"], dry_run=True)
        status = 200
    return render(request, "exchange/import_plan.html", {"form": UploadForm(), "summary": summary, "token": token,
                                                         "entry": entry}, status=status)


@login_required
def import_errors(request, token):
    """The user's own file with an added error column."""
    entry, data = _stashed(request, token)
    summary = pipeline.run_import(request.user, data, entry["name"], entry["kind"], dry_run=True)
    if summary["status"] == "unreadable":
        raise Http404(summary["errors"][0]["message"])
    content, name, content_type = error_file(data, entry["name"], entry["kind"], summary)
    resp = HttpResponse(content, content_type=content_type)
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return resp


@login_required
def import_job_errors(request, pk):
    """The user's own file, checked by a background job, with an added error column (while the file is kept)."""
    from townbrain.jobs.models import Job, JobFile
    from townbrain.jobs.services import visible_jobs

    checked = get_object_or_404(visible_jobs(request.user), pk=pk, kind="import", state=Job.State.DONE)
    stored = get_object_or_404(JobFile, job=checked)
    summary = checked.result or {}
    if not summary.get("errors") or summary.get("status") == "unreadable":
        raise Http404(_("This import has no rows with errors."))
    content, name, content_type = error_file(bytes(stored.data), stored.name, checked.params["kind"], summary)
    resp = HttpResponse(content, content_type=content_type)
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return resp


@login_required
def import_detail(request, pk):
    batch = get_object_or_404(ImportBatch.objects.restrict(request.user, "view"), pk=pk)
    if request.method == "POST":
        try:
            pipeline.undo_batch(request.user, batch)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The import has been undone."))
        return redirect("import-detail", pk=batch.pk)
    # The start of a large import: its first audit rows, a record or a few each.
    changes = import_history.changes(batch, pipeline.get_kind(batch.kind), limit=1000)[:500]
    return render(request, "exchange/import_detail.html", {"batch": batch, "changes": changes})


@login_required
def import_job_apply(request, pk):
    """POST: apply a large file whose check (a background job) is done, as a background job of its own."""
    from townbrain.jobs.models import Job, JobFile
    from townbrain.jobs.services import visible_jobs
    from townbrain.jobs.views import job_detail

    checked = get_object_or_404(visible_jobs(request.user), pk=pk, kind="import", state=Job.State.DONE)
    if request.method != "POST":
        return job_detail(request, checked.pk)
    params, summary = checked.params, checked.result or {}
    stored = JobFile.objects.filter(job=checked).first()
    usable = (params.get("dry_run") and stored is not None and summary.get("status") == "dry_run"
              and (not summary.get("errors") or params.get("only_valid")))
    if checked.owner_id != request.user.pk or not usable:
        messages.error(request, _("This check cannot be applied (already applied, or not yours); upload the file "
                                  "again."))
        return redirect("job-detail", pk=checked.pk)
    data, name = bytes(stored.data), stored.name
    with transaction.atomic():
        # The file moves to the applying job: whoever deletes it first applies (a second click finds none).
        if not JobFile.objects.filter(job=checked).delete()[0]:
            messages.error(request, _("This check cannot be applied (already applied, or not yours); upload the "
                                      "file again."))
            return redirect("job-detail", pk=checked.pk)
        job = import_job(request.user, data, name, params["kind"], checked.rows_total,
                         only_valid=params.get("only_valid", False))
    return redirect("job-detail", pk=job.pk)
