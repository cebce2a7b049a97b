"""One filter set per model: the list page, the API and the export all use it."""

from functools import partial

import django_filters as filters
from django import forms
from django.apps import apps
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import audit_labels, codes
from .models import AuditEntry, Level, OrgUnit, TownKind, TownType


class OrgPickerInput(forms.TextInput):
    """A division-code box that suggests org units by name or code as one types.

    `static/townbrain/org-picker.js` fills a <datalist> from `/org/pick/?q=` (only units the user may
    see, at most a page of them), so the box stays a plain text field that takes a code: the API,
    links and bookmarks keep sending `?under=3301`, and a picked suggestion is a code too.
    """

    def __init__(self, attrs=None):
        base = {"data-org-picker": "", "autocomplete": "off", "inputmode": "search",
                "placeholder": _("Name or code")}
        super().__init__({**base, **(attrs or {})})


class DivisionCodeField(forms.CharField):
    """A form field that accepts any way of writing a division code and says what is wrong."""

    widget = OrgPickerInput

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return value
        try:
            return codes.normalize(value)
        except codes.InvalidCode as exc:
            raise forms.ValidationError(str(exc)) from exc


class DivisionCodeFilter(filters.CharFilter):
    field_class = DivisionCodeField


class YesNoSelect(forms.NullBooleanSelect):
    """全部 / 是 / 否: a yes/no filter offers "all", never "unknown" (which read as a value of its own).

    It reads the same values as Django's NullBooleanSelect (`true`/`false`, `True`/`False`), so the
    API's `?active=true` works as before; "all" is the empty value and filters nothing.
    """

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", _("All")), ("true", _("Yes")), ("false", _("No"))]

    def format_value(self, value):
        formatted = super().format_value(value)
        return "" if formatted == "unknown" else formatted


