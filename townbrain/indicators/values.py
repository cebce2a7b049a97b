"""Reading values for any org unit and period: stored, or aggregated over the tree and over time.

A value stored for (org unit, period) wins. Otherwise a coarser period is aggregated from its
sub-periods (year → quarters → months; half year → quarters) with the element's aggregation
(sum, average, last), and an org unit without its own value aggregates its children (sum for
sum/last elements, mean for average elements). Text values are never aggregated.
"""

from decimal import Decimal

from townbrain.core import codes, periods

from .models import Aggregation, DataValue, ValueType


class Resolver:
    """Answers value(element, org, period) from one query per (element, subtree, period)."""

    def __init__(self, element, org_code: str, period: str):
        self.element = element
        self.root = org_code
        self.period = periods.canonical(period)
        covered = _periods_inside(self.period)
        rows = DataValue.objects.filter(element=element, org_unit__code__startswith=org_code, period__in=covered)
        self.stored = {(r.org_unit_id, r.period): (r.text if element.value_type == ValueType.TEXT else r.number)
                       for r in rows}
        self.orgs = {org for org, _p in self.stored}
        self.memo: dict = {}

    def value(self, org: str | None = None, period: str | None = None):
        org, period = org or self.root, period or self.period
        key = (org, period)
        if key in self.memo:
            return self.memo[key]
        result = self.stored.get(key)
        if result is None and self.element.value_type != ValueType.TEXT:
            result = self._over_time(org, period)
            if result is None:
                result = self._over_tree(org, period)
        self.memo[key] = result
        return result

    def from_below(self, org: str | None = None, period: str | None = None):
        """The value aggregated from the units below `org` only, its own stored value left aside
        (what the entry form shows beside an office's own figure). Text is never aggregated."""
        if self.element.value_type == ValueType.TEXT:
            return None
        return self._over_tree(org or self.root, period or self.period)

    def _over_time(self, org, period):
        subs = periods.sub_periods(period)
        if not subs:
            return None
        values = [self.value_at_org_only(org, p) for p in subs]
        return _combine(self.element.aggregation, values, over_time=True)

    def value_at_org_only(self, org, period):
        """The org's own value for a period (its own data, aggregated over time only)."""
        stored = self.stored.get((org, period))
        if stored is not None:
            return stored
        subs = periods.sub_periods(period)
        if not subs:
            return None
        return _combine(self.element.aggregation, [self.value_at_org_only(org, p) for p in subs], over_time=True)

    def _over_tree(self, org, period):
        level_len = len(org)
        idx = list(codes.LEVEL_LENGTHS.values()).index(level_len)
        if idx + 1 >= len(codes.LEVEL_LENGTHS):
            return None
        child_len = list(codes.LEVEL_LENGTHS.values())[idx + 1]
        children = sorted({o[:child_len] for o in self.orgs if o.startswith(org) and len(o) >= child_len})
        values = [self.value(child, period) for child in children]
        return _combine(self.element.aggregation, values, over_time=False)


def _periods_inside(period: str) -> list[str]:
    out, todo = [], [period]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(periods.sub_periods(p))
    return out


def _combine(aggregation, values, over_time: bool):
    present = [v for v in values if v is not None]
    if not present:
        return None
    if aggregation == Aggregation.AVERAGE:
        return sum(present, Decimal(0)) / len(present)
    if aggregation == Aggregation.LAST and over_time:
        return present[-1]
    return sum(present, Decimal(0))


def value_of(element, org_code: str, period: str):
    return Resolver(element, org_code, period).value()
