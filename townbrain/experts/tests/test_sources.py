"""The assessment sources experts.activities / person_times / problems_solved, and a scheme using them."""

from datetime import date
from decimal import Decimal

import pytest

from townbrain.assessments import engine, services, sources
from townbrain.assessments.tests.conftest import enrolled, make_spec, meili  # noqa: F401 (fixtures)
from townbrain.core.scope import SYSTEM

from .conftest import OTHER, OWN, make_activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(enrolled):  # noqa: F811
    make_activity(OWN, date(2020, 3, 1), chief_designer_count=1, resident_planner_count=2, adviser_count=1,
                  problems_found=6, problems_solved=5, expert_names="甲")
    make_activity(OWN, date(2020, 11, 30), activity_type="training", resident_planner_count=1, adviser_count=3,
                  problems_found=2, problems_solved=2, expert_names="乙")
    make_activity(OWN, date(2019, 12, 31), chief_designer_count=9, problems_found=9, problems_solved=9)  # other year
    make_activity(OTHER, date(2020, 5, 5), resident_planner_count=1, problems_found=1, problems_solved=0)


def test_sources_per_town_in_bulk(held, meili, django_assert_max_num_queries):  # noqa: F811
    keys = ["experts.activities", "experts.person_times", "experts.problems_solved"]
    with django_assert_max_num_queries(1):
        got = sources.compute(keys, meili, 2020, [OWN, OTHER, "330182100"])
    assert got["experts.activities"] == {OWN: 2, OTHER: 1, "330182100": 0}
    assert got["experts.person_times"] == {OWN: 8, OTHER: 1, "330182100": 0}
    assert got["experts.problems_solved"] == {OWN: 7, OTHER: 0, "330182100": 0}
    many = [OWN, OTHER] + [f"3301{i:05d}" for i in range(sources.CHUNK + 1)]  # beyond a chunk: one query still
    with django_assert_max_num_queries(1):
        assert sources.compute(["experts.activities"], meili, 2020, many)["experts.activities"][OWN] == 2
    assert all(s.key in sources.SOURCES for s in sources.SOURCES.values())


def test_a_scheme_naming_the_sources_imports_and_scores(held, meili):  # noqa: F811
    spec = make_spec([
        {"code": "activities", "name": "专家活动", "system": "experts.activities", "method": "bands", "points": 4,
         "bands": [{"min": 2, "points": 4}, {"min": 1, "max": 2, "points": 2}]},
        {"code": "solved", "name": "解决问题", "formula": "#{experts.problems_solved} + #{experts.person_times} * 0",
         "method": "linear", "points": 6, "zero_at": 0, "full_at": 10},
    ], code="experts-scheme")
    scheme = services.import_scheme(SYSTEM, spec)
    assert scheme.criteria.count() == 2
    results = {r.town: r.breakdown for r in engine.run(spec, 2020).results}
    assert results[OWN] == {"values": [2.0, 7.0], "points": [4.0, 4.2]}
    assert results[OTHER]["points"] == [2.0, 0.0]
    assert results["330182100"]["values"] == [0.0, 0.0]
    run = services.start_run(SYSTEM, scheme, 2020)
    assert run.results.get(town_id=OWN).score == Decimal("8.20")
