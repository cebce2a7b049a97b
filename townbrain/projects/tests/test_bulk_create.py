"""ProjectBatch creating projects: many written together, each checked exactly like create_project.

Imports use it; create_project is its one-project case. The roll-up cells a bulk create leaves must be
those rebuild() makes from the ledger, with an audit row per project.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from townbrain.core import bulk
from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.programmes.services import enrol_town
from townbrain.projects import rollups, services
from townbrain.projects.models import Project, RollupCell

TOWNS = ["330109001", "330109113", "330182107", "330182100", "520111100"]


def cells() -> set[tuple]:
    return set(RollupCell.objects.values_list("programme_id", "org", "month", "kind", "category", "role", "batch",
                                              "n", "cents"))


def _fields(tree, rng, i) -> dict:
    meili = Programme.objects.get(code="meili")
    planned = date(2020, 1, 1) + timedelta(days=rng.randrange(600))
    started = rng.random() < 0.5
    return {"code": f"B{i:04d}", "name": f"批量项目{i}", "town": tree[rng.choice(TOWNS)], "programme": meili,
            "category": rng.choice([None, *meili.categories.all()]),
            "total_investment": Decimal(rng.randrange(100, 900)), "annual_plan": Decimal(rng.randrange(0, 100)),
            "planned_start": planned, "planned_completion": planned + timedelta(days=rng.randrange(30, 500)),
            "status": "started" if started else rng.choice(["planned", "preparing", "cancelled"]),
            "actual_start": planned + timedelta(days=rng.randrange(-30, 200)) if started else None}


@pytest.mark.django_db
@pytest.mark.parametrize("chunk", [500, 7])  # 7: many cells at once (on PostgreSQL the COPY path)
def test_bulk_create_leaves_the_cells_rebuild_makes_and_an_audit_row_each(tree, chunk, monkeypatch):
    monkeypatch.setattr(rollups.cells, "UPSERT_CHUNK", chunk)
    monkeypatch.setattr(bulk, "ROWS_CHUNK", chunk)  # audit rows written in pieces
    meili = Programme.objects.get(code="meili")
    yangban = meili.roles.first()
    enrol_town(SYSTEM, tree["330109113"], meili, year_joined=2020, role=yangban)
    rng = random.Random(5)
    one = services.create_project(SYSTEM, **_fields(tree, rng, 0))  # some cells exist before
    made = bulk.every(services.ProjectBatch(SYSTEM), [(None, _fields(tree, rng, i)) for i in range(1, 120)])
    assert all(p.pk for p in made) and len({p.pk for p in made} | {one.pk}) == 120
    assert Project.objects.count() == 120
    stored = Project.objects.get(code="B0007")
    assert (stored.name, stored.town_id, stored.total_investment) == (made[6].name, made[6].town_id,
                                                                      made[6].total_investment)
    audits = AuditEntry.objects.filter(action="project.create")
    assert audits.count() == 120
    row = audits.get(object_id=str(stored.pk))
    assert row.org_code == stored.town_id and row.changes["code"] == [None, "B0007"]
    kept = cells()
    assert kept
    rollups.rebuild()
    assert cells() == kept


@pytest.mark.django_db
@pytest.mark.parametrize("chunk", [500, 7])
def test_bulk_delete_takes_out_reports_and_curves_and_leaves_the_cells_rebuild_makes(tree, users, chunk,
                                                                                     monkeypatch):
    monkeypatch.setattr(rollups.cells, "UPSERT_CHUNK", chunk)
    monkeypatch.setattr(bulk, "ROWS_CHUNK", chunk)  # audit rows written in pieces
    rng = random.Random(8)
    made = bulk.every(services.ProjectBatch(SYSTEM), [(None, _fields(tree, rng, i)) for i in range(60)])
    started = [p for p in made if p.status == "started"]
    for i, project in enumerate(started[:12]):
        services.report_progress(SYSTEM, project, "202101", cumulative_investment=Decimal(10 + i),
                                 progress_percent=Decimal(20), status="started")
        if i % 2:
            services.set_monthly_plan(SYSTEM, project, {"202101": 30, "202106": 80})
    audits = AuditEntry.objects.count()
    gone = made[::2] + started[:12:3]
    gone = list({p.pk: p for p in gone}.values())
    assert {p.town_id for p in gone} - {"330109113"}
    with pytest.raises(PermissionDenied):  # 瓜沥镇's office may not delete other towns' projects
        services.delete_projects(users["guali"], gone)
    services.delete_projects(SYSTEM, gone)
    assert not Project.objects.filter(pk__in=[p.pk for p in gone]).exists()
    assert Project.objects.count() == 60 - len(gone)
    deleted = AuditEntry.objects.filter(action="project.delete")
    assert deleted.count() == len(gone) and AuditEntry.objects.count() == audits + len(gone)
    assert deleted.get(object_id=str(gone[0].pk)).changes["code"] == [gone[0].code, None]
    kept = cells()
    rollups.rebuild()
    assert cells() == kept
    services.delete_projects(SYSTEM, [])  # nothing to do is not an error


@pytest.mark.django_db
def test_a_batch_refuses_a_code_the_programme_has_or_the_batch_repeats(tree):
    rng = random.Random(1)
    services.create_project(SYSTEM, **_fields(tree, rng, 1))
    before = (Project.objects.count(), AuditEntry.objects.count(), cells())
    batch = services.ProjectBatch(SYSTEM)
    results = batch.check([(None, _fields(tree, rng, 2)), (None, _fields(tree, rng, 1)), (None, _fields(tree, rng, 3)),
                           (None, _fields(tree, rng, 3))])
    assert [r[2] for r in results[::2]] == ["created", "created"]
    assert "already exists" in results[1].message_dict["code"][0] and "B0001" in results[1].message_dict["code"][0]
    assert "appears twice" in results[3].message_dict["code"][0]
    with pytest.raises(ValidationError, match="B0001"):  # every(): the first refusal, nothing written
        bulk.every(services.ProjectBatch(SYSTEM), [(None, _fields(tree, rng, 4)), (None, _fields(tree, rng, 1))])
    assert (Project.objects.count(), AuditEntry.objects.count(), cells()) == before
    batch.write()  # the accepted ones
    assert set(Project.objects.values_list("code", flat=True)) == {"B0001", "B0002", "B0003"}


@pytest.mark.django_db
def test_a_new_project_is_checked_by_every_rule_and_the_actor(tree, users):
    rng = random.Random(2)
    fields = _fields(tree, rng, 9) | {"town": tree["330109113"]}
    over, county, elsewhere = services.ProjectBatch(SYSTEM).check([
        (None, fields | {"annual_plan": Decimal(5000)}), (None, fields | {"town": tree["330109"]})]) + \
        services.ProjectBatch(users["guizhou"]).check([(None, fields)])
    assert "annual_plan" in over.message_dict
    assert "town" in county.message_dict  # a county, not a town
    assert isinstance(elsewhere, PermissionDenied)
    assert services.create_project(users["guali"], **fields).pk


@pytest.mark.django_db
def test_a_batch_answers_each_new_row_without_a_query_per_row(tree, users, django_assert_max_num_queries):
    rng = random.Random(3)
    good = [_fields(tree, rng, i) | {"town": tree["330109113"]} for i in range(60)]
    rows = [*good,
            good[0] | {"code": "X" * 41},  # a field check
            good[1] | {"annual_plan": Decimal(5000), "total_investment": Decimal(10)},  # a lifecycle rule
            good[2] | {"town": tree["330182107"]},  # outside 瓜沥镇's office
            good[3] | {"budget": 5}]  # not a project field
    batch = services.ProjectBatch(users["guali"])
    with django_assert_max_num_queries(6):  # the permission's look-ups and the codes taken, not one per row
        results = batch.check([(None, row) for row in rows])
    assert all(r[0].pk is None and r[1:] == (None, "created") for r in results[:60])
    assert "code" in results[60].message_dict
    assert "annual_plan" in results[61].message_dict
    assert isinstance(results[62], PermissionDenied)
    assert "budget" in results[63].message_dict
    batch.write()
    assert Project.objects.filter(pk__in=[r[0].pk for r in results[:60]]).count() == 60


def test_a_memo_does_not_change_a_contribution():
    from types import SimpleNamespace

    rng = random.Random(11)
    memo = {}
    for i in range(300):  # few shapes, many projects: most answers come from the memo
        planned = date(2020, 1, 1) + timedelta(days=rng.randrange(4) * 40)
        project = SimpleNamespace(
            pk=None, town_id=rng.choice(TOWNS), programme_id=1, category_id=rng.choice([None, 3]),
            annual_plan=Decimal(rng.randrange(50)), status=rng.choice(["planned", "started", "completed", "cancelled"]),
            planned_start=rng.choice([None, planned]), actual_start=rng.choice([None, planned + timedelta(days=70)]),
            planned_completion=planned + timedelta(days=rng.choice([90, 400])), actual_completion=None)
        dims = (rng.randrange(3), 0)
        assert rollups.contribution(project, [], dims, [], memo) == rollups.contribution(project, [], dims, []), i
    assert 0 < len(memo) < 100


def _advisory_locks_held() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        return cursor.fetchone()[0]


def _role_change_outcome(town: str, programme_id) -> str:
    """Try a role change of `town` from another connection: "moved", or "waited" (lock timeout)."""
    import threading

    from django.db import OperationalError, transaction
    from django.db import connection as this_threads

    outcome = []

    def change_role():
        try:
            with transaction.atomic():
                with this_threads.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                rollups.move_town(town, programme_id, 0, 0)
            outcome.append("moved")
        except OperationalError:
            outcome.append("waited")
        finally:
            this_threads.close()

    thread = threading.Thread(target=change_role)
    thread.start()
    thread.join()
    return outcome[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time: no locks")
@pytest.mark.usefixtures("shipped_data")  # a transactional database with the migrations' programmes
@pytest.mark.parametrize("how", ["many towns", "import"])
def test_a_bulk_write_takes_the_programme_locks_not_one_per_town(tree, how, monkeypatch):
    from django.db import transaction

    meili = Programme.objects.get(code="meili")
    rng = random.Random(3)
    items = [(None, _fields(tree, rng, i)) for i in range(40)]
    assert len({fields["town"].code for _new, fields in items}) == len(TOWNS)
    monkeypatch.setattr(rollups.locks, "TOWN_LOCKS_MAX", 2 if how == "many towns" else 1000)
    programmes = Programme.objects.count()
    with transaction.atomic():
        if how == "import":  # what the import pipeline does around its transaction
            with rollups.bulk_writes():
                made = bulk.every(services.ProjectBatch(SYSTEM), items)
                services.update_project(SYSTEM, made[0], name="改名")  # a per-row write: no town lock
                assert _advisory_locks_held() == programmes
        else:
            bulk.every(services.ProjectBatch(SYSTEM), items)
            assert _advisory_locks_held() == programmes
        assert _role_change_outcome("330109113", meili.pk) == "waited"
    assert _role_change_outcome("330109113", meili.pk) == "moved"
    assert not rollups._BULK.get()  # the bulk mode ends with its block
    with transaction.atomic():  # and a single write afterwards locks its town again
        services.create_project(SYSTEM, **_fields(tree, rng, 99))
        assert _advisory_locks_held() == 1
