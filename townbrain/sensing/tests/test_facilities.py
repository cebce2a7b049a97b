import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from townbrain.acceptance.services import facilities_for
from townbrain.core.models import AuditEntry
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment, Programme
from townbrain.sensing import facilities, ingest, services

from .conftest import T0, items


def test_kinds_are_the_checklist_items():
    kinds = facilities.kinds()
    for item in facilities_for("meili"):
        assert kinds[item["code"]] == item["name"]
    assert "other" in kinds


def test_create_facility_stores_wgs84_and_audits(users):
    f = services.create_facility(users["guali"], "330109113", code="gl-wsc", name="瓜沥镇污水处理厂",
                                 kind="sewage-plant", status="operating", capacity=Decimal("20000"),
                                 capacity_unit="吨/日", lat="30.186", lng="120.460", crs="gcj02",
                                 started_on=dt.date(2019, 6, 1))
    assert abs(float(f.lat) - 30.186) > 0.001  # moved off the GCJ-02 offset
    assert AuditEntry.objects.filter(action="facility.create", org_code="330109113").exists()
    with pytest.raises(ValidationError):
        services.create_facility(users["guali"], "330109113", code="x", name="x", kind="castle")
    with pytest.raises(PermissionDenied):
        services.create_facility(users["guali"], "330182107", code="y", name="y", kind="park")


def test_coverage_share_of_towns_with_both(users):
    def make(town, code, kind, status="operating"):
        services.create_facility(SYSTEM, town, code=code, name=code, kind=kind, status=status)

    make("330109113", "a1", "sewage-plant")
    make("330109113", "a2", "garbage-treatment")
    make("330182107", "b1", "sewage-plant")
    make("330182107", "b2", "garbage-treatment", status="building")
    from townbrain.core.models import OrgUnit

    towns = set(OrgUnit.objects.filter(level="town", code__startswith="3301").values_list("code", flat=True))
    c = facilities.coverage(users["admin"], OrgUnit.objects.get(code="3301"))
    assert c["towns"] == len(towns) and c["with_both"] == 1 and c["with_sewage"] == 2
    assert "330182107" in c["missing"] and "330109113" not in c["missing"]
    # a programme's enrolled towns only (Guizhou's 示范小城镇 the same way with programme `shifan`)
    prog = Programme.objects.get(code="meili") if Programme.objects.filter(code="meili").exists() else None
    if prog is None:
        prog = Programme.objects.create(code="meili", name="美丽城镇")
    Enrolment.objects.create(town_id="330109113", programme=prog, year_joined=2020)
    Enrolment.objects.create(town_id="330182107", programme=prog, year_joined=2020)
    c = facilities.coverage(users["admin"], OrgUnit.objects.get(code="33"), programme="meili")
    assert (c["towns"], c["with_both"], str(c["both_share"])) == (2, 1, "50.0")
    # the county user sees only its own towns
    c = facilities.coverage(users["xiaoshan"], OrgUnit.objects.get(code="33"), programme="meili")
    assert c["towns"] == 1 and c["with_both"] == 1


def test_sensor_api_token_once_and_readings(users):
    api = APIClient()
    api.force_authenticate(users["guali"])
    r = api.post("/api/sensors/", {"code": "gl-wl-1", "town": "330109113", "kind": "water_level", "unit": "m"},
                 format="json")
    assert r.status_code == 201, r.content
    token = r.json()["token"]
    assert len(token) > 30
    assert "token" not in api.get("/api/sensors/gl-wl-1/").json()
    assert api.post("/api/sensors/", {"code": "dy-1", "town": "330182107", "kind": "cod"},
                    format="json").status_code == 403
    viewer = APIClient()
    viewer.force_authenticate(users["guali_viewer"])
    assert viewer.post("/api/sensors/", {"code": "v-1", "town": "330109113", "kind": "cod"},
                       format="json").status_code == 403
    from townbrain.sensing.models import Sensor

    ingest.ingest(Sensor.objects.get(code="gl-wl-1"), items([1.5, 1.6, 1.7]))
    r = api.get("/api/sensors/gl-wl-1/readings/", {"from": T0.isoformat(), "to": (T0 + dt.timedelta(minutes=2)).isoformat()})
    assert r.json() == {"count": 2, "results": [{"ts": T0.astimezone(dt.UTC).isoformat(), "value": 1.5},
                                                 {"ts": (T0 + dt.timedelta(minutes=1)).astimezone(dt.UTC).isoformat(),
                                                  "value": 1.6}]}
    # the chart picks its table by the span
    assert api.get("/api/sensors/gl-wl-1/chart/", {"from": T0.isoformat(),
                                                   "to": (T0 + dt.timedelta(hours=1)).isoformat()}).json()["grain"] == "raw"
    week = api.get("/api/sensors/gl-wl-1/chart/", {"from": T0.isoformat(),
                                                   "to": (T0 + dt.timedelta(days=7)).isoformat()}).json()
    assert week["grain"] == "h" and week["points"][0]["count"] == 3 and week["points"][0]["max"] == 1.7
    year = api.get("/api/sensors/gl-wl-1/chart/", {"from": (T0 - dt.timedelta(days=300)).isoformat(),
                                                   "to": (T0 + dt.timedelta(days=60)).isoformat()}).json()
    assert year["grain"] == "d" and len(year["points"]) == 1
    other = APIClient()
    other.force_authenticate(users["dayang"])
    assert other.get("/api/sensors/gl-wl-1/readings/").status_code == 404


def test_pages_and_imports(users, client, sensor):
    import io

    from townbrain.sensing import imports

    client.force_login(users["guali"])
    services.create_facility(SYSTEM, "330109113", code="gl-ljz", name="瓜沥镇垃圾中转站", kind="garbage-treatment")
    assert "瓜沥镇垃圾中转站" in client.get("/facilities/").content.decode()
    assert client.get("/facilities/gl-ljz/").status_code == 200
    assert client.get("/facilities/coverage/?org=330109113").status_code == 200
    assert client.get("/facilities/coverage/?org=330109").status_code == 404  # above its town
    ingest.ingest(sensor, items([1.0, 2.0]))
    page = client.get(f"/sensors/{sensor.code}/")
    assert page.status_code == 200 and b"sensor-chart-data" in page.content
    csv_text = f"sensor,ts,value\n{sensor.code},2026-02-01T08:00:00+08:00,3.5\n{sensor.code},bad,1\nnope,2026-02-01T08:00:00+08:00,1\n"
    result = imports.import_readings(users["guali"], io.StringIO(csv_text))
    assert result["stored"] == 1 and sorted(e["line"] for e in result["errors"]) == [3, 4]
    upload = io.BytesIO(csv_text.encode())
    upload.name = "r.csv"
    r = client.post("/sensors/import/", {"file": upload})
    assert r.status_code == 200 and b'id="import-result"' in r.content
    assert imports.import_readings(users["dayang"], io.StringIO(csv_text))["stored"] == 0
    fac_csv = "town,code,name,kind,status\n330109113,gl-park,瓜沥公园,park,operating\n330182107,dy-park,大洋公园,park,planned\n"
    res = imports.import_facilities(users["guali"], io.StringIO(fac_csv))
    assert res["created"] == 1 and res["errors"][0]["line"] == 3
    export = client.get(f"/sensors/{sensor.code}/?span=year&export=csv").content.decode("utf-8-sig")
    assert export.startswith("sensor,ts,value")
