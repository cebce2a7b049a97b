"""Imports of facilities and of historic readings from CSV (UTF-8, a header row), for the upload
page. Rows go through the same services
and the same ingest path as everything else; errors are reported by line."""

import csv
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from townbrain.core import geo
from townbrain.core.scope import allows

from . import ingest, services
from .models import Sensor

BATCH = 5000


def import_readings(actor, stream) -> dict:
    """Columns `sensor`, `ts` (ISO 8601 with offset), `value`. The actor needs "add" on each sensor's town."""
    reader = csv.DictReader(stream)
    missing = {"sensor", "ts", "value"} - set(reader.fieldnames or [])
    if missing:
        return {"stored": 0, "duplicates": 0, "errors": [{"line": 1, "message": _("Missing columns: %(cols)s") % {
            "cols": ", ".join(sorted(missing))}}]}
    sensors: dict[str, Sensor | None] = {}
    pending: dict[str, list] = defaultdict(list)
    lines: dict[str, list] = defaultdict(list)
    totals = {"stored": 0, "duplicates": 0, "errors": []}

    def flush():
        for code, items in pending.items():
            result = ingest.ingest_many([(sensors[code], items)])[0]
            totals["stored"] += result.stored
            totals["duplicates"] += result.duplicates
            for r in result.rejected:
                totals["errors"].append({"line": lines[code][r["index"]], "message": r["message"]})
        pending.clear()
        lines.clear()

    for line, row in enumerate(reader, start=2):
        code = (row.get("sensor") or "").strip()
        if code not in sensors:
            sensor = Sensor.objects.filter(code=code).first()
            if sensor is not None and not allows(actor, "add", sensor.town_id):
                sensor = None
            sensors[code] = sensor
        if sensors[code] is None:
            totals["errors"].append({"line": line, "message": _("Unknown sensor “%(code)s”.") % {"code": code}})
            continue
        try:
            value = float(row.get("value") or "")
        except ValueError:
            value = row.get("value")  # rejected with its reason by the ingest path
        pending[code].append({"ts": (row.get("ts") or "").strip(), "value": value})
        lines[code].append(line)
        if sum(len(v) for v in pending.values()) >= BATCH:
            flush()
    flush()
    return totals


FACILITY_COLUMNS = ("town", "code", "name", "kind", "status", "capacity", "capacity_unit", "lat", "lng", "crs",
                    "started_on", "notes")


def import_facilities(actor, stream) -> dict:
    """Columns as FACILITY_COLUMNS (town, code, name, kind required); an existing code is updated."""
    from .models import Facility

    reader = csv.DictReader(stream)
    created = updated = 0
    errors = []
    for line, row in enumerate(reader, start=2):
        d = {k: (row.get(k) or "").strip() for k in FACILITY_COLUMNS}
        fields = {"name": d["name"], "kind": d["kind"], "status": d["status"] or "planned",
                  "capacity": d["capacity"] or None, "capacity_unit": d["capacity_unit"],
                  "lat": d["lat"] or None, "lng": d["lng"] or None, "started_on": d["started_on"] or None,
                  "notes": d["notes"]}
        try:
            existing = Facility.objects.filter(code=d["code"]).first()
            if existing is not None:
                services.update_facility(actor, existing, crs=d["crs"] or geo.WGS84, **fields)
                updated += 1
            else:
                services.create_facility(actor, d["town"], code=d["code"], crs=d["crs"] or geo.WGS84, **fields)
                created += 1
        except ValidationError as exc:
            msgs = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            errors.append({"line": line, "message": "; ".join(f"{k}: {' '.join(v)}".strip(": ")
                                                             for k, v in msgs.items())})
        except PermissionDenied as exc:
            errors.append({"line": line, "message": str(exc)})
    return {"created": created, "updated": updated, "errors": errors}
