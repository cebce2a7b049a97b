"""Pages of the indicators app: the data-entry form of one org unit and period (填报), data elements,
indicators and validation. Every figure comes from values.py / evaluation.py; every write from
services.py."""

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_safe

from townbrain.access.scoping import default_org
from townbrain.core import codes, exports, periods
from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.models import OrgUnit
from townbrain.core.scope import allows
from townbrain.core.views import breadcrumb, canonical_code, get_unit

from . import evaluation, services
from .expressions import FormulaError
from .filters import DataElementFilterSet, IndicatorFilterSet
from .forms import EntryForm, OrgForm, OrgPeriodForm, ValidationForm, default_period, plain
from .models import Aggregation, DataElement, DataValue, Indicator, ValidationRule, ValueType
from .values import Resolver

TOWN_LENGTH = codes.LEVEL_LENGTHS["town"]


# --- periods as people read them, and the picker's links ---------------------------------------


def period_label(period: str) -> str:
    kind, year, index = periods.parse(period)
    if kind == "year":
        return _("%(year)d (year)") % {"year": year}
    if kind == "half":
        return (_("%(year)d first half") if index == 1 else _("%(year)d second half")) % {"year": year}
    if kind == "quarter":
        return _("%(year)d Q%(quarter)d") % {"year": year, "quarter": index}
    return _("%(year)d-%(month)02d") % {"year": year, "month": index}


def shift(period: str, step: int) -> str | None:
    """The period `step` periods of the same kind away (2024Q4 + 1 → 2025Q1); None beyond 1990–2100."""
    kind, year, index = periods.parse(period)
    if kind == "year":
        ids = str(year + step)
    else:
        per_year = {"half": 2, "quarter": 4, "month": 12}[kind]
        y, i = divmod(year * per_year + index - 1 + step, per_year)
        ids = {"half": f"{y}S{i + 1}", "quarter": f"{y}Q{i + 1}", "month": f"{y}{i + 1:02d}"}[kind]
    try:
        return periods.canonical(ids)
    except periods.InvalidPeriod:
        return None


def periods_of_year(year: int) -> list[tuple[str, str]]:
    """(period id, short label) of every period in a year: the year, halves, quarters, months."""
    out = [(str(year), str(year))]
    out += [(f"{year}S{i}", _("H%(n)d") % {"n": i}) for i in (1, 2)]
    out += [(f"{year}Q{i}", f"Q{i}") for i in range(1, 5)]
    out += [(f"{year}{m:02d}", _("%(month)d月") % {"month": m}) for m in range(1, 13)]
    return out


def period_key(period: str):
    """Sort key: by first month, the longer period first (2024, 2024S1, 2024Q1, 202401, 202402 …)."""
    months = periods.months_of(period)
    return (months[0], -len(months))


def tidy(value):
    """A computed number for reading: at most four decimals, no trailing zeros."""
    if isinstance(value, Decimal) and not isinstance(value, bool):
        if value.as_tuple().exponent < -4:
            value = value.quantize(Decimal("0.0001"))
        return Decimal(plain(value))
    return value


def _url(name, params: dict, *args) -> str:
    return f"{reverse(name, args=args)}?{urlencode(params)}"


def _entry_url(code: str, period: str, query: str = "") -> str:
    url = reverse("datavalue-entry", args=[code, period])
    return f"{url}?{query}" if query else url


def latest_value_period(user, code: str) -> str | None:
    """The latest period holding data values in what `user` sees of unit `code` and below: the one
    ending last; of a year and its December, the year (yearly indicators are the common case).
    None when there are none; the pages then fall back to last year."""
    found = (DataValue.objects.restrict(user, "view").filter(org_unit__code__startswith=code)
             .values_list("period", flat=True).distinct())
    if not found:
        return None

    def key(period):
        months = periods.months_of(period)
        return months[-1], len(months)

    return max(found, key=key)


def period_default(request, code: str | None = None):
    """For a page's period field: the latest period with values under the page's (or the user's) unit."""

    def latest() -> str:
        raw = code or request.GET.get("org", "").strip() or default_org(request.user)
        try:
            unit_code = codes.normalize(raw)
        except codes.InvalidCode:
            return default_period()
        return latest_value_period(request.user, unit_code) or default_period()

    return latest


def _unit_or_404(user, code: str) -> OrgUnit:
    return get_object_or_404(OrgUnit.objects.restrict(user, "view"), code=code)


# --- the entry form (填报) ------------------------------------------------------------------------

