"""`townbrain assess`: the JSON shape the acceptance checks read, the text table, what-if, errors."""

import json

import pytest
import yaml

from townbrain.assessments import services
from townbrain.assessments.cli import assess_command
from townbrain.assessments.models import Run, Scheme
from townbrain.core.scope import SYSTEM


@pytest.fixture
def meili_values(enrolled, values):
    values("sewage_treatment_rate", {"330109113": 96, "330109001": 90, "330182107": 75}, aggregation="average")
    values("satisfaction", {"330109113": 95, "330109001": 80, "330182107": 85}, aggregation="average")


def test_json_shape(meili_values):
    code, text = assess_command("meili", 2020, as_json=True)
    assert code == 0, text
    data = json.loads(text)
    assert set(data) == {"results", "grades"}
    assert data["grades"] == {"样板": 0, "基本达标": 0, "不达标": 4}  # the shipped rulebook was loaded on first use
    assert len(data["results"]) == 4
    first = data["results"][0]
    assert set(first) == {"town", "score", "grade", "rank", "breakdown"}
    assert first["town"] == "330109113" and first["rank"] == 1 and isinstance(first["score"], float)
    item = first["breakdown"][0]
    assert {"criterion", "name", "value", "points", "max", "why"} <= set(item)
    assert item["criterion"] == "sewage" and item["value"] == 96 and item["points"] == 6
    assert [r["rank"] for r in data["results"]] == sorted(r["rank"] for r in data["results"])
    assert not Run.objects.exists()  # printed, not kept


def test_text_output_and_grade_distribution(meili_values):
    code, text = assess_command("meili", 2020)
    assert code == 0
    assert "瓜沥镇" in text and "0 样板 / 0 基本达标 / 4 不达标" in text


SMALL = {
    "code": "file-scheme", "name": "文件方案", "programme": "meili",
    "grades": [{"name": "好", "min": 5}, {"name": "差"}],
    "criteria": [{"code": "sewage", "name": "污水", "formula": "#{sewage_treatment_rate}", "method": "bands",
                  "points": 6, "bands": [{"min": 95, "points": 6}, {"min": 85, "max": 95, "points": 4}]}],
}


def test_scheme_file(meili_values, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SMALL, allow_unicode=True), encoding="utf-8")
    code, text = assess_command("meili", 2020, scheme_file=str(path), as_json=True)
    assert code == 0, text
    assert json.loads(text)["grades"] == {"好": 1, "差": 3}
    assert not Scheme.objects.filter(code="file-scheme").exists()


def test_what_if_file(meili_values, tmp_path):
    base = tmp_path / "s.yaml"
    base.write_text(yaml.safe_dump(SMALL, allow_unicode=True), encoding="utf-8")
    path = tmp_path / "draft.yaml"
    path.write_text("sewage: {bands: [{min: 95, points: 6}, {min: 70, max: 95, points: 5}]}\n", encoding="utf-8")
    code, text = assess_command("meili", 2020, scheme_file=str(base), what_if_file=str(path), as_json=True)
    assert code == 0, text
    data = json.loads(text)
    assert data["baseline"]["grades"] == {"好": 1, "差": 3}
    assert data["grades"] == {"好": 3, "差": 1}
    changed = {c["town"]: (c["grade_a"], c["grade_b"], c["rank_a"], c["rank_b"]) for c in data["changes"]}
    assert changed == {"330109001": ("差", "好", 2, 2), "330182107": ("差", "好", 3, 2),
                       "330182100": ("差", "差", 3, 4)}  # no value: it drops behind the tie above it
    assert data["grade_changes"] == 2 and data["rank_changes"] == 2
    code, text = assess_command("meili", 2020, scheme_file=str(base), what_if_file=str(path))
    assert code == 0 and "2 towns change grade" in text
    # A whole draft scheme works as well, against the official rulebook.
    services.load_fixture_schemes(SYSTEM)
    draft = tmp_path / "whole.yaml"
    draft.write_text(yaml.safe_dump({**SMALL, "code": "whole"}, allow_unicode=True), encoding="utf-8")
    code, text = assess_command("meili", 2020, what_if_file=str(draft), as_json=True)
    assert code == 0, text
    assert json.loads(text)["grades"] == {"好": 1, "差": 3}


def test_errors_are_one_line(db, tmp_path):
    assert assess_command("nowhere", 2020) == (1, "no programme with code nowhere")
    code, text = assess_command("meili", 2020, scheme_file=str(tmp_path / "missing.yaml"))
    assert code == 1 and "missing.yaml" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("code: x\nname: y\nprogramme: meili\ngrades: [A]\ncriteria: [{code: c}]\n", encoding="utf-8")
    code, text = assess_command("meili", 2020, scheme_file=str(bad))
    assert code == 1 and "criteria[0]" in text and "\n" not in text


def test_programme_with_a_scheme_per_role(tree, meili, users):
    from townbrain.programmes.models import Enrolment, Programme

    tese = Programme.objects.get(code="tese")
    Enrolment.objects.create(town_id="330109113", programme=tese, year_joined=2018,
                             role=tese.roles.get(code="chuangjian"))
    Enrolment.objects.create(town_id="330182107", programme=tese, year_joined=2018, role=tese.roles.get(code="peiyu"))
    code, text = assess_command("tese", 2019, as_json=True)
    assert code == 0, text
    data = json.loads(text)
    assert {r["town"] for r in data["results"]} == {"330109113", "330182107"}
    assert data["grades"]["降格"] == 1 and data["grades"]["淘汰"] == 1  # 0 points each: the lowest grade of each


def test_a_user_sees_the_towns_of_their_area(meili_values, users):
    code, text = assess_command("meili", 2020, as_json=True, actor=users["guali"])
    assert code == 0, text
    data = json.loads(text)
    assert [r["town"] for r in data["results"]] == ["330109113"] and data["results"][0]["rank"] == 1
    assert sum(data["grades"].values()) == 1
