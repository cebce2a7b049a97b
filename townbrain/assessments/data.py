"""Data element values for many towns and one year, in bulk: one query for all elements and towns.

Gives the same value `indicators.values.value_of(element, town, year)` gives for each town — a
value stored for (town, year) wins; otherwise the year is aggregated from the town's own
quarters and months with the element's aggregation; otherwise from its villages (sum for sum
and last elements, mean for average elements) — but reads every element for every town in one
query instead of one per element and town. Numbers come back as floats; text elements are not read (a formula
over text is not a score). `tests/test_data.py` holds the two equal.
"""

from collections import defaultdict

from django.db import connection, transaction

from townbrain.core import codes, periods
from townbrain.indicators.models import Aggregation, DataElement, DataValue, ValueType

TOWN = codes.LEVEL_LENGTHS["town"]
VILLAGE = codes.LEVEL_LENGTHS["village"]
TOWN_FILTER_MAX = 5000  # up to this many towns the query names them (and their villages); more: the whole area
FETCH = 50_000


def periods_inside(period: str) -> list[str]:
    out, todo = [], [period]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(periods.sub_periods(p))
    return out


def element_values(element_codes, towns, period: str, area: str = "") -> dict[str, dict[str, float]]:
    """{element code: {town code: value}} for `period`; towns without a value are left out.

    One query reads every element at once: for a few thousand towns, the rows of those towns and
    their villages (by the org unit index); for more, every row of the area, filtered here. An
    element code that is not a data element (or a text element) gives an empty mapping.
    """
    period = periods.canonical(period)
    element_codes = list(element_codes)
    towns = [t for t in towns if t.startswith(area)]
    wanted = set(towns)
    inside = periods_inside(period)
    elements = {e.pk: e for e in DataElement.objects.filter(code__in=element_codes).exclude(value_type=ValueType.TEXT)}
    out: dict[str, dict[str, float]] = {code: {} for code in element_codes}
    if not elements or not towns:
        return out
    direct: dict[int, dict[str, float]] = {pk: {} for pk in elements}
    rest: dict[int, dict[str, dict]] = {pk: defaultdict(dict) for pk in elements}
    element_ids = list(elements)
    where, params = _town_filter(towns, area)
    pg = connection.vendor == "postgresql"
    table = DataValue._meta.db_table
    ids, marks = ", ".join(["%s"] * len(element_ids)), ", ".join(["%s"] * len(inside))
    with transaction.atomic(), connection.cursor() as cursor:
        if pg:
            # Room to group 3 million values in memory rather than sorting them on disk.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            # One scan. The common case — a number stored for the town and the year — comes back as two
            # arrays per element (group key ''): no Python loop per value. The rest (quarters, months,
            # villages, empty numbers) comes grouped by element and town.
            direct_row = f"(period = %s AND number IS NOT NULL AND length(org_unit_id) = {TOWN})"
            for clause, args in zip(where, params, strict=True):
                cursor.execute(
                    f"SELECT element_id, CASE WHEN d THEN '' ELSE left(org_unit_id, {TOWN}) END, "
                    f"array_agg(org_unit_id::text), array_agg(period::text) FILTER (WHERE NOT d), "
                    f"array_agg(number::float8) "
                    f"FROM (SELECT element_id, org_unit_id, period, number, {direct_row} AS d FROM {table} "
                    f"WHERE element_id IN ({ids}) AND period IN ({marks}){clause}) v GROUP BY 1, 2",
                    [period, *element_ids, *inside, *args])
                while groups := cursor.fetchmany(FETCH):
                    for element_id, town, orgs, ps, numbers in groups:
                        if not town:
                            direct[element_id].update(zip(orgs, numbers, strict=True))
                        elif town in wanted:
                            rest[element_id][town] = dict(zip(zip(orgs, ps, strict=True), numbers, strict=True))
            for values in direct.values():
                for town in values.keys() - wanted:
                    del values[town]
            rest_sql = None
        else:
            rest_sql = (f"SELECT element_id, org_unit_id, period, CAST(number AS REAL) FROM {table} "
                        f"WHERE element_id IN ({ids}) AND period IN ({marks})")
            rest_params = [*element_ids, *inside]
        for clause, args in zip(where, params, strict=True) if rest_sql else ():
            cursor.execute(rest_sql + clause, [*rest_params, *args])
            while rows := cursor.fetchmany(FETCH):
                for element_id, org, p, number in rows:
                    town = org[:TOWN]
                    if town not in wanted:
                        continue
                    if p == period and len(org) == TOWN and number is not None:
                        direct[element_id][town] = number
                    else:
                        rest[element_id][town][(org, p)] = number
    for pk, element in elements.items():
        values = direct[pk]
        for town, stored in rest[pk].items():
            if town not in values:
                value = _Tree(stored, element.aggregation).value(town, period)
                if value is not None:
                    values[town] = value
        out[element.code] = values
    return out


def _town_filter(towns, area) -> tuple[list[str], list[list]]:
    """SQL conditions (each run as its own query) that pick the rows of the towns and their villages."""
    if len(towns) > TOWN_FILTER_MAX:
        if not area:
            return [""], [[]]
        return [" AND org_unit_id LIKE %s"], [[area.replace("%", "").replace("_", "") + "%"]]
    codes = sorted(set(towns) | set(_villages(towns)))
    step = 20_000 if connection.vendor == "postgresql" else 500
    chunks = [codes[i:i + step] for i in range(0, len(codes), step)]
    return [f" AND org_unit_id IN ({', '.join(['%s'] * len(chunk))})" for chunk in chunks], chunks


def _villages(towns) -> list[str]:
    """The villages (the only units below a town) of the given towns that are in the tree."""
    from townbrain.core.models import OrgUnit

    out = []
    for start in range(0, len(towns), 500):
        out += OrgUnit.objects.filter(parent_id__in=towns[start:start + 500]).values_list("code", flat=True)
    return out


def _combine(aggregation, values, over_time: bool):
    present = [v for v in values if v is not None]
    if not present:
        return None
    if aggregation == Aggregation.AVERAGE:
        return sum(present) / len(present)
    if aggregation == Aggregation.LAST and over_time:
        return present[-1]
    return sum(present)


_SUBS: dict[str, list[str]] = {}


def _subs(period: str) -> list[str]:
    subs = _SUBS.get(period)
    if subs is None:
        subs = _SUBS[period] = periods.sub_periods(period)
    return subs


class _Tree:
    """value_of's rules over one town's stored values: {(org, period): number}."""

    __slots__ = ("stored", "aggregation", "memo", "_orgs")

    def __init__(self, stored: dict, aggregation: str):
        self.stored, self.aggregation = stored, aggregation
        self.memo: dict = {}
        self._orgs = None

    def value(self, org, period):
        key = (org, period)
        if key in self.memo:
            return self.memo[key]
        result = self.stored.get(key)
        if result is None:
            result = self.own(org, period, top=True)
            if result is None and len(org) < VILLAGE:
                if self._orgs is None:
                    self._orgs = {o for o, _p in self.stored}
                children = sorted({o[:VILLAGE] for o in self._orgs if o.startswith(org) and len(o) >= VILLAGE})
                result = _combine(self.aggregation, [self.value(child, period) for child in children], over_time=False)
        self.memo[key] = result
        return result

    def own(self, org, period, top=False):
        if not top:
            stored = self.stored.get((org, period))
            if stored is not None:
                return stored
        subs = _subs(period)
        if not subs:
            return None
        return _combine(self.aggregation, [self.own(org, p) for p in subs], over_time=True)
