from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .filters import AuditFilterSet, OrgUnitFilterSet
from .forms import OrgUnitProfileForm
from .lists import Column, RestrictedListView, table_rows
from .models import AuditEntry, OrgUnit
from .scope import ALL, allows, scope_prefixes
from .services import update_org_profile

ORG_COLUMNS = [
    Column("code", gettext_lazy("Division code"), sort="code", link=True),
    Column("name", gettext_lazy("Name"), sort="name", link=True),
    Column("level", gettext_lazy("Level"), sort="level"),
    Column("town_kind", gettext_lazy("Kind of town")),
    Column("town_type", gettext_lazy("Town type"), sort="town_type"),
    Column("population", gettext_lazy("Population"), sort="population", num_format='#,##0 "人"',
           classes="text-end"),
    Column("area_km2", gettext_lazy("Area (km²)"), sort="area_km2", num_format='#,##0.00 "km²"',
           classes="text-end"),
]


def get_unit(request, code: str, action: str = "view") -> OrgUnit:
    """The unit if `request.user` may `action` it; 404 when outside their view scope."""
    unit = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=code)
    if action != "view" and not allows(request.user, action, unit.code):
        raise PermissionDenied(_("You may not change this org unit."))
    return unit


def breadcrumb(request, unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors, top first; `linked` marks those the user may open (the rest would 404)."""
    ancestors = unit.ancestors()
    for ancestor in ancestors:
        ancestor.linked = allows(request.user, "view", ancestor.code)
    return ancestors


@login_required
def home(request):
    """Start where the user works: their one unit, or the list of their units."""
    prefixes = scope_prefixes(request.user, "view")
    if prefixes is ALL:
        return redirect("orgunit-list")
    if len(prefixes) == 1:
        return redirect("orgunit-detail", code=next(iter(prefixes)))
    units = OrgUnit.objects.filter(code__in=prefixes).order_by("code")
    return render(request, "core/home.html", {"units": units})


class OrgUnitListView(LoginRequiredMixin, RestrictedListView):
    model = OrgUnit
    filterset_class = OrgUnitFilterSet
    columns = ORG_COLUMNS
    default_sort = "code"
    export_name = "orgunits"
    title = gettext_lazy("Org units")


@login_required
def orgunit_detail(request, code):
    unit = get_unit(request, code)
    children = unit.children.restrict(request.user, "view").order_by("code")
    sort = request.GET.get("sort", "")
    if sort.lstrip("-") in {"code", "name", "population", "town_type"}:
        children = children.order_by(sort, "code")
    page = Paginator(children, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "core/orgunit_detail.html",
        {
            "unit": unit,
            "breadcrumb": breadcrumb(request, unit),
            "page": page,
            "rows": table_rows(ORG_COLUMNS, page.object_list),
            "columns": ORG_COLUMNS,
            "sort": sort,
            "can_change": allows(request.user, "change", unit.code),
            "subtree_size": unit.subtree().count() - 1,
        },
    )


@login_required
def orgunit_edit(request, code):
    unit = get_unit(request, code, "change")
    form = OrgUnitProfileForm(request.POST or None, instance=OrgUnit.objects.get(pk=unit.pk))
    if request.method == "POST" and form.is_valid():
        try:
            update_org_profile(request.user, unit, **{f: form.cleaned_data[f] for f in OrgUnit.PROFILE_FIELDS})
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Profile saved."))
            return redirect(unit)
    return render(request, "core/orgunit_edit.html", {"unit": unit, "form": form, "breadcrumb": breadcrumb(request, unit)})


AUDIT_COLUMNS = [
    Column("time", gettext_lazy("Time"), sort="time"),
    Column("actor_name", gettext_lazy("Actor"), sort="actor_name"),
    Column("action", gettext_lazy("Action"), sort="action"),
    Column("object_type", gettext_lazy("Object type")),
    Column("object_id", gettext_lazy("Object id")),
    Column("object_repr", gettext_lazy("Object")),
    Column("org_code", gettext_lazy("Org unit"), sort="org_code"),
    Column("changes", gettext_lazy("Changes")),
    Column("source", gettext_lazy("Source")),
    Column("request_id", gettext_lazy("Request id")),
]


class AuditListView(LoginRequiredMixin, RestrictedListView):
    model = AuditEntry
    filterset_class = AuditFilterSet
    columns = AUDIT_COLUMNS
    default_sort = "-time"
    export_name = "audit"
    title = gettext_lazy("Audit log")
    template_name = "core/audit_list.html"


@login_required
def orgunit_history(request, code):
    unit = get_unit(request, code)
    entries = AuditEntry.objects.restrict(request.user, "view").filter(object_type="orgunit", object_id=unit.code)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "core/history.html", {"unit": unit, "object": unit, "page": page,
                                                 "breadcrumb": breadcrumb(request, unit)})
