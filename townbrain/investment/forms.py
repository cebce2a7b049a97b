from django import forms
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeField

from .models import Stage


def _date(label, required=True, help_text=""):
    return forms.DateField(label=label, required=required, help_text=help_text,
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class DealForm(forms.Form):
    """Validates input only; the service writes (and keeps funds in place and the stage history)."""

    signed_on = _date(_("Signing date"))
    town = DivisionCodeField(label=_("Town (code)"), max_length=20)
    name = forms.CharField(label=_("Project name"), max_length=200)
    investor = forms.CharField(label=_("Investor"), max_length=200, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=60, required=False)
    signed_amount = forms.DecimalField(label=_("Signed amount (万元)"), min_value=0, max_digits=14, decimal_places=2)
    funds_in_place = forms.DecimalField(label=_("Funds in place (万元)"), min_value=0, max_digits=14,
                                        decimal_places=2, required=False,
                                        help_text=_("The total received so far; a change is kept as a receipt"))
    event = forms.CharField(label=_("Signing event"), max_length=200, required=False,
                            help_text=_("e.g. the provincial 小城镇产业大招商 signing ceremony"))
    stage = forms.ChoiceField(label=_("Stage"), choices=Stage.choices)
    stage_on = _date(_("Stage reached on"), required=False,
                     help_text=_("When the deal reached a new stage; default today"))
    project_code = forms.CharField(label=_("Ledger project (code)"), max_length=40, required=False,
                                   help_text=_("The code of the town's project the deal became, once started"))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReceiptForm(forms.Form):
    date = _date(_("Date received"))
    amount = forms.DecimalField(label=_("Amount (万元)"), max_digits=14, decimal_places=2,
                                help_text=_("Negative to correct an earlier receipt"))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
