from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeField
from townbrain.core.models import OrgUnit
from townbrain.core.roles import Role


class OrgCodeField(DivisionCodeField):
    """A division code that must name an existing org unit; cleans to the OrgUnit."""

    def clean(self, value):
        code = super().clean(value)
        if not code:
            return None
        unit = OrgUnit.objects.filter(code=code).first()
        if unit is None:
            raise forms.ValidationError(_("There is no org unit with code %(code)s.") % {"code": code})
        return unit


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    first_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    org_unit = OrgCodeField(label=_("Org unit (division code)"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class UserEditForm(forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ["first_name", "email", "is_active"]
        labels = {"first_name": _("Full name")}


class MembershipForm(forms.Form):
    org_unit = OrgCodeField(label=_("Org unit (division code)"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class PasswordForm(forms.Form):
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput)