GROUPS = [  # the entry form's sections, by the kind of field they need
    (ValueType.NUMBER, gettext_lazy("Numbers")),
    (ValueType.PERCENT, gettext_lazy("Percentages")),
    (ValueType.BOOLEAN, gettext_lazy("Yes/no items")),
    (ValueType.TEXT, gettext_lazy("Text")),
]


def _entry_elements(request):
    """All data elements, or those named in ?elements=a,b (codes) and/or matching ?q= (name or code)."""
    qs = DataElement.objects.order_by("name", "code")
    wanted = [c.strip() for c in request.GET.get("elements", "").split(",") if c.strip()]
    if wanted:
        qs = qs.filter(code__in=wanted)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    return list(qs)


def _picker(request, unit, period):
    """?go=1&org=…&period=… from the picker: to the entry form of that unit and period, if the user may see it."""
    form = OrgPeriodForm(request.GET, user=request.user, extra_defaults={"org": lambda: unit.code,
                                                                         "period": lambda: period})
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return redirect(_entry_url(unit.code, period))
    code = form.cleaned_data["org"]
    if not OrgUnit.objects.restrict(request.user, "view").filter(code=code).exists():
        messages.error(request, _("There is no org unit %(code)s in your area.") % {"code": code})
        return redirect(_entry_url(unit.code, period))
    keep = {k: request.GET[k] for k in ("elements", "q") if request.GET.get(k)}
    return redirect(_entry_url(code, form.cleaned_data["period"], urlencode(keep)))


def _save(request, form) -> int:
    """Write the form's changes through the services, all or nothing (one ValueBatch). The number of values written."""
    batch = services.ValueBatch(request.user)
    with transaction.atomic():
        for change in form.changes:
            if change[0] == "delete":
                batch.remove(change[2])
        items = [(element, form.unit, form.period, raw, comment) for op, element, raw, comment in
                 (c for c in form.changes if c[0] != "delete")]
        for result in batch.check(items):
            if isinstance(result, Exception):
                raise result
        batch.write()
    return len(form.changes)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def entry(request, code, period=None):
    """Every data element of one org unit and period: editors type values and comments, viewers read them."""
    unit = get_unit(request, code)  # 404 outside the user's area
    if period is None:
        period = period_default(request, unit.code)()
    else:
        try:
            canonical = periods.canonical(period)
        except periods.InvalidPeriod as exc:
            return render(request, "indicators/entry.html", {
                "unit": unit, "breadcrumb": breadcrumb(request, unit), "period_error": str(exc),
                "years": _year_links(unit, (timezone.localdate().year - 1, timezone.localdate().year), None, ""),
            }, status=404)
        if request.method in ("GET", "HEAD") and (canonical != period or canonical_code(code) != code):
            query = request.META.get("QUERY_STRING", "")
            return redirect(_entry_url(unit.code, canonical, query))
        period = canonical
    if request.GET.get("go"):
        return _picker(request, unit, period)

    can_change = allows(request.user, "change", unit.code)
    elements = _entry_elements(request)
    stored = {v.element.code: v for v in DataValue.objects.restrict(request.user, "view")
              .filter(org_unit=unit, period=period).select_related("element")}
    form = EntryForm(request.POST if request.method == "POST" else None, elements=elements, stored=stored)
    form.unit, form.period = unit, period
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied(_("You may not enter data for this org unit."))
        if form.is_valid():
            try:
                written = _save(request, form)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                if written:
                    messages.success(request, ngettext("%(count)d value saved.", "%(count)d values saved.", written)
                                     % {"count": written})
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect(request.get_full_path())
        messages.error(request, _("Nothing was saved: correct the values marked below."))

    above_town = len(unit.code) < TOWN_LENGTH
    below = {}
    if above_town:
        for e in elements:
            if e.value_type != ValueType.TEXT:
                below[e.code] = _below_text(e, Resolver(e, unit.code, period).from_below())
    groups = []
    rows = form.rows()
    for value_type, label in GROUPS:
        in_group = [{"element": e, "field": v, "comment": c, "stored": s, "below": below.get(e.code),
                     "shown": _shown(s), "unit": e.unit or ("%" if e.value_type == ValueType.PERCENT else ""),
                     "history": reverse("object-history", args=["datavalue", s.pk]) if s else None}
                    for e, v, c, s in rows if e.value_type == value_type]
        if in_group:
            groups.append({"label": label, "rows": in_group})

    violations, rules_error = [], None
    try:
        violations = evaluation.run_rules(unit.code, period, below=False)
    except FormulaError as exc:
        rules_error = str(exc)
    importance = dict(ValidationRule.Importance.choices)
    for v in violations:
        v["left"], v["right"] = tidy(v["left"]), tidy(v["right"])
        v["importance_label"] = importance.get(v["importance"], v["importance"])

    kind, year, _index = periods.parse(period)
    parent = None
    if unit.parent_id and allows(request.user, "view", unit.parent_id):
        parent = unit.parent
    query = {k: request.GET[k] for k in ("elements", "q") if request.GET.get(k)}
    qs = urlencode(query)
    children = [(c, _entry_url(c.code, period, qs)) for c in
                unit.children.restrict(request.user, "view").order_by("code")[:200]]
    return render(request, "indicators/entry.html", {
        "unit": unit, "breadcrumb": breadcrumb(request, unit), "period": period, "period_label": period_label(period),
        "form": form, "groups": groups, "can_change": can_change, "above_town": above_town,
        "element_count": len(elements), "filter_q": request.GET.get("q", ""),
        "filter_elements": request.GET.get("elements", ""),
        "violations": violations, "rules_error": rules_error, "rule_count": ValidationRule.objects.count(),
        "prev": shift(period, -1), "next": shift(period, 1), "query": qs,
        "years": _year_links(unit, (year - 1, year), period, qs),
        "parent": parent, "parent_href": _entry_url(parent.code, period, qs) if parent else None,
        "children": children,
        "validation_href": _url("indicator-validation", {"org": unit.code, "period": period}),
    })


