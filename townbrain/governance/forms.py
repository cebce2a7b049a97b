"""Forms: they only check input; the services write (and say what is wrong with the event)."""

import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from townbrain.core import geo
from townbrain.core.models import Level, OrgUnit

from .models import EventCategory, Platform, Verdict


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        limit = _("%(n)s working days") % {"n": obj.deadline_days} if obj.deadline_days else \
            _("%(n)s hours") % {"n": obj.deadline_hours}
        return f"{obj.get_platform_display()} · {obj.parent.name} · {obj.name} ({limit})"


class EventForm(forms.Form):
    """A grid worker's report from the phone: few fields, the browser's location if allowed."""

    town = forms.ModelChoiceField(OrgUnit.objects.none(), label=_("Town"))
    category = CategoryChoiceField(EventCategory.objects.filter(parent__isnull=False).select_related("parent"),
                                   label=_("Category"))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}))
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    lat = forms.DecimalField(label=_("Latitude"), max_digits=12, decimal_places=8, required=False,
                             widget=forms.HiddenInput)
    lng = forms.DecimalField(label=_("Longitude"), max_digits=12, decimal_places=8, required=False,
                             widget=forms.HiddenInput)
    crs = forms.ChoiceField(label=_("Coordinate system"), choices=list(geo.SYSTEMS.items()), initial=geo.WGS84,
                            required=False,
                            widget=forms.HiddenInput)
    reporter_name = forms.CharField(label=_("Reporter"), max_length=60, required=False)
    reporter_phone = forms.CharField(label=_("Reporter's phone"), max_length=20, required=False,
                                     widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    photo = forms.FileField(label=_("Photo"), required=False, help_text=_("A JPEG, PNG, WebP or GIF image."),
                            widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}))

    def __init__(self, *args, towns=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["town"].queryset = towns if towns is not None else OrgUnit.objects.none()
        if towns is not None and towns.count() > 500:
            # A county office or above: a code box instead of a select of thousands of towns.
            self.fields["town"].widget = forms.TextInput(attrs={"inputmode": "numeric"})
            self.fields["town"].help_text = _("The town's division code, e.g. 330109113.")


class PublicReportForm(EventForm):
    """The public form: no login; a sum to solve and a field only robots fill (蜜罐)."""

    answer = forms.IntegerField(label=_("Anti-robot check"))
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
                              label=_("Leave this empty"))

    def __init__(self, *args, challenge=None, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["reporter_name"]
        self.fields["reporter_phone"].required = True
        self.set_challenge(challenge)

    def set_challenge(self, challenge):
        """The sum asked (None: no sum was asked, so no answer is right)."""
        self.challenge = challenge
        if challenge:
            self.fields["answer"].help_text = _("How much is %(a)s + %(b)s?") % {"a": challenge[0], "b": challenge[1]}

    def clean_website(self):
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("Leave this empty."))
        return ""

    def clean_answer(self):
        if not self.challenge or self.cleaned_data["answer"] != sum(self.challenge):
            raise forms.ValidationError(_("That is not the sum; try again."))
        return self.cleaned_data["answer"]


def new_challenge() -> tuple[int, int]:
    return secrets.randbelow(9) + 1, secrets.randbelow(9) + 1


def towns_of(county_code: str):
    return OrgUnit.objects.filter(code__startswith=county_code, level=Level.TOWN).order_by("code")


class StepForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    to = forms.CharField(label=_("Dispatch to"), required=False, help_text=_(
        "A user name, an office's division code or a department's name; empty: the town's own office."))
    verdict = forms.ChoiceField(label=_("Review"), choices=[("", "—"), *Verdict.choices], required=False)
    days = forms.IntegerField(label=_("Extend by (working days)"), min_value=1, max_value=365, required=False)


class StatsForm(forms.Form):
    """The statistics page's filters: an org unit, a year or month, optionally a platform and a category."""

    org = forms.CharField(label=_("Org unit (code)"), max_length=12)
    period = forms.RegexField(label=_("Period (YYYY or YYYYMM)"), regex=r"^\d{4}(0[1-9]|1[0-2])?$", max_length=6,
                              error_messages={"invalid": _("A year (YYYY) or a month (YYYYMM).")})
    platform = forms.ChoiceField(label=_("Platform"), choices=[("", "—"), *Platform.choices], required=False)
    category = forms.CharField(label=_("Category (code)"), max_length=60, required=False)


class PhotoForm(forms.Form):
    photo = forms.FileField(label=_("Photo"), help_text=_("A JPEG, PNG, WebP or GIF image."),
                            widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}))
