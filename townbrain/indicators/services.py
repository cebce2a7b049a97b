"""The one write path for data elements, values, indicators and validation rules."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from townbrain.core import audit, periods
from townbrain.core.scope import require

from .models import DataElement, DataValue, Indicator, ValidationRule, ValueType

VALUE_FIELDS = ("number", "text", "comment")
TRUE = {"1", "true", "yes", "y", "是", "有", "√", "✓"}
FALSE = {"0", "false", "no", "n", "否", "无", "×", "✗"}


def parse_value(element: DataElement, raw):
    """(number, text) for a raw value of `element`'s type; ValidationError with the reason."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValidationError({"value": _("The value is empty.")})
    if element.value_type == ValueType.TEXT:
        return None, str(raw).strip()
    if element.value_type == ValueType.BOOLEAN:
        text = str(raw).strip().lower()
        if isinstance(raw, bool):
            return Decimal(int(raw)), ""
        if text in TRUE:
            return Decimal(1), ""
        if text in FALSE:
            return Decimal(0), ""
        raise ValidationError({"value": _("“%(value)s” is not yes/no (是/否).") % {"value": raw}})
    try:
        text = str(raw).strip().replace(",", "").rstrip("%").strip()
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationError({"value": _("“%(value)s” is not a number.") % {"value": raw}}) from None
    if not number.is_finite():
        raise ValidationError({"value": _("“%(value)s” is not a number.") % {"value": raw}})
    if element.value_type == ValueType.PERCENT and not (0 <= number <= 100):
        raise ValidationError({"value": _("A percentage lies between 0 and 100; got %(value)s.") % {"value": number}})
    return number, ""


def set_value(actor, element: DataElement, org_unit, period, raw, comment: str = "") -> DataValue:
    """Store (or replace) the value of `element` for `org_unit` and `period`."""
    try:
        period = periods.canonical(period)
    except periods.InvalidPeriod as exc:
        raise ValidationError({"period": str(exc)}) from exc
    require(actor, "change", org_unit.code)
    number, text = parse_value(element, raw)
    with transaction.atomic():
        value = DataValue.objects.select_for_update().filter(element=element, org_unit=org_unit, period=period).first()
        if value is not None and (value.number, value.text, value.comment) == (number, text, comment or ""):
            return value  # the same value again: nothing to write, nothing to log
        before = audit.snapshot(value, VALUE_FIELDS) if value else {}
        value = value or DataValue(element=element, org_unit=org_unit, period=period)
        value.number, value.text, value.comment = number, text, comment or ""
        after = audit.snapshot(value, VALUE_FIELDS)
        if after != before:
            value.save()
            audit.record(actor, "datavalue.save", value, before, after, org_code=org_unit.code)
    return value


def delete_value(actor, value: DataValue) -> None:
    require(actor, "delete", value.org_unit_id)
    with transaction.atomic():
        audit.record(actor, "datavalue.delete", value, audit.snapshot(value, VALUE_FIELDS), {},
                     org_code=value.org_unit_id)
        value.delete()


def _check_formula(field: str, text: str) -> None:
    from .expressions import FormulaSyntaxError, parse

    try:
        parse(text)
    except FormulaSyntaxError as exc:
        raise ValidationError({field: str(exc)}) from exc


def _save_reference(actor, model, action: str, code: str, fields: dict, formula_fields=()):
    """Create or update a reference object (element, indicator, rule): system administrators only."""
    require(actor, "manage", "")
    for name in formula_fields:
        if name in fields:
            _check_formula(name, fields[name])
    with transaction.atomic():
        obj = model.objects.select_for_update().filter(code=code).first()
        names = ("code", *fields)
        before = audit.snapshot(obj, names) if obj else {}
        obj = obj or model(code=code)
        for name, value in fields.items():
            setattr(obj, name, value)
        obj.full_clean(validate_unique=False, validate_constraints=False)
        after = audit.snapshot(obj, names)
        if after != before:
            obj.save()
            audit.record(actor, action, obj, before, after)
    return obj


def save_element(actor, code: str, **fields) -> DataElement:
    return _save_reference(actor, DataElement, "dataelement.save", code, fields)


def save_indicator(actor, code: str, **fields) -> Indicator:
    return _save_reference(actor, Indicator, "indicator.save", code, fields, formula_fields=("formula",))


def save_rule(actor, code: str, **fields) -> ValidationRule:
    return _save_reference(actor, ValidationRule, "validationrule.save", code, fields,
                           formula_fields=("left", "right"))
