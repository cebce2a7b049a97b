"""`townbrain doctor`'s `audit_trail` (core/doctor.py): a record at version v has at least v − 1 audit rows
of its own — records changed through the services have them, records loaded without the services (bulk,
COPY) stand at version 1 without any, and a version raised behind the services' back is drift (exit 1)."""

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.db import connection

from townbrain.cli import main
from townbrain.core import doctor
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.core.services import update_org_profile
from townbrain.projects import services
from townbrain.projects.models import Project
from townbrain.projects.tests.test_projects import make_project

GUALI, DAYANG = "330109113", "330182107"
pytestmark = pytest.mark.django_db


@pytest.fixture
def changed(tree):
    edited = make_project(GUALI)
    for amount in ("1200", "1300"):
        services.update_project(SYSTEM, edited, total_investment=Decimal(amount))
    untouched = make_project(DAYANG)
    # Loaded like the demo's and the benchmarks' COPY: no service, no audit row, version 1.
    loaded = Project.objects.bulk_create([Project(code="COPY1", name="批量导入", town_id=GUALI,
                                                  programme_id=edited.programme_id)])[0]
    unit = update_org_profile(SYSTEM, OrgUnit.objects.get(code=GUALI), population=52000)
    edited.refresh_from_db()
    assert (edited.version, untouched.version, loaded.version, unit.version) == (3, 1, 1, 2)
    return {"edited": edited, "untouched": untouched, "loaded": loaded, "unit": unit}


def _run():
    [result] = doctor.run_all(doctor.Options(), only=["audit_trail"])
    return result


def _cli():
    result = CliRunner().invoke(main, ["doctor", "--json", "--only", "audit_trail"])
    return result.exit_code, json.loads(result.output)["checks"][0]


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_records_changed_through_the_services_have_their_rows(changed):
    result = _run()
    assert result["status"] == "ok" and result["checked"] == 2, result  # the edited project and the town
    code, check = _cli()
    assert code == 0 and check["drift"] == 0


def test_a_version_raised_behind_the_services_back_is_drift(changed):
    # Two more changes than rows (its creation row covers one of them: the count is a floor).
    _raw("UPDATE projects_project SET version = version + 2 WHERE id = %s", [changed["edited"].pk])
    _raw("UPDATE projects_project SET version = 2 WHERE id = %s", [changed["loaded"].pk])  # no row at all
    _raw("UPDATE core_orgunit SET version = 2 WHERE code = %s", [DAYANG])
    code, check = _cli()
    assert code == 1 and check["status"] == "drift" and check["drift"] == 3, check
    problems = check["problems"]
    assert any(f" {changed['edited'].pk} is at version 5 (4 changes) but has 3 audit rows" in p for p in problems)
    assert any(f" {changed['loaded'].pk} is at version 2 (1 changes) but has 0 audit rows" in p for p in problems)
    assert any(f" {DAYANG} is at version 2 (1 changes) but has 0 audit rows" in p for p in problems), problems


def test_a_model_whose_version_counts_its_parts_needs_one_row_of_its_own(changed, monkeypatch):
    monkeypatch.setattr(doctor, "_VERSION_COUNTS_PARTS", {"core.orgunit"})
    _raw("UPDATE core_orgunit SET version = 7 WHERE code = %s", [GUALI])  # one row: its parts may hold the rest
    assert _run()["status"] == "ok"
    _raw("UPDATE core_orgunit SET version = 3 WHERE code = %s", [DAYANG])
    result = _run()
    assert result["drift"] == 1 and f"{DAYANG} is at version 3" in result["problems"][0], result


def test_the_versioned_models_are_found_by_their_field():
    labels = {m._meta.label_lower for m in doctor.versioned_models()}
    assert {"core.orgunit", "projects.project", "acceptance.acceptance"} <= labels
    assert "assessments.scheme" not in labels  # its version is part of its spec
