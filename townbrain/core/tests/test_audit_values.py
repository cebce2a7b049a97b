"""How the audit log writes field values: plain JSON, the same on every database, readable."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from townbrain.core import audit, bulk
from townbrain.core.context import origin
from townbrain.core.models import AuditEntry, OrgUnit


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


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="many rows go in as values by COPY on PostgreSQL only")
def test_many_audit_rows_written_as_values_are_the_rows_written_as_entries(tree, users, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH", 3)  # pieces of 3 or more rows: values
    monkeypatch.setattr(bulk, "ROWS_CHUNK", 4)  # 10 rows: two pieces of values and one piece of 2 entries
    units = list(OrgUnit.objects.order_by("code")[:10])
    changes = [("org.rename", u, {"name": u.name, "phone": ""}, {"name": f"{u.name}（新）", "phone": "13800000000"},
                u.code) for u in units]

    def written(action):
        with origin("import", "req-1"), audit.importing(77, ("orgunit",)) as history:
            for row, u in enumerate(units[:5], start=2):
                history.mark(u, row)
            audit.record_all(users["hangzhou"], [(action, *change[1:]) for change in changes])
        return [(r.actor_id, r.actor_name, r.object_type, r.object_id, r.object_repr, r.org_code, r.changes, r.source,
                 r.request_id, r.import_batch, r.import_row)
                for r in AuditEntry.objects.filter(action=action).order_by("id")]

    as_values = written("test.values")
    monkeypatch.setattr(bulk, "copies", lambda: False)
    assert as_values == written("test.entries")
    assert len(as_values) == 10 and as_values[0][9:] == (77, 2) and as_values[-1][9:] == (77, None)
    assert as_values[0][6]["phone"] == [None, audit.CHANGED]  # personal data as a marker, both ways
