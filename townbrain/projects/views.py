from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from townbrain.access.scoping import default_org
from townbrain.core import codes, exports, periods
from townbrain.core.conflicts import Conflict
from townbrain.core.forms import add_errors, show_conflict, towns_for
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows, scope_prefixes
from townbrain.core.views import breadcrumb, canonical_redirect, get_unit
from townbrain.programmes import services as programme_services
from townbrain.programmes.forms import TargetForm
from townbrain.programmes.models import Programme, Target

from . import latest, rollups, services, warnings
from .filters import ProjectFilterSet
from .forms import WARNING_KINDS, ProgressForm, ProjectForm, RollupForm, WarningForm, default_period
from .models import Project
from .schedule import curves_for, schedule_state

# Column priorities: on a phone the ledger shows what a town editor looks a project up by (code,
# name, status, progress); the rest appear from md (768 px) or lg (992 px) up, and every column is
# in the exports whatever the screen.
MD_UP, LG_UP = "d-none d-md-table-cell", "d-none d-lg-table-cell"
PROJECT_COLUMNS = [
    Column("code", gettext_lazy("Project code"), sort="code", link=True, url=lambda p: reverse("project-detail", args=[p.pk]),
           classes="text-nowrap"),
    Column("name", gettext_lazy("Project name"), sort="name", link=True, url=lambda p: reverse("project-detail", args=[p.pk])),
    Column("town.name", gettext_lazy("Town"), sort="town_id", classes=MD_UP),
    Column("programme.name", gettext_lazy("Programme"), classes=LG_UP),
    Column("category.name", gettext_lazy("Category"), classes=MD_UP),
    Column("status", gettext_lazy("Status"), sort="status"),
    Column("total_investment", gettext_lazy("Total investment (10k yuan)"), sort="total_investment",
           num_format='#,##0.00 "万元"', classes=f"text-end {LG_UP}"),
    Column("annual_plan", gettext_lazy("Annual plan (10k yuan)"), sort="annual_plan", num_format='#,##0.00 "万元"',
           classes=f"text-end {LG_UP}"),
    Column("cumulative_investment", gettext_lazy("Cumulative (10k yuan)"), sort="cumulative_investment",
           num_format='#,##0.00 "万元"', classes=f"text-end {MD_UP}"),
    Column("progress_percent", gettext_lazy("Progress (%)"), sort="progress_percent", num_format='0.0"%"',
           classes="text-end"),
    Column("planned_start", gettext_lazy("Planned start"), sort="planned_start", classes=LG_UP),
    Column("actual_start", gettext_lazy("Actual start"), sort="actual_start", classes=MD_UP),
]


class ProjectListView(LoginRequiredMixin, RestrictedListView):
    model = Project
    filterset_class = ProjectFilterSet
    columns = PROJECT_COLUMNS
    default_sort = "code"
    export_name = "projects"
    title = gettext_lazy("Projects")

    def base_queryset(self):
        return super().base_queryset().select_related("town", "programme", "category")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if scope_prefixes(self.request.user, "add"):  # a user who may add projects somewhere
            context.update(create_url="project-create", create_label=_("Add project"))
        return context


# --- a project's own fields: create and edit (every save through the service) -------------------------


