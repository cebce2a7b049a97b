"""The roll-up cells hold no foreign key in the database (projects migration 0006), yet deleting a
programme still deletes its cells (Django's CASCADE), and a programme with projects still cannot go."""

from datetime import date

import pytest
from django.db import connection
from django.db.models import ProtectedError

from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects import services
from townbrain.projects.models import RollupCell
from townbrain.projects.tests.test_projects import make_project


def _cells(programme) -> set[tuple]:
    return set(RollupCell.objects.filter(programme=programme).values_list("org", "kind", "month", "n", "cents"))


@pytest.mark.django_db
def test_the_cells_table_has_no_foreign_keys():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, RollupCell._meta.db_table)
    assert not [name for name, c in constraints.items() if c["foreign_key"]]


@pytest.mark.django_db
def test_deleting_a_programme_deletes_its_cells_and_leaves_the_others(tree):
    make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    meili = Programme.objects.get(code="meili")
    kept = _cells(meili)
    assert kept
    gone = Programme.objects.create(code="gone", name="撤销的计划")
    project = make_project("330182107", programme="gone")
    assert _cells(gone)
    services.delete_project(SYSTEM, project)  # its projects go first: they protect the programme
    RollupCell.objects.create(programme=gone, org="33", category=-1, role=-1, batch=-1, kind="plan", month="",
                              n=1, cents=100)  # a stale cell (`rollups rebuild` would drop it): goes too
    gone.delete()
    assert not RollupCell.objects.filter(programme_id=gone.pk).exists()
    assert _cells(meili) == kept


@pytest.mark.django_db
def test_a_programme_with_projects_cannot_be_deleted_and_keeps_its_cells(tree):
    make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    meili = Programme.objects.get(code="meili")
    kept = _cells(meili)
    with pytest.raises(ProtectedError):
        meili.delete()
    assert _cells(meili) == kept


@pytest.mark.django_db
def test_doctor_reports_cells_of_a_programme_that_no_longer_exists(tree):
    from django.utils import translation

    from townbrain.core import doctor

    make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    RollupCell.objects.create(programme_id=987654, org="33", category=-1, role=-1, batch=-1, kind="planned",
                              month="202003", n=1, cents=0)  # no foreign key to stop it: raw SQL, a restore gone wrong
    with translation.override("en"):
        found = next(r for r in doctor.run_all(doctor.Options(full=True)) if r["name"] == "rollups")
    assert "roll-up cells for programme #987654, which no longer exists" in found["problems"], found
