"""Demo years for the two other shipped rulebooks: 小城市培育试点 and 特色小镇, end to end.

Real Zhejiang towns are enrolled (瓜沥镇 is a 小城市培育试点 town; the others are taken from the
published pilot and 特色小镇 lists as far as we know them — the batches, the years joined and the
host town of each 特色小镇 are DEMO DATA wherever `SURE` is False, and every figure is invented).
A 特色小镇 is not an administrative unit: it is enrolled through the town or sub-district that
hosts it, whose name is kept in the enrolment's audit trail.

For each town: three ledger projects per assessed year with their December report (so the
start-rate, investment-rate and reporting criteria have something to read), a year of indicator
values imported as one spreadsheet through the exchange pipeline (2019 and 2020 for 小城市, so a
town graded 警告 twice gets flagged; 2020 for 特色小镇), the official runs started, frozen, and
their consequences applied (降格 → 培育 list in 2021, 淘汰 → out after 2020, 警告 twice → flagged).
Everything goes through the service functions, so the audit log shows it all.

Deterministic (seeded) and idempotent: nothing is done once the 2020 小城市 run exists, and each
step skips what an interrupted earlier load already did.
"""

import csv
import io
import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from townbrain.core import bulk
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, Programme
from townbrain.programmes.services import enrol_town

from . import services
from .models import Run, Scheme

AREA = "33"  # 浙江省: both programmes are provincial
GUALI = "330109113"

# (town code, town name, batch code, year joined, SURE): 小城市培育试点. 瓜沥镇 is certain; the
# first-batch (2010) pilots below are as we remember the published list, the batches demo data.
XIAOCHENGSHI = [
    ("330109113", "瓜沥镇", "pici1", 2010, True),
    ("330113100", "塘栖镇", "pici1", 2010, False),
    ("330111115", "新登镇", "pici1", 2010, False),
    ("330281103", "泗门镇", "pici1", 2010, False),
    ("330282121", "周巷镇", "pici1", 2010, False),
    ("330382114", "柳市镇", "pici1", 2010, False),
    ("330381101", "塘下镇", "pici1", 2010, False),
    ("330326101", "鳌江镇", "pici1", 2010, False),
    ("330502100", "织里镇", "pici1", 2010, False),
    ("330681104", "店口镇", "pici1", 2010, False),
    ("330782100", "佛堂镇", "pici1", 2010, False),
    ("330783123", "横店镇", "pici1", 2010, False),
    ("330483107", "崇福镇", "pici1", 2010, False),
    ("331081100", "泽国镇", "pici1", 2010, False),
    ("331083102", "楚门镇", "pici1", 2010, False),
    ("330521102", "新市镇", "pici2", 2014, False),
    ("330903100", "六横镇", "pici2", 2014, False),
    ("331122101", "壶镇镇", "pici2", 2014, False),
]

# (host town code, host town name, 特色小镇, role, year joined, SURE): the province's list; hosts
# and years are demo data (a host may hold more than one 小镇 in reality; here each holds one).
TESE = [
    ("330110012", "仓前街道", "梦想小镇", "chuangjian", 2015, False),
    ("330106010", "转塘街道", "云栖小镇", "chuangjian", 2015, False),
    ("330102008", "南星街道", "玉皇山南基金小镇", "chuangjian", 2015, False),
    ("330681005", "大唐街道", "袜艺小镇", "chuangjian", 2015, False),
    ("330421102", "大云镇", "巧克力甜蜜小镇", "chuangjian", 2015, False),
    ("330481003", "海昌街道", "皮革时尚小镇", "chuangjian", 2015, False),
    ("330521003", "阜溪街道", "地理信息小镇", "chuangjian", 2015, False),
    ("331003005", "新前街道", "智能模具小镇", "chuangjian", 2015, False),
    ("330602010", "东浦街道", "黄酒小镇", "chuangjian", 2015, False),
    ("330727002", "新渥街道", "江南药镇", "chuangjian", 2015, False),
    ("331181101", "上垟镇", "青瓷小镇", "chuangjian", 2015, False),
    ("330903001", "沈家门街道", "沈家门渔港小镇", "chuangjian", 2015, False),
    ("330182109", "寿昌镇", "航空小镇", "peiyu", 2017, False),
    ("330112008", "青山湖街道", "云制造小镇", "peiyu", 2016, False),
    ("330111006", "银湖街道", "硅谷小镇", "peiyu", 2016, False),
    ("331102102", "大港头镇", "古堰画乡小镇", "peiyu", 2016, False),
    ("330902105", "干览镇", "远洋渔业小镇", "peiyu", 2017, False),
]

