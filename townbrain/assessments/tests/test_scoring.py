"""Each scoring method, binding criteria (一票否决), capped bonus points, deductions until nothing is left."""

import pytest

from townbrain.assessments import breakdown, engine
from townbrain.assessments.engine import scorer

BANDS = {"code": "sewage", "name": "污水处理率", "formula": "#{sewage}", "method": "bands", "points": 6,
         "bands": [{"min": 95, "points": 6}, {"min": 85, "max": 95, "points": 4}, {"min": 70, "max": 85, "points": 2}]}


def by_town(outcome):
    return {r.town: r for r in outcome.results}


def row(spec, result, code):
    """[code, value, points] (+ the error) of one criterion of a result."""
    found = next(r for r in breakdown.rows(spec, result.breakdown) if r[0] == code)
    return list(found[:3]) + ([found[3]] if found[3] else [])


# --- the methods, one value at a time ------------------------------------------------------------------

def test_bands_best_band_wins_and_edges_are_inclusive(spec_of):
    score = scorer(spec_of([BANDS])["groups"][0]["criteria"][0])
    assert score(99) == 6
    assert score(95) == 6  # on the edge of 85–95 and ≥ 95: the better band
    assert score(90) == 4
    assert score(85) == 4
    assert score(70) == 2
    assert score(69.9) == 0  # in no band


def test_bands_lower_is_better(spec_of):
    c = {"code": "acc", "name": "事故", "formula": "#{acc}", "method": "bands", "points": 5,
         "bands": [{"max": 0, "points": 5}, {"min": 1, "max": 2, "points": 2}]}
    score = scorer(spec_of([c])["groups"][0]["criteria"][0])
    assert (score(0), score(1), score(2), score(3)) == (5, 2, 2, 0)


def test_linear_between_bounds_and_clamped(spec_of):
    c = {"code": "sat", "name": "满意度", "formula": "#{sat}", "method": "linear", "points": 10, "zero_at": 60,
         "full_at": 100}
    score = scorer(spec_of([c])["groups"][0]["criteria"][0])
    assert score(60) == 0
    assert score(80) == pytest.approx(5)
    assert score(100) == 10
    assert score(120) == 10
    assert score(10) == 0


def test_linear_lower_is_better(spec_of):
    c = {"code": "cost", "name": "单位能耗", "formula": "#{cost}", "method": "linear", "points": 4, "zero_at": 1.0,
         "full_at": 0.5}
    score = scorer(spec_of([c])["groups"][0]["criteria"][0])
    assert score(0.5) == 4
    assert score(0.75) == pytest.approx(2)
    assert score(1.2) == 0


def test_pass_fail_threshold_and_yes_no(spec_of):
    with_threshold = {"code": "a", "name": "a", "formula": "#{a}", "method": "pass_fail", "points": 3, "op": ">=",
                      "threshold": 90}
    yes_no = {"code": "b", "name": "b", "formula": "#{b}", "method": "pass_fail", "points": 2}
    spec = spec_of([with_threshold, yes_no])
    a, b = (scorer(c) for c in spec["groups"][0]["criteria"])
    assert (a(90), a(89.99)) == (3, 0)
    assert (b(1), b(0)) == (2, 0)


def test_deduction_until_nothing_is_left(spec_of):
    c = {"code": "late", "name": "报表逾期", "formula": "#{late}", "method": "deduction", "points": 2, "per": 0.5}
    score = scorer(spec_of([c])["groups"][0]["criteria"][0])
    assert score(0) == 2
    assert score(1) == 1.5
    assert score(3) == 0.5
    assert score(4) == 0
    assert score(9) == 0  # 扣完为止: never below zero


def test_bonus_is_capped_per_item(spec_of):
    c = {"code": "honour", "name": "荣誉", "formula": "#{honour}", "method": "bonus", "points": 4, "per": 1.5}
    score = scorer(spec_of([c])["groups"][0]["criteria"][0])
    assert score(1) == 1.5
    assert score(2) == 3
    assert score(5) == 4
    assert score(-1) == 0


# --- whole runs --------------------------------------------------------------------------------------

