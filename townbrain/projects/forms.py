from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.access.scoping import default_org
from townbrain.core import periods
from townbrain.core.filters import DivisionCodeField
from townbrain.programmes.models import Batch, Category, Programme, ProgrammeRole

from .models import ProgressReport


class ProgressForm(forms.ModelForm):
    period = forms.RegexField(label=_("Period (YYYYMM)"), regex=r"^\d{6}$",
                              error_messages={"invalid": _("Write the month as YYYYMM, e.g. 202009.")})

    class Meta:
        model = ProgressReport
        fields = ["period", "month_investment", "cumulative_investment", "progress_percent", "status", "problems",
                  "correction_reason"]
        widgets = {"problems": forms.Textarea(attrs={"rows": 2}), "correction_reason": forms.Textarea(attrs={"rows": 2})}


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
