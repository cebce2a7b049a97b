"""Pages for targets, enrolments and (for system administrators) the programmes themselves."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.forms import add_errors
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import allows, scope_prefixes
from townbrain.core.views import breadcrumb

from . import services
from .filters import EnrolmentFilterSet, TargetFilterSet
from .forms import (
    BatchForm,
    CategoryForm,
    EnrolmentCreateForm,
    EnrolmentValuesForm,
    ProgrammeCreateForm,
    ProgrammeEditForm,
    RoleForm,
    TargetValuesForm,
    enrolment_initial,
)
from .models import Enrolment, Programme, Target

VALUE_FORMAT = "#,##0.00"



# --- targets ----------------------------------------------------------------------------------------

TARGET_COLUMNS = [
    Column("org_unit.name", gettext_lazy("Org unit"), sort="org_unit_id", link=True,
           url=lambda t: reverse("target-detail", args=[t.pk])),
    Column("org_unit_id", gettext_lazy("Division code"), sort="org_unit_id"),
    Column("programme.name", gettext_lazy("Programme"), sort="programme_id"),
    Column("year", gettext_lazy("Year"), sort="year", num_format="0"),
    Column("label", gettext_lazy("Target"), sort="label"),
    Column("target_value", gettext_lazy("Target value"), sort="target_value", num_format=VALUE_FORMAT,
           classes="text-end"),
    Column("actual_value", gettext_lazy("Actual value"), sort="actual_value", num_format=VALUE_FORMAT,
           classes="text-end"),
    Column("gap", gettext_lazy("Gap"), num_format=VALUE_FORMAT, classes="text-end"),
    Column("unit", gettext_lazy("Unit")),
    Column("target_text", gettext_lazy("Named target")),
    Column("actual_text", gettext_lazy("Named status reached")),
]


class TargetListView(LoginRequiredMixin, RestrictedListView):
    model = Target
    filterset_class = TargetFilterSet
    columns = TARGET_COLUMNS
    default_sort = "org_unit_id"
    export_name = "targets"
    title = gettext_lazy("Targets")

    def base_queryset(self):
        return super().base_queryset().select_related("org_unit", "programme")


@login_required
def target_detail(request, pk):
    target = get_object_or_404(Target.objects.restrict(request.user, "view").select_related("org_unit", "programme"),
                               pk=pk)
    can_change = allows(request.user, "change", target.org_unit_id)
    form = TargetValuesForm(request.POST or None, instance=Target.objects.get(pk=target.pk))
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied(_("You may not change this target."))
        if form.is_valid():
            try:
                services.set_target(request.user, target.org_unit, target.programme, target.year, target.measure,
                                    **{f: form.cleaned_data[f] for f in form.fields})
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("target-detail", pk=target.pk)
    return render(request, "programmes/target_detail.html", {
        "target": target, "form": form, "can_change": can_change, "unit": target.org_unit,
        "breadcrumb": breadcrumb(request, target.org_unit),
    })


# --- enrolments -------------------------------------------------------------------------------------

ENROLMENT_COLUMNS = [
    Column("town.name", gettext_lazy("Town"), sort="town__name", link=True,
           url=lambda e: reverse("enrolment-detail", args=[e.pk])),
    Column("town_id", gettext_lazy("Division code"), sort="town_id"),
    Column("programme.name", gettext_lazy("Programme"), sort="programme_id"),
    Column("batch.name", gettext_lazy("Batch"), sort="batch__year"),
    Column("role.name", gettext_lazy("Role"), sort="role_id"),
    Column("year_joined", gettext_lazy("Year joined"), sort="year_joined", num_format="0"),
    Column("exit_year", gettext_lazy("Exit year"), sort="exit_year", num_format="0"),
]


class EnrolmentListView(LoginRequiredMixin, RestrictedListView):
    model = Enrolment
    filterset_class = EnrolmentFilterSet
    columns = ENROLMENT_COLUMNS
    default_sort = "town_id"
    export_name = "enrolments"
    title = gettext_lazy("Enrolments")

    def base_queryset(self):
        return super().base_queryset().select_related("town", "programme", "batch", "role")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        if scope_prefixes(self.request.user, "change"):
            ctx["create_url"] = "enrolment-create"
        return ctx


@login_required
def enrolment_create(request):
    if not scope_prefixes(request.user, "change"):
        raise PermissionDenied(_("You may not enrol towns."))
    form = EnrolmentCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        town = OrgUnit.objects.restrict(request.user, "view").filter(code=data["town"]).first()
        if town is None:
            form.add_error("town", _("There is no org unit %(code)s in your area.") % {"code": data["town"]})
        else:
            try:
                enrolment = services.enrol_town(request.user, town, data["programme"], year_joined=data["year_joined"],
                                                role=data["role"], batch=data["batch"], exit_year=data["exit_year"])
            except ValidationError as exc:
                add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("town", str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect("enrolment-detail", pk=enrolment.pk)
    return render(request, "programmes/enrolment_form.html", {"form": form, "title": _("Enrol a town")})


@login_required
def enrolment_detail(request, pk):
    enrolment = get_object_or_404(Enrolment.objects.restrict(request.user, "view")
                                  .select_related("town", "programme", "batch", "role"), pk=pk)
    can_change = allows(request.user, "change", enrolment.town_id)
    form = EnrolmentValuesForm(request.POST or None, initial=enrolment_initial(enrolment),
                               programme=enrolment.programme)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied(_("You may not change this enrolment."))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.enrol_town(request.user, enrolment.town, enrolment.programme, year_joined=data["year_joined"],
                                    role=data["role"], batch=data["batch"], exit_year=data["exit_year"])
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("enrolment-detail", pk=enrolment.pk)
    return render(request, "programmes/enrolment_detail.html", {
        "enrolment": enrolment, "form": form, "can_change": can_change, "unit": enrolment.town,
        "breadcrumb": breadcrumb(request, enrolment.town),
    })


# --- programmes (system administrators) ------------------------------------------------------------


def _require_system_admin(request):
    if not allows(request.user, "manage", ""):
        raise PermissionDenied(_("Only system administrators manage programmes."))


@login_required
def programme_list(request):
    _require_system_admin(request)
    programmes = Programme.objects.annotate(
        n_categories=Count("categories", distinct=True), n_roles=Count("roles", distinct=True),
        n_batches=Count("batches", distinct=True), n_enrolments=Count("enrolments", distinct=True),
    ).order_by("id")
    return render(request, "programmes/programme_list.html", {"programmes": programmes})


@login_required
def programme_create(request):
    _require_system_admin(request)
    form = ProgrammeCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            programme = services.create_programme(request.user, d["code"], d["name"], d["description"], d["active"],
                                                  categories=d["categories"], roles=d["roles"], batches=d["batches"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Programme %(name)s added.") % {"name": programme.name})
            return redirect("programme-detail", code=programme.code)
    return render(request, "programmes/programme_form.html", {"form": form})


PARTS = {
    "category": (CategoryForm, services.add_category, gettext_lazy("Category added.")),
    "role": (RoleForm, services.add_role, gettext_lazy("Role added.")),
    "batch": (BatchForm, services.add_batch, gettext_lazy("Batch added.")),
}


@login_required
def programme_detail(request, code):
    _require_system_admin(request)
    programme = get_object_or_404(Programme, code=code)
    forms = {"edit": ProgrammeEditForm(instance=Programme.objects.get(pk=programme.pk)),
             **{op: form_class(prefix=op) for op, (form_class, _add, _msg) in PARTS.items()}}
    if request.method == "POST":
        op = request.POST.get("op")
        if op == "edit":
            form = forms["edit"] = ProgrammeEditForm(request.POST, instance=Programme.objects.get(pk=programme.pk))
            if form.is_valid():
                try:
                    services.update_programme(request.user, programme, **{f: form.cleaned_data[f] for f in form.fields})
                except ValidationError as exc:
                    add_errors(form, exc)
                else:
                    messages.success(request, _("Saved."))
                    return redirect("programme-detail", code=programme.code)
        elif op in PARTS:
            form_class, add, done = PARTS[op]
            form = forms[op] = form_class(request.POST, prefix=op)
            if form.is_valid():
                try:
                    add(request.user, programme, **form.cleaned_data)
                except ValidationError as exc:
                    add_errors(form, exc)
                else:
                    messages.success(request, done)
                    return redirect("programme-detail", code=programme.code)
    return render(request, "programmes/programme_detail.html", {
        "programme": programme, "forms": forms,
        "enrolments": Enrolment.objects.filter(programme=programme).count(),
        # The five shipped programmes came with a data migration and have no audit rows.
        "has_history": AuditEntry.objects.filter(object_type="programme", object_id=str(programme.pk)).exists(),
    })
