from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.forms import add_errors
from townbrain.core.lists import Column, RestrictedListView, filtered
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import ALL, allows, is_office, scope_prefixes
from townbrain.core.views import breadcrumb

from . import services
from .filters import ActivityFilterSet, ExpertFilterSet, ProblemFilterSet
from .forms import (
    ActivityForm,
    ActivityTypeForm,
    AssignForm,
    ExpertForm,
    LoginCreateForm,
    LoginLinkForm,
    ProblemForm,
    ProblemStepForm,
)
from .models import (
    ACTIVITY_HEADERS,
    COUNT_FIELDS,
    OPEN_STATUSES,
    PROBLEM_HEADERS,
    PROBLEM_STATUS_CHINESE,
    ActivityType,
    Expert,
    ExpertActivity,
    ExpertAssignment,
    ExpertProblem,
    of_expert,
)
from .scoping import contact, current, expert_of, shows_contact


def _unit(user, code: str, field: str, form) -> OrgUnit | None:
    unit = OrgUnit.objects.restrict(user, "view").filter(code=code).first()
    if unit is None:
        form.add_error(field, _("There is no org unit %(code)s in your area.") % {"code": code})
    return unit


def _single_unit(user) -> str:
    """The user's unit when they work in exactly one (prefilled as the expert's managing office)."""
    prefixes = scope_prefixes(user, "add")
    return next(iter(prefixes)) if prefixes is not ALL and len(prefixes) == 1 else ""


def _single_town(user) -> str:
    """The user's town when they record in exactly one (prefilled on the activity form)."""
    prefixes = scope_prefixes(user, "record")
    code = next(iter(prefixes)) if prefixes is not ALL and len(prefixes) == 1 else ""
    return code if len(code) == 9 else ""


def _expert_towns(user):
    """An expert's towns to choose from on the activity form (None for an office: it types a code)."""
    if is_office(user):
        return None
    towns = OrgUnit.objects.restrict(user, "record").filter(level=Level.TOWN).order_by("code")
    return [(t.code, f"{t.name} {t.code}") for t in towns]


# --- the pool (一库) -------------------------------------------------------------------------------

def _expert_columns(user) -> list[Column]:
    """The pool's columns; phone and e-mail as `user` may read them (masked but for offices); exports leave
    them out unless an office asks (`?personal=1`, core/lists.py)."""
    return [
        Column("name", gettext_lazy("Name"), sort="name", link=True),
        Column("kind", gettext_lazy("Kind of expert"), sort="kind"),
        Column("employer", gettext_lazy("Employer / organisation"), sort="employer"),
        Column("phone", gettext_lazy("Phone"), getter=lambda e: contact(user, e)["phone"],
               classes="d-none d-lg-table-cell", personal=True),
        Column("email", gettext_lazy("E-mail"), getter=lambda e: contact(user, e)["email"],
               classes="d-none d-lg-table-cell", personal=True),
        Column("home.name", gettext_lazy("Managing office"), sort="home_id"),
        Column("active", gettext_lazy("Active"), sort="active"),
    ]


class ExpertListView(LoginRequiredMixin, RestrictedListView):
    model = Expert
    filterset_class = ExpertFilterSet
    columns = _expert_columns(None)
    default_sort = "name"
    export_name = "experts"
    personal_action = "contact"  # offices (scoping.shows_contact)
    title = gettext_lazy("Expert pool (一库三师)")
    create_url = "expert-create"
    template_name = "experts/expert_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("home")

    def get(self, request, *args, **kwargs):
        self.columns = _expert_columns(request.user)
        return super().get(request, *args, **kwargs)


def _expert_fields(form, user) -> dict | None:
    d = form.cleaned_data
    home = _unit(user, d["home"], "home", form)
    if home is None:
        return None
    return {"name": d["name"], "kind": d["kind"], "employer": d["employer"], "phone": d["phone"],
            "email": d["email"], "home": home, "active": d["active"]}