def test_run_scores_grades_and_explains(enrolled, values, spec_of):
    values("sewage", {"330109113": 96, "330182107": 88, "330182100": 50})
    spec = spec_of([BANDS, {"code": "sat", "name": "满意度", "formula": "#{sat}", "method": "linear",
                            "points": 4, "zero_at": 60, "full_at": 100}],
                   grades=[{"name": "优秀", "min": 9}, {"name": "合格", "min": 5}, {"name": "不合格"}])
    values("sat", {"330109113": 100, "330182107": 80})
    out = engine.run(spec, 2020)
    r = by_town(out)
    assert r["330109113"].score == 10 and r["330109113"].grade == "优秀"
    assert r["330182107"].score == 6 and r["330182107"].grade == "合格"
    assert r["330182100"].score == 0 and r["330182100"].grade == "不合格"
    assert r["330109001"].score == 0  # no values at all
    assert out.grades == {"优秀": 1, "合格": 1, "不合格": 2}
    assert out.max_score == 10
    rows = breakdown.expand(spec, r["330182107"].breakdown)
    assert rows[0]["criterion"] == "sewage" and rows[0]["value"] == 88 and rows[0]["points"] == 4
    assert rows[0]["max"] == 6 and "85–95" in rows[0]["why"]
    assert rows[1]["points"] == 2 and "60" in rows[1]["why"] and "100" in rows[1]["why"]
    missing = breakdown.expand(spec, r["330109001"].breakdown)[0]
    assert missing["value"] is None and missing["points"] == 0 and missing["why"].startswith("No value")


def test_weight_multiplies_points_and_full_marks(enrolled, values, spec_of):
    values("sewage", {"330109113": 96})
    spec = spec_of([{**BANDS, "weight": 2}])
    out = engine.run(spec, 2020)
    assert by_town(out)["330109113"].score == 12
    assert out.max_score == 12
    assert "weight 2" in breakdown.expand(spec, by_town(out)["330109113"].breakdown)[0]["why"]


def test_binding_criterion_caps_the_grade_whatever_the_score(enrolled, values, spec_of):
    values("score", {t: 100 for t in enrolled})
    values("garbage", {"330109113": 1, "330109001": 0, "330182107": 1}, value_type="boolean")
    values("accidents", {"330109113": 0, "330109001": 0, "330182107": 2, "330182100": 0})
    spec = spec_of([
        {"code": "score", "name": "得分", "formula": "#{score}", "method": "linear", "points": 100, "zero_at": 0,
         "full_at": 100},
        {"code": "garbage", "name": "垃圾分类", "formula": "#{garbage}", "method": "pass_fail", "points": 0,
         "binding": True, "veto": "合格"},
        {"code": "safety", "name": "安全事故", "formula": "#{accidents}", "method": "pass_fail", "op": "==",
         "threshold": 0, "points": 0, "binding": True, "missing_as_zero": True},
    ])
    r = by_town(engine.run(spec, 2020))
    assert r["330109113"].grade == "优秀" and r["330109113"].vetoes == []
    assert r["330109001"].grade == "合格" and r["330109001"].vetoes == ["garbage"]  # capped at its veto grade
    assert r["330182107"].grade == "不合格" and r["330182107"].vetoes == ["safety"]  # default: the worst grade
    assert r["330182100"].vetoes == ["garbage"]  # a missing yes/no value fails a binding item
    assert {x.score for x in r.values()} == {100}
    rows = breakdown.expand(spec, r["330182107"].breakdown)
    assert rows[2]["failed"] and "一票否决" in rows[2]["why"] and "Failed" in rows[2]["why"]  # the grade in English


def test_binding_scored_criterion_needs_pass_points(enrolled, values, spec_of):
    values("sewage", {"330109113": 96, "330109001": 80, "330182107": 60})
    spec = spec_of([{**BANDS, "binding": True, "pass_points": 4, "veto": "合格"}],
                   grades=[{"name": "优秀", "min": 1}, {"name": "合格", "min": 0}, {"name": "不合格"}])
    r = by_town(engine.run(spec, 2020))
    assert r["330109113"].grade == "优秀"
    assert r["330109001"].vetoes == ["sewage"] and r["330109001"].grade == "合格"  # 2 points < 4
    assert r["330182107"].vetoes == ["sewage"]


