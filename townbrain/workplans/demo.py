"""The demo's work plans: 一镇一方案 of three Hangzhou towns (items under the 五美) and 余杭区's 十个统筹 (the ten
headings of its work plans, seeds/002, goals in the words of that meeting), each item linked to projects of the demo
ledger whose names say the same work. Made through the services, so they leave the audit trail an office would.
Idempotent: a plan already there (org unit, kind, title) is left as it is."""

from datetime import date

from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.projects.models import Project

from . import services
from .models import Kind, PlanStatus, WorkPlan

PER_ITEM = 3  # projects linked to an item at most

# (heading code, goal, deadline, responsible unit, words of the projects it links)
TOWN_ITEMS = [
    ("gongneng", "建成区污水管网全覆盖，生活污水处理率达到95%以上", date(2021, 6, 30), "镇城建办",
     ("污水管网改造", "河道综合治理")),
    ("gongneng", "背街小巷整治提升，建成美丽街区", date(2020, 12, 31), "镇城管中队", ("背街小巷整治", "道路提升")),
    ("gongxiang", "建成便民服务中心，形成15分钟生活圈", date(2021, 12, 31), "镇社会事务办",
     ("便民服务中心", "老旧小区改造", "农贸市场提升")),
    ("xingye", "提升产业园配套，培育特色产业集群", date(2022, 6, 30), "镇经济发展办", ("产业园配套", "游客集散中心")),
    ("renwen", "建设文化礼堂和公园绿地，挖掘历史文化资源", date(2021, 12, 31), "镇宣传办", ("文化礼堂建设", "公园绿地")),
    ("shanzhi", "完善基层治理四平台，建成“乡村小脑”智慧平台", date(2022, 12, 31), "镇综合信息指挥室", ("停车场建设",)),
]
# (town, county, title)
TOWN_PLANS = [
    ("瓜沥镇", "萧山区", "瓜沥镇美丽城镇建设行动方案（2020—2022年）"),
    ("河上镇", "萧山区", "河上镇美丽城镇建设行动方案（2020—2022年）"),
    ("昌化镇", "临安区", "昌化镇美丽城镇建设行动方案（2020—2022年）"),
]
COUNTY_PLAN = ("余杭区", "余杭区城乡区域统筹发展“十个统筹”工作方案（2020—2022年）")
COUNTY_ITEMS = [
    ("tizhi", "创新统筹城乡区域管理体制机制，理顺镇街与部门职责", date(2021, 12, 31), "区委改革办", ()),
    ("jichu", "城乡基础设施围绕空间格局配置、适度超前，完成镇际道路提升", date(2022, 12, 31), "区交通运输局",
     ("道路提升", "停车场建设")),
    ("jiuye", "统筹就业和社会保障，做好农业转移人口就业和参保", date(2021, 12, 31), "区人力社保局", ()),
    ("shengtai", "生态文明建设：城镇污水零直排和河道综合治理全覆盖", date(2021, 6, 30), "区生态环境分局",
     ("污水管网改造", "河道综合治理")),
    ("guihua", "理清城乡各类规划体系，建立规划协调机制", date(2020, 12, 31), "区规划和自然资源分局", ()),
    ("ziyuan", "优化资源要素配置，引进、培育、利用好优质资源", date(2022, 12, 31), "区发改局", ()),
    ("chanye", "推进现代产业体系形成，加快产业结构调整", date(2022, 12, 31), "区经信局", ("产业园配套", "游客集散中心")),
    ("shehuishiye", "社会事业全覆盖和基本保障，提升社会功能、聚集人气", date(2022, 6, 30), "区社会发展局",
     ("文化礼堂建设", "便民服务中心")),
    ("tudi", "统筹城乡土地利用和管理，盘活存量建设用地", date(2021, 12, 31), "区规划和自然资源分局", ()),
    ("jiti", "农村新型集体经济走规模化、市场化、高新化、产业化道路", date(2022, 12, 31), "区农业农村局", ("农贸市场提升",)),
]


def _unit(name: str, parent: str) -> OrgUnit | None:
    return OrgUnit.objects.filter(name=name, parent__name=parent, code__startswith="3301").order_by("code").first()


def _projects(area: OrgUnit, words, taken: set) -> list[Project]:
    """Projects of the area whose names say one of `words` (first by code), not yet linked in the plan."""
    found = []
    for p in Project.objects.filter(town__code__startswith=area.code).order_by("code").only("pk", "name", "town_id"):
        if p.pk not in taken and any(w in p.name for w in words):
            found.append(p)
            taken.add(p.pk)
            if len(found) == PER_ITEM:
                break
    return found


def _plan(unit: OrgUnit, kind: str, title: str, items) -> None:
    if WorkPlan.objects.filter(org_unit=unit, kind=kind, title=title).exists():
        return
    plan = services.create_plan(SYSTEM, org_unit=unit, kind=kind, title=title, start_year=2020, end_year=2022,
                                approved_on=date(2020, 4, 30), status=PlanStatus.APPROVED)
    taken: set = set()
    for heading, goal, deadline, owner, words in items:
        services.add_item(SYSTEM, plan, heading=heading, goal=goal, deadline=deadline, owner=owner,
                          projects=_projects(unit, words, taken) if words else ())


def load(progress=None) -> dict:
    plans = [(_unit(town, county), Kind.TOWN, title, TOWN_ITEMS) for town, county, title in TOWN_PLANS]
    plans.append((_unit(COUNTY_PLAN[0], "杭州市"), Kind.COUNTY, COUNTY_PLAN[1], COUNTY_ITEMS))
    for done, (unit, kind, title, items) in enumerate(plans):
        if progress:
            progress("work plans", done, len(plans))
        if unit is not None:  # the division list is not loaded (a test tree): nothing to make there
            _plan(unit, kind, title, items)
    if progress:
        progress("work plans", len(plans), len(plans))
    return {"work_plans": WorkPlan.objects.count()}
