"""core.bulk: the helpers that make writing many rows cheap must do exactly what Django does one row at a time."""

import gc
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from townbrain.core import bulk
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, Programme
from townbrain.programmes.services import enrol_town
from townbrain.projects.models import Project


def _fields(tree, **changes) -> dict:
    meili = Programme.objects.get(code="meili")
    return {"code": "HZ-1", "name": "污水管网", "town": tree["330109113"], "programme": meili,
            "category": meili.categories.first(), "total_investment": Decimal("1200.50"), "annual_plan": Decimal(600),
            "planned_start": date(2021, 3, 1), "status": "planned"} | changes


def _errors(call) -> dict | None:
    try:
        call()
    except ValidationError as exc:
        return exc.message_dict
    return None


CASES = [
    {},
    {"code": "X" * 41},  # longer than the column
    {"total_investment": Decimal("1.005")},  # three decimal places
    {"total_investment": Decimal("1.00")},  # equal to 1.000 below but valid: the memo must tell them apart
    {"total_investment": Decimal("1.000")},
    {"status": "building"},  # not a choice
    {"name": ""},  # required
    {"latitude": Decimal("1234.5")},  # too many digits
    {"owner_unit": ""},  # blank allowed
]


@pytest.mark.django_db
@pytest.mark.parametrize("memo_max", [bulk.MEMO_MAX, 2])  # 2: most verdicts are not remembered
def test_clean_fields_with_a_shared_memo_agrees_with_full_clean(tree, memo_max, monkeypatch):
    monkeypatch.setattr(bulk, "MEMO_MAX", memo_max)
    memo = {}
    for _round in range(2):  # the second round answers from the memo
        for changes in CASES:
            fields = _fields(tree, **changes)
            expected = _errors(lambda f=fields: Project(**f).full_clean(
                exclude=["town", "programme", "category"], validate_unique=False, validate_constraints=False))
            obj = bulk.instance(Project, fields)
            got = _errors(lambda o=obj: bulk.clean_fields(o, exclude=["town", "programme", "category"], memo=memo))
            assert got == expected, changes
    assert _errors(lambda: bulk.clean_fields(bulk.instance(Project, _fields(tree, status="x")), memo=memo))["status"]
    assert max(len(seen) for name, seen in memo.items() if isinstance(name, str)) <= memo_max  # verdicts by field


@pytest.mark.django_db
def test_instance_is_the_object_keyword_arguments_make(tree, django_assert_num_queries):
    fields = _fields(tree)
    made, expected = bulk.instance(Project, fields), Project(**fields)
    for f in Project._meta.concrete_fields:
        assert getattr(made, f.attname) == getattr(expected, f.attname), f.name
    assert made._state.adding
    with django_assert_num_queries(0):  # related objects stay in the cache, as assigning them leaves them
        assert (made.town, made.programme, made.category) == (fields["town"], fields["programme"], fields["category"])
    assert bulk.instance(Project, {"code": "A"}).total_investment == Project().total_investment  # defaults


@pytest.mark.django_db
@pytest.mark.parametrize("chunk", [bulk.IN_CHUNK, 3])
def test_where_in_finds_what_in_finds(tree, chunk, monkeypatch):
    monkeypatch.setattr(bulk, "IN_CHUNK", chunk)  # SQLite asks in pieces; PostgreSQL sends one array either way
    codes = [code for code in tree if len(code) == 9] + ["999999999", "330109113"]
    found = {u.code for u in bulk.where_in(OrgUnit.objects.all(), "code", codes)}
    assert found == set(OrgUnit.objects.filter(code__in=codes).values_list("code", flat=True)) and len(found) >= 4
    assert list(bulk.where_in(OrgUnit.objects.all(), "code", [])) == []
    meili = Programme.objects.get(code="meili")
    enrol_town(SYSTEM, tree["330109113"], meili, year_joined=2020)
    # an integer column, narrowed further by the queryset's own filter
    rows = list(bulk.where_in(Enrolment.objects.filter(town_id="330109113").values_list("town_id", flat=True),
                              "programme_id", [meili.pk, meili.pk + 1000]))
    assert rows == ["330109113"]


@pytest.mark.django_db
def test_where_in_sends_one_array_on_postgresql(tree, django_assert_num_queries):
    codes = [f"{i:09d}" for i in range(12_000)]
    queries = 1 if connection.vendor == "postgresql" else 3
    with django_assert_num_queries(queries):
        assert list(bulk.where_in(OrgUnit.objects.all(), "code", codes)) == []