# element code: (low, high) of a number drawn between them by the town's strength, or a share
# answering yes (raised by strength). Ranges straddle each scheme's bands and bounds.
XCS_NUMBERS = {
    "gdp_growth": (3, 13), "fiscal_revenue_growth": (2, 20), "fixed_investment_growth": (-5, 18),
    "urbanisation_rate": (45, 75), "hospital_beds_per_1000": (2.5, 6.5), "sewage_treatment_rate": (62, 100),
    "powers_delegated_rate": (65, 100), "satisfaction": (70, 98),
}
XCS_YES = {"service_centre": 0.6}
XCS_COUNTS = {"provincial_honours": (0, 3)}
XCS_INCIDENTS = {"safety_incidents": 0.03, "pollution_incidents": 0.03}

TESE_NUMBERS = {
    "chuangjian": {"tese_effective_investment": (4, 14), "tese_tax_revenue": (0.3, 2.5)},
    "peiyu": {"tese_effective_investment": (1.5, 7), "tese_tax_revenue": (0.1, 1.3)},
    "both": {"tese_industry_share": (62, 95), "tese_output_growth": (-3, 25), "satisfaction": (70, 98)},
}
TESE_YES = {"tese_smart_platform": 0.6, "tese_culture_facility": 0.6}
TESE_COUNTS = {"provincial_honours": (0, 2), "reform_experiences": (0, 2)}

WORKS = {"xiaochengshi": ["城市综合体", "污水处理厂提标", "道路网改造", "邻里中心", "产业园标准厂房", "医院迁建"],
         "tese": ["客厅建设", "产业孵化楼", "游客中心", "人才公寓", "数字化平台", "配套道路"]}
OWNERS = ["镇人民政府", "城投公司", "开发区管委会", "小镇运营公司", "文旅公司"]


def _strengths(codes: list[str], rng: random.Random, weak: int) -> dict[str, float]:
    """A fixed strength per town (0 weak … 1 strong), the same every year; `weak` towns near 0
    (never 瓜沥镇, the demo's own town, so its users see a pilot in good standing)."""
    strengths = {code: 0.5 + 0.5 * rng.random() for code in codes}
    for code in rng.sample(sorted(set(codes) - {GUALI}), weak):
        strengths[code] = 0.1 * rng.random()
    return strengths


def _draw(rng, low, high, strength) -> float:
    share = min(1.0, max(0.0, strength + rng.uniform(-0.25, 0.25)))
    return low + (high - low) * share


def _ensure_towns(programme: Programme, rows) -> list[OrgUnit]:
    """Enrol the towns (through enrol_town, audited); towns missing from the loaded tree are skipped."""
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=[r[0] for r in rows])}
    roles = {r.code: r for r in programme.roles.all()}
    batches = {b.code: b for b in programme.batches.all()}
    enrolled = set(Enrolment.objects.filter(programme=programme).values_list("town_id", flat=True))
    towns = []
    for row in rows:
        unit = units.get(row[0])
        if unit is None:
            continue
        if unit.code not in enrolled:
            if programme.code == "xiaochengshi":
                _code, _name, batch, joined, _sure = row
                enrol_town(SYSTEM, unit, programme, year_joined=joined, batch=batches.get(batch),
                           role=roles["shidian"])
            else:
                _code, _name, _xiaozhen, role, joined, _sure = row
                enrol_town(SYSTEM, unit, programme, year_joined=joined, role=roles[role])
        towns.append(unit)
    return towns


