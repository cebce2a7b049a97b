"""Indicators and validation rules evaluated for an org unit and a period."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from townbrain.core import periods

from .expressions import FormulaError, evaluate, parse
from .models import DataElement, DataValue, ValidationRule
from .values import Resolver, value_of


def _elements(codes) -> dict:
    elements = {e.code: e for e in DataElement.objects.filter(code__in=codes)}
    missing = set(codes) - set(elements)
    if missing:
        raise FormulaError(_("Unknown data element(s): %(codes)s") % {"codes": ", ".join(sorted(missing))})
    return elements


def element_values(codes, org_code: str, period: str) -> dict:
    return {code: value_of(element, org_code, period) for code, element in _elements(codes).items()}


def _rounded(indicator, result):
    if isinstance(result, Decimal):
        return result.quantize(Decimal(1).scaleb(-indicator.decimals), rounding=ROUND_HALF_UP)
    return result


def indicator_value(indicator, org_code: str, period: str):
    expr = parse(indicator.formula)
    return _rounded(indicator, evaluate(expr, element_values(expr.references(), org_code, periods.canonical(period))))


def indicator_values(indicator, org_code: str, period: str, units=()) -> dict:
    """The indicator for `org_code` and each unit of `units` (all inside its subtree): {code: value}.

    The same figures as `indicator_value` for each unit, read with one query per element for the
    whole subtree. A unit whose values the formula cannot work with maps to its FormulaError.
    """
    expr = parse(indicator.formula)
    period = periods.canonical(period)
    resolvers = {code: Resolver(element, org_code, period) for code, element in _elements(expr.references()).items()}
    out = {}
    for unit in (org_code, *units):
        if not unit.startswith(org_code):
            raise ValueError(f"{unit} is not inside {org_code}")
        try:
            out[unit] = _rounded(indicator, evaluate(expr, {c: r.value(unit) for c, r in resolvers.items()}))
        except FormulaError as exc:
            out[unit] = exc
    return out


OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
       ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def check_rule(rule: ValidationRule, org_code: str, period: str, resolvers: dict | None = None) -> dict | None:
    """A violation dict, or None when the rule holds or is skipped for missing values. `resolvers`
    ({element code: Resolver} of a subtree holding `org_code`) answer the values without a query."""
    left, right = parse(rule.left), parse(rule.right)
    refs = left.references() | right.references()
    if resolvers is None:
        values = element_values(refs, org_code, period)
    else:
        values = {code: resolvers[code].value(org_code) for code in refs}
    present = [v for v in values.values() if v is not None]
    if rule.missing == ValidationRule.Missing.SKIP_IF_ANY and len(present) < len(values):
        return None
    if rule.missing == ValidationRule.Missing.SKIP_IF_ALL and values and not present:
        return None
    missing = "zero" if rule.missing == ValidationRule.Missing.NEVER_SKIP else "null"
    lv, rv = evaluate(left, values, missing=missing), evaluate(right, values, missing=missing)
    if lv is None or rv is None:
        return None
    try:
        holds = OPS[rule.operator](lv, rv)
    except TypeError:
        raise FormulaError(_("Rule %(code)s compares text with a number.") % {"code": rule.code}) from None
    if holds:
        return None
    return {"rule": rule.code, "name": rule.name, "org_unit": org_code, "period": period,
            "left": lv, "operator": rule.operator, "right": rv, "importance": rule.importance,
            "message": rule.message or _("%(name)s: %(left)s %(op)s %(right)s does not hold.") % {
                "name": rule.name, "left": lv, "op": rule.operator, "right": rv}}


def run_rules(org_code: str, period: str, rules=None, below: bool = True) -> list[dict]:
    """Violations for the org unit and (with `below`) every unit under it that has values in the period."""
    period = periods.canonical(period)
    rules = list(rules if rules is not None else ValidationRule.objects.all())
    units = [org_code]
    if below:
        units += sorted(set(DataValue.objects.filter(org_unit__code__startswith=org_code, period=period)
                            .exclude(org_unit__code=org_code).values_list("org_unit_id", flat=True)))
    # The values of every unit from one query per element for the whole subtree, not two per unit and rule.
    refs = set().union(*((parse(r.left).references() | parse(r.right).references()) for r in rules))
    resolvers = {code: Resolver(element, org_code, period) for code, element in _elements(refs).items()}
    out = []
    for unit in units:
        for rule in rules:
            violation = check_rule(rule, unit, period, resolvers)
            if violation:
                out.append(violation)
    return out


def rules_for_element(code: str):
    return [r for r in ValidationRule.objects.all() if code in (parse(r.left).references() | parse(r.right).references())]