def test_many_objects_pauses_the_collector_and_puts_it_back():
    assert gc.isenabled()
    with bulk.many_objects():
        assert not gc.isenabled()
        with bulk.many_objects():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block does not switch it on under the outer one
    assert gc.isenabled()
    with pytest.raises(RuntimeError), bulk.many_objects():
        raise RuntimeError
    assert gc.isenabled()


@pytest.mark.django_db
def test_instance_goes_through_init_when_a_model_has_init_receivers(tree):
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.code)

    post_init.connect(receiver, sender=Project)
    try:
        made = bulk.instance(Project, _fields(tree))
    finally:
        post_init.disconnect(receiver, sender=Project)
    assert seen == ["HZ-1"] and made.town == tree["330109113"]
    bulk.instance(Project, _fields(tree, code="HZ-2"))
    assert seen == ["HZ-1"]


def test_memo_keys_tell_apart_what_checks_tell_apart():
    assert bulk.memo_key(Decimal("1.00")) != bulk.memo_key(Decimal("1.000"))
    assert bulk.memo_key(1) != bulk.memo_key(1.0) != bulk.memo_key(True)
    assert bulk.memo_key("330109113") == bulk.memo_key("330109113")
    assert bulk.memo_key(["a"]) is None and bulk.memo_key({"a": 1}) is None


@pytest.mark.parametrize("column", [
    ["330109113", 1, 1.0, True, None, date(2020, 1, 1), "330109113", 1],  # common values: keyed in one step
    [Decimal("1.00"), Decimal("1.000"), Decimal("1.00"), 1, ["a"], ["a"]],  # others: memo_key() each
])
def test_memo_keys_of_a_column_are_memo_key_of_each_and_an_unhashable_value_equals_nothing(column):
    keys = bulk.memo_keys(column)
    for key, value, other_key, other in zip(keys, column, keys[1:] + keys[:1], column[1:] + column[:1], strict=True):
        if bulk.memo_key(value) is None:
            assert key != other_key and {key: value}[key] is value  # a key of its own, that can key a dict
        else:
            assert key == bulk.memo_key(value) and (key == other_key) == (bulk.memo_key(value) == bulk.memo_key(other))


@pytest.mark.django_db(transaction=False)
def test_later_runs_now_outside_meanwhile_and_in_the_background_inside_waited_for_at_its_end(tree):
    guali = OrgUnit.objects.get(code="330109113")
    bulk.later(f"UPDATE core_orgunit SET name = '瓜沥' WHERE code = '{guali.code}'")  # no block: now
    assert OrgUnit.objects.get(code=guali.code).name == "瓜沥"
    with bulk.meanwhile():
        bulk.later(f"UPDATE core_orgunit SET name = name || '一' WHERE code = '{guali.code}'")
        bulk.later(f"UPDATE core_orgunit SET name = name || '二' WHERE code = '{guali.code}'")  # after the first
        assert threading.active_count() >= 2  # the statements' thread
    assert OrgUnit.objects.get(code=guali.code).name == "瓜沥一二"  # both ran, in order, before the block ended
    with pytest.raises(DatabaseError, match="tb_nowhere"), transaction.atomic():
        with bulk.meanwhile():
            bulk.later("UPDATE tb_nowhere SET x = 1")  # the statement's error comes out at the block's end
    assert OrgUnit.objects.get(code=guali.code).name == "瓜沥一二"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="two users of one connection meet on PostgreSQL's")
def test_a_statement_that_failed_in_the_background_is_the_error_raised_not_what_failed_after_it(tree):
    with pytest.raises(DatabaseError, match="tb_nowhere"), transaction.atomic():
        with bulk.meanwhile():
            bulk.later("UPDATE tb_nowhere SET x = 1")
            OrgUnit.objects.count()  # waits its turn, then finds the transaction aborted


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_a_copy_inside_meanwhile_waits_for_every_statement_still_to_run(tree):
    from townbrain.core.models import AuditEntry

    with bulk.meanwhile():
        bulk.later("SELECT pg_sleep(0.2)")
        bulk.later("SELECT pg_sleep(0.2)")  # queued behind the first: it waits for the end of the COPY
        bulk.copy_values(AuditEntry, ("time", "actor_name", "action", "object_type", "object_id", "object_repr",
                                      "org_code", "changes", "source", "request_id"),
                         [(date(2020, 1, 1), "system", "test.copy", "orgunit", str(i), "", "", "{}", "cli", "")
                          for i in range(50)])
    assert AuditEntry.objects.filter(action="test.copy").count() == 50
