"""`townbrain doctor`'s `deal_figures` (investment/doctor.py): a deal's funds in place equal its receipts and
its stage history reaches its stage when the services kept them; a raw UPDATE of either is drift (exit 1)."""

import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.db import connection

from townbrain.cli import main
from townbrain.core import doctor
from townbrain.core.scope import SYSTEM
from townbrain.investment import services

from .conftest import OTHER, OWN, make_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(users):
    first = make_deal(OWN, funds_in_place=Decimal("1200"), funds_on=date(2020, 6, 1), stage="funded")
    services.add_receipt(SYSTEM, first, date=date(2020, 8, 1), amount=Decimal("300.50"))
    services.add_receipt(SYSTEM, first, date=date(2020, 9, 1), amount=Decimal("-100"))  # a correction
    services.update_deal(SYSTEM, first, stage="started", stage_on=date(2020, 10, 1))
    second = make_deal(OTHER, name="文旅综合体")
    return first, second


def test_figures_kept_by_the_services_have_no_drift(deals):
    [result] = doctor.run_all(doctor.Options(full=True), only=["deal_figures"])
    assert result["status"] == "ok" and result["checked"] == 2, result


def test_tampered_funds_or_stage_are_drift(deals):
    first, second = deals
    with connection.cursor() as cursor:
        cursor.execute("UPDATE investment_deal SET funds_in_place = funds_in_place + 1 WHERE id = %s", [first.pk])
        cursor.execute("UPDATE investment_deal SET stage = 'producing' WHERE id = %s", [second.pk])
    result = CliRunner().invoke(main, ["doctor", "--json", "--only", "deal_figures"])
    assert result.exit_code == 1, result.output
    [check] = json.loads(result.output)["checks"]
    assert check["drift"] == 2, check
    assert any(f"deal #{first.pk}" in p and "1401.50 in place, its receipts add up to 1400.50" in p
               for p in check["problems"]), check["problems"]
    assert any(f"deal #{second.pk}" in p and "at stage producing, its history reaches signed" in p
               for p in check["problems"]), check["problems"]