@login_required
def expert_create(request):
    if not scope_prefixes(request.user, "add"):
        raise PermissionDenied(_("You may not add experts."))
    form = ExpertForm(request.POST or None, initial={"active": True, "home": _single_unit(request.user)})
    if request.method == "POST" and form.is_valid():
        fields = _expert_fields(form, request.user)
        if fields is not None:
            try:
                expert = services.create_expert(request.user, **fields)
            except ValidationError as exc:
                add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("home", str(exc))
            else:
                messages.success(request, _("Expert %(name)s added.") % {"name": expert.name})
                return redirect(expert)
    return render(request, "experts/expert_form.html", {"form": form, "title": _("Add an expert")})


@login_required
def expert_edit(request, pk):
    expert = get_object_or_404(Expert.objects.restrict(request.user, "view").select_related("home"), pk=pk)
    if not allows(request.user, "change", expert.home_id):
        raise PermissionDenied(_("You may not change this expert."))
    initial = {"name": expert.name, "kind": expert.kind, "employer": expert.employer, "phone": expert.phone,
               "email": expert.email, "home": expert.home_id, "active": expert.active}
    form = ExpertForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = _expert_fields(form, request.user)
        if fields is not None:
            try:
                services.update_expert(request.user, expert, **fields)
            except ValidationError as exc:
                add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("home", str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect(expert)
    return render(request, "experts/expert_form.html", {"form": form, "expert": expert,
                                                        "title": _("Edit %(name)s") % {"name": expert.name}})


def _login_op(request, expert, op, create_form, link_form) -> bool:
    """Create, link or unlink the expert's login (office administrators of the expert's office); True when done."""
    User = get_user_model()
    try:
        if op == "login-create":
            if not create_form.is_valid():
                return False
            d = create_form.cleaned_data
            services.create_login(request.user, expert, d["username"], d["password"])
            messages.success(request, _("Login %(login)s created for %(name)s.") % {
                "login": d["username"], "name": expert.name})
        elif op == "login-link":
            if not link_form.is_valid():
                return False
            user = User.objects.filter(username=link_form.cleaned_data["username"].strip()).first()
            if user is None:
                link_form.add_error("username", _("There is no account with this user name."))
                return False
            services.link_login(request.user, expert, user)
            messages.success(request, _("Login %(login)s linked to %(name)s.") % {
                "login": user.username, "name": expert.name})
        else:
            services.unlink_login(request.user, expert)
            messages.success(request, _("Login unlinked from %(name)s.") % {"name": expert.name})
    except ValidationError as exc:
        if op == "login-create":
            add_errors(create_form, exc, fallback="password")  # the password validators name no field
        else:
            add_errors(link_form, exc, fallback="username")
        return False
    except PermissionDenied as exc:
        (create_form if op == "login-create" else link_form).add_error(None, str(exc))
        return False
    return True


@login_required
def expert_detail(request, pk):
    """An expert's record, their assignments to towns (assign / end / remove), their login and their activities."""
    expert = get_object_or_404(Expert.objects.restrict(request.user, "view").select_related("home", "user"), pk=pk)
    assignments = ExpertAssignment.objects.restrict(request.user, "view").filter(expert=expert).select_related("town")
    op = request.POST.get("op") if request.method == "POST" else None
    form = AssignForm(request.POST if op == "assign" else None)
    create_form = LoginCreateForm(request.POST if op == "login-create" else None)
    link_form = LoginLinkForm(request.POST if op == "login-link" else None, auto_id="id_link_%s")
    may_manage_login = allows(request.user, "manage", expert.home_id)
    if request.method == "POST":
        if op in ("login-create", "login-link", "login-unlink"):
            if not may_manage_login:
                raise PermissionDenied(_("Only administrators of the expert's office manage the expert's login."))
            if _login_op(request, expert, op, create_form, link_form):
                return redirect(expert)
        elif op == "assign":
            if form.is_valid():
                d = form.cleaned_data
                town = _unit(request.user, d["town"], "town", form)
                if town is not None:
                    try:
                        services.assign_expert(request.user, expert, town, role=d["role"] or None,
                                               since=d["since"], until=d["until"])
                    except ValidationError as exc:
                        add_errors(form, exc)
                    except PermissionDenied as exc:
                        form.add_error("town", str(exc))
                    else:
                        messages.success(request, _("%(name)s assigned to %(town)s.") % {
                            "name": expert.name, "town": town.name})
                        return redirect(expert)
        elif op == "unassign":
            assignment = get_object_or_404(assignments, pk=request.POST.get("assignment") or 0)
            if not allows(request.user, "change", assignment.town_id):
                raise PermissionDenied(_("You may not change the experts of this town."))
            services.unassign_expert(request.user, assignment)
            messages.success(request, _("Assignment removed."))
            return redirect(expert)
        else:
            raise PermissionDenied(_("Unknown operation."))
    activities = (ExpertActivity.objects.restrict(request.user, "view").filter(of_expert(expert.pk)).distinct()
                  .select_related("town", "activity_type").order_by("-date", "pk"))
    return render(request, "experts/expert_detail.html", {
        "expert": expert, "assignments": [(a, allows(request.user, "change", a.town_id)) for a in assignments],
        "contact": contact(request.user, expert), "shows_contact": shows_contact(request.user, expert),
        "may_manage_login": may_manage_login, "create_form": create_form, "link_form": link_form,
        "activities": activities[:50], "activity_count": activities.count(), "form": form,
        "can_change": allows(request.user, "change", expert.home_id),
        "can_assign": bool(scope_prefixes(request.user, "change")),
        "unit": expert.home, "breadcrumb": breadcrumb(request, expert.home),
    })


# --- activities (活动) -------------------------------------------------------------------------------

def _type_word(activity) -> str:
    return activity.type_as_written


def _activity_columns(labels: dict) -> list[Column]:
    """The columns of the data standard (DOMAIN §8), in its order; export keys are the standard's keys."""
    spec = [
        ("date", "date", None, {"link": True}),
        ("town", "town_id", None, {"getter": lambda a: a.town_id}),
        ("activity_type", "activity_type", None, {"getter": _type_word}),
        ("chief_designer_count", "chief_designer_count", '#,##0 "人次"', {}),
        ("resident_planner_count", "resident_planner_count", '#,##0 "人次"', {}),
        ("adviser_count", "adviser_count", '#,##0 "人次"', {}),
        ("problems_found", "problems_found", "#,##0", {}),
        ("problems_solved", "problems_solved", "#,##0", {}),
        ("expert_names", None, None, {}),
    ]
    return [Column(key, labels[key], sort=sort, num_format=fmt, classes="text-end" if fmt else "", **extra)
            for key, sort, fmt, extra in spec]


ACTIVITY_COLUMNS = _activity_columns({
    "date": gettext_lazy("Date"),
    "town": gettext_lazy("Town (code)"),
    "activity_type": gettext_lazy("Activity type"),
    "chief_designer_count": gettext_lazy("Chief designers (人次)"),
    "resident_planner_count": gettext_lazy("Resident planners (人次)"),
    "adviser_count": gettext_lazy("Development advisers (人次)"),
    "problems_found": gettext_lazy("Problems found"),
    "problems_solved": gettext_lazy("Problems solved"),
    "expert_names": gettext_lazy("Experts"),
})


class ActivityListView(LoginRequiredMixin, RestrictedListView):
    """Activities with KPI cards on top; exports carry the standard's Chinese headers (they import back)."""

    model = ExpertActivity
    filterset_class = ActivityFilterSet
    columns = ACTIVITY_COLUMNS
    default_sort = "-date"
    export_name = "expert-activities"
    title = gettext_lazy("Expert activities (专家活动)")
    create_url = "expert-activity-create"
    template_name = "experts/activity_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("activity_type")

    def get(self, request, *args, **kwargs):
        if request.GET.get("export"):
            self.columns = _activity_columns(ACTIVITY_HEADERS)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = kwargs["filterset"]
        qs = filtered(filterset)
        context["figures"] = services.summarise(qs)
        return context


def _activity_fields(form, user) -> dict | None:
    d = dict(form.cleaned_data)
    town = _unit(user, d.pop("town"), "town", form)
    if town is None:
        return None
    return {**d, "town": town}


def _new_activity_initial(request) -> dict:
    """The form's first values: the town asked for (?town=) or the only one; for an expert, today, their own
    name and one person-time of their kind (they were there)."""
    initial = {"town": request.GET.get("town", "").strip() or _single_town(request.user)}
    expert = expert_of(request.user)
    if expert is not None:
        initial.update({"date": timezone.localdate(), "expert_names": expert.name, COUNT_FIELDS[expert.kind]: 1})
    return initial


@login_required
def activity_create(request):
    if not scope_prefixes(request.user, "record"):
        raise PermissionDenied(_("You may not record expert activities."))
    form = ActivityForm(request.POST or None, initial=_new_activity_initial(request),
                        towns=_expert_towns(request.user))
    if request.method == "POST" and form.is_valid():
        fields = _activity_fields(form, request.user)
        if fields is not None:
            try:
                services.create_activity(request.user, **fields)
            except ValidationError as exc:
                add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("town", str(exc))
            else:
                messages.success(request, _("Activity saved."))
                return redirect(_after_save(request))
    return render(request, "experts/activity_form.html", {"form": form, "title": _("Record an expert activity")})


def _after_save(request) -> str:
    """Where a saved activity sends the user: an office to the list, an expert back to their page."""
    return reverse("expert-activity-list") if is_office(request.user) else reverse("expert-home")


@login_required
def activity_edit(request, pk):
    """Edit (or delete) one activity; users who may only view it see it read-only."""
    activity = get_object_or_404(ExpertActivity.objects.restrict(request.user, "view").select_related("town"), pk=pk)
    can_change = services.may_write(request.user, "change", activity)
    can_delete = services.may_write(request.user, "delete", activity)
    posted = request.POST if request.method == "POST" and request.POST.get("op") != "delete" else None
    form = ActivityForm(posted, instance=ExpertActivity.objects.get(pk=activity.pk), towns=_expert_towns(request.user))
    if request.method == "POST":
        if request.POST.get("op") == "delete":
            if not can_delete:
                raise PermissionDenied(_("You may not delete this activity."))
            services.delete_activity(request.user, activity)
            messages.success(request, _("Activity deleted."))
            return redirect(_after_save(request))
        if not can_change:
            raise PermissionDenied(_("You may not change this activity."))
        if form.is_valid():
            fields = _activity_fields(form, request.user)
            if fields is not None:
                try:
                    services.update_activity(request.user, activity, **fields)
                except ValidationError as exc:
                    add_errors(form, exc)
                except PermissionDenied as exc:
                    form.add_error("town", str(exc))
                else:
                    messages.success(request, _("Saved."))
                    return redirect(_after_save(request))
    experts = [(e, allows(request.user, "view", e.home_id)) for e in activity.experts.all()]
    problems = ExpertProblem.objects.restrict(request.user, "view").filter(activity=activity).order_by("pk")
    return render(request, "experts/activity_form.html", {
        "form": form, "activity": activity, "can_change": can_change, "can_delete": can_delete,
        "problems": problems, "can_add_problem": services.may_write(request.user, "add", activity),
        "experts": experts, "title": str(activity), "unit": activity.town,
        "breadcrumb": breadcrumb(request, activity.town),
        "history_url": reverse("object-history", args=["expertactivity", activity.pk]),
    })


# --- the activity-type vocabulary (活动类型) ------------------------------------------------------------

@login_required
def activity_types(request):
    """The vocabulary: every type with its synonyms and how many activities have it. Office admins of a
    province (and system admins) add a type (op=add) or edit one (op=edit, id=…) on this one page."""
    may_manage = services.may_manage_types(request.user)
    form, editing = ActivityTypeForm(), None
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied(_("Only a province office's administrators keep the activity types."))
        op = request.POST.get("op")
        if op not in ("add", "edit"):
            raise PermissionDenied(_("Unknown operation."))
        if op == "edit":
            editing = get_object_or_404(ActivityType, pk=request.POST.get("id") or 0)
        form = ActivityTypeForm(request.POST, instance=editing,
                                auto_id=f"id_t{editing.pk}_%s" if editing else "id_%s")
        if form.is_valid():
            try:
                saved = services.save_activity_type(request.user, editing, **form.cleaned_data)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("Activity type %(name)s saved.") % {"name": saved.name})
                return redirect("activity-type-list")
    types = list(ActivityType.objects.annotate(uses=Count("activities")).order_by("order", "name"))
    rows = []
    for t in types:
        edit = None
        if may_manage:
            edit = form if editing is not None and editing.pk == t.pk else ActivityTypeForm(
                instance=t, auto_id=f"id_t{t.pk}_%s")
        rows.append((t, edit))
    return render(request, "experts/activity_types.html", {
        "rows": rows, "form": form if editing is None else ActivityTypeForm(), "editing": editing,
        "may_manage": may_manage, "title": _("Activity types (活动类型)"),
    })


