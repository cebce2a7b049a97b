"""Ranks: same score, same rank ("1224"), in each ranking scope (programme, batch, city, county)."""

from townbrain.assessments import engine
from townbrain.assessments.engine import TownResult, rank

SCORE = {"code": "score", "name": "得分", "formula": "#{score}", "method": "linear", "points": 100, "zero_at": 0,
         "full_at": 100}


def result(town, score, batch="", grade_index=0):
    return TownResult(town, town, batch, "", score, "g", grade_index, [], [])


def test_ties_share_a_rank_and_the_next_skips():
    results = [result("A", 90), result("B", 95), result("C", 90), result("D", 80)]
    rank(results, ["programme"])
    assert [(r.town, r.rank) for r in results] == [("B", 1), ("A", 2), ("C", 2), ("D", 4)]


def test_rank_by_grade_first():
    results = [result("A", 95, grade_index=2), result("B", 80, grade_index=0), result("C", 80, grade_index=0)]
    rank(results, ["programme"], rank_by="grade")
    assert {r.town: r.rank for r in results} == {"B": 1, "C": 1, "A": 3}


def test_ranks_per_scope(enrolled, values, spec_of):
    values("score", {"330109113": 70, "330109001": 90, "330182107": 90, "330182100": 60})
    spec = spec_of([SCORE], rank_scopes=["batch", "city", "county"])
    out = engine.run(spec, 2020)
    ranks = {r.town: r.ranks for r in out.results}
    assert ranks["330109001"] == {"programme": 1, "batch": 1, "city": 1, "county": 1}
    assert ranks["330182107"] == {"programme": 1, "batch": 1, "city": 1, "county": 1}
    assert ranks["330109113"] == {"programme": 3, "batch": 2, "city": 3, "county": 2}
    assert ranks["330182100"] == {"programme": 4, "batch": 2, "city": 4, "county": 2}
    assert [r.town for r in out.results] == ["330109001", "330182107", "330109113", "330182100"]
    assert [r.rank for r in out.results] == [1, 1, 3, 4]


def test_scores_equal_after_rounding_tie(enrolled, values, spec_of):
    values("score", {"330109113": 70.001, "330109001": 70.004})
    out = engine.run(spec_of([SCORE]), 2020)
    ranks = {r.town: r.rank for r in out.results}
    assert ranks["330109113"] == ranks["330109001"] == 1
