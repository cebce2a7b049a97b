from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeField
from townbrain.core.models import OrgUnit
from townbrain.core.roles import Role
from townbrain.core.scope import ALL, scope_prefixes

# New accounts and new roles start at the least powerful role; choosing more is a decision.
DEFAULT_ROLE = Role.VIEWER


# The roles an office may give (also named in the API schema: settings.SPECTACULAR_SETTINGS).
OFFICE_ROLES = [(value, label) for value, label in Role.choices if value != Role.SYSTEM_ADMIN]


def role_choices(actor) -> list[tuple[str, str]]:
    """The roles `actor` may give: system administrator only to system administrators."""
    return list(Role.choices) if scope_prefixes(actor, "manage") is ALL else list(OFFICE_ROLES)


class RoleField(forms.ChoiceField):
    """Offers the roles set in `choices`, accepts any known role: the service refuses a role the
    actor may not give with its own reason, which a hand-made POST then reads."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Role"))
        kwargs.setdefault("initial", DEFAULT_ROLE)
        super().__init__(choices=Role.choices, **kwargs)

    def valid_value(self, value):
        return value in Role.values


class RoleChoiceForm(forms.Form):
    """A form whose `role` offers only the roles the actor may give, the least powerful preselected."""

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(actor)


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


class UserCreateForm(RoleChoiceForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    first_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    org_unit = OrgCodeField(label=_("Org unit (division code)"))
    role = RoleField()


class UserEditForm(forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ["first_name", "email", "is_active"]
        labels = {"first_name": _("Full name")}


class MembershipForm(RoleChoiceForm):
    org_unit = OrgCodeField(label=_("Org unit (division code)"))
    role = RoleField()


class PasswordForm(forms.Form):
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput)
