"""Forms only validate input; the services in services.py write."""

import re

from django import forms
from django.core.validators import validate_slug
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.filters import DivisionCodeField

from .models import Batch, Enrolment, Programme, ProgrammeRole, Target

YEAR = {"min_value": 1990, "max_value": 2100}


def _parse_lines(text: str, with_year: bool = False) -> list[dict]:
    """“code name” (or “code name year”) a line; spaces, tabs, commas or 、 between the parts."""
    items, errors = [], []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[\s,，、\t]+", line) if p]
        year = None
        if with_year and len(parts) >= 3 and re.fullmatch(r"\d{4}", parts[-1]):
            year = int(parts.pop())
        if len(parts) < 2:
            errors.append(_("Line %(n)s: write the code, then the name (e.g. “gongneng 功能便民环境美”).")
                          % {"n": number})
            continue
        code, name = parts[0], " ".join(parts[1:])
        try:
            validate_slug(code)
        except forms.ValidationError:
            errors.append(_("Line %(n)s: the code “%(code)s” may contain only letters, digits, - and _.")
                          % {"n": number, "code": code})
            continue
        item = {"code": code, "name": name}
        if with_year:
            item["year"] = year
        items.append(item)
    if errors:
        raise forms.ValidationError(errors)
    codes = [i["code"] for i in items]
    if len(codes) != len(set(codes)):
        raise forms.ValidationError(_("Each code may appear only once."))
    return items


class ProgrammeCreateForm(forms.ModelForm):
    categories = forms.CharField(
        label=gettext_lazy("Categories"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One a line: code and name, e.g. “gongneng 功能便民环境美”."))
    roles = forms.CharField(
        label=gettext_lazy("Roles"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One a line: code and name, e.g. “yangban 样板创建乡镇”."))
    batches = forms.CharField(
        label=gettext_lazy("Batches"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One a line: code, name and (optionally) year, e.g. “2020 2020年 2020”."))

    class Meta:
        model = Programme
        fields = ["code", "name", "description", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def validate_unique(self):
        pass  # the service says “already exists”

    def clean_categories(self):
        return _parse_lines(self.cleaned_data["categories"])

    def clean_roles(self):
        return _parse_lines(self.cleaned_data["roles"])

    def clean_batches(self):
        return _parse_lines(self.cleaned_data["batches"], with_year=True)


class ProgrammeEditForm(forms.ModelForm):
    class Meta:
        model = Programme
        fields = ["name", "description", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class CategoryForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("code"), max_length=30)
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)


class RoleForm(CategoryForm):
    pass


class BatchForm(CategoryForm):
    year = forms.IntegerField(label=gettext_lazy("year"), required=False, **YEAR)


# --- targets ----------------------------------------------------------------------------------------

MEASURE_HELP = gettext_lazy(
    "A short code, e.g. investment, output, sales, named. For “investment” the actual is taken from the "
    "roll-up's cumulative investment while no actual is entered.")


class TargetForm(forms.ModelForm):
    """A new target (or new values for an existing one: the same org unit, programme, year and measure)."""

    year = forms.IntegerField(label=gettext_lazy("year"), **YEAR)

    class Meta:
        model = Target
        fields = ["programme", "year", "measure", "label", "target_value", "unit", "target_text", "actual_value",
                  "actual_text"]
        help_texts = {"measure": MEASURE_HELP, "unit": gettext_lazy("e.g. 万元, 亿元, %")}

    def validate_unique(self):
        pass  # set_target replaces the target with the same key


class TargetValuesForm(forms.ModelForm):
    class Meta:
        model = Target
        fields = ["label", "target_value", "unit", "target_text", "actual_value", "actual_text"]


# --- enrolments -------------------------------------------------------------------------------------


def _grouped(model, programme=None):
    """Choices for a batch or role <select>: every programme's, grouped by programme (or one programme's)."""
    rows = model.objects.select_related("programme").order_by("programme_id", "pk")
    if programme is not None:
        return [("", "—")] + [(str(o.pk), o.name) for o in rows.filter(programme=programme)]
    groups: dict[str, list] = {}
    for o in rows:
        groups.setdefault(o.programme.name, []).append((str(o.pk), o.name))
    return [("", "—")] + list(groups.items())


class EnrolmentValuesForm(forms.Form):
    batch = forms.TypedChoiceField(label=gettext_lazy("batch"), required=False, coerce=int, empty_value=None)
    role = forms.TypedChoiceField(label=gettext_lazy("role"), required=False, coerce=int, empty_value=None)
    year_joined = forms.IntegerField(label=gettext_lazy("year joined"), **YEAR)
    exit_year = forms.IntegerField(label=gettext_lazy("exit year"), required=False, **YEAR)

    def __init__(self, *args, programme=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].choices = _grouped(Batch, programme)
        self.fields["role"].choices = _grouped(ProgrammeRole, programme)

    def clean(self):
        data = super().clean()
        data["batch"] = Batch.objects.filter(pk=data.get("batch")).first() if data.get("batch") else None
        data["role"] = ProgrammeRole.objects.filter(pk=data.get("role")).first() if data.get("role") else None
        return data


class EnrolmentCreateForm(EnrolmentValuesForm):
    town = DivisionCodeField(label=gettext_lazy("Town (code)"))
    programme = forms.ModelChoiceField(label=gettext_lazy("programme"), queryset=Programme.objects.all())

    field_order = ["town", "programme", "batch", "role", "year_joined", "exit_year"]


def enrolment_initial(enrolment: Enrolment) -> dict:
    return {"batch": enrolment.batch_id, "role": enrolment.role_id, "year_joined": enrolment.year_joined,
            "exit_year": enrolment.exit_year}
