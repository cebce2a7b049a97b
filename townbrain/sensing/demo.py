"""Demo 物联感知: facilities of the demo towns and a week of readings from 30 sensors in 萧山区.

Facilities: a sewage plant and a garbage station in each of eight 萧山区 towns and in 大洋镇 (建德市),
one of them still being built, so coverage is not a flat 100%. Sensors: sewage outflow (COD, NH3-N)
and flow at each plant, a water level, air PM2.5 and garbage bins in some towns. The readings are
hourly for the seven days before the hour the demo is loaded (sensors live in the present, unlike
the 2020 ledger), with two real threshold crossings, so the alarm list and charts show something
true: 瓜沥镇's sewage plant has exceeded COD 50 mg/L for the last five hours (one major alarm, active
and not yet acknowledged), and 义桥镇's river level hovers around its 2.5 m warning line for half a day,
crossing it six times — one alarm, thanks to the clear line of 2.3 m, not six.
Names, capacities and values are **demo data**. Deterministic in shape, idempotent: nothing is
written when the demo's facilities are already there. Everything goes through the services.
"""

import datetime as dt
import random

from django.utils import timezone

from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM

from . import ingest, services
from .facilities import GARBAGE, SEWAGE
from .models import Facility, FacilityStatus

PREFIX = "demo-"
# town code: (pinyin for codes, has the full set of sensors)
TOWNS = {
    "330109113": "guali", "330109106": "yiqiao", "330109105": "linpu", "330109101": "heshang",
    "330109102": "daicun", "330109108": "yaqian", "330109115": "yinong", "330109120": "dangwan",
    "330182107": "dayang",
}
FULL_SET = {"330109113", "330109106", "330109105"}  # towns with air, bins and a river gauge too
BUILDING = "330109120"  # 党湾镇's sewage plant is still under construction
HOURS = 7 * 24
COD_PEAK_DAY, COD_HOURS = 6, range(19, 24)  # the series's last five hours: still over the line
FLAP_START = 4 * 24 + 6  # the fifth day, 06:00
NAMES = {"cod": "出水COD", "nh3n": "出水氨氮", "flow": "进水流量", "water_level": "河道水位", "pm25": "空气PM2.5",
         "bin_fill": "垃圾桶满溢"}
FLAP = [2.45, 2.56, 2.47, 2.58, 2.44, 2.61, 2.49, 2.53, 2.41, 2.55, 2.46, 2.52, 2.38, 2.31, 2.24, 2.12]


def _series(kind: str, rng: random.Random, town: str) -> list[float]:
    """Hourly values for a week, with a daily rhythm and noise; the two crossings in their towns."""
    values = []
    for h in range(HOURS):
        hour = h % 24
        if kind == "cod":
            v = 28 + 6 * ((hour - 8) % 24 < 12) + rng.uniform(-4, 4)
            if town == "330109113" and h // 24 == COD_PEAK_DAY and hour in COD_HOURS:
                v = 56 + 4 * (2 - abs(hour - 21)) + rng.uniform(0, 2)  # peaks two hours before the end
        elif kind == "nh3n":
            v = 2.2 + rng.uniform(-0.6, 0.8)
        elif kind == "flow":
            v = 260 + 80 * ((hour - 7) % 24 < 14) + rng.uniform(-25, 25)
        elif kind == "pm25":
            v = 32 + 14 * (hour in range(7, 10) or hour in range(17, 20)) + rng.uniform(-8, 10)
        elif kind == "bin_fill":
            v = min(88.0, 12 + 3.2 * ((hour - 5) % 24) + rng.uniform(-3, 3))
        else:  # water_level
            v = 1.85 + 0.15 * (hour in range(12, 20)) + rng.uniform(-0.05, 0.05)
            if town == "330109106" and FLAP_START <= h < FLAP_START + len(FLAP):
                v = FLAP[h - FLAP_START]
        values.append(round(v, 2))
    return values


def _rules(county: OrgUnit) -> None:
    """萧山区's alarm lines per kind of sensor (GB 18918 一级A for COD and 氨氮 as the reference)."""
    for kind, value, clear, severity, name in (
        ("cod", 50, 45, "major", "出水COD超标"), ("nh3n", 8, 7, "major", "出水氨氮超标"),
        ("water_level", 2.5, 2.3, "warning", "河道水位超警戒"), ("pm25", 115, 100, "minor", "PM2.5重度污染"),
        ("bin_fill", 95, 80, "warning", "垃圾桶满溢"),
    ):
        services.create_alarm_rule(SYSTEM, org=county, kind=kind, op=">", value=value, clear_value=clear,
                                   severity=severity, name=name)


def load(progress=None) -> dict:
    if Facility.objects.filter(code__startswith=PREFIX).exists():
        return {"facilities": 0, "sensors": 0, "readings": 0}
    towns = {u.code: u for u in OrgUnit.objects.filter(code__in=TOWNS)}
    county = OrgUnit.objects.filter(code="330109").first()
    if county is None:  # the province was loaded without 萧山区
        return {"facilities": 0, "sensors": 0, "readings": 0}
    _rules(county)
    rng = random.Random(2020)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = now - dt.timedelta(hours=HOURS)
    facilities = sensors = readings = 0
    for n, (code, slug) in enumerate(TOWNS.items(), start=1):
        town = towns.get(code)
        if town is None:
            continue
        sewage = services.create_facility(
            SYSTEM, town, code=f"{PREFIX}{slug}-wsc", name=f"{town.name}污水处理厂", kind=SEWAGE,
            status=FacilityStatus.BUILDING if code == BUILDING else FacilityStatus.OPERATING,
            capacity=10000 + 5000 * (n % 3), capacity_unit="吨/日",
            started_on=None if code == BUILDING else dt.date(2012 + n % 6, 6, 30))
        services.create_facility(
            SYSTEM, town, code=f"{PREFIX}{slug}-ljz", name=f"{town.name}垃圾中转站", kind=GARBAGE,
            status=FacilityStatus.OPERATING, capacity=80 + 20 * (n % 4), capacity_unit="吨/日",
            started_on=dt.date(2015 + n % 4, 1, 1))
        facilities += 2
        kinds = [] if code == BUILDING else [("cod", sewage), ("nh3n", sewage), ("flow", sewage)]
        if code in FULL_SET:
            kinds += [("water_level", None), ("pm25", None), ("bin_fill", None), ("bin_fill", None)]
        if not code.startswith(county.code):
            kinds = kinds[:1]  # 大洋镇 (建德市): a COD probe only, outside 萧山区's rules
        for i, (kind, facility) in enumerate(kinds):
            sensor, _token = services.create_sensor(
                SYSTEM, town, code=f"{PREFIX}{slug}-{kind.replace('_', '')}{i}", kind=kind, facility=facility,
                name=f"{facility.name if facility else town.name}{NAMES[kind]}{i - 4 if kind == 'bin_fill' else ''}",
                inactive_after_s=86400)
            values = _series(kind, rng, code)
            result = ingest.ingest(sensor, [{"ts": (start + dt.timedelta(hours=h + 1)).isoformat(), "value": v}
                                            for h, v in enumerate(values)], now=now)
            sensors += 1
            readings += result.stored
        if progress:
            progress("sensing", n, len(TOWNS))
    return {"facilities": facilities, "sensors": sensors, "readings": readings}