def _below_text(element, value):
    """The figure aggregated from the units below, for reading beside the unit's own field."""
    if value is None or element.value_type != ValueType.BOOLEAN:
        return tidy(value)
    if element.aggregation == Aggregation.AVERAGE:  # the share of units answering yes
        return _("%(share)s%% of the units below: yes") % {"share": tidy(value * 100)}
    return ngettext("%(count)s unit below: yes", "%(count)s units below: yes", int(value)) % {"count": tidy(value)}


def _shown(value):
    """A stored DataValue for reading: numbers without trailing zeros, yes/no as a boolean, text as is."""
    if value is None:
        return None
    shown = value.value
    return tidy(shown) if isinstance(shown, Decimal) else shown


def _year_links(unit, years, current, qs) -> list[list[tuple]]:
    """Per year: (period id, short label, entry URL, is the current one) for the period picker."""
    return [[(p, label, _entry_url(unit.code, p, qs), p == current) for p, label in periods_of_year(y)] for y in years]


# --- data elements --------------------------------------------------------------------------------

ELEMENT_COLUMNS = [
    Column("code", gettext_lazy("Code"), sort="code", link=True, url=lambda e: reverse("dataelement-page", args=[e.code])),
    Column("name", gettext_lazy("Name"), sort="name"),
    Column("value_type", gettext_lazy("Value type"), sort="value_type"),
    Column("unit", gettext_lazy("Unit"), sort="unit"),
    Column("aggregation", gettext_lazy("Aggregation"), sort="aggregation"),
    Column("description", gettext_lazy("Description")),
]


class DataElementListView(LoginRequiredMixin, RestrictedListView):
    model = DataElement
    filterset_class = DataElementFilterSet
    columns = ELEMENT_COLUMNS
    default_sort = "code"
    export_name = "dataelements"
    title = gettext_lazy("Data elements")
    template_name = "indicators/list.html"

    def base_queryset(self):
        # Reference data: every signed-in user reads all of it, as in the API (DataElementViewSet).
        # The values, which belong to org units, are what is scoped.
        return DataElement.objects.all()


