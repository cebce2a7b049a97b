"""Work plans for the URL walk (townbrain/tests/test_url_walk.py): one of 大洋镇 to aim at (an item linked to its
project), one of 瓜沥镇 so the lists are not empty."""

from townbrain.core.models import OrgUnit
from townbrain.projects.models import Project
from townbrain.workplans import services


def seed(users) -> dict:
    plan = services.create_plan(users["dayang"], org_unit=OrgUnit.objects.get(code="330182107"), kind="town",
                                title="大洋镇美丽城镇建设行动方案")
    item = services.add_item(users["dayang"], plan, heading="环境美", goal="大洋镇污水零直排",
                             projects=Project.objects.filter(town_id="330182107"))
    own = services.create_plan(users["guali"], org_unit=OrgUnit.objects.get(code="330109113"), kind="town",
                               title="走查方案")
    services.add_item(users["guali"], own, heading="生活美", goal="建成便民服务中心")
    return {"workplan": plan, "workplan_item": item}
