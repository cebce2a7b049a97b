"""`townbrain doctor`'s `submission_returns` (reporting/doctor.py): a submission's return count equals its
`submission.return` audit rows when the steps kept it, and a raw UPDATE of it is drift (exit 1)."""

import json

import pytest
from click.testing import CliRunner
from django.db import connection

from townbrain.cli import main
from townbrain.core import doctor
from townbrain.core.models import OrgUnit
from townbrain.reporting import services
from townbrain.reporting.models import Submission

pytestmark = pytest.mark.django_db
GUALI, DAYANG = "330109113", "330182107"


def _step(user, code, name, meili, comment=""):
    return services.take_step(user, OrgUnit.objects.get(code=code), meili, "202009", name, comment)


@pytest.fixture
def cycle(users, meili, ledger):
    for comment in ("累计投资不衔接", "月度投资有误"):
        _step(users["guali"], GUALI, "submit", meili)
        _step(users["xiaoshan"], GUALI, "return", meili, comment)
    _step(users["guali"], GUALI, "submit", meili)
    _step(users["dayang"], DAYANG, "submit", meili)
    return {code: Submission.objects.get(town_id=code) for code in (GUALI, DAYANG)}


def test_return_counts_kept_by_the_steps_have_no_drift(cycle):
    assert cycle[GUALI].returned_count == 2 and cycle[DAYANG].returned_count == 0
    [result] = doctor.run_all(doctor.Options(full=True), only=["submission_returns"])
    assert result["status"] == "ok" and result["checked"] == 2, result


def test_a_tampered_return_count_is_drift(cycle):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reporting_submission SET returned_count = 1 WHERE id = %s", [cycle[GUALI].pk])
        cursor.execute("UPDATE reporting_submission SET returned_count = 3 WHERE id = %s", [cycle[DAYANG].pk])
    result = CliRunner().invoke(main, ["doctor", "--json", "--only", "submission_returns"])
    assert result.exit_code == 1, result.output
    [check] = json.loads(result.output)["checks"]
    assert check["drift"] == 2, check
    assert any(f"#{cycle[GUALI].pk} ({GUALI} meili" in p and "returned 1 times, the audit log says 2" in p
               for p in check["problems"]), check["problems"]
    assert any(f"#{cycle[DAYANG].pk}" in p and "returned 3 times, the audit log says 0" in p for p in check["problems"])
