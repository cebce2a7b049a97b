from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import codes, geo
from .models import Level, OrgUnit
from .services import point_in_wgs84


class VersionField(forms.IntegerField):
    """The version of the record the form was opened at (hidden): the service refuses a save over a
    newer one (core/conflicts.py). Empty (an older client, a script) means no check."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 0)
        super().__init__(**kwargs)


def towns_for(user, action: str = "add"):
    """The towns where `user` holds `action` (the choices of a form's town), by code."""
    return OrgUnit.objects.restrict(user, action).filter(level=Level.TOWN).order_by("code")


class TownChoiceField(forms.ModelChoiceField):
    """A town among those a user may act in (`limit_to(towns_for(user, action))`): a select of them,
    or, for an area of more than SELECT_LIMIT towns (a county office and above), a box for the
    town's division code. A town outside the area is not a valid choice."""

    SELECT_LIMIT = 500

    def __init__(self, **kwargs):
        super().__init__(OrgUnit.objects.none(), **kwargs)

    def limit_to(self, towns) -> None:
        self.queryset = towns
        if towns.count() > self.SELECT_LIMIT:
            self.widget = forms.TextInput(attrs={"inputmode": "numeric"})
            self.help_text = _("The town's division code, e.g. 330109113.")

    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                value = codes.normalize(value.strip())
            except codes.InvalidCode:
                pass  # not a choice: the field says so
        return super().to_python(value)


def show_conflict(form, exc) -> dict:
    """After a Conflict: nothing was saved; the form keeps the editor's values and now carries the
    record's current version, so saving again (having seen what changed) puts them over it.
    The page's context for `core/_conflict.html`."""
    data = form.data.copy()
    data[form.add_prefix("version")] = exc.current
    form.data = data
    return {"conflict": exc}


class OrgUnitProfileForm(forms.ModelForm):
    # The centre point's system is always named: Amap/Tencent give GCJ-02, Baidu BD-09, GPS WGS-84,
    # and the three differ by hundreds of metres. The form hands on WGS-84, what the profile stores.
    # Not required: a post without it (an older client, a script) means WGS-84, as in the data standard.
    crs = forms.ChoiceField(label=_("Coordinate system"), choices=geo.CHOICES, initial=geo.WGS84, required=False,
                            help_text=_("The system the latitude and longitude above are given in. "
                                        "They are stored, and shown here, as WGS-84."))
    version = VersionField()
    field_order = ["town_type", "population", "area_km2", "latitude", "longitude", "crs", "notes"]

    class Meta:
        model = OrgUnit
        fields = list(OrgUnit.PROFILE_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                data.update(point_in_wgs84(data, data.get("crs") or geo.WGS84))
            except ValidationError as exc:
                add_errors(self, exc)
            else:
                data["crs"] = geo.WGS84
        return data


def add_errors(form, exc: ValidationError, fallback: str | None = None) -> None:
    """Put a service's ValidationError back on the form: on the field it names, else on `fallback`
    (a field) or on top of the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(fallback if fallback in form.fields else None, exc.messages)
