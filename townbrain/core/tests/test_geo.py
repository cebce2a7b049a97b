"""Coordinates in the three systems Chinese offices meet (core/geo.py): stored as WGS-84."""

import math
import warnings
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townbrain.core import geo

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
