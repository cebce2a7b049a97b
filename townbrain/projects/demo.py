"""Demo ledger at the scale of the seed: Hangzhou's 2020 美丽城镇 projects and a year of monthly reports.

Seed check (DOMAIN §4), counted as projects/rollups/ counts it: 1,950 projects planned to start
in 2020 (planned starts spread over January–September, the year's list), 1,892 of them started by
the end of September (开工率 97.0%); the projects of the 29 样板创建 towns all started by the end
of August (100%, "29个创建样板镇8月底已实现全面开工").

Every started project reports each month from its start month to December 2020, or to the month
it completes (status 完工, with its actual completion date): cumulative investment rising,
month_investment the month's increase, physical progress rising. The 开工率 climbs month by month
(80.0% in January, 97.0% in September, 98.9% in December) as late starters catch up in
October–December; investment completion rises from under 1% to about 91% of the annual plan; 22
projects never start in 2020 and a few percent fall behind their plan, so the warnings
(应开工未开工, 滞后) have true cases to show.

Written through the services in bulk — one ProjectBatch and one ReportBatch, the progress
import's path — in one transaction. Deterministic (seeded), and idempotent: the ledger is only
built when Hangzhou has no 美丽城镇 projects yet (so a home loaded before keeps the ledger it has).
"""

import calendar
import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from townbrain.core import bulk
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.programmes.services import enrol_town

from . import rollups, services
from .models import Project

YEAR = 2020
PROJECTS = 1950
MODEL_TOWNS = 29
# The start rate follows from exact counts, not from chance, so no reseeding can bend the seed's figures.
# Projects planned to start in each month (the year's list: January–September, fewer around the Spring Festival).
PLANNED = {1: 150, 2: 120, 3: 270, 4: 270, 5: 255, 6: 235, 7: 220, 8: 220, 9: 210}
# Of each month's projects, how many start one and two months late (the 样板 towns' still by August;
# nothing planned later than August starts later than September).
DELAYED = {1: (20, 10), 2: (22, 11), 3: (39, 20), 4: (43, 22), 5: (46, 23), 6: (40, 20), 7: (30, 14), 8: (23, 0)}
# Of each month's projects of 达标 towns, how many are not started by the end of September ...
NOT_BY_SEPTEMBER = {6: 8, 7: 12, 8: 16, 9: 22}
# ... and how many of those start in October, November and December (the rest stay 应开工未开工 all year).
# So: 开工率 80.0% in January, 84.1, 87.0, 89.5, 91.5, 93.0, 94.5, 95.8, 97.0% (1,892 of 1,950) in
# September, 97.8, 98.5, 98.9% in December.
LATE_STARTS = {10: 16, 11: 12, 12: 8}
STARTED = PROJECTS - sum(NOT_BY_SEPTEMBER.values())  # by the end of September: 1,892
SLOW = 0.03  # share of started projects whose works fall behind the plan (滞后)
OWNERS = ["镇人民政府", "城建办", "农业农村办", "交通运输局", "水利局", "文旅公司", "城投公司"]
WORKS = ["污水管网改造", "农贸市场提升", "背街小巷整治", "文化礼堂建设", "公园绿地", "便民服务中心",
         "道路提升", "老旧小区改造", "停车场建设", "河道综合治理", "产业园配套", "游客集散中心"]
PROBLEMS = ["政策处理（征迁）滞后", "资金未及时到位", "设计方案调整", "施工许可审批中", "雨季影响施工",
            "管线迁改协调中"]


def _day(rng, month: int) -> date:
    return date(YEAR, month, rng.randint(1, calendar.monthrange(YEAR, month)[1]))


def plan_ledger(towns: list, model_towns: set, rng) -> list[tuple[dict, list[tuple[str, dict]]]]:
    """[(project fields, [(period, report figures), ...])] — the whole year, worked out before anything is written."""
    model = [towns[i % len(towns)].code in model_towns for i in range(PROJECTS)]
    # Planned start months: the 样板 towns' projects take theirs from January–August.
    months = [m for m, k in PLANNED.items() for _ in range(k)]
    early = [m for m in months if m < 9]
    rng.shuffle(early)
    rest = early[model.count(True):] + [m for m in months if m == 9]
    rng.shuffle(rest)
    early, rest = iter(early), iter(rest)
    planned_month = [next(early) if model[i] else next(rest) for i in range(PROJECTS)]
    # Actual start months (None: not in the year), drawn month by month by the counts above.
    start_month: dict[int, int | None] = {}
    late = []
    for m in PLANNED:
        pool = [i for i in range(PROJECTS) if planned_month[i] == m]
        for i in rng.sample([i for i in pool if not model[i]], NOT_BY_SEPTEMBER.get(m, 0)):
            late.append(i)
            start_month[i] = None
        for delay, count in zip((2, 1), reversed(DELAYED.get(m, (0, 0))), strict=True):
            fits = [i for i in pool if i not in start_month and (not model[i] or m + delay <= 8)]
            for i in rng.sample(fits, count):
                start_month[i] = m + delay
        for i in pool:
            start_month.setdefault(i, m)
    rng.shuffle(late)
    start_month.update(zip(late, [m for m, k in LATE_STARTS.items() for _ in range(k)], strict=False))
    ledger = []
    for i in range(PROJECTS):
        town = towns[i % len(towns)]
        planned_start = _day(rng, planned_month[i])
        total = Decimal(rng.randrange(300, 20000))
        planned_completion = planned_start + timedelta(days=rng.randrange(150, 720))
        # A project due to finish within the year has (nearly) all its investment in the year's plan.
        share = rng.randrange(85, 101) if planned_completion.year == YEAR else rng.randrange(30, 70)
        fields = {"code": f"HZ2020-{i + 1:04d}", "name": f"{town.name}{rng.choice(WORKS)}", "town": town,
                  "owner_unit": rng.choice(OWNERS), "total_investment": total,
                  "annual_plan": (total * share / 100).quantize(Decimal("1")),
                  "planned_start": planned_start, "planned_completion": planned_completion}
        reports, am = [], start_month[i]
        if am is not None:
            fields["actual_start"] = _day(rng, am)
            # Starting in the last quarter, months behind the plan, they stay behind it.
            reports, completed = _reports(fields, am, am > 9 or rng.random() < SLOW, rng)
            if completed:
                fields["actual_completion"] = completed
        fields["status"] = reports[-1][1]["status"] if reports else "preparing"
        ledger.append((fields, reports))
    return ledger


