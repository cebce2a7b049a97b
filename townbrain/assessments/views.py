"""Pages: schemes (read by all, edited by system administrators), runs, results with their breakdown."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from townbrain.core.conflicts import Conflict
from townbrain.core.forms import add_errors, show_conflict
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.scope import allows
from townbrain.core.views import breadcrumb
from townbrain.jobs.kinds import assessment_job, towns_to_assess

from . import breakdown, services
from . import spec as specs
from .filters import ResultFilterSet, RunFilterSet
from .forms import CriterionForm, RunForm, SchemeImportForm, WhatIfForm
from .models import Criterion, Result, Run, Scheme


def _is_scheme_admin(user) -> bool:
    return allows(user, "manage", "")


def distribution(grades: dict) -> str:
    return " / ".join(f"{n} {name}" for name, n in grades.items())


# --- schemes --------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def scheme_list(request):
    can_manage = _is_scheme_admin(request.user)
    form = SchemeImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied(_("Only system administrators may change assessment schemes."))
        if form.is_valid():
            try:
                scheme = services.import_scheme(request.user, form.cleaned_data["file"].read())
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Imported %(scheme)s.") % {"scheme": scheme})
                return redirect(scheme)
    schemes = Scheme.objects.restrict(request.user, "view").select_related("programme").order_by("programme_id", "code")
    return render(request, "assessments/scheme_list.html", {"schemes": schemes, "form": form, "can_manage": can_manage})


@login_required
@require_GET
def scheme_detail(request, code):
    scheme = get_object_or_404(Scheme.objects.restrict(request.user, "view").select_related("programme"), code=code)
    fmt = request.GET.get("export")
    if fmt in ("yaml", "json"):
        response = HttpResponse(services.export_scheme(scheme, fmt),
                                content_type=f"application/{fmt}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{scheme.code}-v{scheme.version}.{fmt}"'
        return response
    spec = specs.from_scheme(scheme, with_elements=False)
    ids = dict(scheme.criteria.values_list("code", "pk"))
    groups = [{"name": g["name"], "criteria": [{**c, "pk": ids.get(c["code"]), "rule": rule_text(c)}
                                               for c in g["criteria"]]} for g in spec["groups"]]
    return render(request, "assessments/scheme_detail.html", {
        "scheme": scheme, "spec": spec, "groups": groups, "max_score": specs.max_score(spec),
        "can_manage": _is_scheme_admin(request.user),
        "runs": Run.objects.restrict(request.user, "view").filter(scheme=scheme).defer("snapshot")[:20],
    })


def rule_text(c: dict) -> str:
    """The scoring rule of a criterion in a few words (scheme page)."""
    method = c["method"]
    if method == "bands":
        return "; ".join(f"{breakdown.band_text(b)} → {breakdown.fmt(b['points'])}" for b in c["bands"])
    if method == "linear":
        return _("%(zero)s → 0, %(full)s → full") % {"zero": breakdown.fmt(c["zero_at"]), "full": breakdown.fmt(c["full_at"])}
    if method == "pass_fail":
        if c.get("threshold") is None:
            return _("yes → full, no → 0")
        return f"{c.get('op', '>=')} {breakdown.fmt(c['threshold'])}"
    if method == "deduction":
        return _("−%(per)s per occurrence, down to 0") % {"per": breakdown.fmt(c["per"])}
    return _("+%(per)s per unit, at most %(cap)s") % {"per": breakdown.fmt(c["per"]), "cap": breakdown.fmt(c["points"])}


@login_required
@require_http_methods(["GET", "POST"])
def scheme_copy(request, code):
    scheme = get_object_or_404(Scheme.objects.restrict(request.user, "view"), code=code)
    if not _is_scheme_admin(request.user):
        raise PermissionDenied(_("Only system administrators may change assessment schemes."))
    if request.method == "POST":
        draft = services.copy_scheme(request.user, scheme)
        messages.success(request, _("Draft %(code)s made: edit its criteria, then run a what-if.") % {"code": draft.code})
        return redirect(draft)
    return render(request, "assessments/scheme_copy.html", {"scheme": scheme})


@login_required
@require_http_methods(["GET", "POST"])
def criterion_edit(request, pk):
    criterion = get_object_or_404(Criterion.objects.select_related("scheme", "group"), pk=pk)
    if not _is_scheme_admin(request.user):
        raise PermissionDenied(_("Only system administrators may change assessment schemes."))
    scheme = criterion.scheme
    form = CriterionForm(request.POST or None, initial=CriterionForm.initial_for(criterion), grades=scheme.grades)
    context = {"form": form, "criterion": criterion, "scheme": scheme}
    if request.method == "POST" and form.is_valid():
        try:
            services.update_criterion(request.user, criterion, expected_version=form.cleaned_data.get("version"),
                                      **form.service_fields())
        except Conflict as exc:
            context.update(show_conflict(form, exc))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(scheme)
    return render(request, "assessments/criterion_form.html", context)


# --- runs ----------------------------------------------------------------------------------------------

def _grades_cell(run) -> str:
    return distribution(run.summary.get("grades", {}))


RUN_COLUMNS = [
    Column("pk", gettext_lazy("Run"), sort="id", link=True),
    Column("scheme.name", gettext_lazy("Scheme"), sort="scheme__code"),
    Column("scheme_version", gettext_lazy("Version"), num_format="0"),
    Column("year", gettext_lazy("Year"), sort="year", num_format="0"),
    Column("area_name", gettext_lazy("Area"), sort="area"),
    Column("kind", gettext_lazy("Kind"), sort="kind"),
    Column("frozen", gettext_lazy("Frozen"), sort="frozen"),
    Column("towns", gettext_lazy("Towns"), getter=lambda r: r.summary.get("towns"), num_format="#,##0",
           classes="text-end"),
    Column("grades", gettext_lazy("Grades"), getter=_grades_cell),
    Column("created", gettext_lazy("Created"), sort="created"),
    Column("created_by_name", gettext_lazy("Created by")),
]


class RunListView(LoginRequiredMixin, RestrictedListView):
    model = Run
    filterset_class = RunFilterSet
    columns = RUN_COLUMNS
    default_sort = "-created"
    export_name = "assessment-runs"
    title = gettext_lazy("Assessment runs")
    create_url = "assessment-run-create"

    def base_queryset(self):
        return super().base_queryset().select_related("scheme").defer("snapshot")


@login_required
@require_http_methods(["GET", "POST"])
def run_create(request):
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            # A run over many towns (a province's) is a background job (docs/jobs.md).
            if towns_to_assess(d["scheme"], d["year"], d["area"]) > settings.JOB_THRESHOLD_TOWNS:
                return redirect(assessment_job(request.user, d["scheme"], d["year"], d["area"] or None, note=d["note"]))
            run = services.start_run(request.user, d["scheme"], d["year"], d["area"] or None, note=d["note"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Run %(id)s: %(grades)s.") % {"id": run.pk, "grades": _grades_cell(run)})
            return redirect(run)
    return render(request, "assessments/run_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def run_detail(request, pk):
    run = get_object_or_404(Run.objects.restrict(request.user, "view").select_related("scheme", "programme"), pk=pk)
    can_manage = allows(request.user, "manage", run.area)
    what_if_form = WhatIfForm(request.POST if request.POST.get("op") == "what_if" else None, programme=run.programme)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied(_("You may not change runs of %(area)s.") % {"area": run.area_name})
        op = request.POST.get("op")
        if op == "freeze":
            services.freeze_run(request.user, run)
            messages.success(request, _("The run is frozen."))
            return redirect(run)
        if op == "delete":
            services.delete_run(request.user, run)
            messages.success(request, _("The run was deleted."))
            return redirect("assessment-run-list")
        if op == "what_if" and what_if_form.is_valid():
            try:
                trial, _comparison = services.what_if(request.user, run, scheme=what_if_form.cleaned_data["scheme"],
                                                      note=what_if_form.cleaned_data["note"])
            except ValidationError as exc:
                add_errors(what_if_form, exc)
            else:
                return redirect(f"{reverse('assessment-run-detail', args=[trial.pk])}?with={run.pk}")
    results = Result.objects.restrict(request.user, "view").filter(run=run).select_related("town")
    page = Paginator(results.order_by("rank", "town_id"), 100).get_page(request.GET.get("page"))
    comparison = None
    other_id = request.GET.get("with")
    if other_id and other_id.isdigit():
        other = get_object_or_404(Run.objects.restrict(request.user, "view"), pk=int(other_id))
        comparison = services.compare_runs(request.user, other, run)
    spec = run.snapshot
    return render(request, "assessments/run_detail.html", {
        "run": run, "page": page, "can_manage": can_manage, "what_if_form": what_if_form,
        "comparison": comparison,
        "grades": [(breakdown.grade_label(spec, name), n) for name, n in run.summary.get("grades", {}).items()],
        "what_ifs": Run.objects.restrict(request.user, "view").filter(based_on=run).defer("snapshot"),
    })


# --- results --------------------------------------------------------------------------------------------

RESULT_COLUMNS = [
    Column("town.name", gettext_lazy("Town"), sort="town__name", link=True),
    Column("town_id", gettext_lazy("Division code"), sort="town_id"),
    Column("run_id", gettext_lazy("Run"), sort="run_id", num_format="0"),
    Column("run.year", gettext_lazy("Year"), sort="run__year", num_format="0"),
    Column("score", gettext_lazy("Score"), sort="score", num_format="0.00", classes="text-end"),
    Column("grade", gettext_lazy("Grade"), sort="grade_index"),
    Column("rank", gettext_lazy("Rank"), sort="rank", num_format="0", classes="text-end"),
    Column("vetoes", gettext_lazy("Binding items failed"), getter=lambda r: ", ".join(r.vetoes)),
]


class ResultListView(LoginRequiredMixin, RestrictedListView):
    model = Result
    filterset_class = ResultFilterSet
    columns = RESULT_COLUMNS
    default_sort = "rank"
    export_name = "assessment-results"
    title = gettext_lazy("Assessment results")

    def base_queryset(self):
        return super().base_queryset().select_related("town", "run").defer("run__snapshot", "run__summary")


@login_required
@require_GET
def result_detail(request, pk):
    result = get_object_or_404(Result.objects.restrict(request.user, "view").select_related("town", "run"), pk=pk)
    spec = result.run.snapshot
    rows = breakdown.expand(spec, result.breakdown)
    groups: list[dict] = []
    for row in rows:
        if not groups or groups[-1]["name"] != row.get("group"):
            groups.append({"name": row.get("group"), "rows": [], "points": 0.0, "max": 0.0})
        groups[-1]["rows"].append(row)
        groups[-1]["points"] += row["points"] or 0
        if not row.get("bonus"):
            groups[-1]["max"] += row.get("max") or 0
    return render(request, "assessments/result_detail.html", {
        "result": result, "run": result.run, "groups": groups, "unit": result.town,
        "breadcrumb": breadcrumb(request, result.town),
        "grade": breakdown.grade_label(spec, result.grade), "max_score": result.run.summary.get("max_score"),
    })
