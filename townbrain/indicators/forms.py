"""Forms of the indicator pages: the data-entry form of one org unit and period, and the
org unit + period picker of the indicator and validation pages. Forms validate; services write."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.access.scoping import default_org
from townbrain.core import periods
from townbrain.core.filters import DivisionCodeField

from . import services
from .models import ValueType

# DataValue.number is DECIMAL(20, 6): 14 digits before the point.
LARGEST = Decimal(10) ** 14


def default_period(today=None) -> str:
    """Last year: yearly indicators are reported for the year that has ended."""
    today = today or timezone.localdate()
    return str(today.year - 1)



def plain(number) -> str:
    """A stored number as a person writes it: 45.000000 → 45, 0.500000 → 0.5."""
    if number is None:
        return ""
    text = f"{Decimal(number).normalize():f}"
    return text


def stored_text(element, value) -> str:
    """What the entry field shows for a stored DataValue (or None)."""
    if value is None:
        return ""
    if element.value_type == ValueType.TEXT:
        return value.text
    if element.value_type == ValueType.BOOLEAN:
        return "" if value.number is None else ("1" if value.number else "0")
    return plain(value.number)


class OrgForm(forms.Form):
    """org (division code); empty, it takes the user's own unit."""

    org = DivisionCodeField(label=_("Org unit (code)"), max_length=20)

    def __init__(self, data, *, user, extra_defaults=None):
        data = data.copy()
        defaults = {"org": lambda: default_org(user), "period": default_period, **(extra_defaults or {})}
        for name, default in defaults.items():
            if name in self.base_fields and not str(data.get(name, "")).strip():
                data[name] = default()
        super().__init__(data)


class OrgPeriodForm(OrgForm):
    """org (division code) and period (2024, 2024S1, 2024Q3, 202409); empty ones take the user's defaults."""

    period = forms.CharField(label=_("Period"), max_length=10,
                             help_text=_("2024 (year), 2024S1 (half year), 2024Q3 (quarter) or 202409 (month)"),
                             widget=forms.TextInput(attrs={"placeholder": "2024"}))

    def clean_period(self):
        try:
            return periods.canonical(self.cleaned_data["period"])
        except periods.InvalidPeriod as exc:
            raise forms.ValidationError(str(exc)) from exc


class ValidationForm(OrgPeriodForm):
    scope = forms.ChoiceField(label=_("Units"), required=False,
                              choices=[("below", _("The unit and the units below it")), ("unit", _("The unit only"))])


BOOLEAN_CHOICES = [("", "—"), ("1", _("Yes (是)")), ("0", _("No (否)"))]


class EntryForm(forms.Form):
    """One value field (`v_<code>`) and one comment field (`c_<code>`) per data element.

    Values are checked with `services.parse_value`, so the form says exactly what the service
    would refuse, in the user's language. After `is_valid()`, `changes` lists what saving must do:
    ("set", element, raw, comment) or ("delete", element, stored value) — unchanged rows are left out.
    """

    def __init__(self, data=None, *, elements, stored: dict):
        super().__init__(data)
        self.elements = list(elements)
        self.stored = stored
        self.changes: list[tuple] = []
        for e in self.elements:
            value = stored.get(e.code)
            attrs = {"aria-label": e.name, "autocomplete": "off"}
            if e.value_type == ValueType.BOOLEAN:
                widget = forms.Select(choices=BOOLEAN_CHOICES, attrs=attrs)
            elif e.value_type == ValueType.TEXT:
                widget = forms.Textarea(attrs={**attrs, "rows": 1})
            else:
                widget = forms.TextInput(attrs={**attrs, "inputmode": "decimal", "class": "text-end"})
            self.fields[f"v_{e.code}"] = forms.CharField(label=e.name, required=False, widget=widget,
                                                         initial=stored_text(e, value))
            self.fields[f"c_{e.code}"] = forms.CharField(
                label=_("Comment"), required=False, max_length=500, initial=value.comment if value else "",
                widget=forms.TextInput(attrs={"aria-label": _("Comment on %(name)s") % {"name": e.name},
                                              "autocomplete": "off"}))

    def clean(self):
        data = super().clean()
        self.changes = []
        for e in self.elements:
            vname, cname = f"v_{e.code}", f"c_{e.code}"
            if vname not in self.data or vname not in data or cname not in data:
                continue  # not posted (a partial form changes only what it sends), or has its own error
            stored = self.stored.get(e.code)
            raw = data[vname].strip()
            comment = data[cname].strip() if cname in self.data else (stored.comment if stored else "")
            if not raw:
                if comment:
                    self.add_error(vname, _("Enter a value for this comment, or clear the comment too."))
                elif stored is not None:
                    self.changes.append(("delete", e, stored))
                continue
            try:
                number, text = services.parse_value(e, raw)
            except ValidationError as exc:
                self.add_error(vname, [m for msgs in exc.message_dict.values() for m in msgs])
                continue
            if number is not None and abs(number) >= LARGEST:
                self.add_error(vname, _("%(value)s is too large; values stay below 100,000,000,000,000.")
                               % {"value": raw})
                continue
            if number is not None:
                number = number.quantize(Decimal("0.000001"))  # as stored: six decimals
            if stored is not None and (stored.number, stored.text, stored.comment) == (number, text, comment):
                continue
            self.changes.append(("set", e, raw, comment))
        return data

    def rows(self):
        """(element, value field, comment field, stored value) in the form's order."""
        return [(e, self[f"v_{e.code}"], self[f"c_{e.code}"], self.stored.get(e.code)) for e in self.elements]
