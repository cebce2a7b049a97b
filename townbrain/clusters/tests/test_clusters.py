from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from townbrain.clusters import demo, services
from townbrain.clusters.models import Cluster, ClusterMember
from townbrain.core import codes
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects import rollups
from townbrain.projects import services as project_services

GUALI, DAYANG, MEICHENG = "330109113", "330182107", "330182100"
FIGURES = ("planned_to_start", "started", "investment_plan", "investment_done", "laggards")


@pytest.fixture
def cross(users):
    """A cluster across two counties: 瓜沥镇 (萧山区) leads, 大洋镇 and 梅城镇 (建德市) are its wings."""
    return services.create_cluster(users["hangzhou"], name="跨县集群", theme="测试主题", lead=GUALI,
                                   wings=[DAYANG, MEICHENG])


@pytest.fixture
def api_for(users):
    from rest_framework.test import APIClient

    def make(name):
        api = APIClient()
        api.force_authenticate(users[name])
        return api

    return make


# --- the API's shape and scope --------------------------------------------------------------------

def test_api_lists_clusters_touching_an_area(cross, api_for):
    api = api_for("hangzhou")
    for org in ("3301", "330109", "330182", DAYANG):
        data = api.get(f"/api/clusters/?org={org}").json()
        assert [(r["name"], r["lead"], r["members"]) for r in data["results"]] == [
            ("跨县集群", GUALI, [GUALI, MEICHENG, DAYANG])], org
    assert api.get("/api/clusters/?org=330109001").json()["results"] == []  # 城厢街道: not a member
    row = api.get(f"/api/clusters/{cross.pk}/").json()
    assert row["wings"] == [MEICHENG, DAYANG] and row["theme"] == "测试主题"


def test_user_outside_every_member_town_gets_nothing(cross, api_for):
    api = api_for("guizhou")
    assert api.get("/api/clusters/").json()["results"] == []
    assert api.get("/api/clusters/?org=33").json()["results"] == []
    assert api.get(f"/api/clusters/{cross.pk}/").status_code == 404
    assert api.get(f"/api/clusters/{cross.pk}/rollup/?period=202006&programme=meili").status_code == 404
    assert api.get(f"/api/rollups/?cluster={cross.pk}&period=202006&programme=meili").status_code == 404
    assert api.patch(f"/api/clusters/{cross.pk}/", {"theme": "x"}, format="json").status_code == 404
    assert api.delete(f"/api/clusters/{cross.pk}/").status_code == 404


