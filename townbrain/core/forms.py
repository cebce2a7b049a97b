from django import forms

from .models import OrgUnit


class OrgUnitProfileForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = list(OrgUnit.PROFILE_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