@login_required
def project_create(request):
    if not scope_prefixes(request.user, "add"):
        raise PermissionDenied(_("You may not add projects."))
    towns = towns_for(request.user, "add")
    initial = {"programme": "meili"}
    if len(towns[:2]) == 1:  # a town's own office: its town
        initial["town"] = towns[0].code
    form = ProjectForm(request.POST or None, user=request.user, action="add", initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(request.user, **form.service_fields())
        except PermissionDenied as exc:
            form.add_error("town", str(exc))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Project %(code)s saved.") % {"code": project.code})
            return redirect("project-detail", pk=project.pk)
    return render(request, "projects/project_form.html", {"form": form, "title": _("Add project")})


@login_required
def project_edit(request, pk):
    """A project's own fields, with the version it was opened at: a save over someone else's newer
    one is refused, nothing saved, the page saying what changed (core/_conflict.html)."""
    project = get_object_or_404(Project.objects.restrict(request.user, "view")
                                .select_related("town", "programme", "category"), pk=pk)
    if not allows(request.user, "change", project.town_id):
        raise PermissionDenied(_("You may not change this project."))
    form = ProjectForm(request.POST or None, user=request.user, action="change", project=project,
                       initial=ProjectForm.initial_for(project))
    context = {"form": form, "project": project, "title": _("Edit project"),
               "breadcrumb": project.town.ancestors(), "unit": project.town}
    if request.method == "POST" and form.is_valid():
        try:
            services.update_project(request.user, project, expected_version=form.cleaned_data.get("version"),
                                    **form.service_fields())
        except Conflict as exc:
            context.update(show_conflict(form, exc))
        except PermissionDenied as exc:
            form.add_error("town", str(exc))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Project %(code)s saved.") % {"code": form.cleaned_data["code"]})
            return redirect("project-detail", pk=project.pk)
    return render(request, "projects/project_form.html", context)


def report_period(reports, today=None) -> str:
    """The month the report form offers: the one after the latest report, but not past last month
    (the month offices report on); last month when there is no report yet."""
    last_month = default_period(today)
    if not reports:
        return last_month
    year, month = periods.parse_month(reports[-1].period)
    following = periods.month_id(year + month // 12, month % 12 + 1)
    return min(following, last_month)


@login_required
def project_detail(request, pk):
    project = get_object_or_404(Project.objects.restrict(request.user, "view")
                                .select_related("town", "programme", "category"), pk=pk)
    can_report = allows(request.user, "change", project.town_id)
    reports = list(project.reports.order_by("period"))
    form = ProgressForm(request.POST or None, initial={"period": report_period(reports)})
    if request.method == "POST":
        if not can_report:
            raise PermissionDenied(_("You may not report for this project."))
        if form.is_valid():
            data = dict(form.cleaned_data)
            period = data.pop("period")
            try:
                services.report_progress(request.user, project, period, **data)
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                messages.success(request, _("Report for %(period)s saved.") % {"period": period})
                return redirect("project-detail", pk=project.pk)
    latest = reports[-1] if reports else None
    curve = curves_for([project.pk]).get(project.pk)  # the project's own plan curve, when it has one
    state = (schedule_state(project, periods.month_end(latest.period), latest.progress_percent, curve)
             if latest else None)
    chart = {"periods": [r.period for r in reports],
             "cumulative": [float(r.cumulative_investment) for r in reports],
             "progress": [float(r.progress_percent) for r in reports]}
    return render(request, "projects/project_detail.html", {
        "project": project, "reports": reports, "form": form, "can_report": can_report, "can_edit": can_report,
        "chart": chart,
        "state": state, "breadcrumb": project.town.ancestors(), "unit": project.town,
    })


# --- roll-ups (汇总) ----------------------------------------------------------------------------------

FIGURE_COLUMNS = [
    # (key, label, xlsx number format): the children table of the page and the export
    ("planned_to_start", gettext_lazy("Planned to start"), '#,##0 "个"'),
    ("started", gettext_lazy("Started"), '#,##0 "个"'),
    ("start_rate", gettext_lazy("Start rate (%)"), '0.0"%"'),
    ("investment_plan", gettext_lazy("Annual plan (10k yuan)"), '#,##0.00 "万元"'),
    ("investment_done", gettext_lazy("Cumulative (10k yuan)"), '#,##0.00 "万元"'),
    ("investment_rate", gettext_lazy("Investment rate (%)"), '0.0"%"'),
    ("laggards", gettext_lazy("Laggards"), '#,##0 "个"'),
]


def _url(name, params: dict, *args) -> str:
    return f"{reverse(name, args=args)}?{urlencode(params)}"


def _export_figures(fmt: str, filename: str, rows: list[dict], due=None):
    """The figures per unit; with `due`, the month's reporting deadline and the days left on each row."""
    if fmt not in exports.FORMATS:
        raise Http404(_("Unknown export format."))
    headers = [str(_("Division code")), str(_("Name"))] + [str(label) for _k, label, _f in FIGURE_COLUMNS]
    keys = ["code", "name"] + [k for k, _l, _f in FIGURE_COLUMNS]
    if due is not None:
        headers += [str(_("Reports due")), str(_("Days left"))]
        keys += ["due", "days_left"]
        extra = {"due": due, "days_left": (due - timezone.localdate()).days}
        rows = [{**r, **extra} for r in rows]
    kw = {"num_formats": {i + 2: f for i, (_k, _l, f) in enumerate(FIGURE_COLUMNS)}} if fmt == "xlsx" else {}
    return exports.response(fmt, filename, headers, keys, ([r.get(k) for k in keys] for r in rows), **kw)


def with_latest_period(request):
    """The page's query with the programme and month filled in where missing: the programme with the
    most projects in the unit and the latest month holding data there (`latest.py`), never an empty
    calendar month (the demo is of 2020). What the user typed is left as it is."""
    data = request.GET.copy()
    if data.get("programme", "").strip() and data.get("period", "").strip():
        return data
    try:
        code = codes.normalize(data.get("org", "").strip() or default_org(request.user))
    except codes.InvalidCode:
        return data  # the form says what is wrong with the code
    org = OrgUnit.objects.restrict(request.user, "view").filter(code=code).first()
    if org is None:
        return data
    if data.get("programme", "").strip():
        programme = Programme.objects.filter(code=data["programme"].strip()).first()
    else:
        programme = latest.default_programme(request.user, org)
        if programme is not None:
            data["programme"] = programme.code
    if not data.get("period", "").strip() and programme is not None:
        data["period"] = latest.latest_period(request.user, org, programme, today=timezone.localdate())
    return data


@login_required
@require_safe
def rollup_page(request):
    """Live roll-up of one org unit, month and programme (optionally one category, role, batch), per child unit."""
    form = RollupForm(with_latest_period(request), user=request.user)
    context = {"form": form}
    if form.is_valid():
        d = form.cleaned_data
        org = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=d["org"])
        figures = rollups.compute(request.user, org, d["period"], d["programme"], **d["dims"])
        children = []
        for child in figures.get("children", []):
            row = dict(child)
            row["href"] = _url("rollup-page", form.params(org=child["code"]))
            if len(child["code"]) == codes.LEVEL_LENGTHS["town"]:
                row["projects_href"] = _url("project-list", _project_params(form, child["code"]))
            children.append(row)
        fmt = request.GET.get("export")
        if fmt:
            total = {**figures, "code": org.code, "name": _("%(name)s (total)") % {"name": org.name}}
            return _export_figures(fmt, f"rollup-{org.code}-{d['period']}", [*children, total],
                                   due=warnings.report_deadline(d["period"], d["programme"]))
        ancestors = []
        for a in org.ancestors():
            if allows(request.user, "view", a.code):
                a.href = _url("rollup-page", form.params(org=a.code))
            ancestors.append(a)
        context.update({
            "org": org, "figures": figures, "children": children, "ancestors": ancestors,
            "is_town": org.level == Level.TOWN,
            "projects_href": _url("project-list", _project_params(form, org.code)),
            "warnings_href": _url("warning-list", {k: v for k, v in form.params().items()
                                                   if k in ("org", "period", "programme")}),
            "columns": FIGURE_COLUMNS,
            # KPI cards show whole 万元; the table and the exports keep the cents.
            "kpi_money": {k: Decimal(figures[k]).quantize(Decimal(1)) for k in ("investment_plan", "investment_done")},
            "chart": {"names": [c["name"] for c in children], "links": [c["href"] for c in children],
                      "start_rate": [c["start_rate"] for c in children],
                      "investment_rate": [c["investment_rate"] for c in children],
                      "labels": [str(_("Start rate (%)")), str(_("Investment rate (%)"))]},
        })
    return render(request, "projects/rollup.html", context)


def _project_params(form, code: str) -> dict:
    """The project list filtered to what a roll-up row counts: the unit's towns, the programme, the dimensions."""
    params = {k: v for k, v in form.params().items() if k in ("programme", "category", "role", "batch")}
    key = "town" if len(code) == codes.LEVEL_LENGTHS["town"] else "under"
    return {key: code, **params}


# --- warnings (预警) ----------------------------------------------------------------------------------

WARNING_EXPORT = [
    ("kind_label", gettext_lazy("Kind")),
    ("town", gettext_lazy("Division code")),
    ("town_name", gettext_lazy("Town")),
    ("project_code", gettext_lazy("Project code")),
    ("project_name", gettext_lazy("Project name")),
    ("message", gettext_lazy("Warning")),
    ("due", gettext_lazy("Reports due")),  # the month's reporting deadline, the same on every row
]


@login_required
@require_safe
def warning_list(request):
    """Missing monthly reports, projects not started, projects behind plan — for an org unit, month, programme."""
    form = WarningForm(with_latest_period(request), user=request.user)
    context = {"form": form}
    if form.is_valid():
        d = form.cleaned_data
        org = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=d["org"])
        kinds = d["kind"] or list(warnings.KINDS)
        rows = warnings.compute(request.user, org, d["period"], d["programme"], kinds=kinds)
        for row in rows:
            row["kind_label"] = WARNING_KINDS.get(row["kind"], row["kind"])
            row["town_href"] = reverse("orgunit-detail", args=[row["town"]])
            row["project_href"] = reverse("project-detail", args=[row["project"]]) if row.get("project") else None
        fmt = request.GET.get("export")
        if fmt:
            if fmt not in exports.FORMATS:
                raise Http404(_("Unknown export format."))
            keys = [k for k, _l in WARNING_EXPORT]
            due = warnings.report_deadline(d["period"], d.get("programme"))
            return exports.response(fmt, f"warnings-{org.code}-{d['period']}", [str(label) for _k, label in WARNING_EXPORT],
                                    keys, ([due if k == "due" else r.get(k) for k in keys] for r in rows))
        counts = {kind: 0 for kind in warnings.KINDS}
        for row in rows:
            counts[row["kind"]] = counts.get(row["kind"], 0) + 1
        context.update({
            "org": org, "rows": rows, "page": Paginator(rows, 100).get_page(request.GET.get("page")),
            "counts": [(kind, WARNING_KINDS[kind], counts[kind]) for kind in warnings.KINDS if kind in kinds],
            "deadline": warnings.report_deadline(d["period"], d.get("programme")),
            "rollup_href": _url("rollup-page", form.params()),
        })
    return render(request, "projects/warning_list.html", context)


