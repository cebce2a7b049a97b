from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.access.scoping import default_org
from townbrain.core import geo, periods
from townbrain.core.filters import DivisionCodeField
from townbrain.core.forms import TownChoiceField, VersionField, add_errors, towns_for
from townbrain.core.parse import NumberField
from townbrain.core.services import point_in_wgs84
from townbrain.programmes.models import Batch, Category, Programme, ProgrammeRole

from .models import ProgressReport, Project


class ProgressForm(forms.ModelForm):
    period = forms.RegexField(label=_("Period (YYYYMM)"), regex=r"^\d{6}$",
                              error_messages={"invalid": _("Write the month as YYYYMM, e.g. 202009.")})

    class Meta:
        model = ProgressReport
        fields = ["period", "month_investment", "cumulative_investment", "progress_percent", "status", "problems",
                  "correction_reason"]
        widgets = {"problems": forms.Textarea(attrs={"rows": 2}), "correction_reason": forms.Textarea(attrs={"rows": 2})}


# --- a project's own fields: the create and edit pages -----------------------------------------------

def _model_field(name, **kwargs):
    """The form field of Project.<name> (its label, limits and choices), with `kwargs` for the field."""
    return Project._meta.get_field(name).formfield(**kwargs)


def _date(name):
    return _model_field(name, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


def _money(name):
    # Negative sums pass here: the service refuses them with its own message, beside the field.
    return _model_field(name, form_class=NumberField)


class ProjectForm(forms.Form):
    """The fields update_project() / create_project() take, checked for form; the service checks the
    rest (the lifecycle rules, the right in the town, the code unique in the programme) and its
    errors come back beside the fields. `action`: "add" (a new project) or "change" (an edit) —
    the town offered is one where the user holds it."""

    code = _model_field("code")
    name = _model_field("name")
    town = TownChoiceField(label=_("Town"))
    programme = forms.ModelChoiceField(Programme.objects.none(), label=_("Programme"), to_field_name="code")
    category = forms.ModelChoiceField(Category.objects.none(), label=_("Category"), required=False,
                                      help_text=_("One of the programme's categories."),
                                      widget=forms.Select(attrs={"data-group-follows": "#id_programme"}))
    owner_unit = _model_field("owner_unit")
    status = _model_field("status")
    total_investment = _money("total_investment")
    annual_plan = _money("annual_plan")
    confirm_annual_over_total = forms.BooleanField(
        label=_("The annual plan may be above the total investment"), required=False,
        help_text=_("Tick it to save an annual plan above the total investment on purpose."))
    planned_start = _date("planned_start")
    planned_completion = _date("planned_completion")
    actual_start = _date("actual_start")
    actual_completion = _date("actual_completion")
    latitude = _model_field("latitude", form_class=NumberField)
    longitude = _model_field("longitude", form_class=NumberField)
    crs = forms.ChoiceField(label=_("Coordinate system"), choices=geo.CHOICES, initial=geo.WGS84, required=False,
                            help_text=_("The system the latitude and longitude above are given in. "
                                        "They are stored, and shown here, as WGS-84."))
    version = VersionField()

    SERVICE_FIELDS = ("code", "name", "town", "programme", "category", "owner_unit", "status", "total_investment",
                      "annual_plan", "planned_start", "planned_completion", "actual_start", "actual_completion",
                      "latitude", "longitude")

    def __init__(self, *args, user, action: str = "add", project: Project | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["town"].limit_to(towns_for(user, action))
        programmes = Programme.objects.order_by("id")
        # A new project goes into an active programme; an edit keeps offering the one it is in.
        programmes = programmes.filter(active=True) if project is None else programmes.filter(
            Q(active=True) | Q(pk=project.programme_id))
        self.fields["programme"].queryset = programmes
        categories = Category.objects.filter(programme__in=programmes).select_related("programme")
        field = self.fields["category"]
        field.queryset = categories
        groups: dict[str, list] = {}
        for c in categories:  # grouped by programme: each programme has its own
            groups.setdefault(c.programme.name, []).append((c.pk, c.name))
        field.choices = [("", "---------"), *groups.items()]
        if project is None:
            del self.fields["version"]

    @classmethod
    def initial_for(cls, project: Project) -> dict:
        initial = {name: getattr(project, name) for name in cls.SERVICE_FIELDS
                   if name not in ("town", "programme", "category")}
        initial.update(town=project.town_id, programme=project.programme.code, category=project.category_id,
                       version=project.version, crs=geo.WGS84)
        return initial

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                data.update(point_in_wgs84(data, data.get("crs") or geo.WGS84))
            except ValidationError as exc:
                add_errors(self, exc)
        return data

    def service_fields(self) -> dict:
        """What the service takes: the project's fields and the confirmation of a large annual plan."""
        d = self.cleaned_data
        return {"confirm_annual_over_total": d.get("confirm_annual_over_total", False),
                **{name: d.get(name) for name in self.SERVICE_FIELDS}}


# --- the roll-up and warnings pages: org, period and programme as GET parameters with defaults -------


def default_period(today: date | None = None) -> str:
    """Last month: the month offices report on."""
    today = today or timezone.localdate()
    return periods.previous_month(periods.month_id(today.year, today.month))



def default_programme(programmes) -> str:
    codes = [p.code for p in programmes]
    return "meili" if "meili" in codes else (codes[0] if codes else "")


class FiguresForm(forms.Form):
    """org (division code), period (YYYYMM) and programme; missing values take the user's defaults."""

    programme = forms.ChoiceField(label=_("Programme"))
    period = forms.CharField(label=_("Period (YYYYMM)"), max_length=7,
                             widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "202009"}))
    org = DivisionCodeField(label=_("Org unit (code)"), max_length=20)

    def __init__(self, data, *, user):
        self.programmes = list(Programme.objects.order_by("id"))
        data = data.copy()
        defaults = {"programme": lambda: default_programme(self.programmes), "period": default_period,
                    "org": lambda: default_org(user)}
        for name, default in defaults.items():
            if not data.get(name, "").strip():
                data[name] = default()
        super().__init__(data)
        self.fields["programme"].choices = [(p.code, p.name) for p in self.programmes]

    def clean_period(self):
        try:
            return periods.month_id(*periods.parse_month(self.cleaned_data["period"]))
        except periods.InvalidPeriod as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_programme(self):
        code = self.cleaned_data["programme"]
        return next(p for p in self.programmes if p.code == code)

    def params(self, **changes) -> dict:
        """The cleaned values as query parameters (codes), with some replaced; for links."""
        d = self.cleaned_data
        out = {"org": d["org"], "period": d["period"], "programme": d["programme"].code}
        for name in DIMENSIONS:
            if d.get(name):
                out[name] = d[name].code
        out.update(changes)
        return {k: v for k, v in out.items() if v not in (None, "")}


