from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import periods
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.scope import allows

from . import services
from .filters import ProjectFilterSet
from .forms import ProgressForm
from .models import Project
from .schedule import schedule_state

PROJECT_COLUMNS = [
    Column("code", gettext_lazy("Project code"), sort="code", link=True, url=lambda p: reverse("project-detail", args=[p.pk])),
    Column("name", gettext_lazy("Project name"), sort="name"),
    Column("town.name", gettext_lazy("Town"), sort="town_id"),
    Column("programme.name", gettext_lazy("Programme")),
    Column("category.name", gettext_lazy("Category")),
    Column("status", gettext_lazy("Status"), sort="status"),
    Column("total_investment", gettext_lazy("Total investment (10k yuan)"), sort="total_investment",
           num_format='#,##0.00 "万元"', classes="text-end"),
    Column("annual_plan", gettext_lazy("Annual plan (10k yuan)"), sort="annual_plan", num_format='#,##0.00 "万元"',
           classes="text-end"),
    Column("cumulative_investment", gettext_lazy("Cumulative (10k yuan)"), sort="cumulative_investment",
           num_format='#,##0.00 "万元"', classes="text-end"),
    Column("progress_percent", gettext_lazy("Progress (%)"), sort="progress_percent", num_format='0.0"%"',
           classes="text-end"),
    Column("planned_start", gettext_lazy("Planned start"), sort="planned_start"),
    Column("actual_start", gettext_lazy("Actual start"), sort="actual_start"),
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


@login_required
def project_detail(request, pk):
    project = get_object_or_404(Project.objects.restrict(request.user, "view")
                                .select_related("town", "programme", "category"), pk=pk)
    can_report = allows(request.user, "change", project.town_id)
    form = ProgressForm(request.POST or None)
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
    reports = list(project.reports.order_by("period"))
    latest = reports[-1] if reports else None
    state = schedule_state(project, periods.month_end(latest.period), latest.progress_percent) if latest else None
    chart = {"periods": [r.period for r in reports],
             "cumulative": [float(r.cumulative_investment) for r in reports],
             "progress": [float(r.progress_percent) for r in reports]}
    return render(request, "projects/project_detail.html", {
        "project": project, "reports": reports, "form": form, "can_report": can_report, "chart": chart,
        "state": state, "breadcrumb": project.town.ancestors(), "unit": project.town,
    })
