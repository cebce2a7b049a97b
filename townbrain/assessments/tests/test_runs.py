"""Runs: who may start them, what they keep, freezing, what-if without touching the official run, comparing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction

from townbrain.assessments import services
from townbrain.assessments.models import Result, Run
from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM

SCORE = {"code": "score", "name": "得分", "formula": "#{score}", "method": "linear", "points": 100, "zero_at": 0,
         "full_at": 100}


@pytest.fixture
def scheme(enrolled, values, spec_of, users):
    values("score", {"330109113": 95, "330109001": 85, "330182107": 65, "330182100": 40})
    spec = spec_of([SCORE], code="score-scheme", rank_scopes=["batch", "city"])
    return services.import_scheme(users["admin"], spec)


def test_start_run_keeps_results_summary_and_audit(scheme, users):
    run = services.start_run(users["zhejiang"], scheme, 2020)
    assert run.area == "33" and run.area_name == "浙江省" and run.kind == "official" and not run.frozen
    assert run.scheme_version == scheme.version and run.snapshot["code"] == "score-scheme"
    assert run.summary["grades"] == {"优秀": 1, "合格": 2, "不合格": 1}
    assert run.summary["towns"] == 4
    results = {r.town_id: r for r in run.results.all()}
    assert results["330109113"].grade == "优秀" and results["330109113"].rank == 1
    assert results["330109113"].breakdown == {"values": [95.0], "points": [95.0]}
    assert results["330182107"].ranks == {"programme": 3, "batch": 1, "city": 3}
    entry = AuditEntry.objects.get(action="run.create")
    assert entry.org_code == "33" and entry.actor == users["zhejiang"]
    assert entry.changes["grades"][1] == {"优秀": 1, "合格": 2, "不合格": 1}


def test_run_rights_follow_the_area(scheme, users):
    with pytest.raises(PermissionDenied):
        services.start_run(users["hangzhou"], scheme, 2020)  # the province's run: not a city office's
    with pytest.raises(PermissionDenied):
        services.start_run(users["guizhou"], scheme, 2020, area="33")
    with pytest.raises(PermissionDenied):
        services.start_run(users["xiaoshan"], scheme, 2020, area="330109")  # an editor, not an office
    city = services.start_run(users["hangzhou"], scheme, 2020, area="3301")  # a city office, its own towns
    assert city.area == "3301" and city.summary["towns"] == 4
    county = services.start_run(users["admin"], scheme, 2020, area="330182")
    assert sorted(county.results.values_list("town_id", flat=True)) == ["330182100", "330182107"]
    with pytest.raises(ValidationError):
        services.start_run(users["admin"], scheme, 2020, area="330109113")  # a town is not an area


def test_official_run_needs_an_official_scheme_in_its_years(scheme, users):
    draft = services.copy_scheme(users["admin"], scheme)
    assert draft.status == "draft" and draft.based_on == scheme
    with pytest.raises(ValidationError):
        services.start_run(users["admin"], draft, 2020)
    services.update_scheme(users["admin"], scheme, year_from=2021)
    with pytest.raises(ValidationError):
        services.start_run(users["admin"], scheme, 2020)


def test_frozen_run_is_immutable(scheme, users):
    run = services.start_run(users["zhejiang"], scheme, 2020)
    with pytest.raises(PermissionDenied):
        services.freeze_run(users["hangzhou"], run)
    run = services.freeze_run(users["zhejiang"], run)
    assert run.frozen and run.frozen_at and run.frozen_by_name == "zhejiang"
    assert AuditEntry.objects.filter(action="run.freeze", object_id=str(run.pk), org_code="33").exists()
    with pytest.raises(PermissionDenied):
        services.freeze_run(users["zhejiang"], run)
    with pytest.raises(PermissionDenied):
        services.delete_run(users["zhejiang"], run)
    # The models refuse too …
    run = Run.objects.get(pk=run.pk)
    run.note = "changed"
    with pytest.raises(PermissionError):
        run.save()
    with pytest.raises(PermissionError):
        run.delete()
    result = run.results.first()
    result.score = 1
    with pytest.raises(PermissionError):
        result.save()
    # … and so does the database.
    with pytest.raises(DatabaseError), transaction.atomic():
        Result.objects.filter(run=run).update(score=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        Run.objects.filter(pk=run.pk).update(note="changed")
    assert Run.objects.get(pk=run.pk).note == ""


def test_unfrozen_run_can_be_deleted(scheme, users):
    run = services.start_run(users["zhejiang"], scheme, 2020)
    services.delete_run(users["zhejiang"], run)
    assert not Run.objects.filter(pk=run.pk).exists() and not Result.objects.exists()
    assert AuditEntry.objects.filter(action="run.delete").exists()


def test_what_if_changes_grades_without_touching_the_official_run(scheme, users):
    official = services.freeze_run(users["zhejiang"], services.start_run(users["zhejiang"], scheme, 2020))
    before = list(official.results.order_by("town_id").values_list("town_id", "score", "grade", "rank"))
    grades = [{"name": "优秀", "min": 80}, {"name": "合格", "min": 60}, {"name": "不合格"}]
    trial, comparison = services.what_if(users["zhejiang"], official, changes={
        "score": {"weight": 0.5}, "scheme": {"grades": [{"name": "优秀", "min": 40}, {"name": "合格", "min": 30},
                                                         {"name": "不合格"}]}})
    assert trial.kind == "what_if" and trial.based_on == official and not trial.frozen
    assert trial.snapshot["status"] == "draft"
    assert trial.summary["grades"] == {"优秀": 2, "合格": 1, "不合格": 1}
    changed = {c["town"]: (c["grade_a"], c["grade_b"]) for c in comparison["changes"]}
    assert changed["330109001"] == ("合格", "优秀") and changed["330182107"] == ("合格", "合格")
    assert comparison["grade_changes"] == 1
    assert comparison["a"]["id"] == official.pk and comparison["b"]["id"] == trial.pk
    after = list(Run.objects.get(pk=official.pk).results.order_by("town_id")
                 .values_list("town_id", "score", "grade", "rank"))
    assert after == before
    assert scheme.criteria.get(code="score").weight == 1  # the scheme itself is not edited either

    # A what-if with a draft scheme (copied, then edited criterion by criterion).
    draft = services.copy_scheme(users["admin"], scheme)
    services.update_scheme(users["admin"], draft, grades=grades)
    trial2, comparison2 = services.what_if(users["zhejiang"], official, scheme=draft)
    assert trial2.summary["grades"] == {"优秀": 2, "合格": 1, "不合格": 1}
    assert comparison2["grade_changes"] == 1
    with pytest.raises(ValidationError):
        services.freeze_run(users["zhejiang"], trial2)  # a what-if is never official
    with pytest.raises(PermissionDenied):
        services.what_if(users["hangzhou"], official, changes={"score": {"weight": 2}})


def test_compare_runs_is_scoped_to_the_reader(scheme, users):
    a = services.start_run(users["zhejiang"], scheme, 2020)
    services.update_criterion(users["admin"], scheme.criteria.get(code="score"), zero_at=50)
    b = services.start_run(users["zhejiang"], scheme, 2020)
    assert b.scheme_version == a.scheme_version + 1
    full = services.compare_runs(users["zhejiang"], a, b)
    assert {c["town"] for c in full["changes"]} == {"330109113", "330109001", "330182107", "330182100"}
    town = services.compare_runs(users["guali"], a, b)
    assert [c["town"] for c in town["changes"]] == ["330109113"]


def test_national_area_needs_a_system_administrator(enrolled, values, spec_of, users, tree):
    from townbrain.programmes.models import Enrolment

    Enrolment.objects.create(town_id="520111100", programme_id=Enrolment.objects.first().programme_id,
                             year_joined=2019)
    values("score", {"520111100": 50})
    scheme = services.import_scheme(users["admin"], spec_of([SCORE], code="national"))
    with pytest.raises(PermissionDenied):
        services.start_run(users["zhejiang"], scheme, 2020)
    run = services.start_run(SYSTEM, scheme, 2020)
    assert run.area == "" and run.summary["towns"] == 5
