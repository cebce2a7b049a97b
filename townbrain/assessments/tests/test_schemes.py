"""Schemes as data: the shipped rulebooks, YAML/JSON round trip, validation messages, editing, rights."""

import json

import pytest
import yaml
from django.core.exceptions import PermissionDenied, ValidationError

from townbrain.assessments import services
from townbrain.assessments import spec as specs
from townbrain.assessments.models import Criterion, Scheme
from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.indicators.models import DataElement

SEWAGE = {"code": "sewage", "name": "污水处理率", "formula": "#{sewage}", "method": "bands", "points": 6,
          "bands": [{"min": 95, "points": 6}, {"min": 85, "max": 95, "points": 4}]}


@pytest.fixture
def fixtures(db):
    return {s.code: s for s in services.load_fixture_schemes(SYSTEM)}


def test_shipped_rulebooks_load_with_their_elements(fixtures):
    assert set(fixtures) == {"meili-pingjia", "xiaochengshi-niandu", "tese-chuangjian", "tese-peiyu"}
    grades = {code: [g["name"] for g in s.grades] for code, s in fixtures.items()}
    assert grades["meili-pingjia"] == ["样板", "基本达标", "不达标"]
    assert grades["xiaochengshi-niandu"] == ["优秀", "良好", "达标", "警告"]
    assert grades["tese-chuangjian"] == ["优秀", "良好", "合格", "警告", "降格"]
    assert grades["tese-peiyu"] == ["优秀", "良好", "合格", "警告", "降格", "淘汰"]
    assert fixtures["tese-peiyu"].roles == ["peiyu"] and fixtures["tese-chuangjian"].roles == ["chuangjian"]
    for scheme in fixtures.values():
        spec = specs.from_scheme(scheme)
        assert specs.max_score(spec) == 100, scheme.code
        assert spec["elements"], scheme.code  # every element a criterion reads exists
        assert {e["code"] for e in spec["elements"]} == specs.element_codes(spec) - {
            "projects.start_rate", "projects.investment_rate", "reporting.missing", "reporting.late"}
    meili = specs.from_scheme(fixtures["meili-pingjia"])
    methods = {c["method"] for _g, c in specs.criteria(meili)}
    assert methods == {"bands", "linear", "pass_fail", "deduction", "bonus"}
    assert any(c.get("binding") for _g, c in specs.criteria(meili))
    assert DataElement.objects.filter(code="sewage_treatment_rate", value_type="percent").exists()
    # Loading again changes nothing: no new version, no audit row.
    count = AuditEntry.objects.count()
    again = services.load_fixture_schemes(SYSTEM)
    assert [s.version for s in again] == [1, 1, 1, 1]
    assert AuditEntry.objects.count() == count


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_round_trip(fixtures, fmt):
    scheme = fixtures["meili-pingjia"]
    text = services.export_scheme(scheme, fmt)
    data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert data["code"] == "meili-pingjia" and data["groups"][0]["criteria"][0]["bands"][0] == {
        "min": 95, "max": None, "points": 6}
    assert specs.validate(data) == specs.validate(specs.from_scheme(scheme))
    # Importing the export changes nothing …
    assert services.import_scheme(SYSTEM, text).version == 1
    # … importing it changed makes the next version, under the same code.
    data["groups"][0]["criteria"][0]["points"] = 7
    data["groups"][0]["criteria"][0]["bands"][0]["points"] = 7
    changed = services.import_scheme(SYSTEM, specs.dump(data, fmt))
    assert changed.pk == scheme.pk and changed.version == 2
    assert changed.criteria.get(code="sewage").params["bands"][0]["points"] == 7
    assert AuditEntry.objects.filter(action="scheme.import", object_id=str(scheme.pk)).count() == 2


def test_yaml_reads_as_people_write_it(db):
    text = """
code: small
name: 小方案
programme: xiaochengshi
grades: [{name: 优秀, min: 90}, {name: 达标, min: 60}, 警告]
elements:
  - {code: gdp_growth, name: 地区生产总值增长率, unit: "%"}
criteria:
  - {code: gdp, name: GDP 增长, formula: "#{gdp_growth}", method: linear, points: 10, zero_at: 5, full_at: 12}
"""
    scheme = services.import_scheme(SYSTEM, text)
    assert scheme.grades[-1] == {"name": "警告", "min": None}
    assert scheme.rank_scopes == ["programme"] and scheme.status == "official"
    assert scheme.criteria.get().group.name in ("Other", "其他")


