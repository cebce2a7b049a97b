"""Criteria fed by the system's own records: project start and investment rates, reporting timeliness."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from townbrain.assessments import engine, sources
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.projects import rollups
from townbrain.projects import services as projects

TOWN, OTHER = "330109113", "330182107"


def project(meili, code, town, planned, actual=None, plan="100"):
    return projects.create_project(
        SYSTEM, code=code, name=code, town=OrgUnit.objects.get(code=town), programme=meili,
        total_investment=Decimal("1000"), annual_plan=Decimal(plan), planned_start=planned,
        planned_completion=date(2021, 12, 31), actual_start=actual, status="started" if actual else "preparing")


@pytest.fixture
def ledger(enrolled, meili):
    a = project(meili, "A", TOWN, date(2020, 3, 1), date(2020, 3, 10))
    project(meili, "B", TOWN, date(2020, 5, 1), date(2020, 6, 1))
    project(meili, "C", TOWN, date(2020, 8, 1))  # not started
    project(meili, "D", TOWN, date(2020, 11, 1))  # not started
    d = project(meili, "E", OTHER, date(2020, 2, 1), date(2020, 2, 1), plan="200")
    projects.report_progress(SYSTEM, a, "202012", cumulative_investment=Decimal("80"), month_investment=Decimal("10"),
                             progress_percent=Decimal("50"), status="started")
    projects.report_progress(SYSTEM, d, "202006", cumulative_investment=Decimal("50"), month_investment=Decimal("50"),
                             progress_percent=Decimal("20"), status="started")
    return meili


def test_project_rates_match_the_rollup(ledger):
    keys = ["projects.start_rate", "projects.investment_rate", "projects.planned", "projects.started",
            "projects.laggards"]
    got = sources.compute(keys, ledger, 2020, [TOWN, OTHER, "330182100"])
    assert got["projects.start_rate"][TOWN] == 50  # 2 of 4 planned for 2020 started
    assert got["projects.investment_rate"][TOWN] == 20  # 80 of 400
    assert got["projects.started"][OTHER] == 1 and got["projects.investment_rate"][OTHER] == 25
    assert "330182100" not in got["projects.start_rate"]  # no projects: no rate
    assert got["projects.planned"]["330182100"] == 0
    roll = rollups.compute(SYSTEM, OrgUnit.objects.get(code=TOWN), "202012", ledger)
    assert got["projects.start_rate"][TOWN] == roll["start_rate"]
    assert got["projects.laggards"][TOWN] == roll["laggards"]


def test_reporting_missing_and_late(ledger):
    # Timeliness is the reporting cycle's (reporting/timeliness.py): the first submission against the deadline.
    from townbrain.reporting import services as reporting

    def submit(town, period, when):
        reporting.take_step(SYSTEM, OrgUnit.objects.get(code=town), ledger, period, "submit",
                            at=timezone.make_aware(when))

    submit(TOWN, "202012", datetime(2021, 1, 4))  # due 5 January 2021: on time
    submit(OTHER, "202006", datetime(2020, 7, 10))  # due Monday 6 July (the 5th is a Sunday): late
    got = sources.compute(["reporting.missing", "reporting.late", "reporting.on_time_rate"], ledger, 2020,
                          [TOWN, OTHER, "330182100"], today=date(2021, 3, 1))
    # 瓜沥镇 owes March–December (10 months): December on time, 9 missing.
    assert got["reporting.missing"][TOWN] == 9 and got["reporting.late"][TOWN] == 0
    assert got["reporting.on_time_rate"][TOWN] == 10
    # 大洋镇 owes February–December (11): June submitted late, 10 missing.
    assert got["reporting.missing"][OTHER] == 10 and got["reporting.late"][OTHER] == 1
    # 梅城镇 has no started project: owes nothing.
    assert got["reporting.missing"]["330182100"] == 0 and "330182100" not in got["reporting.on_time_rate"]
    # Early in the year only the months whose deadline has passed count.
    early = sources.compute(["reporting.missing"], ledger, 2020, [TOWN], today=date(2020, 6, 6))
    assert early["reporting.missing"][TOWN] == 3  # March, April, May


def test_system_sources_in_a_scheme(ledger, spec_of):
    spec = spec_of([
        {"code": "start", "name": "开工率", "system": "projects.start_rate", "method": "bands", "points": 6,
         "bands": [{"min": 95, "points": 6}, {"min": 40, "max": 95, "points": 3}]},
        {"code": "reports", "name": "月报", "formula": "#{reporting.missing} + #{reporting.late} * 0.5",
         "method": "deduction", "per": 1, "points": 5},
    ])
    results = {r.town: r.breakdown for r in engine.run(spec, 2020).results}
    assert results[TOWN] == {"values": [50.0, 10.0], "points": [3.0, 0.0]}  # 10 missing: 扣完为止
    assert results["330182100"]["values"][1] == 0.0 and results["330182100"]["points"][1] == 5.0
