"""`townbrain doctor` (core/doctor.py and the apps' checks): clean on consistent data, drift when a roll-up
cell or a project's cached figure is tampered with in SQL, exit codes 0 / 1, and the JSON shape."""

import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.db import connection

from townbrain.cli import main
from townbrain.core import doctor
from townbrain.core.scope import SYSTEM
from townbrain.projects import services
from townbrain.projects.models import Project, RollupCell
from townbrain.projects.tests.test_projects import make_project

GUALI, DAYANG = "330109113", "330182100"


@pytest.fixture
def ledger(tree):
    projects = []
    for i, town in enumerate([GUALI, GUALI, DAYANG]):
        project = make_project(town, status="started", actual_start=date(2020, 3, 1))
        for month, amount in (("202004", 10), ("202005", 25)):
            services.report_progress(SYSTEM, project, month, month_investment=Decimal(5),
                                     cumulative_investment=Decimal(amount + i), progress_percent=Decimal(10 + i),
                                     status="started")
        projects.append(project)
    return projects


def _doctor(*args):
    result = CliRunner().invoke(main, ["doctor", *args])
    return result.exit_code, result.output


def test_clean_data_has_no_drift(ledger):
    results = doctor.run_all(doctor.Options(full=True))
    names = {r["name"] for r in results}
    assert {"rollups", "project_figures", "assessment_runs", "import_batches", "acceptances", "uploads"} <= names
    assert not doctor.has_drift(results), results
    rollups = next(r for r in results if r["name"] == "rollups")
    assert rollups["status"] == "ok" and rollups["checked"] > 0
    code, output = _doctor()
    assert code == 0, output
    assert "no drift" in output


def test_json_shape(ledger):
    code, output = _doctor("--json")
    report = json.loads(output)
    assert code == 0 and report["drift"] is False
    for check in report["checks"]:
        assert set(check) == {"name", "label", "status", "checked", "drift", "problems", "notices", "note"}
        assert check["status"] in ("ok", "drift", "notice", "skipped")


def test_a_tampered_rollup_cell_is_drift(ledger):
    cell = RollupCell.objects.filter(org="33", kind="done", category=-1, role=-1, batch=-1).order_by("month").first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE projects_rollupcell SET cents = cents + 100 WHERE id = %s", [cell.pk])
    code, output = _doctor("--json", "--only", "rollups")
    report = json.loads(output)
    assert code == 1 and report["drift"] is True
    [check] = report["checks"]
    assert check["status"] == "drift" and check["drift"] > 0
    assert any("investment_done" in p for p in check["problems"]), check["problems"]
    code, output = _doctor("--only", "rollups")
    assert code == 1 and "drift found" in output


def test_a_tampered_category_slice_is_drift(ledger):
    cell = RollupCell.objects.filter(org="3301", kind="plan", category__gte=0, role=-1, batch=-1).first()
    RollupCell.objects.filter(pk=cell.pk).update(n=cell.n + 1)
    [check] = doctor.run_all(doctor.Options(full=True), only=["rollups"])
    assert check["status"] == "drift" and any("category" in p for p in check["problems"]), check


def test_a_wrong_cached_figure_is_drift(ledger):
    project = ledger[0]
    Project.objects.filter(pk=project.pk).update(cumulative_investment=Decimal("999"))
    code, output = _doctor("--json", "--only", "project_figures")
    report = json.loads(output)
    assert code == 1
    [check] = report["checks"]
    assert check["drift"] == 1 and "cumulative_investment 999" in check["problems"][0]


def test_sample_and_unknown_check(ledger):
    [check] = doctor.run_all(doctor.Options(sample=1), only=["rollups"])
    assert check["note"] and check["status"] == "ok"
    code, output = _doctor("--only", "nonsense")
    assert code == 1 and "no check nonsense" in output
