from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import geo
from .models import OrgUnit
from .services import point_in_wgs84


class OrgUnitProfileForm(forms.ModelForm):
    # The centre point's system is always named: Amap/Tencent give GCJ-02, Baidu BD-09, GPS WGS-84,
    # and the three differ by hundreds of metres. The form hands on WGS-84, what the profile stores.
    # Not required: a post without it (an older client, a script) means WGS-84, as in the data standard.
    crs = forms.ChoiceField(label=_("Coordinate system"), choices=geo.CHOICES, initial=geo.WGS84, required=False,
                            help_text=_("The system the latitude and longitude above are given in. "
                                        "They are stored, and shown here, as WGS-84."))
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
