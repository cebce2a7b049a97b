"""DealBatch (issue 17 item 6, one batch shape): deals checked in order as one create_deal() / update_deal()
call after another would, the accepted ones written together with their receipts, stage histories and audit
rows; the `deals` import checks its rows in bulk and costs no query per row; its undo puts the deals back."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from townbrain.core import bulk, doctor
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.exchange.tests.conftest import xlsx
from townbrain.investment import services
from townbrain.investment.models import Deal

from .conftest import OTHER, OWN, make_deal

pytestmark = pytest.mark.django_db

HEADER = ["签约日期", "乡镇代码", "项目名称", "投资方", "产业", "签约金额(万元)", "到位资金(万元)", "阶段", "到位日期", "阶段日期"]


def history(deal) -> dict:
    """What the services keep of a deal besides its row: receipts and stage history, as plain values."""
    return {"receipts": list(deal.receipts.order_by("pk").values_list("date", "amount", "note")),
            "stages": dict(deal.stages.values_list("stage", "date"))}


def deal_figures_ok():
    [result] = doctor.run_all(doctor.Options(full=True), only=["deal_figures"])
    assert result["status"] == "ok", result


def test_items_are_checked_in_order_one_refused_mid_batch_the_rest_written(users):
    town, other = OrgUnit.objects.get(code=OWN), OrgUnit.objects.get(code=OTHER)
    stored = make_deal(OWN, name="老项目", funds_in_place=Decimal("100"), funds_on=date(2020, 5, 2))
    taken = make_deal(OWN, name="已有", day=date(2020, 6, 1))
    batch = services.DealBatch(users["guali"])
    results = batch.check([
        (None, {"town": town, "name": "  新  项目 ", "signed_on": date(2020, 7, 1), "signed_amount": Decimal("500"),
                "funds_in_place": Decimal("50"), "funds_on": date(2020, 7, 5), "stage": "funded",
                "stage_on": date(2020, 7, 6)}),
        (None, {"town": town, "name": "负数", "signed_on": date(2020, 7, 1), "signed_amount": Decimal("-1")}),
        (stored, {"funds_in_place": Decimal("80"), "funds_on": date(2020, 8, 1), "stage": "started",
                  "stage_on": date(2020, 8, 2)}),
        # The key the first item took, and the key a stored deal holds: refused as a second call would be.
        (None, {"town": town, "name": "新 项目", "signed_on": date(2020, 7, 1)}),
        (None, {"town": town, "name": "已有", "signed_on": date(2020, 6, 1)}),
        (None, {"town": other, "name": "越权", "signed_on": date(2020, 7, 1)}),
        (taken, {"investor": "新投资方"}),
        (taken, {}),
    ])
    created, negative, updated, same_key, stored_key, elsewhere, changed, unchanged = results
    assert created[1:] == (None, "created") and created[0].name == "新 项目"
    assert isinstance(negative, ValidationError) and "signed_amount" in negative.message_dict
    assert updated[2] == "updated" and updated[1]["funds_in_place"] == "100" and updated[1]["stage"] == "signed"
    assert "already has a deal “新 项目”" in same_key.message_dict["name"][0]
    assert "already has a deal “已有”" in stored_key.message_dict["name"][0]
    assert isinstance(elsewhere, PermissionDenied)
    assert changed[2] == "updated" and unchanged[2] == "unchanged"
    assert Deal.objects.count() == 2  # nothing is written before write()
    batch.write()
    new = Deal.objects.get(name="新 项目")
    assert history(new) == {"receipts": [(date(2020, 7, 5), Decimal("50"), "Recorded with the deal")],
                            "stages": {"signed": date(2020, 7, 1), "funded": date(2020, 7, 6)}}
    stored.refresh_from_db()
    assert stored.funds_in_place == Decimal("80") and stored.stage == "started"
    assert history(stored) == {
        "receipts": [(date(2020, 5, 2), Decimal("100"), "Recorded with the deal"),
                     (date(2020, 8, 1), Decimal("-20"), "Correction")],
        "stages": {"signed": date(2020, 5, 1), "funded": date(2020, 8, 2), "started": date(2020, 8, 2)}}
    assert Deal.objects.get(pk=taken.pk).investor == "新投资方"
    audits = list(AuditEntry.objects.filter(object_type="deal", actor=users["guali"]).values_list("action", "object_id"))
    assert sorted(audits) == sorted([("deal.create", str(new.pk)), ("deal.update", str(stored.pk)),
                                     ("deal.update", str(taken.pk))])
    deal_figures_ok()


def test_a_deal_changed_twice_in_a_batch_keeps_one_history(users):
    deal = make_deal(OWN, name="两次", stage="started", stage_on=date(2020, 6, 1),
                     funds_in_place=Decimal("10"), funds_on=date(2020, 5, 20))
    batch = services.DealBatch(SYSTEM)
    first, second = batch.check([(deal, {"stage": "funded"}), (deal, {"stage": "producing",
                                                                      "stage_on": date(2020, 9, 1)})])
    assert first[2] == second[2] == "updated" and second[1]["stage"] == "funded"  # the second sees the first
    batch.write()
    assert history(deal)["stages"] == {"signed": date(2020, 5, 1), "funded": date(2020, 6, 1),
                                       "started": date(2020, 9, 1), "producing": date(2020, 9, 1)}
    deal_figures_ok()


def test_the_one_item_case_is_the_service(users):
    """create_deal() and update_deal() are bulk.one() of the batch: a deal made in a batch of many is the
    deal the service makes, with the same receipts, stages and audit row."""
    town = OrgUnit.objects.get(code=OWN)
    fields = {"town": town, "signed_on": date(2020, 5, 1), "signed_amount": Decimal("900"), "stage": "started",
              "funds_in_place": Decimal("300"), "funds_on": date(2020, 5, 9), "stage_on": date(2020, 6, 1)}
    alone = services.create_deal(users["guali"], name="单个", **fields)
    many = bulk.every(services.DealBatch(users["guali"]), [(None, {**fields, "name": name}) for name in "甲乙丙"])
    assert all(history(d) == history(alone) for d in many)

    def audited(deal):
        entry = AuditEntry.objects.get(object_type="deal", object_id=str(deal.pk))
        return entry.action, entry.org_code, {k: v for k, v in entry.changes.items() if k != "name"}

    assert all(audited(d) == audited(alone) for d in many)
    alone = services.update_deal(users["guali"], alone, funds_in_place=Decimal("250"), funds_on=date(2020, 7, 1))
    many = bulk.every(services.DealBatch(users["guali"]), [
        (d, {"funds_in_place": Decimal("250"), "funds_on": date(2020, 7, 1)}) for d in many])
    assert all(history(d) == history(alone) and d.funds_in_place == alone.funds_in_place for d in many)
    deal_figures_ok()


def _sheet(n: int, funds=0) -> bytes:
    return xlsx([HEADER, *([f"2020-09-{1 + i % 28:02d}", OWN, f"项目{i}", "投资方", "制造", 1000, funds, "资金到位" if funds
                            else "签约", "2020-10-01", "2020-10-02"] for i in range(n))])


def _queries(actor, data) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as seen:
        result = run_import(actor, data, "deals.xlsx", "deals")
    return len(seen.captured_queries), result


def _undo_queries(actor, result) -> int:
    with CaptureQueriesContext(connection) as seen:
        undo_batch(actor, ImportBatch.objects.get(pk=result["id"]))
    return len(seen.captured_queries)


def test_an_import_and_its_undo_cost_no_query_per_row(users):
    """New deals, then the same deals changed (a receipt and a stage each), then both undone: as many
    queries for 16 rows as for 4 (a few rows go in by one INSERT each table; COPY takes over from
    bulk.FEW rows on PostgreSQL)."""
    counts = {}
    _queries(users["guali"], _sheet(1))  # what is read once per process or per user (scope, vocabularies)
    for n in (4, 16):
        Deal.objects.all().delete()
        created, first = _queries(users["guali"], _sheet(n))
        assert first["counts"]["created"] == n, first["errors"]
        changed, second = _queries(users["guali"], _sheet(n, funds=200))
        assert second["counts"]["updated"] == n, second["errors"]
        same, result = _queries(users["guali"], _sheet(n, funds=200))
        assert result["counts"]["unchanged"] == n
        deal_figures_ok()
        put_back = _undo_queries(users["guali"], second)
        assert set(Deal.objects.values_list("stage", "funds_in_place")) == {("signed", 0)}
        deal_figures_ok()
        deleted = _undo_queries(users["guali"], first)
        assert not Deal.objects.exists()
        counts[n] = (created, changed, same, put_back, deleted)
    assert counts[4] == counts[16], counts


def test_import_refuses_a_row_mid_file_writes_the_rest_and_undoes(users):
    stored = make_deal(OWN, name="项目1", day=date(2020, 9, 2), signed_amount=Decimal("1000"))
    rows = [[f"2020-09-{1 + i:02d}", OWN, f"项目{i}", "投资方", "制造", 1000, 100, "资金到位", "2020-10-01", ""]
            for i in range(4)]
    rows[2][5] = -5  # refused by the service's rule, in the middle of the file
    result = run_import(users["guali"], xlsx([HEADER, *rows]), "deals.xlsx", "deals", only_valid=True)
    assert result["status"] == "partial" and [e["row"] for e in result["errors"]] == [4], result
    assert result["counts"] == {"created": 2, "updated": 1, "unchanged": 0, "deleted": 0}
    stored.refresh_from_db()
    assert stored.funds_in_place == Decimal("100") and stored.stage == "funded"
    assert set(Deal.objects.values_list("name", flat=True)) == {"项目0", "项目1", "项目3"}
    rows_audited = dict(AuditEntry.objects.filter(import_batch=result["id"], object_type="deal")
                        .values_list("object_id", "import_row"))
    assert rows_audited == {str(Deal.objects.get(name=f"项目{i}").pk): i + 2 for i in (0, 1, 3)}
    deal_figures_ok()
    undo_batch(users["guali"], ImportBatch.objects.get(pk=result["id"]))
    assert list(Deal.objects.values_list("name", flat=True)) == ["项目1"]
    stored.refresh_from_db()
    assert stored.funds_in_place == 0 and stored.stage == "signed"
    deal_figures_ok()
