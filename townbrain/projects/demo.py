"""Demo ledger at the scale of the seed: Hangzhou's 2020 美丽城镇 projects.

Seed check (DOMAIN §4): about 1,950 projects planned to start in 2020, 1,892 started by the
end of September (开工率 97%), the 29 样板创建 towns all started. Deterministic (seeded), and
idempotent: the ledger is only built when Hangzhou has no 美丽城镇 projects yet.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.programmes.services import enrol_town

from . import services
from .models import Project

PROJECTS = 1950
STARTED = 1892
MODEL_TOWNS = 29
OWNERS = ["镇人民政府", "城建办", "农业农村办", "交通运输局", "水利局", "文旅公司", "城投公司"]
WORKS = ["污水管网改造", "农贸市场提升", "背街小巷整治", "文化礼堂建设", "公园绿地", "便民服务中心",
         "道路提升", "老旧小区改造", "停车场建设", "河道综合治理", "产业园配套", "游客集散中心"]


def load(progress=None) -> dict:
    meili = Programme.objects.get(code="meili")
    if Project.objects.filter(programme=meili, town__code__startswith="3301").exists():
        return {"projects": 0}
    rng = random.Random(2020)
    towns = list(OrgUnit.objects.filter(code__startswith="3301", level=Level.TOWN).exclude(town_kind="subdistrict")
                 .order_by("code"))
    model_towns = set(t.code for t in rng.sample(towns, MODEL_TOWNS))
    yangban, dabiao = meili.roles.get(code="yangban"), meili.roles.get(code="dabiao")
    batch = meili.batches.get(code="2020")
    for town in towns:
        enrol_town(SYSTEM, town, meili, year_joined=2020, batch=batch,
                   role=yangban if town.code in model_towns else dabiao)
    categories = list(meili.categories.all())
    # Projects of model towns first, so every one of them is among the started.
    order = sorted(range(PROJECTS), key=lambda i: 0 if towns[i % len(towns)].code in model_towns else 1)
    for n, i in enumerate(order):
        town = towns[i % len(towns)]
        planned_start = date(2020, 1, 1) + timedelta(days=rng.randrange(0, 270))
        total = Decimal(rng.randrange(300, 20000))
        started = n < STARTED
        actual_start = min(planned_start + timedelta(days=rng.randrange(-20, 40)), date(2020, 9, 30)) \
            if started else None
        project = services.create_project(
            SYSTEM, code=f"HZ2020-{i + 1:04d}", name=f"{town.name}{rng.choice(WORKS)}", town=town, programme=meili,
            category=rng.choice(categories), owner_unit=rng.choice(OWNERS), total_investment=total,
            annual_plan=(total * Decimal(rng.randrange(30, 70)) / 100).quantize(Decimal("1")),
            planned_start=planned_start, planned_completion=planned_start + timedelta(days=rng.randrange(180, 720)),
            actual_start=actual_start, status="started" if started else "preparing",
        )
        if started:
            share = Decimal(rng.randrange(20, 90)) / 100
            services.report_progress(
                SYSTEM, project, "202009", cumulative_investment=(project.annual_plan * share).quantize(Decimal("1")),
                month_investment=(project.annual_plan * share / 6).quantize(Decimal("1")),
                progress_percent=(share * 100).quantize(Decimal("1")), status="started",
            )
        if progress and (n % 50 == 0 or n == PROJECTS - 1):
            progress("projects", n + 1, PROJECTS)
    return {"projects": PROJECTS}
