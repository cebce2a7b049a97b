from django import forms

from townbrain.core.filters import DivisionCodeField

from .models import Article, Honour, Quota

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _UnitForm(forms.ModelForm):
    """Validates input only; the service writes. The unit is a division code, not a <select> of every unit."""

    unit_field = "town"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.unit_field] = DivisionCodeField(label=self.fields[self.unit_field].label, max_length=20)
        order = [self.unit_field, *(f for f in self.fields if f != self.unit_field)]
        self.order_fields(order)
        if self.instance.pk and not self.is_bound:
            self.initial[self.unit_field] = getattr(self.instance, f"{self.unit_field}_id")

    def _post_clean(self):
        pass  # the service validates the model and its natural key


class ArticleForm(_UnitForm):
    # A link typed without a scheme is read as https:// (Django 6's default, chosen now).
    link = forms.URLField(label=Article._meta.get_field("link").verbose_name.capitalize(), max_length=500,
                          required=False, assume_scheme="https")

    class Meta:
        model = Article
        fields = ["town", "level", "outlet", "published_on", "title", "link"]
        widgets = {"published_on": DATE}


class QuotaForm(_UnitForm):
    class Meta:
        model = Quota
        fields = ["town", "period", "articles", "min_level", "note"]


class HonourForm(_UnitForm):
    unit_field = "unit"

    class Meta:
        model = Honour
        fields = ["unit", "kind", "recipient", "title", "issuer", "awarded_on", "occasion", "reason"]
        widgets = {"awarded_on": DATE, "reason": forms.Textarea(attrs={"rows": 2})}


FORMS = {Article: ArticleForm, Quota: QuotaForm, Honour: HonourForm}
