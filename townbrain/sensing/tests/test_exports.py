"""Exports of the facility, sensor and alarm lists (`?export=xlsx|csv|json`), scoped like the pages;
the facility export carries the facility import's headers and imports back unchanged."""

import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl

from townbrain.core.scope import SYSTEM
from townbrain.sensing import imports, ingest, services
from townbrain.sensing.models import Alarm, Facility

from .conftest import items


def _facilities():
    services.create_facility(SYSTEM, "330109113", code="gl-wsc", name="瓜沥镇污水处理厂", kind="sewage-plant",
                             status="operating", capacity=Decimal("20000"), capacity_unit="吨/日", lat="30.186",
                             lng="120.460", started_on=dt.date(2019, 6, 1), notes="-二期在建")
    services.create_facility(SYSTEM, "330109113", code="gl-ljz", name="瓜沥镇垃圾中转站", kind="garbage-treatment")
    services.create_facility(SYSTEM, "330182107", code="dy-wsc", name="大洋镇污水处理厂", kind="sewage-plant")


def test_facility_export_has_the_import_headers_and_imports_back(users, client):
    _facilities()
    client.force_login(users["guali"])
    response = client.get("/facilities/", {"export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(imports.FACILITY_COLUMNS)
    assert "gl-wsc" in text and "gl-ljz" in text and "dy-wsc" not in text  # another town's: not exported
    assert "sewage-plant,operating" in text  # codes, not labels
    before = {f.code: (f.name, f.kind, f.status, f.capacity, f.lat, f.lng, f.started_on)
              for f in Facility.objects.filter(town_id="330109113")}
    result = imports.import_facilities(users["guali"], io.StringIO(text))
    assert result == {"created": 0, "updated": 2, "errors": []}
    after = {f.code: (f.name, f.kind, f.status, f.capacity, f.lat, f.lng, f.started_on)
             for f in Facility.objects.filter(town_id="330109113")}
    assert after == before
    notes = Facility.objects.get(code="gl-wsc").notes
    assert notes.endswith("-二期在建")  # neutralised against formulas, never lost


def test_facility_export_xlsx_and_json(users, client):
    _facilities()
    client.force_login(users["guali"])
    book = openpyxl.load_workbook(io.BytesIO(client.get("/facilities/", {"export": "xlsx"}).content))
    sheet = book.active
    assert [c.value for c in sheet[1]] == list(imports.FACILITY_COLUMNS)
    assert sheet.max_row == 3
    data = json.loads(client.get("/facilities/", {"export": "json", "status": "operating"}).content)
    assert [(d["code"], d["town"], d["kind"], d["crs"]) for d in data] == [("gl-wsc", "330109113", "sewage-plant",
                                                                            "wgs84")]
    assert client.get("/facilities/", {"export": "pdf"}).status_code == 404


def test_sensor_export(users, client, sensor, other_sensor):
    ingest.ingest(sensor, items([1.0, 2.5]))
    client.force_login(users["guali"])
    data = json.loads(client.get("/sensors/", {"export": "json"}).content)
    assert [(d["code"], d["town_code"], d["kind"], d["last_value"], d["readings_stored"]) for d in data] == [
        ("gl-cod-1", "330109113", "cod", 2.5, 2)]
    text = client.get("/sensors/", {"export": "csv"}).content.decode("utf-8-sig")
    assert "gl-cod-1" in text and "dy-cod-1" not in text
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/sensors/", {"export": "xlsx"}).content)).active
    assert sheet.max_row == 2 and sheet["A2"].value == "gl-cod-1"


def test_alarm_export(users, client, sensor, other_sensor):
    services.create_alarm_rule(SYSTEM, sensor=sensor, op=">", value=50, clear_value=45, severity="major")
    services.create_alarm_rule(SYSTEM, sensor=other_sensor, op=">", value=50, clear_value=45, severity="major")
    ingest.ingest(sensor, items([40.0, 60.0, 70.0]))
    ingest.ingest(other_sensor, items([60.0]))
    assert Alarm.objects.count() == 2
    client.force_login(users["guali"])
    data = json.loads(client.get("/alarms/", {"export": "json", "status": "active"}).content)
    assert len(data) == 1
    row = data[0]
    assert (row["sensor"], row["town_code"], row["peak"], row["acked_by"]) == ("gl-cod-1", "330109113", 70.0, "")
    assert row["start"].startswith("2026-03-01T00:01:00")  # the crossing reading's time
    text = client.get("/alarms/", {"export": "csv"}).content.decode("utf-8-sig")
    assert "gl-cod-1" in text and "dy-cod-1" not in text
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/alarms/", {"export": "xlsx"}).content)).active
    assert sheet.max_row == 2
