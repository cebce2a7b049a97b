"""The demo part: rulebooks loaded, a year of values imported like an office would, a frozen run and a what-if."""

from townbrain.assessments import demo
from townbrain.assessments.models import Result, Run
from townbrain.core.models import AuditEntry
from townbrain.indicators.models import DataValue


def test_demo_assessments(enrolled):
    summary = demo.load()
    assert summary["assessment_runs"] == 2 and summary["indicator_values"] == 4 * 20
    official = Run.objects.get(kind="official")
    assert official.frozen and official.area == "3301" and official.summary["towns"] == 4
    what_if = Run.objects.get(kind="what_if")
    assert what_if.based_on == official
    assert Result.objects.filter(run=official).count() == 4
    assert DataValue.objects.filter(period="2020").count() == 80
    assert AuditEntry.objects.filter(action="run.freeze").exists()
    assert demo.load() == {"assessment_runs": 0}  # idempotent