# --- the problem register (问题清单) ----------------------------------------------------------------------

def _problem_columns(labels: dict, for_export: bool) -> list[Column]:
    """The page's columns, or (for_export) the data standard's, in its order: an export imports back."""
    if for_export:
        getters = {
            "town": lambda p: p.town_id,
            "date": lambda p: p.activity.date,
            "activity_type": lambda p: p.activity.type_as_written,
            "expert_names": lambda p: p.activity.expert_names,
            "description": lambda p: p.description,
            "owner": lambda p: p.owner,
            "due_date": lambda p: p.due_date,
            "status": lambda p: PROBLEM_STATUS_CHINESE[p.status],
            "reason": lambda p: p.reason,
        }
        return [Column(key, labels[key], getter=getters[key]) for key in PROBLEM_HEADERS]
    return [
        Column("description", labels["description"], sort="description", link=True),
        Column("town.name", labels["town"], sort="town_id"),
        Column("activity", labels["activity"], sort="activity__date",
               getter=lambda p: f"{p.activity.date:%Y-%m-%d} {p.activity.type_label}",
               url=lambda p: p.activity.get_absolute_url(), link=True, classes="d-none d-md-table-cell"),
        Column("owner", labels["owner"], sort="owner", classes="d-none d-md-table-cell"),
        Column("due_date", labels["due_date"], sort="due_date"),
        Column("status", labels["status"], sort="status"),
        Column("overdue", labels["overdue"], getter=lambda p: _("Overdue") if p.overdue else "",
               classes="text-danger"),
    ]


