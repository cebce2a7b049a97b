"""EventBatch (issue 17 item 6, one batch shape): historic events checked in order as one import_event() call
after another would, the accepted ones written together with their timelines, statistics cells and audit
rows; the `events` import checks its rows in bulk and costs no query per row; its undo deletes them."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from townbrain.core import bulk, doctor
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch

from .. import cells, services
from ..models import Event, EventCell, Step
from .conftest import DAYANG, GUALI

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
HEADER = ["原编号", "乡镇(街道)代码", "事件小类", "事件描述", "上报时间", "受理时间", "派遣时间", "处置部门", "结案时间", "回访评价"]


def at(*parts):
    return datetime(*parts, tzinfo=SH)


def record(case: str, **fields) -> dict:
    """A closed and reviewed historic case of 瓜沥镇 (占道经营), dispatched to a department."""
    return {"town": OrgUnit.objects.get(code=GUALI), "description": "占道经营", "external_id": case,
            "reported_at": at(2020, 9, 1, 9), "accepted_at": at(2020, 9, 1, 10), "dispatched_at": at(2020, 9, 1, 11),
            "to": "综合执法中队", "closed_at": at(2020, 9, 2, 11), "verdict": "satisfied", **fields}


def timeline(event) -> list:
    return list(event.steps.order_by("time", "pk").values_list("step", "from_status", "to_status", "time", "detail"))


def doctor_ok():
    for result in doctor.run_all(doctor.Options(full=True), only=["event_cells", "event_counters"]):
        assert result["status"] == "ok", result


def test_items_are_checked_in_order_one_refused_mid_batch_the_rest_written(people, category):
    batch = services.EventBatch(people["guali"])
    results = batch.check([
        (None, record("H-1", category=category)),
        (None, record("H-2", category=category, accepted_at=at(2020, 8, 31))),  # before its report
        (None, record("H-3", category=category, verdict="dissatisfied")),
        (None, record("H-1", category=category, description="同一个案件")),  # the case the first item took
        (None, record("H-4", category=category, town=OrgUnit.objects.get(code=DAYANG))),
        (None, record("H-5", category=category, to="no-such-user-or-code-but-a-name-of-more-than-100-chars" * 2)),
        (None, record("H-6", category=category, dispatched_at=None, closed_at=None, verdict="", to="")),
    ])
    first, before, reopened, same_case, elsewhere, long_name, accepted = results
    assert first[1:] == (None, "created") and reopened[2] == accepted[2] == "created"
    assert "before the step before it" in before.message_dict["accepted_at"][0]
    assert "already has case H-1" in same_case.message_dict["external_id"][0]
    assert isinstance(elsewhere, PermissionDenied)
    assert isinstance(long_name, ValidationError) and "to" in long_name.message_dict
    assert not Event.objects.exists() and not EventCell.objects.exists()  # nothing before write()
    batch.write()
    assert set(Event.objects.values_list("external_id", flat=True)) == {"H-1", "H-3", "H-6"}
    h1 = Event.objects.get(external_id="H-1")
    assert [s[:3] for s in timeline(h1)] == [("report", "", "reported"), ("accept", "reported", "accepted"),
                                            ("dispatch", "accepted", "dispatched"), ("close", "dispatched", "closed"),
                                            ("review", "closed", "reviewed")]
    assert all(s[4]["imported"] for s in timeline(h1)) and h1.department == "综合执法中队"
    assert Event.objects.get(external_id="H-3").reviews_satisfied == 0
    assert Event.objects.get(external_id="H-6").status == "accepted"
    assert AuditEntry.objects.filter(action="event.import").count() == 3
    assert cells.compare()[1] == []
    doctor_ok()


def test_the_one_item_case_is_the_service(people, category):
    """import_event() is bulk.one() of the batch: an event imported in a batch of many is the event the
    service makes, with the same timeline, cells and audit row."""
    alone = services.import_event(people["guali"], **record("ONE", category=category))
    many = bulk.every(services.EventBatch(people["guali"]),
                      [(None, record(f"MANY-{i}", category=category)) for i in range(3)])
    fields = [f.attname for f in Event._meta.concrete_fields if f.name not in ("id", "external_id", "created",
                                                                                "updated")]

    def row(event):
        event.refresh_from_db()
        return [getattr(event, name) for name in fields]

    def audited(event):
        entry = AuditEntry.objects.get(action="event.import", object_id=str(event.pk))
        return entry.org_code, {k: v for k, v in entry.changes.items() if k != "external_id"}

    assert all(row(e) == row(alone) and timeline(e) == timeline(alone) and audited(e) == audited(alone)
               for e in many)
    assert EventCell.objects.get().received == 4
    with pytest.raises(ValidationError, match="already has case ONE"):
        services.import_event(people["guali"], **record("ONE", category=category))
    doctor_ok()


def _sheet(n: int, start: int = 0) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    for i in range(start, start + n):
        writer.writerow([f"Q-{i}", GUALI, "zf-city-stall", "占道经营", "2020-09-01 09:00", "2020-09-01 10:00",
                         "2020-09-01 11:00", "guali" if i % 2 else "综合执法中队", "2020-09-02 11:00",
                         "满意" if i % 3 else "不满意"])
    return buf.getvalue().encode("utf-8-sig")


def test_an_import_and_its_undo_cost_no_query_per_row(people):
    """As many queries for 16 rows as for 4: the case numbers, categories, dispatch targets and field checks
    are read once, the events, their steps and audit rows written together, one upsert per statistics cell;
    an undo deletes them together."""
    def queries(data):
        with CaptureQueriesContext(connection) as seen:
            result = run_import(people["guali"], data, "events.csv", "events")
        assert result["status"] == "applied", result["errors"]
        return len(seen.captured_queries), result

    def undo(result):
        with CaptureQueriesContext(connection) as seen:
            undo_batch(people["guali"], ImportBatch.objects.get(pk=result["id"]))
        return len(seen.captured_queries)

    queries(_sheet(1, start=100))  # what is read once per process or per user (scope, the calendar)
    (few, few_batch), (many, many_batch) = queries(_sheet(4)), queries(_sheet(16, start=4))
    assert few == many
    assert queries(_sheet(4))[0] == queries(_sheet(16, start=4))[0]  # the same files again: all unchanged
    assert Event.objects.count() == 21 and Step.objects.filter(step="review").count() == 21
    doctor_ok()
    assert undo(few_batch) == undo(many_batch)
    assert Event.objects.count() == 1 and Step.objects.filter(step="review").count() == 1
    doctor_ok()


def test_import_refuses_a_row_mid_file_writes_the_rest_and_undoes(people):
    rows = _sheet(4).decode("utf-8-sig").splitlines()
    rows[3] = rows[3].replace("2020-09-02 11:00", "2020-08-01 11:00")  # closed before it was dispatched
    result = run_import(people["guali"], "\n".join(rows).encode(), "events.csv", "events", only_valid=True)
    assert result["status"] == "partial" and [e["row"] for e in result["errors"]] == [4], result
    assert result["counts"]["created"] == 3
    rows_audited = dict(AuditEntry.objects.filter(import_batch=result["id"], action="event.import")
                        .values_list("object_id", "import_row"))
    assert rows_audited == {str(Event.objects.get(external_id=f"Q-{i}").pk): i + 2 for i in (0, 1, 3)}
    doctor_ok()
    undo_batch(people["guali"], ImportBatch.objects.get(pk=result["id"]))
    assert not Event.objects.exists() and not Step.objects.exists()
    assert cells.compare()[1] == []
