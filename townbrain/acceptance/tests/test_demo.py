"""The demo: Hangzhou towns at every stage, deterministic and idempotent, all through the services."""

from townbrain.core.models import AuditEntry
from townbrain.programmes.models import Enrolment
from townbrain.testing.users import make_user

from .. import demo
from ..models import Acceptance, Evidence, Stage


def test_demo_loads_every_stage_once(tree, meili, scheme, settings):
    for code in ("330109113", "330109001", "330182107", "330182100"):
        Enrolment.objects.create(town_id=code, programme=meili, year_joined=2020)
    make_user("guali", "330109113", "editor")
    make_user("xiaoshan", "330109", "editor")
    make_user("hangzhou", "3301", "office_admin")
    make_user("zhejiang", "33", "office_admin")
    assert demo.load() == {"acceptances": 4}
    stages = dict(Acceptance.objects.values_list("town_id", "stage"))
    assert stages == {"330109113": Stage.SIGNED, "330109001": Stage.RETURNED, "330182100": Stage.COUNTY,
                      "330182107": Stage.TOWN}
    signed = Acceptance.objects.get(town_id="330109113")
    assert signed.outcome == "样板" and signed.frozen
    assert list(signed.steps.values_list("actor_name", flat=True)) == ["guali", "xiaoshan", "hangzhou", "zhejiang"]
    returned = Acceptance.objects.get(town_id="330109001")
    assert "运行台账" in returned.steps.last().comment
    assert Evidence.objects.filter(content_type="image/png").count() == 3
    rows = AuditEntry.objects.count()
    assert demo.load() == {"acceptances": 0}  # idempotent
    assert Acceptance.objects.count() == 4 and AuditEntry.objects.count() == rows
