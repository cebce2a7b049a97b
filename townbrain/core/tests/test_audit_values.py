"""How the audit log writes field values: plain JSON, the same on every database, readable."""

from datetime import date
from decimal import Decimal

import pytest

from townbrain.core import audit


@pytest.mark.parametrize(("value", "written"), [
    (Decimal(40), "40"), (Decimal("40.00"), "40"), (Decimal("1200.0"), "1200"), (Decimal(0), "0"),
    (Decimal("2.50"), "2.50"), (Decimal("-3"), "-3"), (Decimal("1E+3"), "1000"),
    (date(2020, 9, 30), "2020-09-30"), ("瓜沥镇", "瓜沥镇"), (None, None), (7, 7),
])
def test_values_are_written_as_people_read_them(value, written):
    # whole amounts of 万元 once showed as "4E+1" in the log
    assert audit.snapshot_value(value) == written


def test_a_change_of_trailing_zeros_only_is_no_change():
    assert audit.diff({"x": audit.snapshot_value(Decimal("40.00"))}, {"x": audit.snapshot_value(Decimal(40))}) == {}