@login_required
@require_safe
def element_detail(request, code):
    """An element's values for one org unit across periods: stored, or aggregated over the tree and time."""
    element = get_object_or_404(DataElement, code=code)
    form = OrgForm(request.GET, user=request.user)
    context = {"element": element, "form": form}
    if form.is_valid():
        org = _unit_or_404(request.user, form.cleaned_data["org"])
        in_subtree = (DataValue.objects.restrict(request.user, "view")
                      .filter(element=element, org_unit__code__startswith=org.code))
        found = set(in_subtree.values_list("period", flat=True).distinct())
        found |= {p[:4] for p in found}  # each year with data, aggregated from its parts
        shown = sorted(found, key=period_key)[-60:]
        own = {v.period: v for v in in_subtree.filter(org_unit=org, period__in=shown)}
        rows = []
        for p in shown:
            value = Resolver(element, org.code, p).value()
            rows.append({"period": p, "label": period_label(p), "value": tidy(value) if value is not None else None,
                         "own": own.get(p), "entry_href": _entry_url(org.code, p)})
        years = [r for r in rows if len(r["period"]) == 4]
        chart_rows = years if years else rows
        numeric = element.value_type != ValueType.TEXT
        context.update({
            "org": org, "rows": rows, "numeric": numeric,
            "can_change": allows(request.user, "change", org.code),
            "chart": {"periods": [r["period"] for r in chart_rows],
                      "values": [None if r["value"] is None else float(r["value"]) for r in chart_rows],
                      "name": element.name, "unit": element.unit} if numeric and chart_rows else None,
        })
    return render(request, "indicators/element_detail.html", context)


# --- indicators ------------------------------------------------------------------------------------

INDICATOR_COLUMNS = [
    Column("code", gettext_lazy("Code"), sort="code", link=True, url=lambda i: reverse("indicator-page", args=[i.code])),
    Column("name", gettext_lazy("Name"), sort="name"),
    Column("formula", gettext_lazy("Formula")),
    Column("unit", gettext_lazy("Unit"), sort="unit"),
    Column("decimals", gettext_lazy("Decimals"), classes="text-end"),
]


class IndicatorListView(LoginRequiredMixin, RestrictedListView):
    model = Indicator
    filterset_class = IndicatorFilterSet
    columns = INDICATOR_COLUMNS
    default_sort = "code"
    export_name = "indicators"
    title = gettext_lazy("Indicators")
    template_name = "indicators/list.html"

    def base_queryset(self):
        # Indicator definitions are reference data (as in the API); their values are scoped.
        return Indicator.objects.all()


def ranked(rows: list[dict]) -> None:
    """Competition ranking (1, 2, 2, 4) of rows by `value`, largest first; rows without a number get none."""
    numbers = sorted((r["value"] for r in rows if _is_number(r["value"])), reverse=True)
    for r in rows:
        r["rank"] = numbers.index(r["value"]) + 1 if _is_number(r["value"]) else None


def _is_number(value) -> bool:
    return isinstance(value, Decimal | int | float) and not isinstance(value, bool)


INDICATOR_SORTS = {"rank", "-rank", "code", "-code", "name", "-name"}


@login_required
@require_safe
def indicator_detail(request, code):
    """An indicator's formula and its value for an org unit and period, and for each unit below it, ranked."""
    indicator = get_object_or_404(Indicator, code=code)
    form = OrgPeriodForm(request.GET, user=request.user, extra_defaults={"period": period_default(request)})
    context = {"indicator": indicator, "form": form}
    if form.is_valid():
        org = _unit_or_404(request.user, form.cleaned_data["org"])
        period = form.cleaned_data["period"]
        children = list(org.children.restrict(request.user, "view").order_by("code"))
        error, total, rows = None, None, []
        try:
            values = evaluation.indicator_values(indicator, org.code, period, [c.code for c in children])
        except FormulaError as exc:
            error = str(exc)
        else:
            total = values[org.code]
            for c in children:
                value = values[c.code]
                rows.append({"code": c.code, "name": c.name,
                             "value": None if isinstance(value, FormulaError) else value,
                             "error": str(value) if isinstance(value, FormulaError) else "",
                             "href": _url("indicator-page", {"org": c.code, "period": period}, indicator.code),
                             "entry_href": _entry_url(c.code, period)})
            ranked(rows)
        sort = request.GET.get("sort", "rank")
        sort = sort if sort in INDICATOR_SORTS else "rank"
        key = sort.lstrip("-")
        if key == "rank":
            rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]), reverse=sort.startswith("-"))
        else:
            rows.sort(key=lambda r: r[key], reverse=sort.startswith("-"))
        fmt = request.GET.get("export")
        if fmt:
            if fmt not in exports.FORMATS:
                raise Http404(_("Unknown export format."))
            label = _("%(name)s (%(unit)s)") % {"name": indicator.name, "unit": indicator.unit} if indicator.unit \
                else indicator.name
            headers = [_("Rank"), _("Division code"), _("Name"), label, _("Period")]
            keys = ["rank", "code", "name", "value", "period"]
            total_row = {"rank": None, "code": org.code, "name": _("%(name)s (total)") % {"name": org.name},
                         "value": None if isinstance(total, FormulaError) else total}
            out = [[r.get(k, period) for k in keys] for r in [*rows, total_row]]
            return exports.response(fmt, f"indicator-{indicator.code}-{org.code}-{period}", [str(h) for h in headers],
                                    keys, out)
        ancestors = []
        for a in org.ancestors():
            a.href = (_url("indicator-page", {"org": a.code, "period": period}, indicator.code)
                      if allows(request.user, "view", a.code) else None)
            ancestors.append(a)
        context.update({
            "org": org, "period": period, "period_label": period_label(period), "ancestors": ancestors,
            "total": None if isinstance(total, FormulaError) else total,
            "total_error": str(total) if isinstance(total, FormulaError) else "",
            "error": error, "rows": rows, "sort": sort,
            "references": sorted(_references(indicator.formula)),
            "chart": {"names": [r["name"] for r in rows], "values": [None if r["value"] is None else float(r["value"])
                                                                      for r in rows],
                      "unit": indicator.unit} if rows and any(_is_number(r["value"]) for r in rows) else None,
            "prev_href": _url("indicator-page", {"org": org.code, "period": shift(period, -1)}, indicator.code)
            if shift(period, -1) else None,
            "next_href": _url("indicator-page", {"org": org.code, "period": shift(period, 1)}, indicator.code)
            if shift(period, 1) else None,
            "entry_href": _entry_url(org.code, period),
        })
    return render(request, "indicators/indicator_detail.html", context)


