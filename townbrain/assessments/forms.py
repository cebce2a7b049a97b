"""Forms: edit a criterion (weights, points, thresholds and bands), import a scheme, start a run, a what-if."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from townbrain.core.forms import VersionField

from .models import Method, Scheme
from .sources import SOURCES
from .spec import OPS, plain_number


def bands_text(bands) -> str:
    def one(v):
        return "-" if v is None else f"{plain_number(v)}"
    return "\n".join(f"{one(b.get('min'))} {one(b.get('max'))} {one(b.get('points'))}" for b in bands or [])


def parse_bands(text: str) -> list[dict]:
    """Lines `min max points`; `-` leaves min or max open. E.g. `95 - 6` / `85 95 4`."""
    bands = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.replace(",", " ").replace("，", " ").replace("–", " ").split()
        if not parts:
            continue
        if len(parts) != 3:
            raise ValidationError(_("Line %(n)s: write “min max points”, with - for an open end.") % {"n": n})
        values = []
        for p in parts:
            if p in ("-", "—"):
                values.append(None)
                continue
            try:
                values.append(plain_number(Decimal(p)))
            except InvalidOperation:
                raise ValidationError(_("Line %(n)s: “%(value)s” is not a number.") % {"n": n, "value": p}) from None
        if values[2] is None:
            raise ValidationError(_("Line %(n)s: the points are needed.") % {"n": n})
        bands.append({"min": values[0], "max": values[1], "points": values[2]})
    return bands


class CriterionForm(forms.Form):
    version = VersionField()  # the scheme's version the form was opened at
    name = forms.CharField(label=_("Name"), max_length=200)
    formula = forms.CharField(label=_("Formula"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Over data elements, e.g. #{sewage_treatment_rate}; or choose a system source."))
    system = forms.ChoiceField(label=_("System source"), required=False)
    method = forms.ChoiceField(label=_("Scoring method"), choices=Method.choices)
    points = forms.DecimalField(label=_("Points (full marks; the cap of a bonus item)"), min_value=0,
                                max_digits=8, decimal_places=2)
    weight = forms.DecimalField(label=_("Weight"), min_value=0, max_digits=8, decimal_places=3)
    bands = forms.CharField(label=_("Bands"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                            help_text=_("One band a line: min max points (inclusive; - for an open end), "
                                        "e.g. “95 - 6” and “85 95 4”. The best band a value falls in counts."))
    zero_at = forms.DecimalField(label=_("Linear: no points at"), required=False)
    full_at = forms.DecimalField(label=_("Linear: full points at"), required=False)
    op = forms.ChoiceField(label=_("Pass/fail: comparison"), required=False,
                           choices=[("", "—")] + [(o, o) for o in OPS])
    threshold = forms.DecimalField(label=_("Pass/fail: threshold"), required=False,
                                   help_text=_("Leave empty for a yes/no item (passes when true)."))
    per = forms.DecimalField(label=_("Deduction/bonus: points per occurrence"), required=False)
    pass_points = forms.DecimalField(label=_("Binding: points needed to pass"), required=False)
    binding = forms.BooleanField(label=_("Binding (一票否决)"), required=False)
    veto = forms.ChoiceField(label=_("Grade cap when a binding item fails"), required=False)
    missing_as_zero = forms.BooleanField(label=_("A missing value counts as 0"), required=False)

    def __init__(self, *args, grades=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].choices = [("", "—")] + [(k, f"{k} · {s.label}") for k, s in SOURCES.items()]
        self.fields["veto"].choices = [("", _("the worst grade"))] + [(g["name"], g["name"]) for g in grades]

    @staticmethod
    def initial_for(criterion) -> dict:
        p = criterion.params
        return {
            "name": criterion.name, "formula": criterion.formula, "system": criterion.system,
            "method": criterion.method, "points": criterion.points, "weight": criterion.weight,
            "bands": bands_text(p.get("bands")), "zero_at": p.get("zero_at"), "full_at": p.get("full_at"),
            "op": p.get("op", ""), "threshold": p.get("threshold"), "per": p.get("per"),
            "pass_points": p.get("pass_points"), "binding": criterion.binding, "veto": criterion.veto,
            "missing_as_zero": criterion.missing_as_zero, "version": criterion.scheme.version,
        }

    def clean_bands(self):
        return parse_bands(self.cleaned_data.get("bands") or "")

    def service_fields(self) -> dict:
        d = self.cleaned_data
        method = d["method"]
        params = {}
        if method == Method.BANDS:
            params["bands"] = d["bands"]
        elif method == Method.LINEAR:
            params.update(zero_at=plain_number(d["zero_at"]), full_at=plain_number(d["full_at"]))
        elif method == Method.PASS_FAIL:
            if d["threshold"] is not None:
                params.update(op=d["op"] or ">=", threshold=plain_number(d["threshold"]))
        elif d["per"] is not None:
            params["per"] = plain_number(d["per"])
        if d["pass_points"] is not None:
            params["pass_points"] = plain_number(d["pass_points"])
        fields = {"name": d["name"], "method": method, "points": plain_number(d["points"]),
                  "weight": plain_number(d["weight"]),
                  "params": params, "binding": d["binding"], "veto": d["veto"] if d["binding"] else "",
                  "missing_as_zero": d["missing_as_zero"]}
        if d["system"]:
            fields["system"] = d["system"]
            fields["formula"] = ""
        else:
            fields["formula"] = d["formula"]
            fields["system"] = ""
        return fields


class SchemeImportForm(forms.Form):
    file = forms.FileField(label=_("Scheme file (.yaml or .json)"))


class RunForm(forms.Form):
    scheme = forms.ModelChoiceField(label=_("Scheme"), queryset=Scheme.objects.none(), to_field_name="code")
    year = forms.IntegerField(label=_("Year"), min_value=1990, max_value=2100)
    area = forms.CharField(label=_("Area (division code)"), required=False, max_length=12,
                           help_text=_("A province, city or county; empty: the programme's province."))
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheme"].queryset = Scheme.objects.filter(status=Scheme.Status.OFFICIAL).select_related(
            "programme")


class WhatIfForm(forms.Form):
    scheme = forms.ModelChoiceField(label=_("Draft scheme"), queryset=Scheme.objects.none(), to_field_name="code",
                                    help_text=_("Copy the scheme as a draft, edit its weights and thresholds, then "
                                                "run it here: the official run stays as it is."))
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, programme=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheme"].queryset = Scheme.objects.filter(programme=programme).order_by("status", "code")
