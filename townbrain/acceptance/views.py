"""Pages: the scoped list of acceptances (counts by stage, exports), one acceptance, opening acceptances."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from townbrain.core.conflicts import Conflict
from townbrain.core.forms import add_errors
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.views import breadcrumb

from . import evidence as evidence_files
from . import services
from .filters import AcceptanceFilterSet
from .forms import AnswerForm, CommentForm, EvidenceForm, OpenForm, SignOffForm, VerdictForm
from .models import Acceptance, ChecklistItem, Evidence, Stage

COLUMNS = [
    Column("town.name", gettext_lazy("Town"), sort="town__name", link=True),
    Column("town_id", gettext_lazy("Division code"), sort="town_id"),
    Column("programme.name", gettext_lazy("Programme"), sort="programme_id"),
    Column("year", gettext_lazy("Year"), sort="year", num_format="0"),
    Column("stage", gettext_lazy("Stage"), sort="stage"),
    Column("outcome", gettext_lazy("Outcome"), sort="outcome"),
    Column("scheme.code", gettext_lazy("Scheme")),
    Column("updated", gettext_lazy("Updated"), sort="updated"),
]


class AcceptanceListView(LoginRequiredMixin, RestrictedListView):
    model = Acceptance
    filterset_class = AcceptanceFilterSet
    columns = COLUMNS
    default_sort = "town_id"
    export_name = "acceptances"
    title = gettext_lazy("Acceptances (省级验收)")
    create_url = "acceptance-open"
    template_name = "acceptance/acceptance_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("town", "programme", "scheme")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Counts by stage over the same filters, the stage filter left out (so every stage shows its count).
        data = self.request.GET.copy()
        data.pop("stage", None)
        filterset = self.filterset_class(data or None, queryset=self.base_queryset(), request=self.request)
        qs = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
        counts = dict(qs.order_by().values_list("stage").annotate(n=Count("id")))
        context["stage_counts"] = [{"stage": value, "label": label, "count": counts.get(value, 0),
                                    "query": _with(self.request.GET, stage=value)} for value, label in Stage.choices]
        context["stage_total"] = sum(counts.values())
        return context


def _with(query, **changes) -> str:
    q = query.copy()
    for key, value in changes.items():
        q[key] = value
    q.pop("page", None)
    return q.urlencode()


@login_required
@require_http_methods(["GET", "POST"])
def acceptance_open(request):
    """Open the acceptances of every enrolled town of an area (or one town) for a programme and year."""
    form = OpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            result = services.open_acceptances(request.user, d["programme"], d["year"], d["area"], d["scheme"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("%(opened)s acceptances opened, %(existing)s were open already.")
                             % {"opened": len(result["opened"]), "existing": result["existing"]})
            return redirect(f"{reverse('acceptance-list')}?programme={d['programme'].code}&year={d['year']}")
    return render(request, "acceptance/acceptance_open.html", {"form": form})



def _message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(m for errors in exc.message_dict.values() for m in errors)
    return " ".join(exc.messages)


@login_required
@require_http_methods(["GET", "POST"])
def acceptance_detail(request, pk):
    acceptance = get_object_or_404(Acceptance.objects.restrict(request.user, "view")
                                   .select_related("town", "programme", "scheme"), pk=pk)
    actions = services.available_actions(request.user, acceptance)
    if request.method == "POST":
        if not actions:
            if acceptance.frozen:
                messages.error(request, _("This acceptance is signed off and frozen: it can no longer be changed."))
                return redirect(acceptance)
            raise PermissionDenied(_("You may not act on this acceptance at its stage."))
        try:
            done = _post(request, acceptance)
        except Conflict as exc:  # nothing saved: say what changed, and to what
            theirs = "; ".join(f"{label}: {value}" for label, value in exc.theirs())
            messages.warning(request, f"{exc.messages[0]} {theirs}".strip())
        except ValidationError as exc:
            messages.error(request, _message(exc))
        else:
            if done:
                messages.success(request, done)
        return redirect(acceptance)
    items = list(acceptance.items.prefetch_related("evidence"))
    groups = [(label, [i for i in items if i.group == value]) for value, label in ChecklistItem.Group.choices]
    return render(request, "acceptance/acceptance_detail.html", {
        "acceptance": acceptance, "groups": [(label, rows) for label, rows in groups if rows],
        "evidence": list(acceptance.evidence.select_related("item")),
        "steps": list(acceptance.steps.all()),
        "actions": actions, "answers": ChecklistItem.Answer.choices, "verdicts": ChecklistItem.Verdict.choices,
        "comment_form": CommentForm(), "sign_off_form": SignOffForm(grades=acceptance.grade_names),
        "evidence_form": EvidenceForm(), "acting_code": services.acting_code(acceptance),
        "unit": acceptance.town, "breadcrumb": breadcrumb(request, acceptance.town),
        "unanswered": sum(1 for i in items if not i.answer),
    })


def _item(acceptance, request):
    try:
        return acceptance.items.get(pk=int(request.POST.get("item", "")))
    except (ValueError, ChecklistItem.DoesNotExist):
        raise ValidationError(_("No such checklist item in this acceptance.")) from None


def _post(request, acceptance) -> str:
    """Run the operation the page posted (`op`) at the acceptance's version the page showed; the success message."""
    op, user = request.POST.get("op"), request.user
    v = {"expected_version": request.POST.get("version") or None}
    if op == "answer":
        form = AnswerForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Choose met, not met or not applicable."))
        services.self_assess_item(user, _item(acceptance, request), **form.cleaned_data, **v)
        return _("Saved.")
    if op == "verdict":
        form = VerdictForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Choose agreed or not agreed."))
        d = form.cleaned_data
        services.review_item(user, _item(acceptance, request), d["verdict"], d["verdict_note"], **v)
        return _("Saved.")
    if op == "evidence":
        item = _item(acceptance, request) if request.POST.get("item") else None
        evidence = services.add_evidence(user, acceptance, request.FILES.get("file"), item, **v)
        return _("%(name)s uploaded.") % {"name": evidence.original_name}
    if op == "remove_evidence":
        evidence = get_object_or_404(acceptance.evidence.all(), pk=request.POST.get("evidence") or 0)
        services.remove_evidence(user, evidence, **v)
        return _("%(name)s removed.") % {"name": evidence.original_name}
    comment = request.POST.get("comment", "")
    if op == "refresh":
        services.refresh_values(user, acceptance, **v)
        return _("Values read again from the indicators.")
    if op == "submit":
        services.submit(user, acceptance, comment, **v)
        return _("Submitted to the county.")
    if op == "approve":
        acceptance = services.approve(user, acceptance, comment, **v)
        return _("Approved: now at “%(stage)s”.") % {"stage": acceptance.get_stage_display()}
    if op == "return":
        services.return_for_correction(user, acceptance, comment, **v)
        return _("Returned to the town for correction.")
    if op == "sign_off":
        services.sign_off(user, acceptance, request.POST.get("outcome", ""), comment, **v)
        return _("Signed off; the acceptance is frozen.")
    raise ValidationError(_("Unknown operation."))


@login_required
@require_safe
def evidence_file(request, pk):
    """An evidence file, only for users who see its acceptance (never served as public media)."""
    evidence = get_object_or_404(Evidence.objects.restrict(request.user, "view"), pk=pk)
    return evidence_files.serve(evidence, attachment=request.GET.get("download") in ("1", "true"))
