from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from . import audit_labels, codes
from .conflicts import Conflict
from .filters import AuditFilterSet, OrgUnitFilterSet
from .forms import OrgUnitProfileForm, show_conflict
from .lists import Column, RestrictedListView, table_rows
from .models import AuditEntry, Level, OrgUnit
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


def canonical_code(code: str) -> str:
    """The stored form of a code typed into a URL (330109113000, full-width digits); 404 saying why if malformed."""
    try:
        return codes.normalize(code)
    except codes.InvalidCode as exc:
        raise Http404(str(exc)) from exc


def canonical_redirect(request, url_name: str, code: str):
    """A redirect to the canonical URL when `code` is not written the way it is stored, else None."""
    canonical = canonical_code(code)
    if canonical == code or request.method not in ("GET", "HEAD"):
        return None
    url = reverse(url_name, args=[canonical])
    query = request.META.get("QUERY_STRING", "")
    return redirect(f"{url}?{query}" if query else url)


def get_unit(request, code: str, action: str = "view") -> OrgUnit:
    """The unit if `request.user` may `action` it; 404 when outside their view scope."""
    unit = get_object_or_404(OrgUnit.objects.restrict(request.user, "view"), code=canonical_code(code))
    if action != "view" and not allows(request.user, action, unit.code):
        raise PermissionDenied(_("You may not change this org unit."))
    return unit


def breadcrumb(request, unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors, top first; `linked` marks those the user may open (the rest would 404)."""
    ancestors = unit.ancestors()
    for ancestor in ancestors:
        ancestor.linked = allows(request.user, "view", ancestor.code)
    return ancestors


PICKER_LIMIT = 20


@login_required
@require_safe
def org_picker(request):
    """Suggestions for an org-unit box (`OrgPickerInput`): units the user may see whose name holds
    `?q=` or whose code starts with it, provinces to towns (villages would drown the towns), at most
    PICKER_LIMIT, higher levels first. JSON: {"results": [{"code", "name", "label"}]}."""
    q = request.GET.get("q", "").strip()
    units = OrgUnit.objects.restrict(request.user, "view").exclude(level=Level.VILLAGE)
    if q:
        digits = q.translate(codes.FULLWIDTH)
        units = units.filter(code__startswith=digits) if digits.isdigit() else units.filter(name__icontains=q)
    # Higher levels first (a county before its towns): shorter codes first among the first matches by code.
    found = list(units.select_related("parent").order_by("code")[:500])
    found.sort(key=lambda u: (len(u.code), u.code))
    results = [{"code": u.code, "name": u.name,
                "label": f"{u.name} · {u.parent.name}" if u.parent_id else u.name}
               for u in found[:PICKER_LIMIT]]
    return JsonResponse({"results": results})


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
    if moved := canonical_redirect(request, "orgunit-detail", code):
        return moved
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
    if moved := canonical_redirect(request, "orgunit-edit", code):
        return moved
    unit = get_unit(request, code, "change")
    current = OrgUnit.objects.get(pk=unit.pk)
    form = OrgUnitProfileForm(request.POST or None, instance=current, initial={"version": current.version})
    context = {"unit": unit, "form": form, "breadcrumb": breadcrumb(request, unit)}
    if request.method == "POST" and form.is_valid():
        try:
            update_org_profile(request.user, unit, expected_version=form.cleaned_data.get("version"),
                               **{f: form.cleaned_data[f] for f in OrgUnit.PROFILE_FIELDS})
        except Conflict as exc:
            context.update(show_conflict(form, exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Profile saved."))
            return redirect(unit)
    return render(request, "core/orgunit_edit.html", context)


def history_url(object_type: str, object_id: str) -> str | None:
    """The object's history page, or None for ids no URL can carry (empty, or with a slash)."""
    try:
        return reverse("object-history", kwargs={"object_type": object_type, "object_id": object_id})
    except NoReverseMatch:
        return None


AUDIT_COLUMNS = [
    Column("time", gettext_lazy("Time"), sort="time"),
    Column("actor_name", gettext_lazy("Actor"), sort="actor_name"),
    # Codes in words; the API keeps the codes (`GET /api/audit/`, with `action_label`).
    Column("action", gettext_lazy("Action"), sort="action", getter=lambda e: audit_labels.action_label(e.action)),
    Column("object_type", gettext_lazy("Object type"),
           getter=lambda e: audit_labels.object_type_label(e.object_type)),
    Column("object_id", gettext_lazy("Object id")),
    Column("object_repr", gettext_lazy("Object"), link=True, url=lambda e: history_url(e.object_type, e.object_id)),
    Column("org_code", gettext_lazy("Org unit"), sort="org_code"),
    Column("changes", gettext_lazy("Changes"), getter=audit_labels.labelled_changes),
    Column("source", gettext_lazy("Source"), getter=lambda e: audit_labels.source_label(e.source)),
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
    if moved := canonical_redirect(request, "orgunit-history", code):
        return moved
    unit = get_unit(request, code)
    entries = AuditEntry.objects.restrict(request.user, "view").filter(object_type="orgunit", object_id=unit.code)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "core/history.html", {"unit": unit, "object": unit, "page": page,
                                                 "breadcrumb": breadcrumb(request, unit)})


@login_required
@require_safe
def object_history(request, object_type, object_id):
    """The history of any audited object: its audit rows inside the caller's view scope, newest first.

    Restricted like the audit log (on the rows' org code); an object without a row the caller
    may see is not found (404), whether it exists elsewhere or not at all.
    """
    entries = AuditEntry.objects.restrict(request.user, "view").filter(object_type=object_type, object_id=object_id)
    latest = entries.first()
    if latest is None:
        raise Http404(_("No history of this object is visible to you."))
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "core/history.html", {
        "object": latest.object_repr,
        "object_type_label": audit_labels.object_type_label(object_type),
        "page": page,
    })
