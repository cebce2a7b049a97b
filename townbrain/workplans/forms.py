"""Forms of the work plan pages: they validate input only; services.py writes. Every choice is a choice widget —
the kind, programme, status, an item's heading (the plan's programme's categories) and its projects (the
projects of the plan's area) — and the org unit a picker of the user's area."""

from django import forms
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeField
from townbrain.programmes.models import Category, Programme
from townbrain.projects.models import Project

from .models import Kind, PlanStatus


def _date(label, help_text=""):
    return forms.DateField(label=label, required=False, help_text=help_text,
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


def _year(label):
    return forms.IntegerField(label=label, required=False, min_value=1990, max_value=2100)


class PlanForm(forms.Form):
    title = forms.CharField(label=_("Plan title"), max_length=200)
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=Programme.objects.order_by("id"),
                                       to_field_name="code", required=False,
                                       help_text=_("Its categories head the items; default 美丽城镇 for a town, "
                                                   "城乡区域统筹 for a county"))
    start_year = _year(_("Start year"))
    end_year = _year(_("End year"))
    approved_on = _date(_("Approved on"))
    status = forms.ChoiceField(label=_("Status"), choices=PlanStatus.choices, initial=PlanStatus.DRAFT)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class NewPlanForm(PlanForm):
    org_unit = DivisionCodeField(label=_("Org unit (code)"), max_length=20,
                                 help_text=_("A town for 一镇一方案, a county for 十个统筹"))
    kind = forms.ChoiceField(label=_("Kind of plan"), choices=Kind.choices)
    field_order = ["org_unit", "kind", "title", "programme", "start_year", "end_year", "approved_on", "status", "note"]


class ProjectChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name} · {obj.town.name}"


class ItemForm(forms.Form):
    heading = forms.ModelChoiceField(label=_("Heading"), queryset=Category.objects.none())
    goal = forms.CharField(label=_("Goal"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    deadline = _date(_("Completion deadline"))
    owner = forms.CharField(label=_("Responsible unit"), max_length=200, required=False)
    projects = ProjectChoice(label=_("Linked projects"), queryset=Project.objects.none(), required=False,
                             widget=forms.SelectMultiple(attrs={"size": 8}),
                             help_text=_("Projects of the plan's area; hold Ctrl (or ⌘) to choose several"))

    def __init__(self, plan, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["heading"].queryset = Category.objects.filter(programme=plan.programme_id).order_by("order", "id")
        self.fields["projects"].queryset = (Project.objects.filter(town__code__startswith=plan.org_unit_id)
                                            .select_related("town").order_by("town_id", "programme_id", "code"))