def _ledger(programme: Programme, towns, year: int, strengths, rng) -> int:
    """Three projects per town planned to start in `year`, with a December report each."""
    from townbrain.projects import services as projects
    from townbrain.projects.models import Project
    from townbrain.projects.reporting import ReportBatch

    prefix = {"xiaochengshi": "XCS", "tese": "TS"}[programme.code]
    codes = {f"{prefix}{year}-{town.code}-{n}": (town, n) for town in towns for n in (1, 2, 3)}
    existing = set(Project.objects.filter(code__in=list(codes)).values_list("code", flat=True))
    categories = list(programme.categories.all())
    new, plans = [], {}
    for code, (town, n) in codes.items():
        strength = strengths[town.code]
        planned = date(year, 1, 1) + timedelta(days=rng.randrange(0, 240))
        total = Decimal(rng.randrange(2000, 60000))
        plan = (total * Decimal(rng.randrange(30, 60)) / 100).quantize(Decimal("1"))
        started = n == 1 or rng.random() < 0.25 + 0.75 * strength
        done = (plan * Decimal(str(round(_draw(rng, 0.45, 1.1, strength), 2)))).quantize(Decimal("1"))
        actual = min(planned + timedelta(days=rng.randrange(-10, 45)), date(year, 11, 30)) if started else None
        if code in existing:  # after drawing its numbers, so the rest of the ledger stays the same
            continue
        new.append((None, dict(
            code=code, name=f"{town.name}{rng.choice(WORKS[programme.code])}", town=town,
            programme=programme, category=rng.choice(categories), owner_unit=rng.choice(OWNERS),
            total_investment=total, annual_plan=plan, planned_start=planned,
            planned_completion=planned + timedelta(days=rng.randrange(300, 900)),
            actual_start=actual, status="started" if started else "preparing")))
        plans[code] = (started, done)
    if new:
        bulk.every(projects.ProjectBatch(SYSTEM), new)
    # All December reports in one batch (the progress import's path): checked in order, written together.
    items = [(project, f"{year}12", {
        "cumulative_investment": plans[project.code][1],
        "month_investment": (plans[project.code][1] / 6).quantize(Decimal("1")),
        "progress_percent": Decimal(min(100, int(plans[project.code][1] * 100 / project.total_investment))),
        "status": "started"}) for project in Project.objects.filter(code__in=list(plans)).order_by("code")
        if plans[project.code][0]]
    if items:
        with transaction.atomic():
            batch = ReportBatch(SYSTEM)
            refused = [r for r in batch.check(items) if isinstance(r, Exception)]
            if refused:
                raise RuntimeError(f"demo progress reports refused: {refused[:3]}")
            batch.write()
    return len(new)


def _xcs_rows(towns, year, strengths, rng) -> list[list]:
    rows = []
    for town in towns:
        s = strengths[town.code]
        for code, (low, high) in XCS_NUMBERS.items():
            rows.append([code, town.code, str(year), f"{_draw(rng, low, high, s):.1f}"])
        for code, share in XCS_YES.items():
            rows.append([code, town.code, str(year), "是" if rng.random() < share + 0.4 * s else "否"])
        for code, (low, high) in XCS_COUNTS.items():
            rows.append([code, town.code, str(year), str(round(_draw(rng, low, high, s)))])
        for code, chance in XCS_INCIDENTS.items():
            rows.append([code, town.code, str(year), "1" if rng.random() < chance else "0"])
    return rows


def _tese_rows(towns, roles, year, strengths, rng, incidents) -> list[list]:
    rows = []
    for town in towns:
        s = strengths[town.code]
        for code, (low, high) in {**TESE_NUMBERS[roles[town.code]], **TESE_NUMBERS["both"]}.items():
            rows.append([code, town.code, str(year), f"{_draw(rng, low, high, s):.1f}"])
        rows.append(["tese_scenic_level", town.code, str(year), str(round(_draw(rng, 1, 5, s)))])
        for code, share in TESE_YES.items():
            rows.append([code, town.code, str(year), "是" if rng.random() < share + 0.4 * s else "否"])
        for code, (low, high) in TESE_COUNTS.items():
            rows.append([code, town.code, str(year), str(round(_draw(rng, low, high, s)))])
        rows.append(["safety_incidents", town.code, str(year), "1" if town.code in incidents else "0"])
    return rows


def _import_values(rows: list[list], filename: str, progress) -> int:
    """One spreadsheet through the exchange pipeline. A value a town already has for the period
    (a 美丽城镇 town's 2020 satisfaction, say) is left as it is: one figure per town and period."""
    from townbrain.exchange.pipeline import run_import
    from townbrain.indicators.models import DataValue

    have = set(DataValue.objects.filter(org_unit_id__in={r[1] for r in rows}, period__in={r[2] for r in rows},
                                        element__code__in={r[0] for r in rows})
               .values_list("element__code", "org_unit_id", "period"))
    rows = [r for r in rows if (r[0], r[1], r[2]) not in have]
    if not rows:
        return 0
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["指标编码", "乡镇代码", "期间", "数值", "备注"])
    writer.writerows([*r, "演示数据"] for r in rows)
    summary = run_import(SYSTEM, out.getvalue().encode("utf-8"), filename, "indicator_values",
                         progress=(lambda stage, done, total: progress(f"{filename}, {stage}", done, total))
                         if progress else None)
    if summary["status"] not in ("applied", "partial"):
        raise RuntimeError(f"demo indicator values {filename}: {summary['status']} {summary['errors'][:3]}")
    return summary["counts"]["created"]


