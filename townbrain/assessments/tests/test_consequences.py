"""The consequences of a grade (issue 16): rules in the scheme, applied after the run is frozen,
audited, once, visible in the enrolment history; and the 小城市培育 / 特色小镇 demo years."""

import json

import pytest
from django.core.exceptions import ValidationError

from townbrain.assessments import demo_rulebooks, engine, services
from townbrain.assessments import spec as specs
from townbrain.assessments.cli import assess_command
from townbrain.assessments.models import Run
from townbrain.core import codes
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, EnrolmentEvent, Programme

TESE_GRADES = [{"name": "优秀", "min": 90}, {"name": "合格", "min": 70}, {"name": "警告", "min": 60},
               {"name": "降格"}]


def tese_spec(code, roles, consequences, grades=TESE_GRADES):
    return specs.validate({
        "code": code, "name": f"特色小镇考核 {code}", "programme": "tese", "roles": roles, "grades": grades,
        "years": [2015, None], "consequences": consequences,
        "groups": [{"code": "g", "name": "指标", "criteria": [
            {"code": "score", "name": "得分", "formula": "#{tese_score}", "method": "linear", "points": 100,
             "zero_at": 0, "full_at": 100}]}],
        "elements": [{"code": "tese_score", "name": "得分", "value_type": "number"}],
    })


@pytest.fixture
def tese(db):
    return Programme.objects.get(code="tese")


@pytest.fixture
def xcs(db):
    return Programme.objects.get(code="xiaochengshi")


@pytest.fixture
def tese_towns(tree, tese):
    """瓜沥镇 and 城厢街道 on the 创建 list, 大洋镇 and 梅城镇 on the 培育 list (since 2016)."""
    roles = {"330109113": "chuangjian", "330109001": "chuangjian", "330182107": "peiyu", "330182100": "peiyu"}
    for code, role in roles.items():
        Enrolment.objects.create(town_id=code, programme=tese, year_joined=2016, role=tese.roles.get(code=role))
    return roles


def scheme_of(spec):
    return services.import_scheme(SYSTEM, spec)


def frozen_run(scheme, year, values, put):
    put("tese_score", values, period=str(year))
    run = services.start_run(SYSTEM, scheme, year, area="33")
    return services.freeze_run(SYSTEM, run)


# -- the rules are data --------------------------------------------------------------------------

def test_consequences_are_validated_and_kept_with_the_scheme(db):
    spec = tese_spec("tese-c", ["chuangjian"], [{"grade": "降格", "action": "change_role", "role": "peiyu"},
                                                 {"grade": "警告", "action": "flag", "times": 2}])
    assert spec["consequences"] == [{"grade": "降格", "action": "change_role", "role": "peiyu"},
                                    {"grade": "警告", "action": "flag", "times": 2}]
    scheme = scheme_of(spec)
    assert specs.from_scheme(scheme)["consequences"] == spec["consequences"]
    assert services.import_scheme(SYSTEM, spec).version == scheme.version  # the same again: no new version
    assert "consequences" in services.export_scheme(scheme)


@pytest.mark.parametrize(("rules", "where"), [
    ([{"grade": "出局", "action": "exit"}], "consequences[0].grade"),
    ([{"grade": "降格", "action": "delete"}], "consequences[0].action"),
    ([{"grade": "降格", "action": "change_role"}], "consequences[0].role"),
    ([{"grade": "警告", "action": "flag", "times": 0}], "consequences[0].times"),
    ([{"grade": "警告", "action": "flag", "when": 1}], "consequences[0]"),
    ({"grade": "警告"}, "consequences"),
])
def test_bad_consequences_are_refused_with_their_place(db, rules, where):
    with pytest.raises(specs.SchemeError) as info:
        tese_spec("tese-bad", [], rules)
    assert where in str(info.value)


def test_schemes_without_consequences_keep_their_normal_form(db):
    spec = tese_spec("tese-plain", [], [])
    assert "consequences" not in spec


def test_the_shipped_rulebooks_carry_their_consequences(db):
    schemes = {s.code: s for s in services.load_fixture_schemes(SYSTEM)}
    assert schemes["tese-chuangjian"].consequences == [{"grade": "降格", "action": "change_role", "role": "peiyu"}]
    assert schemes["tese-peiyu"].consequences == [{"grade": "淘汰", "action": "exit"}]
    assert schemes["xiaochengshi-niandu"].consequences == [{"grade": "警告", "action": "flag", "times": 2}]
    assert not schemes["meili-pingjia"].consequences


# -- applying them -------------------------------------------------------------------------------

