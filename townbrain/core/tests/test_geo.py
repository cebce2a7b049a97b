"""Coordinates in the three systems Chinese offices meet (core/geo.py): stored as WGS-84."""

import math
import warnings
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townbrain.core import geo
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.services import update_org_profile

# Points well inside China (GCJ-02 and BD-09 shift them), in degrees.
china_lat = st.floats(min_value=18.5, max_value=53.0, allow_nan=False)
china_lng = st.floats(min_value=74.0, max_value=134.5, allow_nan=False)


def metres(lat1, lng1, lat2, lng2) -> float:
    """Distance between two nearby points (equirectangular: enough for a few kilometres)."""
    lat1, lng1, lat2, lng2 = map(float, (lat1, lng1, lat2, lng2))
    x = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371000 * math.hypot(x, y)


@pytest.mark.parametrize("system", [geo.GCJ02, geo.BD09, geo.WGS84])
@given(lat=china_lat, lng=china_lng)
def test_round_trip_in_china(system, lat, lng):
    """WGS-84 → system → WGS-84 comes back to the stored precision (six decimals, ~0.1 m)."""
    shown = geo.from_wgs84(lat, lng, system)
    back_lat, back_lng = geo.to_wgs84(*shown, system)
    assert isinstance(back_lat, Decimal)
    assert abs(float(back_lat) - lat) <= 1.5e-6
    assert abs(float(back_lng) - lng) <= 1.5e-6


@given(lat=china_lat, lng=china_lng)
def test_offsets_in_china_are_the_known_size(lat, lng):
    """GCJ-02 moves a point in China by some tens to hundreds of metres, never by kilometres."""
    gcj = geo.from_wgs84(lat, lng, geo.GCJ02)
    assert 1 < metres(lat, lng, *gcj) < 1500


def test_tiananmen_reference_point():
    """天安门: WGS-84 39.9087, 116.3975 is GCJ-02 39.9101, 116.4037 (what Amap shows), ~600 m apart."""
    lat, lng = geo.from_wgs84(39.9087, 116.3975, geo.GCJ02)
    assert metres(lat, lng, 39.9101, 116.4037) < 30
    assert 400 < metres(39.9087, 116.3975, lat, lng) < 800
    wgs = geo.to_wgs84(39.9101, 116.4037, "GCJ-02")
    assert metres(*wgs, 39.9087, 116.3975) < 30
    # Baidu adds its own offset on top of GCJ-02: BD-09 is farther still from WGS-84.
    bd = geo.from_wgs84(39.9087, 116.3975, geo.BD09)
    assert metres(*bd, lat, lng) > 500
    assert metres(*geo.to_wgs84(*bd, "百度"), 39.9087, 116.3975) < 0.2


