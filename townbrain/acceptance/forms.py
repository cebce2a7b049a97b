"""Forms of the acceptance pages: they validate input; the services write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from townbrain.assessments.models import Scheme
from townbrain.core.filters import DivisionCodeField
from townbrain.programmes.models import Programme

from .models import ChecklistItem


class OpenForm(forms.Form):
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=Programme.objects.filter(active=True),
                                       to_field_name="code")
    year = forms.IntegerField(label=_("Year"), min_value=1990, max_value=2100)
    area = DivisionCodeField(label=_("Area (division code)"),
                             help_text=_("A province, city, county or town code: every enrolled town there gets an "
                                         "acceptance (towns that have one keep it)."))
    scheme = forms.ModelChoiceField(label=_("Scheme"), required=False, to_field_name="code",
                                    queryset=Scheme.objects.filter(status=Scheme.Status.OFFICIAL),
                                    help_text=_("Default: the programme's official scheme for the year."))


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(label=_("Self-assessment"), choices=ChecklistItem.Answer.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class VerdictForm(forms.Form):
    verdict = forms.ChoiceField(label=_("Verdict"), choices=ChecklistItem.Verdict.choices)
    verdict_note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("File (image or PDF)"))
    item = forms.IntegerField(label=_("Checklist item"), required=False)


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class SignOffForm(CommentForm):
    outcome = forms.ChoiceField(label=_("Outcome"))

    def __init__(self, *args, grades=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = [(g, g) for g in grades]
