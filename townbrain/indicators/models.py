"""Data elements × org units × periods (DHIS2's model), indicators as formulas, validation rules."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager


class ValueType(models.TextChoices):
    NUMBER = "number", _("Number")
    PERCENT = "percent", _("Percent")
    BOOLEAN = "boolean", _("Yes/no")
    TEXT = "text", _("Text")


class Aggregation(models.TextChoices):
    # Over time as named; over the org tree: sum for sum and last, mean for average.
    SUM = "sum", _("Sum")
    AVERAGE = "average", _("Average")
    LAST = "last", _("Last value")


class DataElement(TimeStampedModel):
    """What is measured, e.g. 建成区面积 (km²), 常住人口 (人), 污水处理率 (%). Reference data."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    value_type = models.CharField(_("value type"), max_length=10, choices=ValueType.choices, default=ValueType.NUMBER)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    aggregation = models.CharField(_("aggregation"), max_length=10, choices=Aggregation.choices,
                                   default=Aggregation.SUM)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("data element")
        verbose_name_plural = _("data elements")

    def __str__(self):
        return f"{self.name} ({self.code})"


class DataValue(TimeStampedModel):
    """One value of an element for an org unit and a period (2024, 2024S1, 2024Q3, 202409)."""

    scope_field = "org_unit__code"

    element = models.ForeignKey(DataElement, verbose_name=_("data element"), on_delete=models.PROTECT,
                                related_name="values")
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT,
                                 related_name="data_values")
    period = models.CharField(_("period"), max_length=7)
    # Numbers (and yes/no as 1/0) in `number`, so aggregates are SQL; text in `text`.
    number = models.DecimalField(_("number"), max_digits=20, decimal_places=6, null=True, blank=True)
    text = models.TextField(_("text"), blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["element_id", "org_unit_id", "period"]
        verbose_name = _("data value")
        verbose_name_plural = _("data values")
        constraints = [models.UniqueConstraint(fields=["element", "org_unit", "period"],
                                               name="indicators_value_unique")]
        indexes = [models.Index(fields=["org_unit"], name="indicators_value_org_prefix",
                                opclasses=["text_pattern_ops"])]

    def __str__(self):
        return f"{self.element.code} {self.org_unit_id} {self.period}"

    @property
    def value(self):
        if self.element.value_type == ValueType.TEXT:
            return self.text
        if self.element.value_type == ValueType.BOOLEAN:
            return None if self.number is None else bool(self.number)
        return self.number


class Indicator(TimeStampedModel):
    """A formula over data elements, e.g. `#{sewage_treated} / #{sewage_total} * 100`."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    formula = models.TextField(_("formula"))
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=2)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self):
        return f"{self.name} ({self.code})"


class ValidationRule(TimeStampedModel):
    class Operator(models.TextChoices):
        EQ = "==", "=="
        NE = "!=", "!="
        LT = "<", "<"
        LE = "<=", "<="
        GT = ">", ">"
        GE = ">=", ">="

    class Importance(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    class Missing(models.TextChoices):
        SKIP_IF_ANY = "skip_if_any_missing", _("Skip if any value is missing")
        SKIP_IF_ALL = "skip_if_all_missing", _("Skip if all values are missing")
        NEVER_SKIP = "never_skip", _("Never skip (missing counts as 0)")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    left = models.TextField(_("left side"))
    operator = models.CharField(_("operator"), max_length=2, choices=Operator.choices)
    right = models.TextField(_("right side"))
    importance = models.CharField(_("importance"), max_length=10, choices=Importance.choices,
                                  default=Importance.MEDIUM)
    missing = models.CharField(_("missing values"), max_length=20, choices=Missing.choices,
                               default=Missing.SKIP_IF_ANY)
    message = models.CharField(_("message"), max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("validation rule")
        verbose_name_plural = _("validation rules")

    def __str__(self):
        return f"{self.name}: {self.left} {self.operator} {self.right}"
