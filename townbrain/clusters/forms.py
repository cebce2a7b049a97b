from django import forms
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeField
from townbrain.programmes.models import Programme

from .models import Assessment, Indicator


class ClusterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    theme = forms.CharField(label=_("Theme"), max_length=200, required=False)
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=Programme.objects.order_by("code"),
                                       required=False, to_field_name="code")
    lead = DivisionCodeField(label=_("Lead town (code)"))
    wings = forms.CharField(label=_("Wing towns (codes)"), help_text=_("Division codes, separated by spaces or commas"))
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def clean_wings(self):
        return [w for w in self.cleaned_data["wings"].replace("，", ",").replace(",", " ").split() if w]


class IndicatorForm(forms.Form):
    indicator = forms.ChoiceField(label=_("Joint indicator"), choices=Indicator.choices)
    year = forms.IntegerField(label=_("Year"), min_value=1900, max_value=2100)
    status = forms.ChoiceField(label=_("Assessment"), choices=Assessment.choices)
    text = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class FiguresForm(forms.Form):
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=Programme.objects.order_by("code"),
                                       to_field_name="code", required=False)
    period = forms.RegexField(label=_("Month (YYYYMM)"), regex=r"^\d{6}$", required=False)