@pytest.mark.parametrize("system", [geo.GCJ02, geo.BD09, geo.WGS84])
@pytest.mark.parametrize("point", [(48.8584, 2.2945), (40.6892, -74.0445), (-33.8568, 151.2153)])
def test_outside_china_unchanged(system, point):
    """Outside China every system is WGS-84 (Baidu too), so nothing moves and nothing warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert geo.to_wgs84(*point, system) == tuple(Decimal(str(v)).quantize(geo.PLACES) for v in point)
        assert geo.from_wgs84(*point, system) == point


@pytest.mark.parametrize("text, system", [
    ("GCJ-02", geo.GCJ02), ("gcj02", geo.GCJ02), ("高德", geo.GCJ02), ("火星坐标系", geo.GCJ02), ("腾讯", geo.GCJ02),
    ("百度", geo.BD09), ("BD-09", geo.BD09), ("bd09", geo.BD09), ("Baidu", geo.BD09),
    ("wgs84", geo.WGS84), ("WGS-84", geo.WGS84), ("WGS 84", geo.WGS84), ("GPS", geo.WGS84), ("", geo.WGS84),
])
def test_aliases(text, system):
    assert geo.system_of(text) == system


def test_unknown_system_is_refused():
    with pytest.raises(geo.UnknownSystem):
        geo.system_of("CGCS2000 3-degree Gauss")
    with pytest.raises(geo.UnknownSystem):
        geo.to_wgs84(30.0, 120.0, "mercator")


def test_stored_to_six_places():
    lat, lng = geo.to_wgs84("30.1809681234", "120.4594871234", "wgs84")
    assert (lat, lng) == (Decimal("30.180968"), Decimal("120.459487"))


def test_every_system_has_a_choice():
    assert [key for key, _label in geo.CHOICES] == [geo.WGS84, geo.GCJ02, geo.BD09]


# -- the town profile: the system is named, the point stored as WGS-84 ----------------------------------

GUALI = "330109113"
GUALI_WGS = (Decimal("30.183300"), Decimal("120.455000"))


def test_profile_form_names_the_system_and_stores_wgs84(client_for):
    client = client_for("guali")
    page = client.get(f"/org/{GUALI}/edit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="crs"' in page and "GCJ-02 (Amap, Tencent)" in page and "BD-09 (Baidu)" in page
    gcj = [round(v, 6) for v in geo.from_wgs84(*GUALI_WGS, geo.GCJ02)]  # what Amap shows for the point
    response = client.post(f"/org/{GUALI}/edit/", {"latitude": gcj[0], "longitude": gcj[1], "crs": "gcj02",
                                                   "notes": "centre from Amap"})
    assert response.status_code == 302
    unit = OrgUnit.objects.get(code=GUALI)
    assert metres(unit.latitude, unit.longitude, *GUALI_WGS) < 0.2
    assert (unit.latitude, unit.longitude) == geo.to_wgs84(*gcj, geo.GCJ02)
    row = AuditEntry.objects.get(action="orgunit.update", object_id=GUALI)
    assert row.changes["latitude"] == [None, str(unit.latitude)]
    assert row.changes["longitude"] == [None, str(unit.longitude)]


def test_profile_form_without_a_system_means_wgs84(client_for):
    client_for("guali").post(f"/org/{GUALI}/edit/", {"latitude": "30.1833", "longitude": "120.455"})
    unit = OrgUnit.objects.get(code=GUALI)
    assert (unit.latitude, unit.longitude) == GUALI_WGS


def test_profile_form_refuses_half_a_point_in_another_system(client_for):
    response = client_for("guali").post(f"/org/{GUALI}/edit/", {"latitude": "30.18", "crs": "bd09"},
                                        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Give both latitude and longitude" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_api_takes_a_baidu_point_and_returns_wgs84(api_for):
    bd = [round(v, 6) for v in geo.from_wgs84(*GUALI_WGS, geo.BD09)]
    response = api_for("guali").patch(f"/api/orgunits/{GUALI}/", {"latitude": bd[0], "longitude": bd[1],
                                                                 "crs": "bd09"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert "crs" not in data  # write-only: what comes back is always WGS-84
    assert metres(data["latitude"], data["longitude"], *GUALI_WGS) < 0.2
    row = AuditEntry.objects.get(action="orgunit.update")
    assert row.changes["latitude"][1] == data["latitude"]


@pytest.mark.parametrize("payload", [{"latitude": 30.18, "crs": "gcj02"}, {"latitude": 30.18, "longitude": 120.4,
                                                                           "crs": "utm"}])
def test_api_refuses_what_cannot_be_converted(api_for, payload):
    response = api_for("guali").patch(f"/api/orgunits/{GUALI}/", payload, format="json")
    assert response.status_code == 400 and "crs" in response.json()
    assert not AuditEntry.objects.exists()


def test_service_converts_for_every_caller(users):
    gcj = geo.from_wgs84(*GUALI_WGS, geo.GCJ02)
    unit = update_org_profile(users["guali"], OrgUnit.objects.get(code=GUALI), crs="高德",
                              latitude=gcj[0], longitude=gcj[1])
    assert metres(unit.latitude, unit.longitude, *GUALI_WGS) < 0.2