# --- targets of an org unit, actual against target (目标) ---------------------------------------------

# Investment targets take their actual from the roll-up's cumulative investment (万元) while
# nobody has entered one; the factor turns 万元 into the target's unit.
INVESTMENT_MEASURE = "investment"
FROM_WAN_YUAN = {"": Decimal(1), "万元": Decimal(1), "亿元": Decimal("0.0001"), "元": Decimal(10000)}


def _rollup_period(year: int, today) -> str | None:
    """The month whose roll-up stands for a year's actual: December of a past year, last month of this one."""
    if year < today.year:
        return periods.month_id(year, 12)
    last = default_period(today)
    return last if last.startswith(str(year)) else None


def target_rows(user, unit, targets, today=None) -> list[dict]:
    today = today or timezone.localdate()
    cache: dict[tuple, dict] = {}
    rows = []
    for t in targets:
        actual, source_period = t.actual_value, None
        factor = FROM_WAN_YUAN.get(t.unit.strip())
        if actual is None and t.measure == INVESTMENT_MEASURE and factor is not None:
            period = _rollup_period(t.year, today)
            if period:
                key = (t.programme_id, period)
                if key not in cache:
                    cache[key] = rollups.compute(user, unit, period, t.programme)
                actual = (Decimal(cache[key]["investment_done"]) * factor).quantize(Decimal("0.01"))
                source_period = period
        gap = None
        if t.target_value is not None and actual is not None:
            gap = max(t.target_value - actual, Decimal(0))
        share = None
        if t.target_value and actual is not None:
            share = min(100, round(float(actual) * 100 / float(t.target_value), 1))
        rows.append({"target": t, "actual": actual, "from_rollup": source_period, "gap": gap, "share": share,
                     "reached": (gap == 0) if gap is not None else bool(t.actual_text and t.target_text
                                                                         and t.actual_text == t.target_text)})
    return rows


