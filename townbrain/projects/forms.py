from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ProgressReport


class ProgressForm(forms.ModelForm):
    period = forms.RegexField(label=_("Period (YYYYMM)"), regex=r"^\d{6}$",
                              error_messages={"invalid": _("Write the month as YYYYMM, e.g. 202009.")})

    class Meta:
        model = ProgressReport
        fields = ["period", "month_investment", "cumulative_investment", "progress_percent", "status", "problems",
                  "correction_reason"]
        widgets = {"problems": forms.Textarea(attrs={"rows": 2}), "correction_reason": forms.Textarea(attrs={"rows": 2})}