class YesNoFilter(filters.BooleanFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", YesNoSelect)
        super().__init__(*args, **kwargs)


def programme_choices():
    """Every programme, by code (what the API takes) and name; evaluated per form, so new ones show."""
    from townbrain.programmes.models import Programme  # programmes stands on core: import when asked

    return [(p.code, p.name) for p in Programme.objects.order_by("id")]


class ProgrammeFilter(filters.ChoiceFilter):
    """A programme chosen from a list (by code, as the API always took it)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label", _("Programme"))
        kwargs.setdefault("choices", programme_choices)
        kwargs.setdefault("empty_label", _("All"))
        super().__init__(*args, **kwargs)


def part_choices(model_path: str) -> list:
    """Each code of a programme part (category, role, batch) once, with the names it has."""
    names: dict[str, list[str]] = {}
    for code, name in apps.get_model(model_path).objects.order_by("programme_id", "id").values_list("code", "name"):
        if name not in names.setdefault(code, []):
            names[code].append(name)
    return [(code, " / ".join(found)) for code, found in names.items()]


def stored_values(model_path: str, field: str) -> list:
    """The distinct non-empty values of a column, as choices."""
    values = apps.get_model(model_path).objects.exclude(**{field: ""}).values_list(field, flat=True).distinct()
    return [(v, v) for v in sorted(set(values))]


class ProgrammePartFilter(filters.ChoiceFilter):
    """A category, role or batch (`model`) by code: its programme's ones, or every programme's.

    Codes repeat across programmes (`chanye` is a category of four), so the list shows the parts of
    the programme chosen in the same form (`programme_param`); with none chosen it shows each code
    once with the names it has. Any code of any programme stays valid, as it was for the API.
    """

    def __init__(self, *args, model_path: str, programme_param: str = "programme", **kwargs):
        self.model_path = model_path
        self.programme_param = programme_param
        # A partial of plain strings, not a bound method: forms deep-copy their fields' choices, and a
        # bound method would drag the filter set (and its request) into the copy.
        kwargs.setdefault("choices", partial(part_choices, model_path))
        kwargs.setdefault("empty_label", _("All"))
        super().__init__(*args, **kwargs)

    def _model(self):
        return apps.get_model(self.model_path)

    def shown_choices(self, data) -> list | None:
        """The options for a form bound to `data`: the chosen programme's parts, or None for all."""
        code = (data or {}).get(self.programme_param) or ""
        if not code:
            return None
        parts = self._model().objects.filter(programme__code=code).order_by("id").values_list("code", "name")
        return [("", self.extra["empty_label"]), *parts]


class ValueFilter(filters.ChoiceFilter):
    """A free-text column with a handful of values (a grade, an outcome) chosen from a list.

    The list shows the values found in the rows the user may see (set by ChoiceFilterSet); any
    value stored anywhere stays valid, so an API call that worked before still does.
    """

    def __init__(self, *args, model_path: str, **kwargs):
        kwargs.setdefault("choices", partial(stored_values, model_path, kwargs.get("field_name") or ""))
        kwargs.setdefault("empty_label", _("All"))
        super().__init__(*args, **kwargs)

    def shown_choices(self, queryset) -> list:
        values = queryset.exclude(**{self.field_name: ""}).values_list(self.field_name, flat=True).distinct()
        return [("", self.extra["empty_label"]), *((v, v) for v in sorted(set(values)))]


class ChoiceFilterSet(filters.FilterSet):
    """A FilterSet whose category / role / batch lists follow the chosen programme and whose value
    lists (ValueFilter) show what the user's own rows hold."""

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            for name, flt in self.filters.items():
                if isinstance(flt, ProgrammePartFilter) and name in form.fields:
                    shown = flt.shown_choices(self.data)
                    if shown is not None:
                        form.fields[name].widget.choices = shown  # validation still takes every code
                elif isinstance(flt, ValueFilter) and name in form.fields:
                    form.fields[name].widget.choices = flt.shown_choices(self.queryset)
            self._form = form
        return self._form


class OrgUnitFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    code = DivisionCodeFilter(label=_("Division code"))
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="code", lookup_expr="startswith")
    level = filters.ChoiceFilter(label=_("Level"), choices=Level.choices, empty_label=_("All"))
    town_kind = filters.ChoiceFilter(label=_("Kind of town"), choices=TownKind.choices, empty_label=_("All"))
    town_type = filters.ChoiceFilter(label=_("Town type"), choices=TownType.choices, empty_label=_("All"))
    parent = DivisionCodeFilter(label=_("Parent (code)"), field_name="parent_id")

    class Meta:
        model = OrgUnit
        fields = ["q", "code", "under", "level", "town_kind", "town_type", "parent"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        q = Q(name__icontains=value)
        digits = value.translate(codes.FULLWIDTH)
        if digits.isdigit():
            q |= Q(code__startswith=digits)
        return queryset.filter(q)


class AuditFilterSet(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    object_type = filters.CharFilter(label=_("Object type"))
    object_id = filters.CharFilter(label=_("Object id"))
    action = filters.CharFilter(label=_("Action"), lookup_expr="startswith")
    actor = filters.CharFilter(label=_("Actor"), field_name="actor_name")
    under = DivisionCodeFilter(label=_("Under (code)"), field_name="org_code", lookup_expr="startswith")
    since = filters.DateFilter(label=_("Since"), field_name="time", lookup_expr="date__gte")
    until = filters.DateFilter(label=_("Until"), field_name="time", lookup_expr="date__lte")
    source = filters.ChoiceFilter(label=_("Source"), choices=list(audit_labels.SOURCE_LABELS.items()),
                                  empty_label=_("All"))

    class Meta:
        model = AuditEntry
        fields = ["q", "object_type", "object_id", "action", "actor", "under", "since", "until", "source"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(object_repr__icontains=value) | Q(actor_name__icontains=value) | Q(action__icontains=value)
            | Q(object_id=value)
        )
