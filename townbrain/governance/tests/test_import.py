"""Import of historic events: the exchange kind `events` (governance/event_kind.py) through the pipeline."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from townbrain.core.models import AuditEntry
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch

from .. import services
from ..event_kind import parse_datetime
from ..models import Event, Status, Step
from .conftest import DAYANG, GUALI

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")

HEADER = ["原编号", "乡镇(街道)代码", "事件小类", "事件描述", "上报时间", "受理时间", "不予受理原因", "派遣时间", "处置部门",
          "结案时间", "回访评价", "来源", "纬度", "经度", "坐标系", "联系电话"]


def sheet(*rows) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


# 占道经营 (3 working days): dispatched Wed 30 Sep 2020 → due Mon 12 Oct 23:59:59 (国庆, 调休 Sat 10 Oct).
ON_TIME = ["XS-001", GUALI, "zf-city-stall", "菜场门口占道经营", "2020-09-30 09:00", "2020-09-30 10:00", "",
           "2020/9/30 16:00", "综合执法中队", "2020年10月10日 15时30分", "满意", "12345", "30.2", "120.4", "gcj02",
           "13812341234"]
LATE = ["XS-002", GUALI, "占道经营", "夜市占道", "2020-09-30 09:00", "2020-09-30 10:00", "", "2020-09-30 16:00", "",
        "2020-10-13 09:00", "不满意", "网格员", "", "", "", ""]
OPEN = ["XS-003", GUALI, "zf-city-stall", "还在处理", "2020-12-20 09:00", "2020-12-20 10:00", "", "2020-12-21 09:00",
        "guali", "", "", "", "", "", "", ""]
REJECTED = ["XS-004", GUALI, "zf-city-stall", "不归我们管", "2020-05-01 09:00", "2020-05-01 10:00", "非本辖区", "", "", "",
            "", "群众", "", "", "", ""]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_parse_datetime_forms():
    want = datetime(2020, 9, 30, 14, 5, tzinfo=SH)
    for text in ("2020-09-30 14:05", "2020/9/30 14:05", "2020年9月30日 14时05分", "2020-09-30T14:05:00"):
        assert parse_datetime(text) == want, text
    assert parse_datetime(datetime(2020, 9, 30, 14, 5)) == want  # an xlsx cell
    assert parse_datetime("") is None
    with pytest.raises(ValueError):
        parse_datetime("yesterday")


def test_import_plans_applies_and_is_idempotent(people):
    data = sheet(ON_TIME, LATE, OPEN, REJECTED)
    dry = run_import(people["guali"], data, "events.csv", "events", dry_run=True)
    assert dry["status"] == "dry_run" and dry["counts"]["created"] == 4 and dry["errors"] == [], dry
    assert not Event.objects.exists()
    first = run_import(people["guali"], data, "events.csv", "events")
    assert first["status"] == "applied" and first["counts"]["created"] == 4, first
    on_time, late, still, rejected = (Event.objects.get(external_id=f"XS-00{i}") for i in range(1, 5))
    assert on_time.status == Status.REVIEWED and on_time.verdict == "satisfied" and on_time.closed_on_time is True
    assert on_time.deadline == datetime(2020, 10, 12, 23, 59, 59, tzinfo=SH)
    assert on_time.department == "综合执法中队" and on_time.source == "12345" and on_time.lat != 30.2  # GCJ-02 → WGS-84
    assert late.closed_on_time is False and late.verdict == "dissatisfied" and late.is_overdue()
    assert still.status == Status.DISPATCHED and still.handler.username == "guali" and still.is_overdue()
    assert rejected.status == Status.REJECTED
    assert [s.step for s in on_time.steps.all()] == ["report", "accept", "dispatch", "close", "review"]
    assert all(s.detail["imported"] for s in Step.objects.all())
    assert Step.objects.get(event=rejected, step="reject").comment == "非本辖区"
    assert AuditEntry.objects.filter(action="event.import").count() == 4
    # The statistics count them as live events: 1 of 2 closed on time, plus 1 open past its deadline.
    stats = people["guali"]
    from ..stats import for_area
    figures = for_area(Event.objects.restrict(stats, "view"), GUALI, "2020")
    assert (figures["closed"], figures["closed_on_time"], figures["open_overdue"]) == (2, 1, 1)
    assert figures["on_time_rate"] == 33.3
    # The same file again: nothing new.
    second = run_import(people["guali"], data, "events.csv", "events")
    assert second["counts"]["created"] == 0 and second["counts"]["unchanged"] == 4
    assert Event.objects.count() == 4


def test_bad_rows_are_refused_with_reasons(people):
    bad_time = [*ON_TIME[:4], "2020-09-30 09:00", "2020-09-29 10:00", *ON_TIME[6:]]
    bad_time[0] = "XS-010"
    elsewhere = [*ON_TIME]
    elsewhere[:2] = ["XS-011", DAYANG]
    closed_not_dispatched = [*ON_TIME]
    closed_not_dispatched[0], closed_not_dispatched[7] = "XS-012", ""
    unknown = [*ON_TIME]
    unknown[0], unknown[2] = "XS-013", "no-such-thing"
    word = [*ON_TIME]
    word[0], word[10] = "XS-014", "还行"
    summary = run_import(people["guali"], sheet(bad_time, elsewhere, closed_not_dispatched, unknown, word),
                         "events.csv", "events")
    assert summary["status"] == "failed" and not Event.objects.exists()
    by_row = {e["row"]: e["message"] for e in summary["errors"]}
    assert "before the step before it" in by_row[2]
    assert "outside your area" in by_row[3]
    assert "dispatch time" in by_row[4]
    assert "no sub-category" in by_row[5]
    assert "not a review" in by_row[6]


def test_undo_deletes_only_what_nobody_touched_since(people):
    run_import(people["guali"], sheet(ON_TIME, OPEN), "events.csv", "events")
    batch = ImportBatch.objects.get()
    undo_batch(people["guali"], batch)
    assert not Event.objects.exists()
    assert AuditEntry.objects.filter(action="event.delete").count() == 2
    run_import(people["guali"], sheet(ON_TIME, OPEN), "events.csv", "events")
    batch = ImportBatch.objects.latest("pk")
    services.take_step(people["guali"], Event.objects.get(external_id="XS-003"), "handle", "已处置")
    with pytest.raises(services.ValidationError, match="worked on"):
        undo_batch(people["guali"], batch)
    assert Event.objects.count() == 2
