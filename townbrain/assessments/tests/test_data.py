"""Bulk values (one query per element) equal `value_of` per town, whatever the aggregation and storage."""

from decimal import Decimal

import pytest

from townbrain.assessments.data import element_values
from townbrain.indicators.models import DataValue
from townbrain.indicators.values import value_of

TOWNS = ["330109113", "330109001", "330182107", "330182100", "520111100"]
VILLAGE = "330109113201"


@pytest.mark.parametrize("aggregation", ["sum", "average", "last"])
def test_bulk_values_equal_value_of(tree, element, aggregation):
    e = element(f"x_{aggregation}", aggregation=aggregation)

    def put(org, period, number):
        DataValue.objects.create(element=e, org_unit_id=org, period=period, number=Decimal(number))

    put("330109113", "2020", "10")            # stored for the year: wins
    put("330109113", "2020Q1", "99")
    put("330109001", "2020Q1", "4")           # quarters and months of the year
    put("330109001", "202004", "1")
    put("330109001", "202005", "2")
    put("330109001", "2020Q4", "3")
    put("330182107", "202012", "7")           # one month only
    put("330182107", "2019", "100")           # another year: not read
    put("330182100", "2020S1", "5")           # a half year is not inside the year (value_of: quarters)
    put("520111100", "2020Q2", "8")
    got = element_values([e.code], TOWNS, "2020")[e.code]
    for town in TOWNS:
        expected = value_of(e, town, "2020")
        assert got.get(town) == (None if expected is None else pytest.approx(float(expected))), town


def test_villages_are_aggregated_into_their_town(tree, element):
    from townbrain.core.models import OrgUnit

    OrgUnit.objects.create(code="330109113202", name="第二村", level="village", parent_id="330109113")
    for aggregation in ("sum", "average"):
        e = element(f"v_{aggregation}", aggregation=aggregation)
        DataValue.objects.create(element=e, org_unit_id=VILLAGE, period="2020", number=Decimal("6"))
        DataValue.objects.create(element=e, org_unit_id="330109113202", period="2020Q3", number=Decimal("2"))
        got = element_values([e.code], TOWNS, "2020")[e.code]
        assert got["330109113"] == pytest.approx(float(value_of(e, "330109113", "2020")))
        assert set(got) == {"330109113"}


def test_only_the_asked_towns_and_area(tree, element):
    e = element("y")
    for town in TOWNS:
        DataValue.objects.create(element=e, org_unit_id=town, period="2020", number=Decimal(1))
    assert set(element_values(["y"], ["330109113", "520111100"], "2020")["y"]) == {"330109113", "520111100"}
    assert set(element_values(["y"], TOWNS, "2020", area="33")["y"]) == set(TOWNS) - {"520111100"}
    assert element_values(["nowhere"], TOWNS, "2020") == {"nowhere": {}}
