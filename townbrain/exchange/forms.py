from django import forms
from django.utils.translation import gettext_lazy as _

from .kinds import KINDS


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[(k.name, k.label) for k in KINDS.values()])
    file = forms.FileField(label=_("File (.xlsx .xls .ods .csv .json)"))
    only_valid = forms.BooleanField(label=_("Import the valid rows even if some rows have errors"), required=False)