PROBLEM_LABELS = {
    "description": gettext_lazy("Problem"), "town": gettext_lazy("Town"), "activity": gettext_lazy("Activity"),
    "owner": gettext_lazy("Owner (责任人)"), "due_date": gettext_lazy("Due date (整改期限)"),
    "status": gettext_lazy("Status"), "overdue": gettext_lazy("Overdue"),
}


class ProblemListView(LoginRequiredMixin, RestrictedListView):
    """The problem register: filters town, status, overdue; exports carry the standard's Chinese headers."""

    model = ExpertProblem
    filterset_class = ProblemFilterSet
    columns = _problem_columns(PROBLEM_LABELS, False)
    default_sort = "due_date"
    export_name = "expert-problems"
    title = gettext_lazy("Problems found by experts (问题清单)")
    template_name = "experts/problem_list.html"

    def base_queryset(self):
        return super().base_queryset().select_related("town", "activity__activity_type")

    def get(self, request, *args, **kwargs):
        if request.GET.get("export"):
            self.columns = _problem_columns(PROBLEM_HEADERS, True)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = kwargs["filterset"]
        qs = filtered(filterset)
        context["figures"] = services.problem_figures(qs)
        return context


def _activity_choices(user, town_code: str):
    return (services.writable_activities(user).filter(town_id=town_code)
            .select_related("town", "activity_type").order_by("-date", "pk")[:500])