def _official_run(scheme: Scheme, year: int, note: str) -> tuple[Run, dict]:
    """The frozen official run of `scheme` for `year` over Zhejiang (started if missing), consequences applied."""
    run = Run.objects.filter(scheme=scheme, year=year, area=AREA, kind=Run.Kind.OFFICIAL).order_by("id").first()
    if run is None:
        run = services.start_run(SYSTEM, scheme, year, area=AREA, note=note)
    if not run.frozen:
        run = services.freeze_run(SYSTEM, run)
    return run, services.apply_consequences(SYSTEM, run)


def load(progress=None) -> dict:
    schemes = {s.code: s for s in services.load_fixture_schemes(SYSTEM)}
    xcs_scheme = schemes["xiaochengshi-niandu"]
    if Run.objects.filter(scheme=schemes["tese-peiyu"], year=2020, area=AREA, frozen=True).exists():
        return {"rulebook_runs": 0}  # the last step of an earlier load
    xcs = Programme.objects.get(code="xiaochengshi")
    tese = Programme.objects.get(code="tese")
    rng = random.Random(16)  # issue 16
    summary = {"rulebook_runs": 0, "rulebook_projects": 0, "rulebook_values": 0, "consequences": 0}

    xcs_towns = _ensure_towns(xcs, XIAOCHENGSHI)
    tese_towns = _ensure_towns(tese, TESE)
    xcs_strength = _strengths([t.code for t in xcs_towns], rng, weak=2)
    tese_strength = _strengths([t.code for t in tese_towns], rng, weak=2)
    tese_roles = {row[0]: row[3] for row in TESE}
    # one 创建 town with a serious accident (降格 whatever its score) and one 培育 town (淘汰)
    incidents = {rng.choice([t.code for t in tese_towns if tese_roles[t.code] == role])
                 for role in ("chuangjian", "peiyu")}

    for year in (2019, 2020):
        summary["rulebook_projects"] += _ledger(xcs, xcs_towns, year, xcs_strength, rng)
        summary["rulebook_values"] += _import_values(_xcs_rows(xcs_towns, year, xcs_strength, rng),
                                                     f"{year}年小城市培育试点考核指标.csv", progress)
        run, done = _official_run(xcs_scheme, year, f"{year} 年度考核（演示）")
        summary["rulebook_runs"] += 1
        summary["consequences"] += sum(done.values())

    summary["rulebook_projects"] += _ledger(tese, tese_towns, 2020, tese_strength, rng)
    summary["rulebook_values"] += _import_values(_tese_rows(tese_towns, tese_roles, 2020, tese_strength, rng,
                                                            incidents), "2020年特色小镇考核指标.csv", progress)
    for code in ("tese-chuangjian", "tese-peiyu"):
        run, done = _official_run(schemes[code], 2020, "2020 年度考核（演示）")
        summary["rulebook_runs"] += 1
        summary["consequences"] += sum(done.values())
    _published(xcs, 2020)
    return summary


def _published(programme: Programme, year: int) -> None:
    """A demo "published list" for the year: the computed results as the province might print
    them, except that the province re-scored the best 达标 town up to 良好 (a made-up difference,
    so the comparison has something to show)."""
    from .models import Result

    results = list(Result.objects.filter(run__programme=programme, run__year=year, run__area=AREA,
                                         run__kind=Run.Kind.OFFICIAL, run__frozen=True)
                   .order_by("rank", "town_id").values_list("town_id", "score", "grade", "rank"))
    rows, changed = [], False
    for town, score, grade, rank in results:
        if grade == "达标" and not changed:
            score, grade, changed = max(score, 80), "良好", True
        rows.append({"town": town, "score": str(score), "grade": grade, "rank": str(rank)})
    if rows:
        services.record_published(SYSTEM, programme, year, rows, area=AREA,
                                  title=f"{year}年度小城市培育试点考核结果（演示）")