@login_required
def orgunit_targets(request, code):
    """An org unit's targets, actual against target with the gap; editors add or replace targets here."""
    if moved := canonical_redirect(request, "orgunit-targets", code):
        return moved
    unit = get_unit(request, code)
    can_change = allows(request.user, "change", unit.code)
    today = timezone.localdate()
    form = TargetForm(request.POST or None, initial={"year": today.year,
                                                     "programme": Programme.objects.filter(code="meili").first()})
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied(_("You may not change the targets of this org unit."))
        if form.is_valid():
            d = dict(form.cleaned_data)
            try:
                target = programme_services.set_target(request.user, unit, d.pop("programme"), d.pop("year"),
                                                       d.pop("measure"), **d)
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                messages.success(request, _("Target “%(label)s” saved.") % {"label": target.label})
                return redirect("orgunit-targets", code=unit.code)
    targets = (Target.objects.restrict(request.user, "view").filter(org_unit=unit).select_related("programme")
               .order_by("-year", "programme_id", "measure"))
    year = request.GET.get("year", "")
    if year.isdigit():
        targets = targets.filter(year=int(year))
    rows = target_rows(request.user, unit, targets, today)
    return render(request, "programmes/orgunit_targets.html", {
        "unit": unit, "breadcrumb": breadcrumb(request, unit), "rows": rows, "form": form, "can_change": can_change,
        "year": year, "rollup_href": _url("rollup-page", {"org": unit.code}),
    })