def test_downgraded_town_moves_to_the_peiyu_list_next_year(tese_towns, tese, values):
    scheme = scheme_of(tese_spec("tese-c", ["chuangjian"],
                                 [{"grade": "降格", "action": "change_role", "role": "peiyu"}]))
    run = frozen_run(scheme, 2020, {"330109113": 95, "330109001": 40}, values)
    assert services.apply_consequences(SYSTEM, run) == {"role": 1, "exit": 0, "flag": 0}

    enrolment = Enrolment.objects.get(town_id="330109001", programme=tese)
    assert enrolment.role.code == "peiyu"
    (event,) = enrolment.events.all()
    assert (event.year, event.kind, event.role_before.code, event.role_after.code) == (2021, "role", "chuangjian",
                                                                                       "peiyu")
    assert f"#{run.pk}" in event.source and "2020" in event.reason
    assert Enrolment.objects.get(town_id="330109113", programme=tese).role.code == "chuangjian"
    entry = AuditEntry.objects.get(action="enrolment.event", object_id=str(enrolment.pk))
    assert entry.org_code == "330109001"
    assert entry.changes["role"] == [event.role_before_id, event.role_after_id]
    assert AuditEntry.objects.filter(action="run.consequences", object_id=str(run.pk)).count() == 1

    # once only: the same run again changes nothing and writes no audit row
    audit_rows = AuditEntry.objects.count()
    assert services.apply_consequences(SYSTEM, run) == {"role": 0, "exit": 0, "flag": 0}
    assert AuditEntry.objects.count() == audit_rows

    # 2020 run again: the town is still assessed as 创建 that year; in 2021 it is on the 培育 list
    roles_2020 = {t.code: t.role for t in engine.enrolled_towns(tese, 2020, roles=["chuangjian"])}
    assert roles_2020 == {"330109001": "chuangjian", "330109113": "chuangjian"}
    assert [t.code for t in engine.enrolled_towns(tese, 2021, roles=["chuangjian"])] == ["330109113"]
    assert "330109001" in [t.code for t in engine.enrolled_towns(tese, 2021, roles=["peiyu"])]


def test_eliminated_town_leaves_after_the_year(tese_towns, tese, values):
    grades = [{"name": "合格", "min": 60}, {"name": "淘汰"}]
    scheme = scheme_of(tese_spec("tese-p", ["peiyu"], [{"grade": "淘汰", "action": "exit"}], grades=grades))
    run = frozen_run(scheme, 2020, {"330182107": 30, "330182100": 80}, values)
    assert services.apply_consequences(SYSTEM, run)["exit"] == 1
    enrolment = Enrolment.objects.get(town_id="330182107", programme=tese)
    assert enrolment.exit_year == 2020
    assert enrolment.events.get().kind == EnrolmentEvent.Kind.EXIT
    assert "330182107" in [t.code for t in engine.enrolled_towns(tese, 2020)]
    assert "330182107" not in [t.code for t in engine.enrolled_towns(tese, 2021)]


def test_warned_twice_is_flagged_not_once(tree, xcs, values):
    for code in ("330109113", "330182107"):
        Enrolment.objects.create(town_id=code, programme=xcs, year_joined=2010, role=xcs.roles.get(code="shidian"))
    grades = [{"name": "达标", "min": 60}, {"name": "警告"}]
    spec = specs.validate({
        "code": "xcs-test", "name": "小城市考核", "programme": "xiaochengshi", "grades": grades,
        "consequences": [{"grade": "警告", "action": "flag", "times": 2}],
        "groups": [{"code": "g", "name": "指标", "criteria": [
            {"code": "s", "name": "得分", "formula": "#{xcs_score}", "method": "linear", "points": 100,
             "zero_at": 0, "full_at": 100}]}],
        "elements": [{"code": "xcs_score", "name": "得分", "value_type": "number"}]})
    scheme = scheme_of(spec)
    flagged = []
    for year, scores in ((2019, {"330109113": 50, "330182107": 50}), (2020, {"330109113": 50, "330182107": 90})):
        values("xcs_score", scores, period=str(year))
        run = services.freeze_run(SYSTEM, services.start_run(SYSTEM, scheme, year, area="33"))
        flagged.append(services.apply_consequences(SYSTEM, run)["flag"])
    assert flagged == [0, 1]  # one 警告 is not enough; 瓜沥镇's second one is
    guali = Enrolment.objects.get(town_id="330109113", programme=xcs)
    assert guali.flagged_year == 2020 and "2019, 2020" in guali.flag_reason
    assert Enrolment.objects.get(town_id="330182107", programme=xcs).flagged_year is None


