"""Many values at once (ValueBatch, an import) end as one set_value() / delete_value() call after
another would, for queries that do not grow with the values."""

import random
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.exchange.models import ImportBatch
from townbrain.exchange.pipeline import run_import, undo_batch
from townbrain.exchange.tests.conftest import xlsx
from townbrain.indicators import services
from townbrain.indicators.models import DataValue

from .test_values import elements  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
UNITS = ["330109113", "330109001", "330182107", "3301"]


def _table() -> set:
    return set(DataValue.objects.values_list("element_id", "org_unit_id", "period", "number", "text", "comment"))


def _items(els, seed: int, n: int) -> list[tuple]:
    rng = random.Random(seed)
    units = {code: OrgUnit.objects.get(code=code) for code in UNITS}
    raw = {"invest": lambda: rng.choice(["12.5", 30, "1,200", "abc"]), "sewage_rate": lambda: rng.choice([88, "95%", 130]),
           "population": lambda: rng.choice([100, 200]), "has_station": lambda: rng.choice(["是", "否", "也许"]),
           "note": lambda: rng.choice(["好", "", "一般"])}
    items = []
    for _ in range(n):
        name = rng.choice(list(raw))
        comment = rng.choice(["", "", "核实", "长" * 501])
        items.append((els[name], units[rng.choice(UNITS)], rng.choice(["2020", "2021", "2020Q1", "2020-13"]),
                      raw[name](), comment))
    return items


def _outcome(result):
    if isinstance(result, Exception):
        return sorted(result.message_dict) if isinstance(result, ValidationError) else type(result).__name__
    return result[2]


@pytest.mark.parametrize("seed", range(3))
def test_a_batch_ends_as_one_call_after_another(elements, users, seed):  # noqa: F811
    actor = users["xiaoshan"]  # 330182107 and 3301 are outside: refused
    for element, unit, period, raw, comment in _items(elements, seed + 100, 15):
        try:
            services.set_value(SYSTEM, element, unit, period, raw, comment)
        except ValidationError:
            pass
    items = _items(elements, seed, 60)
    with transaction.atomic():
        expected = []
        for item in items:
            try:
                value = services.set_value(actor, *item)
                expected.append(value)
            except (ValidationError, PermissionDenied) as exc:
                expected.append(exc)
        table = _table()
        transaction.set_rollback(True)
    start, audits = _table(), AuditEntry.objects.count()
    batch = services.ValueBatch(actor)
    results = batch.check(items)
    batch.write()
    def kind(r):
        return _outcome(r) if isinstance(r, Exception) else "ok"

    assert [kind(r) for r in results] == [kind(r) for r in expected]
    seen = {str(_outcome(r)) for r in results}
    assert {"created", "updated", "PermissionDenied", "['value']", "['period']"} <= seen, seen
    assert _table() == table
    # One audit row per value the batch changed, with its net change (a file names each value once).
    changed = {row[:3] for row in start ^ table}
    assert AuditEntry.objects.count() - audits == len(changed) > 0


def test_refusals_name_the_field(elements, users):  # noqa: F811
    unit = OrgUnit.objects.get(code="330109113")
    batch = services.ValueBatch(users["guali"])
    results = batch.check([
        (elements["invest"], unit, "2020", "12.5", ""),
        (elements["invest"], unit, "2020", "12.50", ""),  # the same number again: unchanged
        (elements["sewage_rate"], unit, "2020", 130, ""),
        (elements["invest"], unit, "2020-13", 1, ""),
        (elements["note"], unit, "2020", "说明", "长" * 501),
        (elements["invest"], OrgUnit.objects.get(code="330182107"), "2020", 1, ""),
    ])
    assert [_outcome(r) for r in results] == ["created", "unchanged", ["value"], ["period"], ["comment"],
                                              "PermissionDenied"]
    batch.write()
    assert _table() == {(elements["invest"].pk, "330109113", "2020", Decimal("12.5"), "", "")}
    assert AuditEntry.objects.filter(action="datavalue.save").count() == 1


def test_queries_do_not_grow_with_the_values(elements):  # noqa: F811
    units = list(OrgUnit.objects.filter(code__startswith="3301", level="town"))[:8]

    def queries(periods) -> int:
        with CaptureQueriesContext(connection) as seen, transaction.atomic():
            batch = services.ValueBatch(SYSTEM)
            results = batch.check([(e, u, p, 1, "") for p in periods for u in units
                                   for e in (elements["invest"], elements["population"])])
            assert not any(isinstance(r, Exception) for r in results)
            batch.write()
            transaction.set_rollback(True)
        return len(seen.captured_queries)

    assert queries(["2020"]) == queries(["2019", "2020", "2021", "2020Q1", "2020Q2"])


def test_an_import_that_replaced_values_is_undone_to_them(elements, users):  # noqa: F811
    header = ["指标编码", "乡镇代码", "期间", "数值", "备注"]
    first = run_import(users["guali"], xlsx([header, ["invest", "330109113", "2020", 10, "初报"],
                                             ["population", "330109113", "2020", 500, ""]]), "a.xlsx",
                       "indicator_values")
    assert first["counts"]["created"] == 2, first
    before = _table()
    second = run_import(users["guali"], xlsx([header, ["invest", "330109113", "2020", 12, "更正"],
                                              ["population", "330109113", "2020", 500, ""],
                                              ["has_station", "330109113", "2020", "是", ""]]), "b.xlsx",
                        "indicator_values")
    assert second["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "deleted": 0}, second
    undo_batch(users["guali"], ImportBatch.objects.get(pk=second["id"]))
    assert _table() == before
    assert AuditEntry.objects.filter(action="datavalue.delete").count() == 1


def test_undo_puts_back_a_comment_the_import_changed_and_keeps_the_value(elements, users):  # noqa: F811
    """The import's history keeps only the fields it changed; undo takes the rest as stored."""
    header = ["指标编码", "乡镇代码", "期间", "数值", "备注"]
    run_import(users["guali"], xlsx([header, ["invest", "330109113", "2020", 10, "初报"]]), "a.xlsx",
               "indicator_values")
    before = _table()
    second = run_import(users["guali"], xlsx([header, ["invest", "330109113", "2020", 10, "已核实"]]), "b.xlsx",
                        "indicator_values")
    assert second["counts"]["updated"] == 1, second
    assert DataValue.objects.get().comment == "已核实"
    undo_batch(users["guali"], ImportBatch.objects.get(pk=second["id"]))
    assert _table() == before


def test_an_imports_history_lists_its_rows_in_the_files_order(elements, users):  # noqa: F811
    """A batch writes its values (and their audit rows) in its own order; the import's page lists the file's."""
    from townbrain.exchange import history
    from townbrain.exchange.kinds import INDICATOR_VALUES

    header = ["指标编码", "乡镇代码", "期间", "数值", "备注"]
    rows = [[code, "330109113", str(year), 10 + year % 7, ""] for year in range(2001, 2041)
            for code in ("invest", "population")]
    summary = run_import(users["guali"], xlsx([header, *rows]), "many.xlsx", "indicator_values")
    assert summary["counts"]["created"] == 80, summary
    batch = ImportBatch.objects.get(pk=summary["id"])
    assert [c.row for c in history.changes(batch, INDICATOR_VALUES, limit=10)] == list(range(2, 12))
    everything = history.changes(batch, INDICATOR_VALUES)
    assert [c.row for c in everything] == list(range(2, 82)) and {c.action for c in everything} == {"created"}
