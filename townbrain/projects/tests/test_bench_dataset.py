"""The national dataset of `townbrain bench rollups` / `bench cockpit`, made small: the generator's COPY
writes every column the ledger needs (a NOT NULL column added to projects without a database default —
`version` — once broke the national build after eight minutes), and the roll-up table rebuilt from it
equals the GROUP BY over the ledger."""

import pytest
from django.db import connection

from townbrain.bench import rollups as bench
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects import rollups
from townbrain.projects.models import ProgressReport, Project


@pytest.fixture
def small(monkeypatch, tree):
    if connection.vendor != "postgresql":
        pytest.skip("the bench dataset is loaded with PostgreSQL's COPY; this runs in the PostgreSQL pass")
    monkeypatch.setattr(bench, "TOWNS", 3)
    bench.generate(echo=lambda *_a: None)
    rollups.rebuild()


def test_the_generator_writes_loadable_projects_and_reports(small):
    assert Project.objects.count() == 3 * bench.PROJECTS_PER_TOWN
    assert ProgressReport.objects.count() == 3 * bench.PROJECTS_PER_TOWN * 12
    assert set(Project.objects.values_list("version", flat=True)) == {1}
    meili = Programme.objects.get(code="meili")
    for code in ("33", "52"):
        for period in ("202003", "202009", "202012"):
            org = OrgUnit.objects.get(code=code)
            assert rollups.compute(SYSTEM, org, period, meili) == rollups.compute_from_ledger(SYSTEM, org, period, meili)
