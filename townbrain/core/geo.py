"""Coordinates as Chinese maps give them, stored as WGS-84.

Amap and Tencent maps give GCJ-02 ("Mars") coordinates, Baidu gives BD-09; GPS and the data
standard's default are WGS-84 (DOMAIN §8). Every coordinate that comes in names its system and
is stored as WGS-84; the conversion is prcoords' (public domain; its inverse is iterated to
better than a millimetre, where the usual one-step inverse is off by metres).
"""

from decimal import ROUND_HALF_UP, Decimal

import prcoords
from django.utils.translation import gettext_lazy as _

WGS84, GCJ02, BD09 = "wgs84", "gcj02", "bd09"
SYSTEMS = {
    WGS84: _("WGS-84 (GPS)"),
    GCJ02: _("GCJ-02 (Amap, Tencent)"),
    BD09: _("BD-09 (Baidu)"),
}
# How offices and map exports write the system's name; compared without case, spaces, - and _.
ALIASES = {
    "wgs84": WGS84, "wgs": WGS84, "gps": WGS84, "epsg4326": WGS84, "地球坐标": WGS84, "地球坐标系": WGS84,
    "gcj02": GCJ02, "gcj": GCJ02, "火星坐标": GCJ02, "火星坐标系": GCJ02, "国测局坐标": GCJ02, "高德": GCJ02,
    "腾讯": GCJ02, "amap": GCJ02, "bd09": BD09, "bd": BD09, "百度": BD09, "百度坐标": BD09, "百度坐标系": BD09,
    "baidu": BD09,
}
PLACES = Decimal("0.000001")  # the profile's and projects' columns keep six decimals (~0.1 m)


class UnknownSystem(ValueError):
    pass


def system_of(text) -> str:
    """The system a user or file names ('GCJ-02', '百度', 'wgs84' …); UnknownSystem if none."""
    key = str(text or "").strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if not key:
        return WGS84
    try:
        return ALIASES[key]
    except KeyError:
        raise UnknownSystem(str(text)) from None


CHOICES = list(SYSTEMS.items())  # for forms and serializers: the system is always named


def in_china(lat, lng) -> bool:
    """Whether the offsets apply: GCJ-02 shifts only points in China (prcoords' rough box), and
    Baidu gives WGS-84 outside China ("境外地区使用WGS84坐标"), so elsewhere every system is WGS-84."""
    return prcoords.sanity_in_china_p(prcoords.Coords(float(lat), float(lng)))


def to_wgs84(lat, lng, system: str = WGS84) -> tuple[Decimal, Decimal]:
    """(lat, lng) given in `system`, as WGS-84 Decimals rounded to the stored six places.

    Outside China every system is WGS-84 and the point is kept as it is (prcoords would still
    apply Baidu's own offset there).
    """
    system = system_of(system)
    lat, lng = float(lat), float(lng)
    if not in_china(lat, lng):
        pass
    elif system == GCJ02:
        point = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lng))
        lat, lng = point.lat, point.lon
    elif system == BD09:
        point = prcoords.bd_wgs_bored(prcoords.Coords(lat, lng))
        lat, lng = point.lat, point.lon
    return _stored(lat), _stored(lng)


def from_wgs84(lat, lng, system: str) -> tuple[float, float]:
    """The WGS-84 point as `system` shows it (for maps drawn on GCJ-02 or BD-09 tiles)."""
    system = system_of(system)
    point = prcoords.Coords(float(lat), float(lng))
    if not in_china(point.lat, point.lon):
        pass
    elif system == GCJ02:
        point = prcoords.wgs_gcj(point)
    elif system == BD09:
        point = prcoords.wgs_bd(point)
    return point.lat, point.lon


def _stored(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(PLACES, rounding=ROUND_HALF_UP)