def _problem_fields(form, user, town_code: str) -> dict | None:
    d = dict(form.cleaned_data)
    activity = services.writable_activities(user).filter(pk=d.pop("activity"), town_id=town_code).first()
    if activity is None:
        form.add_error("activity", _("No such activity of this town in your area."))
        return None
    return {**d, "activity": activity}


@login_required
def problem_create(request, pk):
    """Record a problem found by the activity `pk`."""
    activity = get_object_or_404(ExpertActivity.objects.restrict(request.user, "view").select_related("town"), pk=pk)
    if not services.may_write(request.user, "add", activity):
        raise PermissionDenied(_("You may not record problems of this town."))
    form = ProblemForm(request.POST or None, initial={"activity": activity.pk},
                       activities=_activity_choices(request.user, activity.town_id))
    if request.method == "POST" and form.is_valid():
        fields = _problem_fields(form, request.user, activity.town_id)
        if fields is not None:
            try:
                services.create_problem(request.user, **fields)
            except ValidationError as exc:
                add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("activity", str(exc))
            else:
                messages.success(request, _("Problem recorded."))
                return redirect(activity)
    return render(request, "experts/problem_form.html", {
        "form": form, "title": _("Record a problem"), "unit": activity.town, "activity": activity,
        "breadcrumb": breadcrumb(request, activity.town), "can_change": True})


