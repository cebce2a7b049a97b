"""The exchange kind `deals`: headers and aliases, idempotent, funds over time, stages, project links,
errors and warnings, undo, scope, the CLI, and the page's export importing back unchanged."""

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from townbrain.exchange.kinds import KINDS
from townbrain.exchange.models import DataWarning, ImportBatch
from townbrain.exchange.pipeline import get_kind, run_import, undo_batch
from townbrain.exchange.tests.conftest import xlsx
from townbrain.investment.models import Deal
from townbrain.projects.tests.test_projects import make_project

from .conftest import OTHER, OWN, make_deal

pytestmark = pytest.mark.django_db

HEADER = ["签约日期", "乡镇代码", "项目名称", "投资方", "产业", "签约金额(万元)", "到位资金(万元)", "阶段", "关联项目编号"]
ROWS = [
    ["2020-09-18", "330109113", "智能装备产业园", "浙江某装备集团", "智能制造", "30,000", "5000", "资金到位", ""],
    ["2020/9/18", 330109113, "文旅综合体", "杭州文旅投资", "文化旅游", "２００００", 0, "签约", ""],
    ["2020年9月18日", "330109113", "食品加工厂", "某食品公司", "农产品加工", 8000, "8000万元", "开工", "GL-FOOD"],
]


def csv_bytes(rows) -> bytes:
    return ("\n".join(",".join(f'"{c}"' if "," in str(c) else str(c) for c in row) for row in rows) + "\n").encode()


def test_kind_is_registered_with_the_standard_headers():
    assert get_kind("deals") is KINDS["deals"]
    assert [c.header for c in KINDS["deals"].columns][:9] == HEADER


def test_import_twice_then_more_funds_then_undo(users):
    make_project(OWN, code="GL-FOOD")
    data = xlsx([HEADER, *ROWS])
    first = run_import(users["guali"], data, "deals.xlsx", "deals")
    assert first["status"] == "applied", first["errors"]
    assert first["counts"]["created"] == 3
    food = Deal.objects.get(name="食品加工厂")
    assert food.stage == "started" and food.project.code == "GL-FOOD" and food.funds_in_place == Decimal("8000")
    assert Deal.objects.get(name="智能装备产业园").signed_amount == Decimal("30000")
    again = run_import(users["guali"], data, "deals.xlsx", "deals")
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "deleted": 0}
    # A later sheet: more funds in place, a deal moved on. The funds' history grows by the difference.
    later = [HEADER + ["到位日期"], ["2020-09-18", OWN, "智能装备产业园", "浙江某装备集团", "智能制造", 30000, 12000, "开工", "",
                                  "2020-12-31"]]
    third = run_import(users["guali"], xlsx(later), "deals-q4.xlsx", "deals")
    assert third["counts"]["updated"] == 1, third["errors"]
    deal = Deal.objects.get(name="智能装备产业园")
    assert deal.funds_in_place == Decimal("12000") and deal.stage == "started"
    receipts = list(deal.receipts.order_by("pk").values_list("amount", "date"))
    assert [amount for amount, _day in receipts] == [Decimal("5000"), Decimal("7000")]
    assert receipts[1][1] == date(2020, 12, 31)  # 到位日期 dates the difference
    # The started deal without its project is a warning, not an error; it is kept in the register.
    assert [w["column"] for w in third["warnings"]] == ["关联项目编号"]
    assert DataWarning.objects.filter(object_type="deal", rule="deal_started_unlinked", resolved_at__isnull=True).count() == 1
    undo_batch(users["guali"], ImportBatch.objects.get(pk=third["id"]))
    deal.refresh_from_db()
    assert deal.funds_in_place == Decimal("5000") and deal.stage == "funded"
    undo_batch(users["guali"], ImportBatch.objects.get(pk=first["id"]))
    assert not Deal.objects.exists()


def test_english_aliases_and_csv(users):
    header = ["signing date", "town code", "project name", "investor", "industry", "signed amount", "funds in place",
              "stage", "project code"]
    data = csv_bytes([header, ["2020-05-01", OWN, "Alias deal", "Investor Co", "tourism", "1,000", "", "producing", ""]])
    done = run_import(users["guali"], data, "deals.csv", "deals")
    assert done["status"] == "applied", done["errors"]
    assert Deal.objects.get(name="Alias deal").stage == "producing"


def test_errors_say_why_and_nothing_is_written(users):
    make_project(OTHER, code="DY-P")
    rows = [HEADER,
            ["2020-09-18", OWN, "坏阶段", "", "", 100, 0, "谈判中", ""],
            ["2020-09-18", OWN, "无资金", "", "", 100, 0, "资金到位", ""],
            ["2020-09-18", OWN, "别镇项目", "", "", 100, 0, "开工", "DY-P"],
            ["2020-09-18", OTHER, "越权", "", "", 100, 0, "签约", ""],
            ["2020-09-18", "330109", "县级", "", "", 100, 0, "签约", ""],
            ["2020-09-18", OWN, "歧义金额", "", "", "12,50", 0, "签约", ""]]
    result = run_import(users["guali"], xlsx(rows), "bad.xlsx", "deals")
    assert result["status"] == "failed"
    by_row = {e["row"]: e for e in result["errors"]}
    assert set(by_row) == {2, 3, 4, 5, 6, 7}
    assert "签约, 资金到位, 开工 or 投产" in by_row[2]["message"]
    assert by_row[3]["column"] == "到位资金(万元)"
    assert "no project with code DY-P" in by_row[4]["message"]
    assert "outside your area" in by_row[5]["message"]
    assert by_row[7]["column"] == "签约金额(万元)"
    assert not Deal.objects.exists()


def test_page_export_imports_back_unchanged(users, client_for):
    make_project(OWN, code="GL-FOOD")
    run_import(users["guali"], xlsx([HEADER, *ROWS]), "deals.xlsx", "deals")
    exported = client_for("guali").get(reverse("deal-list"), {"export": "xlsx"}).content
    again = run_import(users["guali"], exported, "export.xlsx", "deals")
    assert again["errors"] == [] and again["counts"]["unchanged"] == 3, again


def test_summary_after_import(users, api_for):
    make_project(OWN, code="GL-FOOD")
    run_import(users["guali"], xlsx([HEADER, *ROWS]), "deals.xlsx", "deals")
    make_deal(OTHER, day=date(2020, 9, 18))
    got = api_for("guali").get("/api/deals/summary/", {"org": OWN, "year": 2020}).json()
    assert {k: got[k] for k in ("deals", "signed_amount", "funds_in_place", "funds_rate", "started", "producing")} == {
        "deals": 3, "signed_amount": 58000.0, "funds_in_place": 13000.0, "funds_rate": 22.4, "started": 1,
        "producing": 0}


def _cli(*args, home):
    env = {**os.environ, "TOWNBRAIN_HOME": str(home)}
    env.pop("TOWNBRAIN_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "townbrain.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_cli_import(tmp_path, divisions_home):
    home = divisions_home
    book = tmp_path / "deals.xlsx"
    book.write_bytes(xlsx([HEADER, ["2018-09-18", "522723109", "盘江镇农产品加工园", "黔南农业", "农产品加工", 32000, 6000,
                                    "资金到位", ""]]))
    done = _cli("import", str(book), "--kind", "deals", "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["created"] == 1
    again = _cli("import", str(book), "--kind", "deals", "--json", home=home)
    assert json.loads(again.stdout)["counts"]["unchanged"] == 1
