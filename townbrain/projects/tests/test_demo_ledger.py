"""The demo ledger keeps the seed's figures month by month (DOMAIN §4), the live roll-up table and a
plain GROUP BY over the ledger agreeing on every month: Hangzhou 1,892 of 1,950 started by the end
of September (97.0%), the 29 样板 towns all started by the end of August, a year of reports.

One test: loading the ledger (1,950 projects, ~14,000 reports through the services) is the slow part.
"""

from collections import defaultdict
from datetime import date

import pytest

from townbrain.core.divisions import load_divisions
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, Programme

from .. import demo, rollups, warnings
from ..models import ProgressReport, Project, Status

pytestmark = pytest.mark.django_db

MONTHS = [f"2020{m:02d}" for m in range(1, 13)]


def test_demo_ledger_keeps_the_seed_figures_every_month():
    load_divisions(SYSTEM, ["33"])  # Hangzhou's real towns, as the demo finds them
    summary = demo.load()
    assert summary == {"projects": 1950, "progress_reports": ProgressReport.objects.count()}
    meili = Programme.objects.get(code="meili")
    hangzhou = OrgUnit.objects.get(code="3301")
    yangban = meili.roles.get(code="yangban")
    assert Enrolment.objects.filter(programme=meili, role=yangban, town__code__startswith="3301").count() == 29

    city, model = {}, {}
    for period in MONTHS:
        city[period] = rollups.compute(SYSTEM, hangzhou, period, meili)
        assert rollups.compute_from_ledger(SYSTEM, hangzhou, period, meili) == city[period]
        model[period] = rollups.compute(SYSTEM, hangzhou, period, meili, role=yangban)
        assert rollups.compute_from_ledger(SYSTEM, hangzhou, period, meili, role=yangban) == model[period]

    september = city["202009"]
    assert (september["planned_to_start"], september["started"], september["start_rate"]) == (1950, 1892, 97.0)
    assert model["202008"]["start_rate"] == 100.0 and model["202007"]["start_rate"] < 100.0
    assert all(model[p]["start_rate"] == 100.0 for p in MONTHS[7:])
    # The rate climbs through the year, investment grows every month, a few projects stay behind.
    rates = [city[p]["start_rate"] for p in MONTHS]
    done = [city[p]["investment_done"] for p in MONTHS]
    assert rates == sorted(rates) and rates[0] < 90 < rates[-1] < 100
    assert all(before < after for before, after in zip(done, done[1:], strict=False))
    assert 0 < city["202012"]["laggards"] < 0.1 * 1950
    kinds = [w["kind"] for w in warnings.compute(SYSTEM, hangzhou, "202012", meili, today=date(2021, 1, 10))]
    assert kinds.count("not_started") == 1950 - city["202012"]["started"] and "laggard" in kinds

    # Each started project reports every month from its start to December or its completion.
    assert set(ProgressReport.objects.values_list("period", flat=True)) == set(MONTHS)
    reports = defaultdict(list)
    for r in ProgressReport.objects.order_by("period").values(
            "project_id", "period", "month_investment", "cumulative_investment", "progress_percent", "status"):
        reports[r["project_id"]].append(r)
    completed = 0
    for p in Project.objects.filter(programme=meili):
        own = reports[p.pk]
        if p.actual_start is None:
            assert not own and p.status == Status.PREPARING
            continue
        last = p.actual_completion.strftime("%Y%m") if p.actual_completion else "202012"
        assert [r["period"] for r in own] == [m for m in MONTHS if p.actual_start.strftime("%Y%m") <= m <= last]
        before = 0
        for r in own:
            assert r["month_investment"] == r["cumulative_investment"] - before
            before = r["cumulative_investment"]
        assert [r["progress_percent"] for r in own] == sorted(r["progress_percent"] for r in own)
        assert [r["status"] for r in own[:-1]] == ["started"] * (len(own) - 1) and own[-1]["status"] == p.status
        if p.status == Status.COMPLETED:
            completed += 1
            assert p.actual_completion and own[-1]["progress_percent"] == 100
    assert completed > 0

    rows = AuditEntry.objects.count()
    assert demo.load() == {"projects": 0, "progress_reports": 0}  # idempotent
    assert AuditEntry.objects.count() == rows and Project.objects.count() == 1950