def _references(formula: str) -> set:
    from .expressions import parse

    try:
        return parse(formula).references()
    except FormulaError:
        return set()


# --- validation -------------------------------------------------------------------------------------

IMPORTANCE_ORDER = {"high": 0, "medium": 1, "low": 2}
VIOLATION_EXPORT = [
    ("rule", gettext_lazy("Rule code")),
    ("name", gettext_lazy("Rule")),
    ("org_unit", gettext_lazy("Division code")),
    ("org_name", gettext_lazy("Org unit")),
    ("period", gettext_lazy("Period")),
    ("left", gettext_lazy("Left side")),
    ("operator", gettext_lazy("Operator")),
    ("right", gettext_lazy("Right side")),
    ("importance_label", gettext_lazy("Importance")),
    ("message", gettext_lazy("Message")),
]


@login_required
@require_safe
def validation(request):
    """Run every validation rule for an org unit (and the units below it with values) and a period."""
    form = ValidationForm(request.GET, user=request.user, extra_defaults={"period": period_default(request)})
    context = {"form": form}
    if form.is_valid():
        org = _unit_or_404(request.user, form.cleaned_data["org"])
        period = form.cleaned_data["period"]
        below = form.cleaned_data.get("scope") != "unit"
        violations, error = [], None
        try:
            violations = evaluation.run_rules(org.code, period, below=below)
        except FormulaError as exc:
            error = str(exc)
        names = dict(OrgUnit.objects.restrict(request.user, "view")
                     .filter(code__in={v["org_unit"] for v in violations}).values_list("code", "name"))
        importance = dict(ValidationRule.Importance.choices)
        for v in violations:
            v["left"], v["right"] = tidy(v["left"]), tidy(v["right"])
            v["org_name"] = names.get(v["org_unit"], "")
            v["importance_label"] = importance.get(v["importance"], v["importance"])
            v["entry_href"] = _entry_url(v["org_unit"], period)
        violations.sort(key=lambda v: (IMPORTANCE_ORDER.get(v["importance"], 9), v["org_unit"], v["rule"]))
        fmt = request.GET.get("export")
        if fmt:
            if fmt not in exports.FORMATS:
                raise Http404(_("Unknown export format."))
            keys = [k for k, _label in VIOLATION_EXPORT]
            return exports.response(fmt, f"violations-{org.code}-{period}", [str(label) for _k, label in VIOLATION_EXPORT],
                                    keys, ([v.get(k) for k in keys] for v in violations))
        counts = {k: sum(1 for v in violations if v["importance"] == k) for k in IMPORTANCE_ORDER}
        context.update({
            "org": org, "period": period, "period_label": period_label(period), "below": below,
            "violations": violations, "error": error, "counts": counts, "importance": importance,
            "rule_count": ValidationRule.objects.count(), "entry_href": _entry_url(org.code, period),
        })
    return render(request, "indicators/validation.html", context)


def default_entry_url(user) -> str | None:
    """The entry form of the user's own unit for last year, for links."""
    code = default_org(user)
    return _entry_url(code, default_period()) if code else None