@login_required
def problem_edit(request, pk):
    """A problem: edit it, move its status (start, solve, dismiss with a reason, reopen) or delete it."""
    problem = get_object_or_404(ExpertProblem.objects.restrict(request.user, "view")
                                .select_related("town", "activity__activity_type"), pk=pk)
    can_change = services.may_write(request.user, "change", problem.activity)
    can_delete = services.may_write(request.user, "delete", problem.activity)
    op = request.POST.get("op") if request.method == "POST" else None
    initial = {"activity": problem.activity_id, "description": problem.description, "owner": problem.owner,
               "due_date": problem.due_date}
    form = ProblemForm(request.POST if op == "edit" else None, initial=initial,
                       activities=_activity_choices(request.user, problem.town_id) if can_change
                       else [problem.activity])
    step_form = ProblemStepForm(request.POST if op == "step" else None)
    if request.method == "POST":
        if op == "delete":
            if not can_delete:
                raise PermissionDenied(_("You may not delete this problem."))
            services.delete_problem(request.user, problem)
            messages.success(request, _("Problem deleted."))
            return redirect("expert-problem-list")
        if not can_change:
            raise PermissionDenied(_("You may not change this problem."))
        if op == "edit":
            if form.is_valid():
                fields = _problem_fields(form, request.user, problem.town_id)
                if fields is not None:
                    try:
                        services.update_problem(request.user, problem, **fields)
                    except ValidationError as exc:
                        add_errors(form, exc)
                    else:
                        messages.success(request, _("Saved."))
                        return redirect(problem)
        elif op == "step":
            if step_form.is_valid():
                try:
                    services.step_problem(request.user, problem, step_form.cleaned_data["step"],
                                          step_form.cleaned_data["reason"])
                except ValidationError as exc:
                    add_errors(step_form, exc)
                else:
                    messages.success(request, _("Status changed."))
                    return redirect(problem)
        else:
            raise PermissionDenied(_("Unknown operation."))
    return render(request, "experts/problem_form.html", {
        "form": form, "step_form": step_form, "problem": problem, "activity": problem.activity,
        "steps": services.allowed_steps(problem) if can_change else [],
        "can_change": can_change, "can_delete": can_delete, "title": problem.description[:60],
        "unit": problem.town, "breadcrumb": breadcrumb(request, problem.town),
        "history_url": reverse("object-history", args=["expertproblem", problem.pk]),
    })


# --- an expert's own page (experts as users) -------------------------------------------------------------

@login_required
def expert_home(request):
    """An expert's landing page after login, made for a phone: their towns (the current assignments), their
    activities and the open problems of the ones they recorded, and the buttons to record more. Every read
    goes through restrict(): what the scope no longer covers (an ended assignment) is gone from here too."""
    user = request.user
    expert = expert_of(user)
    context = {"expert": expert, "title": _("My work"), "has_area": bool(scope_prefixes(user, "view"))}
    if expert is None:
        return render(request, "experts/expert_home.html", context)
    assignments = (ExpertAssignment.objects.restrict(user, "view").filter(current(), expert=expert)
                   .select_related("town").order_by("town_id", "role"))
    mine = (ExpertActivity.objects.restrict(user, "view").filter(of_expert(expert.pk)).distinct()
            .select_related("town", "activity_type").order_by("-date", "-pk"))
    activities = [(a, a.recorded_by_id == expert.pk and allows(user, "record", a.town_id)) for a in mine[:20]]
    problems = (ExpertProblem.objects.restrict(user, "view")
                .filter(activity__recorded_by=expert, status__in=OPEN_STATUSES)
                .select_related("town", "activity__activity_type").order_by("due_date", "pk"))
    latest_own = next((a for a, own in activities if own), None)
    context.update({
        "assignments": assignments, "activities": activities, "activity_count": mine.count(),
        "problems": problems[:20], "latest_own": latest_own, "contact": contact(user, expert),
        "may_record": bool(scope_prefixes(user, "record")),
    })
    return render(request, "experts/expert_home.html", context)