def test_only_a_frozen_official_run_has_consequences(tese_towns, values):
    scheme = scheme_of(tese_spec("tese-c", ["chuangjian"],
                                 [{"grade": "降格", "action": "change_role", "role": "peiyu"}]))
    values("tese_score", {"330109001": 10})
    run = services.start_run(SYSTEM, scheme, 2020, area="33")
    with pytest.raises(ValidationError, match="freeze the run first"):
        services.apply_consequences(SYSTEM, run)
    assert not EnrolmentEvent.objects.exists()


def test_an_office_applies_only_within_its_area(tese_towns, values, users):
    scheme = scheme_of(tese_spec("tese-c", ["chuangjian"],
                                 [{"grade": "降格", "action": "change_role", "role": "peiyu"}]))
    run = frozen_run(scheme, 2020, {"330109001": 10}, values)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.apply_consequences(users["xiaoshan"], run)  # a county editor; the run covers the province
    assert not EnrolmentEvent.objects.exists()


def test_grade_distribution_reads_like_a_bulletin():
    assert services.grade_distribution({"优秀": 39, "良好": 0, "警告": 10, "降格": 4}) == "39 优秀 / 10 警告 / 4 降格"


# -- the demo years --------------------------------------------------------------------------------

@pytest.fixture
def demo_towns(tree):
    """The demo's Zhejiang towns and their cities and counties (names of the parents made up)."""
    wanted = {row[0]: row[1] for row in [*demo_rulebooks.XIAOCHENGSHI, *demo_rulebooks.TESE]}
    for code in list(wanted):
        wanted.setdefault(code[:4], f"市{code[:4]}")
        wanted.setdefault(code[:6], f"县{code[:6]}")
    have = set(OrgUnit.objects.values_list("code", flat=True))
    OrgUnit.objects.bulk_create([
        OrgUnit(code=c, name=n, level=codes.level_of(c), parent_id=codes.parent_of(c), town_kind=codes.town_kind(c))
        for c, n in sorted(wanted.items()) if c not in have])


def test_demo_years_end_to_end(demo_towns):
    summary = demo_rulebooks.load()
    assert summary["rulebook_runs"] == 4 and summary["rulebook_projects"] > 0 and summary["rulebook_values"] > 0
    runs = Run.objects.filter(kind="official", frozen=True, area="33")
    assert sorted((r.snapshot["code"], r.year) for r in runs) == [
        ("tese-chuangjian", 2020), ("tese-peiyu", 2020), ("xiaochengshi-niandu", 2019),
        ("xiaochengshi-niandu", 2020)]
    assert Enrolment.objects.filter(programme__code="xiaochengshi").count() == len(demo_rulebooks.XIAOCHENGSHI)
    assert Enrolment.objects.filter(programme__code="tese").count() == len(demo_rulebooks.TESE)
    # what the demo's grades did is in the enrolment history, and each kind happened
    kinds = set(EnrolmentEvent.objects.values_list("kind", flat=True))
    assert kinds == {"role", "exit", "flag"}
    assert summary["consequences"] == EnrolmentEvent.objects.count()
    for event in EnrolmentEvent.objects.all():
        assert AuditEntry.objects.filter(action="enrolment.event", object_id=str(event.enrolment_id)).exists()
    # the acceptance interface: at least 10 towns each, with breakdowns, grades and ranks
    for programme in ("xiaochengshi", "tese"):
        code, out = assess_command(programme, 2020, as_json=True)
        data = json.loads(out)
        assert code == 0 and len(data["results"]) >= 10
        assert all(r["breakdown"] and r["grade"] and r["rank"] >= 1 for r in data["results"])
    # the live tese run still assesses 2020's 降格 towns as 创建 (they moved for 2021)
    moved = set(EnrolmentEvent.objects.filter(kind="role").values_list("town_id", flat=True))
    tese = Programme.objects.get(code="tese")
    assert moved <= {t.code for t in engine.enrolled_towns(tese, 2020, roles=["chuangjian"])}
    # the demo's published list differs from the computed run in one town, by name and criteria
    from townbrain.assessments.models import PublishedList

    published = PublishedList.objects.get(programme__code="xiaochengshi", year=2020)
    comparison = services.compare_published(SYSTEM, published)
    (diff,) = comparison["differences"]
    assert (diff["computed_grade"], diff["published_grade"]) == ("达标", "良好") and diff["criteria"]
    # idempotent, and deterministic in what it wrote
    before = (EnrolmentEvent.objects.count(), Run.objects.count(), AuditEntry.objects.count())
    assert demo_rulebooks.load() == {"rulebook_runs": 0}
    assert (EnrolmentEvent.objects.count(), Run.objects.count(), AuditEntry.objects.count()) == before
