"""Demo assessments: the shipped rulebooks, a year of indicator values for Hangzhou's 美丽城镇 towns, a run.

Called by the whole demo after the project ledger (which enrols the towns). The values go in the
way an office would put them in — one spreadsheet through the import pipeline — and the 2020
run is started, frozen, and tried once with a what-if (satisfaction counting double).
Deterministic (seeded) and idempotent: nothing is done when a 2020 run of the scheme exists.
"""

import csv
import io
import random

from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme

from . import engine, services
from .models import Run

YEAR = 2020
AREA = "3301"  # 杭州市, where projects/demo.py enrols the towns

# element code: (low, high) for numbers, or the share of towns answering yes
NUMBERS = {
    "sewage_treatment_rate": (72, 100), "public_toilet_rate": (60, 100), "park_green_per_capita": (6, 14),
    "elderly_care_coverage": (50, 100), "industry_output_growth": (-2, 15), "rural_income_growth": (3, 10),
    "townscape_renovation_rate": (50, 100), "events_closed_on_time_rate": (82, 100),
    "reform_tasks_done_rate": (60, 100), "satisfaction": (72, 98),
}
YES_SHARE = {
    "garbage_classification": 0.93, "fast_transport_link": 0.9, "standard_school": 0.96, "health_centre": 0.96,
    "culture_station": 0.9, "heritage_protection": 0.7, "cluster_building": 0.2,
}
COUNTS = {"provincial_honours": (0, 3), "reform_experiences": (0, 2)}


def _rows(towns, rng) -> list[list]:
    rows = []
    for town in towns:
        boost = 0.25 if town.role == "yangban" else 0.0  # model-building towns do better
        for code, (low, high) in NUMBERS.items():
            value = low + (high - low) * min(1.0, rng.random() * (1 - boost) + boost)
            rows.append([code, town.code, str(YEAR), f"{value:.1f}", ""])
        for code, share in YES_SHARE.items():
            rows.append([code, town.code, str(YEAR), "是" if rng.random() < share + boost / 2 else "否", ""])
        for code, (low, high) in COUNTS.items():
            rows.append([code, town.code, str(YEAR), str(rng.randint(low, high)), ""])
        rows.append(["safety_incidents", town.code, str(YEAR), "1" if rng.random() < 0.03 else "0", ""])
    return rows


def load(progress=None) -> dict:
    from townbrain.exchange.pipeline import run_import

    schemes = {s.code: s for s in services.load_fixture_schemes(SYSTEM)}
    scheme = schemes["meili-pingjia"]
    if Run.objects.filter(scheme=scheme, year=YEAR).exists():
        return {"assessment_runs": 0}
    meili = Programme.objects.get(code="meili")
    towns = engine.enrolled_towns(meili, YEAR, area=AREA)
    if not towns:
        return {"assessment_runs": 0}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["指标编码", "乡镇代码", "期间", "数值", "备注"])
    writer.writerows(_rows(towns, random.Random(YEAR)))
    summary = run_import(SYSTEM, out.getvalue().encode("utf-8"), "2020年美丽城镇评价指标.csv", "indicator_values",
                         progress=(lambda stage, done, total: progress(f"indicator values, {stage}", done, total))
                         if progress else None)
    if summary["status"] not in ("applied", "partial"):
        raise RuntimeError(f"demo indicator values: {summary['status']} {summary['errors'][:3]}")
    run = services.start_run(SYSTEM, scheme, YEAR, area=AREA, note="2020 年度评价（演示）")
    services.freeze_run(SYSTEM, run)
    services.what_if(SYSTEM, run, changes={"satisfaction": {"weight": 2}}, note="满意度权重加倍（试算）")
    return {"assessment_runs": 2, "indicator_values": summary["counts"]["created"]}