DIMENSIONS = ("category", "role", "batch")


class RollupForm(FiguresForm):
    category = forms.ChoiceField(label=_("Category"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False)
    batch = forms.ChoiceField(label=_("Batch"), required=False)

    def __init__(self, data, *, user):
        super().__init__(data, user=user)
        code = self.data.get("programme")
        programme = next((p for p in self.programmes if p.code == code), None)
        self.dimension_objects = {}
        for name, model in (("category", Category), ("role", ProgrammeRole), ("batch", Batch)):
            objs = list(model.objects.filter(programme=programme)) if programme else []
            self.dimension_objects[name] = {o.code: o for o in objs}
            field = self.fields[name]
            field.choices = [("", _("All"))] + [(o.code, o.name) for o in objs]
            field.error_messages["invalid_choice"] = _(
                "“%(value)s” is not one of this programme's choices; pick another or “All”.")

    def clean(self):
        data = super().clean()
        data["dims"] = {}
        for name in DIMENSIONS:
            code = data.get(name)
            data[name] = self.dimension_objects[name].get(code) if code else None
            if data[name] is not None:
                data["dims"][name] = data[name]
        return data


WARNING_KINDS = {
    "missing_report": _("Missing monthly report"),
    "not_started": _("Not started (应开工未开工)"),
    "laggard": _("Behind plan (滞后)"),
}


class WarningForm(FiguresForm):
    kind = forms.MultipleChoiceField(label=_("Kind"), required=False, widget=forms.CheckboxSelectMultiple,
                                     choices=list(WARNING_KINDS.items()))
