"""The one write path for data elements, values, indicators and validation rules."""

from copy import copy
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from townbrain.core import audit, bulk, locks, periods
from townbrain.core.parse import BadValue, parse_number
from townbrain.core.scope import require

from .models import DataElement, DataValue, Indicator, ValidationRule, ValueType

VALUE_FIELDS = ("number", "text", "comment")
COMMENT_MAX = DataValue._meta.get_field("comment").max_length
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
    # Core's one reading of numbers (imports read them the same way): 1,234.5 and １２３４ are numbers,
    # 12,50 is refused as ambiguous, (1,234) is −1234; the element's own unit and % may follow.
    try:
        number = parse_number(raw, units=("%", element.unit) if element.unit else ("%",))
    except BadValue as exc:
        raise ValidationError({"value": str(exc)}) from None
    if number is None:
        raise ValidationError({"value": _("The value is empty.")})
    if element.value_type == ValueType.PERCENT and not (0 <= number <= 100):
        raise ValidationError({"value": _("A percentage lies between 0 and 100; got %(value)s.") % {"value": number}})
    return number, ""


def set_value(actor, element: DataElement, org_unit, period, raw, comment: str = "") -> DataValue:
    """Store (or replace) the value of `element` for `org_unit` and `period`."""
    return bulk.one(ValueBatch(actor), (element, org_unit, period, raw, comment))


def delete_value(actor, value: DataValue) -> None:
    with transaction.atomic():
        batch = ValueBatch(actor)
        batch.remove(value)
        batch.write()


class ValueBatch:
    """Values stored and removed for one actor in one transaction (set_value() is the one-value case;
    an import stores thousands): check() answers each value in the order given, as one set_value()
    call after another would, reading the stored values once; write() writes the accepted ones
    together with an audit row each. Nothing is written before write()."""

    def __init__(self, actor):
        self.actor = actor
        self.now: dict[tuple, DataValue | None] = {}  # (element id, unit code, period): the value the batch holds
        self.read: dict[tuple, DataValue] = {}  # as stored when the batch began
        # A town's values of a period submitted, approved or locked in the reporting cycle refuse changes.
        self.locks = locks.Guard(actor, "values")

    def check(self, items) -> list:
        """[(element, org unit, period, raw value, comment)] -> for each, (value, snapshot before or
        None, "created" | "updated" | "unchanged") or the error that refuses it."""
        parsed = []
        for element, unit, period, raw, comment in items:
            try:
                try:
                    period = periods.canonical(period)
                except periods.InvalidPeriod as exc:
                    raise ValidationError({"period": str(exc)}) from exc
                require(self.actor, "change", unit.code)
                number, text = parse_value(element, raw)
                comment = comment or ""
                if len(comment) > COMMENT_MAX:
                    raise ValidationError({"comment": _("A comment has at most %(n)s characters.")
                                                      % {"n": COMMENT_MAX}})
                parsed.append((element, unit, period, number, text, comment))
            except (ValidationError, PermissionDenied) as exc:
                parsed.append(exc)
        self.locks.prefetch({(p[1].code, None, p[2]) for p in parsed if not isinstance(p, Exception)})
        parsed = [p if isinstance(p, Exception) else self._unlocked(p) for p in parsed]
        self._load([p for p in parsed if not isinstance(p, Exception)])
        return [p if isinstance(p, Exception) else self._store(*p) for p in parsed]

    def _unlocked(self, item):
        """The parsed item, or the Locked error when its town's period is locked."""
        try:
            self.locks.check(item[1].code, None, item[2])
        except locks.Locked as exc:
            return exc
        return item

    def _load(self, parsed) -> None:
        """Lock and read the stored values the items name (one query)."""
        keys = {(e.pk, u.code, period) for e, u, period, *_rest in parsed} - self.now.keys()
        if not keys:
            return
        stored = DataValue.objects.select_for_update().filter(
            element_id__in={k[0] for k in keys}, period__in={k[2] for k in keys}).order_by("pk")
        for value in bulk.where_in(stored, "org_unit_id", {k[1] for k in keys}):
            key = (value.element_id, value.org_unit_id, value.period)
            if key in keys:
                self.read[key], self.now[key] = value, copy(value)
        for key in keys - self.read.keys():
            self.now[key] = None

    def _store(self, element, unit, period, number, text, comment) -> tuple:
        key = (element.pk, unit.code, period)
        value = self.now[key]
        if value is not None and (value.number, value.text, value.comment) == (number, text, comment):
            return value, None, "unchanged"  # the same value again: nothing to write, nothing to log
        before = audit.snapshot(value, VALUE_FIELDS) if value else None
        value = copy(value) if value else bulk.instance(DataValue, {"element": element, "org_unit": unit,
                                                                    "period": period})
        value.element = element  # naming the value (audit) reads no element again
        value.number, value.text, value.comment = number, text, comment
        self.now[key] = value
        return value, before, "updated" if before else "created"

    def remove(self, value: DataValue) -> None:
        """Remove a stored value (read by the caller)."""
        require(self.actor, "delete", value.org_unit_id)
        self.locks.check(value.org_unit_id, None, value.period)
        key = (value.element_id, value.org_unit_id, value.period)
        self.read.setdefault(key, value)
        self.now[key] = None

    def write(self) -> None:
        """Write what the batch holds (once): new and changed values, removals, an audit row each."""
        created, updated, gone, rows = [], [], [], []
        for key, value in self.now.items():
            was = self.read.get(key)
            before, after = audit.snapshot(was, VALUE_FIELDS), audit.snapshot(value, VALUE_FIELDS)
            if before == after:
                continue
            if value is None:
                gone.append(was)
            elif was is None:
                created.append(value)
            else:
                value.pk = was.pk
                updated.append(value)
            rows.append((value or was, before, after))
        with transaction.atomic(savepoint=False):  # one unit with the caller's transaction, if any
            for piece in bulk.pieces([v.pk for v in gone], bulk.IN_CHUNK):
                DataValue.objects.filter(pk__in=piece).delete()
            bulk.insert(DataValue, created)
            bulk.update(DataValue, updated, VALUE_FIELDS)
            audit.record_all(self.actor, (("datavalue.save" if after else "datavalue.delete", value, before, after,
                                           value.org_unit_id) for value, before, after in rows))
        self.now, self.read = {}, {}


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
