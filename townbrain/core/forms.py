from django import forms
from django.core.exceptions import ValidationError

from .models import OrgUnit


class OrgUnitProfileForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = list(OrgUnit.PROFILE_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}


def add_errors(form, exc: ValidationError, fallback: str | None = None) -> None:
    """Put a service's ValidationError back on the form: on the field it names, else on `fallback`
    (a field) or on top of the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(fallback if fallback in form.fields else None, exc.messages)