def test_a_member_town_sees_the_cluster_with_its_own_towns_only(cross, api_for, client_for):
    data = api_for("guali").get("/api/clusters/").json()["results"]
    assert [(r["lead"], r["members"]) for r in data] == [(GUALI, [GUALI])]
    data = api_for("dayang").get("/api/clusters/").json()["results"]
    assert data[0]["members"] == [DAYANG] and "瓜沥镇" not in str(data[0]["member_names"])
    page = client_for("dayang").get(f"/clusters/{cross.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "大洋镇" in text and "梅城镇" not in text


def test_changing_a_cluster_needs_every_member_town(cross, users, api_for):
    # An editor of one member town may not change a cluster reaching into another county.
    response = api_for("guali").patch(f"/api/clusters/{cross.pk}/", {"theme": "新主题"}, format="json")
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        services.update_cluster(users["jiande"], cross, theme="新主题")
    # Nor create one across counties.
    with pytest.raises(PermissionDenied):
        services.create_cluster(users["xiaoshan"], name="萧山建德", lead=GUALI, wings=[DAYANG])
    # The city over both may.
    response = api_for("hangzhou").patch(f"/api/clusters/{cross.pk}/", {"theme": "新主题", "wings": [DAYANG]},
                                         format="json")
    assert response.status_code == 200, response.content
    assert response.json()["members"] == [GUALI, DAYANG]
    # A county's own cluster is the county's to change.
    own = services.create_cluster(users["jiande"], name="建德集群", lead=MEICHENG, wings=[DAYANG])
    services.update_cluster(users["jiande"], own, lead=DAYANG)
    roles = dict(ClusterMember.objects.filter(cluster=own).values_list("town_id", "role"))
    assert roles == {DAYANG: "lead", MEICHENG: "wing"}


def test_rules(users):
    with pytest.raises(ValidationError) as exc:
        services.create_cluster(SYSTEM, name="一个镇", lead=GUALI, wings=[GUALI])
    assert "wings" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.create_cluster(SYSTEM, name="县", lead="330109", wings=[DAYANG])
    assert "lead" in exc.value.message_dict
    services.create_cluster(SYSTEM, name="同名", lead=GUALI, wings=[DAYANG])
    with pytest.raises(ValidationError):
        services.create_cluster(SYSTEM, name="同名", lead=MEICHENG, wings=[DAYANG])


def test_api_create_and_indicator(users, api_for):
    api = api_for("jiande")
    response = api.post("/api/clusters/", {"name": "梅城集群", "lead": MEICHENG, "wings": [DAYANG],
                                            "programme": "meili"}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["members"] == [MEICHENG, DAYANG]
    response = api.post(f"/api/clusters/{pk}/indicator/", {"indicator": "culture", "year": 2020,
                                                           "status": "in_progress", "text": "联合节庆"}, format="json")
    assert response.status_code == 200, response.content
    assert api.get(f"/api/clusters/{pk}/").json()["indicators"] == [
        {"indicator": "culture", "year": 2020, "status": "in_progress", "text": "联合节庆"}]
    assert api_for("guali").post("/api/clusters/", {"name": "x", "lead": GUALI, "wings": [DAYANG]},
                                 format="json").status_code == 403
    assert api_for("dayang").post(f"/api/clusters/{pk}/indicator/", {"indicator": "culture", "year": 2020},
                                  format="json").status_code == 403


# --- figures -------------------------------------------------------------------------------------------

def _ledger(users):
    programme = Programme.objects.get(code="meili")
    for town, n in ((GUALI, 3), (DAYANG, 2), (MEICHENG, 1)):
        unit = OrgUnit.objects.get(code=town)
        for i in range(n):
            project = project_services.create_project(
                SYSTEM, code=f"{town}-{i}", name=f"项目{i}", town=unit, programme=programme,
                total_investment=Decimal("1000"), annual_plan=Decimal("100") * (i + 1),
                planned_start=date(2020, 3, 1), planned_completion=date(2021, 6, 30),
                status="started" if i % 2 == 0 else "planned", actual_start=date(2020, 3, 5) if i % 2 == 0 else None)
            if i % 2 == 0:
                project_services.report_progress(SYSTEM, project, "202005", month_investment=Decimal("30"),
                                                 cumulative_investment=Decimal("30") + i,
                                                 progress_percent=Decimal("10"), status="started")
    return programme


def test_combined_rollup_is_the_sum_of_the_members(cross, users, api_for):
    programme = _ledger(users)
    admin = users["hangzhou"]
    combined = services.rollup(admin, cross, "202006", programme)
    towns = [rollups.compute(admin, OrgUnit.objects.get(code=c), "202006", programme) for c in (GUALI, DAYANG, MEICHENG)]
    for key in FIGURES:
        assert combined[key] == sum(t[key] for t in towns), key
    assert combined["planned_to_start"] == 6 and combined["started"] == 4
    assert [c["code"] for c in combined["children"]] == [GUALI, MEICHENG, DAYANG]
    for child in combined["children"]:
        own = next(t for t in towns if t["org"] == child["code"])
        assert all(child[k] == own[k] for k in FIGURES)
    api = api_for("hangzhou").get(f"/api/rollups/?cluster={cross.pk}&period=202006&programme=meili").json()
    assert api["planned_to_start"] == 6 and api["started"] == 4 and float(api["investment_plan"]) == float(
        combined["investment_plan"])
    assert api_for("hangzhou").get(f"/api/clusters/{cross.pk}/rollup/?period=202006&programme=meili").json() == api
    # /api/rollups/ with an org answers as before.
    assert api_for("hangzhou").get("/api/rollups/?org=330182&period=202006&programme=meili").json()["started"] == 2
    # A member town sees only its own part.
    mine = api_for("dayang").get(f"/api/rollups/?cluster={cross.pk}&period=202006&programme=meili").json()
    assert mine["planned_to_start"] == 2 and [c["code"] for c in mine["children"]] == [DAYANG]


def test_cluster_page_figures_and_export(cross, users, client_for):
    _ledger(users)
    client = client_for("hangzhou")
    page = client.get(f"/clusters/{cross.pk}/?programme=meili&period=202006")
    assert page.status_code == 200
    text = page.content.decode()
    for name in ("瓜沥镇", "大洋镇", "梅城镇", "cluster-rollup", "cluster-projects", "cluster-experts"):
        assert name in text
    export = client.get(f"/clusters/{cross.pk}/?programme=meili&period=202006&export=csv")
    assert export.status_code == 200 and "跨县集群" in export.content.decode("utf-8-sig")
    redirect = client.get(f"/rollups/?cluster={cross.pk}&programme=meili&period=202006")
    assert redirect.status_code == 302 and redirect["Location"].startswith(f"/clusters/{cross.pk}/?")
    assert client_for("guizhou").get(f"/rollups/?cluster={cross.pk}").status_code == 404
    assert client_for("guizhou").get(f"/clusters/{cross.pk}/").status_code == 404
    listing = client_for("hangzhou").get("/clusters/?export=csv").content.decode("utf-8-sig")
    assert "跨县集群" in listing


# --- audit ---------------------------------------------------------------------------------------------

def test_audit_rows(users):
    actor = users["hangzhou"]
    cluster = services.create_cluster(actor, name="审计集群", lead=GUALI, wings=[DAYANG])
    services.update_cluster(actor, cluster, theme="主题", wings=[DAYANG, MEICHENG])
    services.update_cluster(actor, cluster, theme="主题")  # no change, no row
    services.set_indicator(actor, cluster, "economy", 2020, status="achieved", text="共建园区")
    services.set_indicator(actor, cluster, "economy", 2020, status="achieved", text="共建园区")  # same: no row
    services.delete_cluster(actor, cluster)
    rows = list(AuditEntry.objects.filter(action__startswith="cluster.").order_by("pk"))
    assert [r.action for r in rows] == ["cluster.create", "cluster.update", "cluster.indicator", "cluster.delete"]
    assert {r.org_code for r in rows} == {"3301"}  # across counties: filed under the city
    assert rows[1].changes["theme"] == ["", "主题"]
    assert rows[1].changes["wings"] == [DAYANG, f"{MEICHENG}, {DAYANG}"]
    assert rows[0].actor == actor and rows[2].changes["status"] == [None, "achieved"]
    assert not Cluster.objects.exists()
    assert services.common_ancestor([DAYANG, MEICHENG]) == "330182"


# --- the demo ------------------------------------------------------------------------------------------

DEMO_TOWNS = {
    "330112": "临安区", "330112108": "昌化镇", "330112109": "河桥镇", "330112111": "湍口镇", "330112117": "龙岗镇",
    "330112112": "清凉峰镇", "330127": "淳安县", "330127108": "汾口镇", "330127109": "中洲镇", "330127205": "屏门乡",
    "330182104": "梅城镇", "330182108": "三都镇", "330109101": "河上镇", "330109102": "戴村镇", "330109100": "楼塔镇",
}


def test_demo_has_the_four_hangzhou_clusters(tree):
    OrgUnit.objects.bulk_create([OrgUnit(code=c, name=n, level=codes.level_of(c), parent_id=codes.parent_of(c),
                                         town_kind=codes.town_kind(c)) for c, n in sorted(DEMO_TOWNS.items())])
    OrgUnit.objects.filter(code="330182100").update(name="梅城镇(测试)")  # the test tree's 梅城镇 has another code
    assert demo.load() == {"clusters": 4}
    assert demo.load() == {"clusters": 4}  # idempotent
    got = {c.name: (c.lead.name, sorted(m.town.name for m in c.memberships.all()))
           for c in Cluster.objects.prefetch_related("memberships__town")}
    assert got == {
        "昌化美丽城镇集群": ("昌化镇", sorted(["昌化镇", "河桥镇", "湍口镇", "龙岗镇", "清凉峰镇"])),
        "汾口美丽城镇集群": ("汾口镇", sorted(["汾口镇", "中洲镇", "屏门乡"])),
        "梅城美丽城镇集群": ("梅城镇", sorted(["梅城镇", "三都镇", "大洋镇"])),
        "河上美丽城镇集群": ("河上镇", sorted(["河上镇", "戴村镇", "楼塔镇"])),
    }
    assert Cluster.objects.get(name="梅城美丽城镇集群").indicators.count() == 5
    assert AuditEntry.objects.filter(action="cluster.create").count() == 4


def test_cockpit_panel_lists_the_clusters_of_the_area(cross, users):
    from townbrain.cockpit import figures

    programme = _ledger(users)
    cockpit = figures.build(users["hangzhou"], OrgUnit.objects.get(code="330182"), programme, "202006")
    tables = {p.key: d for p, d in cockpit.sections}
    table = tables["clusters"].tables[0]
    assert table.rows[0][:5] == ["跨县集群", "瓜沥镇", 3, 6, 4]
    assert table.links[0].startswith(f"/clusters/{cross.pk}/?")
    # The town of 大洋镇 sees the cluster with its own town only; 贵州 sees no cluster.
    own = figures.build(users["dayang"], OrgUnit.objects.get(code=DAYANG), programme, "202006")
    assert {p.key: d for p, d in own.sections}["clusters"].tables[0].rows[0][2:5] == [1, 2, 1]
    other = figures.build(users["guizhou"], OrgUnit.objects.get(code="52"), programme, "202006")
    assert "clusters" not in {p.key for p, _d in other.sections}
