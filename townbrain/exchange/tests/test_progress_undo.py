"""Undoing a progress import costs the same queries for a few reports or many, in one town or several.

A query per report, per project or per town × period (the reporting cycle's lock asked one at a
time) made undoing 100,000 reports in 40,000 towns five times slower than the import itself.
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from townbrain.core.scope import SYSTEM
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.projects.models import ProgressReport, Project

from .conftest import HEADER, xlsx

pytestmark = pytest.mark.django_db

TOWNS = ("330109113", "330109001", "330182107")
PROGRESS_HEADER = ["项目编号", "填报期", "本月完成投资(万元)", "累计完成投资(万元)", "形象进度(%)", "状态"]


def _progress(codes, periods, cumulative) -> bytes:
    return xlsx([PROGRESS_HEADER, *[[code, period, 1, cumulative + n, 10 + n, "前期"] for code in codes
                                    for n, period in enumerate(periods)]])


def _undo_queries(prefix, towns, per_town, periods) -> list[str]:
    """`per_town` projects in each of `towns`, each with a January report, then a file replacing January
    and adding `periods`: the queries of undoing that file, after checking that it put everything back.
    20 projects or more: core.bulk writes every piece of the smaller undo by its many-rows path too."""
    codes = [f"{prefix}-{t}-{i:02d}" for t in towns for i in range(per_town)]
    rows = [HEADER, *[[code, "项目", code.split("-")[1], "meili", "gongneng", 1000, 400, "2020-03-01", "前期"]
                      for code in codes]]
    assert run_import(SYSTEM, xlsx(rows), "p.xlsx", "projects")["counts"]["created"] == len(codes)
    assert run_import(SYSTEM, _progress(codes, ["202101"], 100), "m1.xlsx", "progress")["counts"]["created"] == len(
        codes)
    ledger = set(ProgressReport.objects.filter(project__code__in=codes).values_list(
        "project__code", "period", "cumulative_investment", "progress_percent"))
    figures = set(Project.objects.filter(code__in=codes).values_list("code", "cumulative_investment", "last_period"))
    summary = run_import(SYSTEM, _progress(codes, ["202101", *periods], 200), "m2.xlsx", "progress")
    assert summary["counts"] == {"created": len(codes) * len(periods), "updated": len(codes), "unchanged": 0,
                                 "deleted": 0}, summary
    with CaptureQueriesContext(connection) as seen:
        undo_batch(SYSTEM, ImportBatch.objects.get(pk=summary["id"]))
    assert set(ProgressReport.objects.filter(project__code__in=codes).values_list(
        "project__code", "period", "cumulative_investment", "progress_percent")) == ledger
    assert set(Project.objects.filter(code__in=codes).values_list(
        "code", "cumulative_investment", "last_period")) == figures
    assert {c for _code, c, _period in figures} == {Decimal(100)}
    return [q["sql"][:90] for q in seen.captured_queries]


def test_undoing_a_progress_import_costs_the_same_queries_for_few_or_many_reports(tree, monkeypatch):
    if connection.vendor == "sqlite":
        # Django sends a bulk INSERT to SQLite in pieces of 999 parameters (the limit before 3.32, now
        # 32,766): pieces of one statement, not a query per row, but their number grows with the rows.
        monkeypatch.setattr(connection.features, "max_query_params", 32_766)
    few = _undo_queries("F", TOWNS[:2], 10, ["202102"])  # 20 projects in two towns, one month added
    many = _undo_queries("M", TOWNS, 20, ["202102", "202103", "202104"])  # 60 in three towns, three months
    assert len(many) == len(few), "\n".join(few) + "\n---\n" + "\n".join(many)
