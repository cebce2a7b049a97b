"""The API: schemes (list, retrieve, import, export), runs (create, freeze, compare, what-if), results (scoped)."""

import json

import pytest
from django.urls import reverse

from townbrain.assessments import services
from townbrain.assessments.models import Result, Run, Scheme
from townbrain.core.scope import SYSTEM

SCORE = {"code": "score", "name": "得分", "formula": "#{score}", "method": "linear", "points": 100, "zero_at": 0,
         "full_at": 100}


@pytest.fixture
def run(enrolled, values, spec_of, users):
    values("score", {"330109113": 95, "330109001": 85, "330182107": 65, "330182100": 40})
    scheme = services.import_scheme(SYSTEM, spec_of([SCORE], code="score-scheme"))
    return services.start_run(users["zhejiang"], scheme, 2020)


def test_anonymous_gets_401(client, users):
    for name in ("api:assessment-scheme-list", "api:assessment-run-list", "api:assessment-result-list"):
        assert client.get(reverse(name)).status_code == 401


def test_town_user_sees_only_its_own_result(run, api_for):
    api = api_for("guali")
    data = api.get(reverse("api:assessment-result-list"), {"run": run.pk}).json()
    assert [r["town"] for r in data["results"]] == ["330109113"]
    assert data["results"][0]["breakdown"] is None  # lists leave it out unless asked
    own = Result.objects.get(run=run, town_id="330109113")
    other = Result.objects.get(run=run, town_id="330182107")
    detail = api.get(reverse("api:assessment-result-detail", args=[own.pk])).json()
    assert detail["score"] == 95 and detail["grade"] == "优秀" and detail["rank"] == 1
    assert detail["breakdown"][0]["criterion"] == "score" and detail["breakdown"][0]["why"]
    assert api.get(reverse("api:assessment-result-detail", args=[other.pk])).status_code == 404
    full = api_for("zhejiang").get(reverse("api:assessment-result-list"), {"run": run.pk, "breakdown": 1}).json()
    assert full["count"] == 4 and full["results"][0]["breakdown"][0]["points"] == 95


def test_runs_are_seen_in_and_above_their_area(run, api_for, users):
    county = services.start_run(users["admin"], run.scheme, 2020, area="330182")
    for name, expected in (("guali", {run.pk}), ("dayang", {run.pk, county.pk}), ("zhejiang", {run.pk, county.pk}),
                           ("guizhou", set())):
        data = api_for(name).get(reverse("api:assessment-run-list")).json()
        assert {r["id"] for r in data["results"]} == expected, name
    assert api_for("guali").get(reverse("api:assessment-run-detail", args=[county.pk])).status_code == 404
    detail = api_for("guali").get(reverse("api:assessment-run-detail", args=[run.pk])).json()
    assert detail["grades"] == {"优秀": 1, "合格": 2, "不合格": 1} and "snapshot" not in detail


def test_create_freeze_compare_and_what_if(run, api_for):
    api = api_for("zhejiang")
    created = api.post(reverse("api:assessment-run-list"), {"scheme": "score-scheme", "year": 2020}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["area"] == "33"
    refused = api_for("guali").post(reverse("api:assessment-run-list"), {"scheme": "score-scheme", "year": 2020},
                                    format="json")
    assert refused.status_code == 403
    freeze_url = reverse("api:assessment-run-freeze", args=[run.pk])
    assert api.get(freeze_url).json()["frozen"] is False
    assert api_for("guali").post(freeze_url).status_code == 403
    assert api.post(freeze_url).json()["frozen"] is True
    assert api.post(freeze_url).status_code == 403  # frozen: nothing changes it any more
    assert api.delete(reverse("api:assessment-run-detail", args=[run.pk])).status_code == 403
    what_if = api.post(reverse("api:assessment-run-what-if", args=[run.pk]),
                       {"changes": {"score": {"zero_at": 50}}, "note": "试算"}, format="json")
    assert what_if.status_code == 201, what_if.content
    body = what_if.json()
    assert body["run"]["kind"] == "what_if" and body["run"]["based_on"] == run.pk
    assert body["comparison"]["grade_changes"] >= 1
    trial_id = body["run"]["id"]
    listed = api.get(reverse("api:assessment-run-what-if", args=[run.pk])).json()
    assert [r["id"] for r in listed["results"]] == [trial_id]
    compare = api.get(reverse("api:assessment-run-compare", args=[trial_id])).json()  # default: its official run
    assert compare["a"]["id"] == run.pk and compare["b"]["id"] == trial_id
    town = api_for("guali").get(reverse("api:assessment-run-compare", args=[run.pk]), {"with": trial_id}).json()
    assert {c["town"] for c in town["changes"]} <= {"330109113"}
    bad = api.post(reverse("api:assessment-run-what-if", args=[run.pk]), {"changes": {"nothing": {"weight": 2}}},
                   format="json")
    assert bad.status_code == 400
    assert Run.objects.get(pk=run.pk).frozen


def test_schemes_list_retrieve_import_export(enrolled, api_for, element):
    services.load_fixture_schemes(SYSTEM)
    api = api_for("guali")
    data = api.get(reverse("api:assessment-scheme-list")).json()
    assert {s["code"] for s in data["results"]} >= {"meili-pingjia", "tese-peiyu"}
    detail = api.get(reverse("api:assessment-scheme-detail", args=["meili-pingjia"])).json()
    assert detail["spec"]["groups"][0]["criteria"][0]["code"] == "sewage"
    exported = api.get(reverse("api:assessment-scheme-export", args=["meili-pingjia"]))
    assert exported.status_code == 200 and exported["Content-Type"].startswith("application/yaml")
    as_json = json.loads(api.get(reverse("api:assessment-scheme-export", args=["meili-pingjia"]), {"as": "json"})
                         .content)
    assert as_json["code"] == "meili-pingjia"
    # Importing: system administrators only.
    as_json["code"], as_json["name"] = "meili-copy", "副本"
    assert api.post(reverse("api:assessment-scheme-list"), as_json, format="json").status_code == 403
    admin = api_for("admin")
    created = admin.post(reverse("api:assessment-scheme-list"), as_json, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["spec"]["code"] == "meili-copy"
    yaml_text = exported.content.decode().replace("code: meili-pingjia", "code: meili-yaml", 1)
    assert admin.post(reverse("api:assessment-scheme-list"), {"yaml": yaml_text}, format="json").status_code == 201
    copy = admin.post(reverse("api:assessment-scheme-list"), {"copy_of": "meili-pingjia"}, format="json")
    assert copy.status_code == 201 and copy.json()["status"] == "draft"
    bad = admin.post(reverse("api:assessment-scheme-list"), {"yaml": "code: x\nname: y"}, format="json")
    assert bad.status_code == 400
    assert Scheme.objects.filter(code__in=["meili-copy", "meili-yaml", "meili-pingjia-draft"]).count() == 3