def test_bonus_points_capped_per_item_and_in_total(enrolled, values, spec_of):
    values("base", {"330109113": 100, "330109001": 100})
    values("honours", {"330109113": 5, "330109001": 1})
    values("cluster", {"330109113": 1, "330109001": 0}, value_type="boolean")
    spec = spec_of([
        {"code": "base", "name": "基础", "formula": "#{base}", "method": "linear", "points": 90, "zero_at": 0,
         "full_at": 100},
        {"code": "honours", "name": "荣誉", "formula": "#{honours}", "method": "bonus", "per": 2, "points": 4},
        {"code": "cluster", "name": "集群", "formula": "#{cluster}", "method": "bonus", "points": 3},
    ], bonus_cap=5)
    out = engine.run(spec, 2020)
    r = by_town(out)
    assert row(spec, r["330109113"], "honours")[2] == 4  # 5 × 2 = 10, capped at 4
    assert row(spec, r["330109113"], "cluster")[2] == 3  # yes: the full bonus
    assert r["330109113"].score == 95  # 90 + min(4 + 3, 5)
    assert r["330109001"].score == 92  # 90 + 2
    assert out.max_score == 90  # bonus is outside the full marks
    why = breakdown.expand(spec, r["330109113"].breakdown)[1]["why"]
    assert "capped at 4" in why


def test_deduction_from_a_system_source(enrolled, values, spec_of):
    values("missing_reports", {"330109113": 0, "330109001": 1, "330182107": 5})
    spec = spec_of([{"code": "reports", "name": "报表", "formula": "#{missing_reports}", "method": "deduction",
                     "per": 1, "points": 2, "missing_as_zero": True}])
    r = by_town(engine.run(spec, 2020))
    assert [r[t].score for t in ("330109113", "330109001", "330182107", "330182100")] == [2, 1, 0, 2]
    why = breakdown.expand(spec, r["330182107"].breakdown)[0]["why"]
    assert "nothing left" in why and "扣完为止" in why


def test_formula_criteria_and_their_errors(enrolled, values, spec_of):
    values("treated", {"330109113": 45, "330109001": 10, "330182107": 5})
    values("total", {"330109113": 50, "330109001": 0, "330182107": 10})
    values("label", {}, value_type="text")
    spec = spec_of([
        {"code": "rate", "name": "处理率", "formula": "#{treated} / #{total} * 100", "method": "bands", "points": 5,
         "bands": [{"min": 90, "points": 5}, {"min": 50, "max": 90, "points": 3}]},
        {"code": "text", "name": "文本", "formula": "if(#{treated} > 0, \"a\", \"b\")", "method": "pass_fail",
         "points": 1},
    ])
    r = by_town(engine.run(spec, 2020))
    assert row(spec, r["330109113"], "rate")[1:] == [90.0, 5.0]
    assert row(spec, r["330182107"], "rate")[1:] == [50.0, 3.0]
    assert row(spec, r["330109001"], "rate")[1] is None  # x / 0 has no value (documented in the formula engine)
    text_row = row(spec, r["330109113"], "text")
    assert text_row[1] is None and len(text_row) == 4 and "text" in text_row[3]
    assert "could not be evaluated" in breakdown.expand(spec, r["330109113"].breakdown)[1]["why"]


def test_missing_as_zero_for_formulas(enrolled, values, spec_of):
    values("a", {"330109113": 2})
    spec = spec_of([{"code": "sum", "name": "合计", "formula": "#{a} + #{b}", "method": "bonus", "per": 1,
                     "points": 10, "missing_as_zero": True}])
    r = by_town(engine.run(spec, 2020))
    assert row(spec, r["330109113"], "sum")[1:] == [2.0, 2.0]
    assert row(spec, r["330109001"], "sum")[1:] == [0.0, 0.0]


def test_roles_limit_the_towns(enrolled, values, spec_of):
    spec = spec_of([BANDS], roles=["yangban"])
    assert sorted(r.town for r in engine.run(spec, 2020).results) == ["330109113", "330182100"]


def test_towns_not_yet_enrolled_or_gone_are_left_out(enrolled, meili, values, spec_of):
    from townbrain.programmes.models import Enrolment

    Enrolment.objects.filter(town_id="330109001").update(year_joined=2021)
    Enrolment.objects.filter(town_id="330182107").update(exit_year=2019)
    assert sorted(r.town for r in engine.run(spec_of([BANDS]), 2020).results) == ["330109113", "330182100"]


def test_english_grade_labels(spec_of):
    from django.utils import translation

    spec = spec_of([BANDS])
    with translation.override("en"):
        assert breakdown.grade_label(spec, "优秀") == "Excellent"
    with translation.override("zh-hans"):
        assert breakdown.grade_label(spec, "优秀") == "优秀"