@pytest.mark.parametrize(("change", "message"), [
    ({"method": "stars"}, "scoring method"),
    ({"formula": "#{nowhere}"}, "Unknown data element"),
    ({"formula": "#{sewage} +"}, "position"),
    ({"formula": "", "system": "experts.nothing"}, "unknown system source"),
    ({"system": "projects.start_rate"}, "not both"),
    ({"bands": [{"min": 95, "points": 9}]}, "more than the criterion"),
    ({"bands": [{"min": 95, "max": 90, "points": 6}]}, "above max"),
    ({"binding": True, "veto": "金奖"}, "not one of the scheme's grades"),
    ({"veto": "合格"}, "only a binding criterion"),
    ({"zero_at": 3}, "do(es) not apply"),
    ({"weight": -1}, "weight cannot be negative"),
])
def test_validation_says_where_and_why(db, element, change, message):
    element("sewage")
    with pytest.raises(ValidationError) as exc:
        services.import_scheme(SYSTEM, {"code": "x", "name": "x", "programme": "meili",
                                        "grades": [{"name": "合格", "min": 60}, {"name": "不合格"}],
                                        "groups": [{"code": "g", "name": "g", "criteria": [{**SEWAGE, **change}]}]})
    text = " ".join(exc.value.messages)
    assert message in text, text
    assert "groups[0].criteria[0]" in text or "Unknown data element" in text


def test_scheme_level_mistakes(db):
    base = {"code": "x", "name": "x", "programme": "meili", "grades": [{"name": "A", "min": 60}, {"name": "B"}],
            "groups": [{"code": "g", "name": "g", "criteria": [{**SEWAGE, "formula": "#{projects.start_rate}"}]}]}
    for change, message in [
        ({"programme": "nowhere"}, "no programme"),
        ({"roles": ["peiyu"]}, "is not a role"),
        ({"grades": [{"name": "A"}, {"name": "B", "min": 60}]}, "only the last grade"),
        ({"grades": [{"name": "A", "min": 60}, {"name": "B", "min": 80}, {"name": "C"}]}, "best first"),
        ({"rank_scopes": ["planet"]}, "rank_scopes"),
        ({"colour": "red"}, "unknown key"),
    ]:
        with pytest.raises(ValidationError) as exc:
            services.import_scheme(SYSTEM, {**base, **change})
        assert message in " ".join(exc.value.messages), change
    with pytest.raises(ValidationError) as exc:
        services.import_scheme(SYSTEM, "code: [unclosed")
    assert "line" in " ".join(exc.value.messages)
    assert services.import_scheme(SYSTEM, base).criteria.get().formula == "#{projects.start_rate}"


def test_schemes_are_changed_by_system_administrators_only(fixtures, users):
    scheme = fixtures["meili-pingjia"]
    criterion = scheme.criteria.get(code="sewage")
    for name in ("zhejiang", "guali"):
        with pytest.raises(PermissionDenied):
            services.update_criterion(users[name], criterion, weight=2)
        with pytest.raises(PermissionDenied):
            services.import_scheme(users[name], services.export_scheme(scheme))
        with pytest.raises(PermissionDenied):
            services.copy_scheme(users[name], scheme)
    services.update_criterion(users["admin"], criterion, weight=2)


def test_update_criterion_weights_thresholds_and_bands(fixtures, users):
    scheme = fixtures["meili-pingjia"]
    c = scheme.criteria.get(code="sewage")
    services.update_criterion(users["admin"], c, weight=1.5, bands=[{"min": 90, "points": 6},
                                                                   {"min": 80, "max": 90, "points": 3}])
    c.refresh_from_db()
    assert c.weight == 1.5 and c.params["bands"] == [{"min": 90, "max": None, "points": 6},
                                                     {"min": 80, "max": 90, "points": 3}]
    assert c.params["pass_points"] == 2  # untouched parameters stay
    assert Scheme.objects.get(pk=scheme.pk).version == 2
    entry = AuditEntry.objects.get(action="criterion.update", object_id=str(c.pk))
    assert entry.changes["weight"] == ["1", "1.500"]
    services.update_criterion(users["admin"], c, method="linear", params={"zero_at": 60, "full_at": 100})
    c.refresh_from_db()
    assert c.method == "linear" and c.params == {"zero_at": 60, "full_at": 100}
    # The same values again: no change, no new version.
    services.update_criterion(users["admin"], c, weight=1.5)
    assert Scheme.objects.get(pk=scheme.pk).version == 3
    with pytest.raises(ValidationError):
        services.update_criterion(users["admin"], c, zero_at=100)  # zero_at == full_at
    with pytest.raises(ValidationError):
        services.update_criterion(users["admin"], c, colour="red")
    threshold = scheme.criteria.get(code="safety")
    services.update_criterion(users["admin"], threshold, threshold=1, op="<=")
    assert Criterion.objects.get(pk=threshold.pk).params == {"op": "<=", "threshold": 1}


def test_copy_is_a_draft_and_the_original_stays(fixtures, users):
    scheme = fixtures["xiaochengshi-niandu"]
    draft = services.copy_scheme(users["admin"], scheme)
    again = services.copy_scheme(users["admin"], scheme)
    assert (draft.code, again.code) == ("xiaochengshi-niandu-draft", "xiaochengshi-niandu-draft-2")
    services.update_criterion(users["admin"], draft.criteria.get(code="gdp"), weight=3)
    assert scheme.criteria.get(code="gdp").weight == 1 and Scheme.objects.get(pk=scheme.pk).version == 1
    services.delete_scheme(users["admin"], again)
    assert not Scheme.objects.filter(code="xiaochengshi-niandu-draft-2").exists()
