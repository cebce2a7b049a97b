"""The reporting cycle's pages: a county's period board (towns × status, bulk steps) and a town's
submit page (what is missing first, then the step buttons). Both read through restrict() and write
through services.take_steps()."""

from urllib.parse import urlencode

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from townbrain.access.scoping import default_org
from townbrain.core import codes, exports, periods
from townbrain.core.models import AuditEntry, Level, OrgUnit
from townbrain.core.scope import allows
from townbrain.programmes.models import Programme
from townbrain.projects.models import Project
from townbrain.projects.models import Status as ProjectStatus

from . import services, timeliness
from .deadlines import Deadlines
from .models import Kind, Status, Submission

BULK_STEPS = ("approve", "return", "lock", "unlock")


def _period(period: str) -> str:
    try:
        return services.clean_period(period)
    except ValidationError as exc:
        raise Http404(str(exc)) from exc


def _shift(period: str, months: int) -> str:
    y, m = periods.parse_month(period)
    m += months
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return periods.month_id(y, m)


def _messages_for(request, results, step):
    done = [r for r in results if not isinstance(r, Exception)]
    if done:
        messages.success(request, _("%(step)s: %(n)s town(s).") % {"step": services.step_label(step), "n": len(done)})
    for exc in (r for r in results if isinstance(r, Exception)):
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)


@login_required
def start(request):
    """/reporting/: the board of the user's area, its main programme, the latest month with data."""
    from townbrain.projects.latest import default_programme, latest_period

    org = OrgUnit.objects.restrict(request.user, "view").filter(code=default_org(request.user)).first()
    if org is None:
        raise Http404(_("You have no area."))
    programme = default_programme(request.user, org)
    if programme is None:
        raise Http404(_("No programme yet."))
    period = latest_period(request.user, org, programme)
    name = "reporting-town" if org.level == Level.TOWN else "reporting-board"
    return redirect(name, org.code, programme.code, period)


@login_required
def board(request, org, programme, period):
    """Towns × status for one period; an office above the towns approves, returns, locks many at once."""
    unit = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=org)
    prog = get_object_or_404(Programme, code=programme)
    period = _period(period)
    if request.method == "POST":
        step = request.POST.get("step", "")
        if step not in BULK_STEPS:
            raise Http404
        chosen = [c for c in request.POST.getlist("towns") if c.startswith(unit.code)]
        towns = list(OrgUnit.objects.restrict(request.user, "view").filter(code__in=chosen, level=Level.TOWN))
        if not towns:
            messages.error(request, _("Choose at least one town."))
        else:
            try:
                results = services.take_steps(request.user, towns, prog, period, step, request.POST.get("comment", ""))
            except (ValidationError, PermissionDenied) as exc:
                results = [exc]
            _messages_for(request, results, step)
        return redirect(request.get_full_path())
    rows = timeliness.rows(request.user, unit, prog, period)
    fmt = request.GET.get("export")
    if fmt in ("csv", "xlsx", "json"):
        headers = [str(h) for h in (_("Town code"), _("Town"), _("Status"), _("Deadline"), _("Days left"),
                                    _("Submitted at"), _("Working days late"), _("Approved by"), _("Comment"), _("Reports (个)"),
                                    _("Started projects without a report (个)"))]
        keys = ["town", "town_name", "status", "deadline", "days_left", "submitted_at", "late_days", "approved_level", "comment",
                "reports", "owing"]
        data = [[r.town.code, r.town.name, str(r.status_label), r.deadline, r.days_left,
                 timezone.localtime(r.submitted_at).strftime("%Y-%m-%d %H:%M") if r.submitted_at else "",
                 r.late_days, r.approved_level, r.comment, r.reports, r.owing] for r in rows]
        return exports.response(fmt, f"reporting-{unit.code}-{prog.code}-{period}", headers, keys, data)
    can_review = unit.level != Level.TOWN and allows(request.user, "change", unit.code) or (
        unit.level == Level.TOWN and allows(request.user, "change", codes.parent_of(unit.code) or unit.code))
    ranking = timeliness.ranking(request.user, unit, prog, period) if unit.level in (Level.PROVINCE, Level.CITY) else []
    return render(request, "reporting/board.html", {
        "org": unit, "programme": prog, "period": period, "rows": rows, "summary": timeliness.summary(rows),
        "ranking": ranking, "can_review": can_review, "programmes": Programme.objects.filter(active=True),
        "deadline": rows[0].deadline if rows else Deadlines().due(prog.pk, period),
        "prev": _shift(period, -1), "next": _shift(period, 1), "statuses": Status,
        "export": {f: f"?{urlencode({'export': f})}" for f in ("csv", "xlsx")},
    })


@login_required
def town_page(request, town, programme, period):
    """One town's period: what is missing first, then submit (the town) or review (the office above)."""
    unit = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=town, level=Level.TOWN)
    prog = get_object_or_404(Programme, code=programme)
    period = _period(period)
    if request.method == "POST":
        step = request.POST.get("step", "")
        try:
            services.take_step(request.user, unit, prog, period, step, request.POST.get("comment", ""))
            messages.success(request, _("%(step)s: done.") % {"step": services.step_label(step)})
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        return redirect("reporting-town", unit.code, prog.code, period)
    rows = timeliness.rows(request.user, unit, prog, period)
    row = rows[0] if rows else timeliness.Row(town=unit, status=Status.EMPTY,
                                              deadline=Deadlines().due(prog.pk, period))
    if not rows:
        row.days_left = (row.deadline - timezone.localdate()).days
    missing = (Project.objects.restrict(request.user, "view")
               .filter(town=unit, programme=prog, actual_start__lte=periods.month_end(period))
               .exclude(status__in=(ProjectStatus.COMPLETED, ProjectStatus.CANCELLED))
               .exclude(reports__period=period).order_by("code"))
    # The data-quality register is exchange's (a floor above); read by name, never imported.
    warning_model = apps.get_model("exchange", "DataWarning")
    warnings = (warning_model.objects.restrict(request.user, "view")
                .filter(town=unit, resolved_at__isnull=True).order_by("-first_seen")[:50])
    sub = Submission.objects.restrict(request.user, "view").filter(
        town=unit, programme=prog, kind=Kind.PROGRESS, period=period).first()
    history = (AuditEntry.objects.restrict(request.user, "view")
               .filter(object_type="submission", object_id=str(sub.pk)).order_by("-time")[:50]) if sub else []
    can_submit = allows(request.user, "change", unit.code) and row.status in (Status.EMPTY, Status.ENTERING,
                                                                               Status.RETURNED)
    can_review = allows(request.user, "change", codes.parent_of(unit.code))
    return render(request, "reporting/town.html", {
        "org": unit, "programme": prog, "period": period, "row": row, "missing": list(missing[:200]),
        "missing_count": missing.count(), "warnings": list(warnings), "history": history,
        "can_submit": can_submit, "can_review": can_review, "prev": _shift(period, -1), "next": _shift(period, 1),
        "board_url": reverse("reporting-board", args=[codes.parent_of(unit.code), prog.code, period])
        if allows(request.user, "view", codes.parent_of(unit.code)) else "",
    })
