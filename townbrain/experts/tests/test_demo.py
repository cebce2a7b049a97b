"""The demo's expert activities match the seed check (DOMAIN §5) through the summary API."""

import pytest

from townbrain.experts import demo
from townbrain.experts.models import Expert, ExpertActivity, ExpertAssignment, ExpertProblem

pytestmark = pytest.mark.django_db


def test_demo_matches_the_seed_and_is_idempotent(users, api_for):
    summary = demo.load()
    problems = summary.pop("expert_problems")
    # Two experts log in (experts as users): linked to their own accounts, printed with the demo's logins.
    assert summary.pop("expert_logins") == len(demo.DEMO_EXPERT_LOGINS) == len(demo.login_rows())
    assert summary == {"experts": 120, "expert_assignments": 12, "expert_activities": 278}
    # A few activities have their problems on the register (问题清单), reproducing their figures.
    assert problems == ExpertProblem.objects.count() > 0
    assert ExpertProblem.objects.values("town").distinct().count() == demo.DEMO_PROBLEM_TOWNS
    assert {"solved", "open"} <= set(ExpertProblem.objects.values_list("status", flat=True))
    for activity in ExpertActivity.objects.filter(problems__isnull=False).distinct():
        assert activity.problems_found == activity.problems.count()
        assert activity.problems_solved == activity.problems.filter(status="solved").count()
    got = api_for("hangzhou").get("/api/expert-activities/summary/", {"org": "3301", "year": 2020}).json()
    assert got["activities"] == 278
    assert got["person_times"] == {"chief_designer": 168, "resident_planner": 689, "development_adviser": 467,
                                   "total": 1324}
    assert (got["problems_found"], got["problems_solved"]) == (957, 826)  # the register keeps the seed's figures
    assert Expert.objects.count() == 120 and len(set(Expert.objects.values_list("name", flat=True))) == 120
    # Every name of every activity is an expert of the pool, linked to it.
    some = ExpertActivity.objects.order_by("pk")[:20]
    assert all(a.experts.count() == a.person_times == len(a.names) for a in some)
    assert demo.load() == {"experts": 0, "expert_assignments": 0, "expert_activities": 0, "expert_problems": 0,
                           "expert_logins": 0}
    assert ExpertProblem.objects.count() == problems
    assert ExpertActivity.objects.count() == 278 and ExpertAssignment.objects.count() == 12
