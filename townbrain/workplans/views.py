"""Work plan pages: the list of the plans of the user's area (filters, live progress, exports), the form for a new
plan, a plan's page (its items grouped by heading with their progress bars, deadlines and linked projects,
refreshed live; the forms to edit the plan and add items for those who may change it), and an item's page (edit,
link projects, delete)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.forms import add_errors
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.scope import ALL, allows, scope_prefixes
from townbrain.core.views import breadcrumb

from . import progress, services
from .filters import WorkPlanFilterSet
from .forms import ItemForm, NewPlanForm, PlanForm
from .models import WorkPlan, WorkPlanItem

REFRESH_SECONDS = 10  # as the cockpit: the plan page asks for its progress this often while open
PERCENT = '0.0 "%"'


class WorkPlanListView(LoginRequiredMixin, RestrictedListView):
    model = WorkPlan
    filterset_class = WorkPlanFilterSet
    default_sort = "org_unit_id"
    export_name = "work-plans"
    title = gettext_lazy("Work plans (一镇一方案、十个统筹)")
    create_url = "workplan-create"
    columns = [
        Column("title", gettext_lazy("Plan title"), sort="title", link=True),
        Column("org_unit.name", gettext_lazy("Org unit"), sort="org_unit_id"),
        Column("kind", gettext_lazy("Kind of plan"), sort="kind", classes="d-none d-md-table-cell"),
        Column("years", gettext_lazy("Years"), classes="d-none d-lg-table-cell"),
        Column("status", gettext_lazy("Status"), sort="status", classes="d-none d-lg-table-cell"),
        Column("items", gettext_lazy("Items"), getter=lambda p: p.figures.items, classes="text-end d-none d-md-table-cell"),
        Column("overdue", gettext_lazy("Overdue items"), getter=lambda p: p.figures.overdue_items,
               classes="text-end"),
        Column("start_rate", gettext_lazy("Start rate (%)"), getter=lambda p: p.figures.start_rate,
               num_format=PERCENT, classes="text-end d-none d-md-table-cell"),
        Column("progress", gettext_lazy("Plan progress (%)"), getter=lambda p: p.figures.progress, num_format=PERCENT,
               classes="text-end"),
    ]

    def base_queryset(self):
        return super().base_queryset().select_related("org_unit", "programme").with_progress()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not scope_prefixes(self.request.user, "add"):
            context["create_url"] = None
        return context


def _single_area(user) -> str:
    prefixes = scope_prefixes(user, "add")
    return next(iter(prefixes)) if prefixes is not ALL and len(prefixes) == 1 else ""


@login_required
def workplan_create(request):
    if not scope_prefixes(request.user, "add"):
        raise PermissionDenied(_("You may not add work plans."))
    form = NewPlanForm(request.POST or None, initial={"org_unit": _single_area(request.user)})
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.create_plan(request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("org_unit", str(exc))
        else:
            messages.success(request, _("Work plan created."))
            return redirect(plan)
    return render(request, "workplans/plan_form.html", {"form": form, "title": _("New work plan")})


def _visible(request, pk) -> WorkPlan:
    return get_object_or_404(WorkPlan.objects.restrict(request.user, "view").select_related("org_unit", "programme"),
                             pk=pk)


def _live(request, plan) -> dict:
    """The part of the plan page that refreshes: the plan's figures and its items grouped by heading."""
    items = list(plan.items.select_related("heading").prefetch_related(progress.linked_projects()))
    progress.attach_items(plan, items)
    groups = []
    for heading in plan.programme.categories.order_by("order", "id"):
        own = [i for i in items if i.heading_id == heading.pk]
        groups.append({"heading": heading, "items": own, "figures": plan.figures.headings.get(heading.pk)})
    return {"plan": plan, "groups": groups, "fingerprint": progress.fingerprint(plan, items),
            "can_change": allows(request.user, "change", plan.org_unit_id), "refresh_seconds": REFRESH_SECONDS}


@login_required
def workplan_detail(request, pk):
    plan = _visible(request, pk)
    user, code = request.user, plan.org_unit_id
    can_change, can_add, can_delete = (allows(user, a, code) for a in ("change", "add", "delete"))
    op = request.POST.get("op") if request.method == "POST" else None
    form = PlanForm(request.POST if op == "edit" else None, initial={
        "title": plan.title, "programme": plan.programme.code, "start_year": plan.start_year,
        "end_year": plan.end_year, "approved_on": plan.approved_on, "status": plan.status, "note": plan.note})
    item_form = ItemForm(plan, request.POST if op == "item" else None)
    if op == "delete":
        if not can_delete:
            raise PermissionDenied(_("You may not delete this work plan."))
        services.delete_plan(user, plan)
        messages.success(request, _("Work plan deleted."))
        return redirect("workplan-list")
    if op in ("edit", "item"):
        if not (can_change if op == "edit" else can_add):
            raise PermissionDenied(_("You may not change this work plan."))
        target = form if op == "edit" else item_form
        if target.is_valid():
            try:
                if op == "edit":
                    services.update_plan(user, plan, **form.cleaned_data)
                else:
                    services.add_item(user, plan, **item_form.cleaned_data)
            except ValidationError as exc:
                add_errors(target, exc)
            except PermissionDenied as exc:
                target.add_error(None, str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect(plan)
    context = {
        **_live(request, plan), "title": plan.title, "unit": plan.org_unit, "breadcrumb": breadcrumb(request, plan.org_unit),
        "form": form, "item_form": item_form, "can_add": can_add, "can_delete": can_delete,
        "history_url": reverse("object-history", args=["workplan", plan.pk]),
    }
    return render(request, "workplans/plan_detail.html", context)


@login_required
def workplan_progress(request, pk):
    """The plan's figures and items alone, for the live refresh: 204 when they are the ones the page shows."""
    plan = _visible(request, pk)
    context = _live(request, plan)
    if request.GET.get("since") == context["fingerprint"]:
        return HttpResponse(status=204)
    return render(request, "workplans/_live.html", context)


@login_required
def workplan_item_edit(request, pk):
    """An item: its heading, goal, deadline, responsible unit and linked projects; read-only without "change"."""
    item = get_object_or_404(WorkPlanItem.objects.restrict(request.user, "view")
                             .select_related("plan__org_unit", "plan__programme", "heading"), pk=pk)
    plan = item.plan
    can_change = allows(request.user, "change", plan.org_unit_id)
    can_delete = allows(request.user, "delete", plan.org_unit_id)
    op = request.POST.get("op") if request.method == "POST" else None
    if op == "delete":
        if not can_delete:
            raise PermissionDenied(_("You may not delete this item."))
        services.delete_item(request.user, item)
        messages.success(request, _("Item deleted."))
        return redirect(plan)
    if op is not None and not can_change:
        raise PermissionDenied(_("You may not change this work plan."))
    form = ItemForm(plan, request.POST if op == "edit" else None, initial={
        "heading": item.heading_id, "goal": item.goal, "deadline": item.deadline, "owner": item.owner,
        "projects": [p.pk for p in item.projects.all()]})
    if op == "edit" and form.is_valid():
        try:
            services.update_item(request.user, item, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Saved."))
            return redirect(plan)
    return render(request, "workplans/item_form.html", {
        "item": item, "plan": plan, "form": form, "can_change": can_change, "can_delete": can_delete,
        "title": _("Work plan item"), "unit": plan.org_unit, "breadcrumb": breadcrumb(request, plan.org_unit),
        "history_url": reverse("object-history", args=["workplanitem", item.pk]),
    })