def _reports(fields: dict, am: int, slow: bool, rng) -> tuple[list[tuple[str, dict]], date | None]:
    """The monthly reports of a project started in month `am`, and its completion date (None: not in the year).

    Physical progress runs at `pace` times the linear plan's speed from the actual start; investment
    at its own pace through the months of the year's plan (planned start to December or completion).
    """
    planned_start, planned_completion = fields["planned_start"], fields["planned_completion"]
    span = (planned_completion.year - YEAR) * 12 + planned_completion.month - planned_start.month + 1
    year_months = min(12, span + planned_start.month - 1) - planned_start.month + 1
    pace = rng.uniform(0.45, 0.7) if slow else rng.uniform(0.95, 1.35)
    money_pace = rng.uniform(0.4, 0.65) if slow else rng.uniform(0.85, 1.15)
    problem = rng.choice(PROBLEMS) if slow else ""
    reports, before = [], Decimal(0)
    for month in range(am, 13):
        elapsed = month - am + 1
        done = pace * elapsed / span
        cumulative = (fields["annual_plan"] * Decimal(min(1.0, money_pace * elapsed / year_months))).quantize(Decimal("1"))
        if done >= 1:  # the works are finished this month
            cumulative = max(before, (fields["annual_plan"] * Decimal(rng.uniform(0.95, 1.0))).quantize(Decimal("1")))
            figures = {"progress_percent": Decimal(100), "status": "completed"}
        else:
            figures = {"progress_percent": Decimal(min(99.0, done * 100)).quantize(Decimal("1")), "status": "started"}
        reports.append((f"{YEAR}{month:02d}", {**figures, "cumulative_investment": cumulative,
                                               "month_investment": cumulative - before, "problems": problem}))
        before = cumulative
        if done >= 1:  # never the start month: a plan spans five months or more
            return reports, _day(rng, month)
    return reports, None


def load(progress=None) -> dict:
    meili = Programme.objects.get(code="meili")
    if Project.objects.filter(programme=meili, town__code__startswith="3301").exists():
        return {"projects": 0, "progress_reports": 0}
    rng = random.Random(YEAR)
    towns = list(OrgUnit.objects.filter(code__startswith="3301", level=Level.TOWN).exclude(town_kind="subdistrict")
                 .order_by("code"))
    model_towns = set(t.code for t in rng.sample(towns, MODEL_TOWNS))
    yangban, dabiao = meili.roles.get(code="yangban"), meili.roles.get(code="dabiao")
    batch = meili.batches.get(code="2020")
    for town in towns:
        enrol_town(SYSTEM, town, meili, year_joined=YEAR, batch=batch,
                   role=yangban if town.code in model_towns else dabiao)
    categories = list(meili.categories.all())
    ledger = plan_ledger(towns, model_towns, rng)
    for fields, _ in ledger:
        fields.update(programme=meili, category=rng.choice(categories))
    with transaction.atomic(), rollups.bulk_writes():
        projects = bulk.every(services.ProjectBatch(SYSTEM), [(None, fields) for fields, _ in ledger])
        if progress:
            progress("projects", len(projects), len(projects))
        # One batch, as the progress import writes a file: checked month by month, written together.
        items = [(project, period, figures) for project, (_fields, reports) in zip(projects, ledger, strict=True)
                 for period, figures in reports]
        batch_of_reports = services.ReportBatch(SYSTEM)
        refused = [r for r in batch_of_reports.check(items) if isinstance(r, Exception)]
        if refused:
            raise refused[0]
        batch_of_reports.write()
        if progress:
            progress("progress reports", len(items), len(items))
    return {"projects": len(projects), "progress_reports": len(items)}
