from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from townbrain.core.filters import DivisionCodeField

from .models import ActivityType, ExpertActivity, ExpertKind


class ExpertForm(forms.Form):
    """Validates input only; the service writes. The office is a code, not a <select> of every unit."""

    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind of expert"), choices=ExpertKind.choices)
    employer = forms.CharField(label=_("Employer / organisation"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    home = DivisionCodeField(label=_("Managing office (code)"), max_length=20,
                             help_text=_("Division code of the office that keeps the record, e.g. 3301"))
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class LoginCreateForm(forms.Form):
    """A new login for an expert (named after the expert, with the expert's e-mail)."""

    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)


class LoginLinkForm(forms.Form):
    """An existing account (that the office manages) to link to an expert."""

    username = forms.CharField(label=_("User name of an existing account"), max_length=150)


class AssignForm(forms.Form):
    town = DivisionCodeField(label=_("Town (code)"), max_length=20)
    role = forms.ChoiceField(label=_("Role"), choices=[("", _("the expert's kind"))] + list(ExpertKind.choices),
                             required=False)
    since = forms.DateField(label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ActivityForm(forms.ModelForm):
    """`towns` ((code, name) pairs): a choice of towns instead of a code to type — an expert's towns, on a phone."""

    town = DivisionCodeField(label=_("Town (code)"), max_length=20)

    class Meta:
        model = ExpertActivity
        fields = ["date", "town", "activity_type", "chief_designer_count", "resident_planner_count", "adviser_count",
                  "problems_found", "problems_solved", "expert_names", "note"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, towns=None, **kwargs):
        super().__init__(*args, **kwargs)
        if towns is not None:
            self.fields["town"] = forms.ChoiceField(label=_("Town"), choices=list(towns))
        if self.instance and self.instance.pk and not self.is_bound:
            self.initial["town"] = self.instance.town_id
        # Retired types are not offered for new activities; an activity keeps the one it has.
        current = self.instance.activity_type_id if self.instance and self.instance.pk else None
        field = self.fields["activity_type"]
        field.queryset = ActivityType.objects.filter(Q(active=True) | Q(code=current))
        field.empty_label = None
        if self.instance and self.instance.pk and self.instance.problems.exists():
            # Counted from the problem register: shown, not typed (a disabled field keeps the stored value).
            for name in ("problems_found", "problems_solved"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Counted from the problems on this activity's register.")
        if self.instance and self.instance.type_word:
            field.help_text = _("Written “%(word)s” in the imported sheet, which is no type of the vocabulary; "
                                "choose the type it means.") % {"word": self.instance.type_word}

    def clean(self):
        data = super().clean()
        found, solved = data.get("problems_found"), data.get("problems_solved")
        if found is not None and solved is not None and solved > found:
            self.add_error("problems_solved", _("Problems solved (%(solved)s) cannot be more than problems found "
                                                "(%(found)s).") % {"solved": solved, "found": found})
        return data

    def _post_clean(self):
        # The service validates the model (and the natural key); the form only checks the input.
        pass


class ActivityTypeForm(forms.ModelForm):
    """A word of the activity-type vocabulary; the service checks that no word means two types."""

    class Meta:
        model = ActivityType
        fields = ["code", "name", "synonyms", "active", "order"]
        widgets = {"synonyms": forms.Textarea(attrs={"rows": 2})}

    def _post_clean(self):
        pass  # the service validates (uniqueness of every word, 其他 stays active)


class ProblemForm(forms.Form):
    """What a problem is; the activity is chosen among the town's activities the user may see (by id)."""

    activity = forms.TypedChoiceField(label=_("Expert activity"), coerce=int)
    description = forms.CharField(label=_("Problem description"), max_length=500,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.CharField(label=_("Owner (责任人)"), max_length=100, required=False)
    due_date = forms.DateField(label=_("Due date (整改期限)"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, activities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity"].choices = [(a.pk, f"{a.date:%Y-%m-%d} {a.town.name} {a.type_label}")
                                           for a in activities]


class ProblemStepForm(forms.Form):
    step = forms.ChoiceField(choices=[(s, s) for s in ("start", "solve", "dismiss", "reopen")])
    reason = forms.CharField(label=_("Reason for dismissing"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
