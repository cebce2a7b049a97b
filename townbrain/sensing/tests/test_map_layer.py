"""The map layer of facilities coloured by status (`/facilities/map.json`), and the cockpit map naming it."""

from decimal import Decimal

from django.urls import reverse

from townbrain.core import geo
from townbrain.core.scope import SYSTEM
from townbrain.sensing import services, views


def _facilities():
    services.create_facility(SYSTEM, "330109113", code="gl-wsc", name="瓜沥镇污水处理厂", kind="sewage-plant",
                             status="operating", lat="30.183300", lng="120.455000")
    services.create_facility(SYSTEM, "330109113", code="gl-ljz", name="瓜沥镇垃圾中转站", kind="garbage-treatment",
                             status="building", lat="30.190000", lng="120.460000")
    services.create_facility(SYSTEM, "330109113", code="gl-x", name="无坐标", kind="other")  # no location: left out
    services.create_facility(SYSTEM, "330182107", code="dy-wsc", name="大洋镇污水处理厂", kind="sewage-plant",
                             status="out_of_service", lat="29.5", lng="119.5")


def test_facilities_of_an_area_in_gcj02_coloured_by_status(client_for):
    _facilities()
    data = client_for("xiaoshan").get(reverse("facility-map"), {"org": "330109"}).json()
    assert data["system"] == geo.GCJ02 and not data["truncated"]
    assert [f["code"] for f in data["facilities"]] == ["gl-ljz", "gl-wsc"]  # 大洋镇 is not in 萧山区
    wsc = data["facilities"][1]
    lat, lng = geo.from_wgs84(Decimal("30.183300"), Decimal("120.455000"), geo.GCJ02)
    assert (wsc["lat"], wsc["lng"]) == (round(lat, 6), round(lng, 6))
    assert wsc["lng"] - 120.455 > 0.003  # shifted ~450 m east, onto the AMap polygons
    assert (wsc["status"], wsc["colour"], wsc["url"]) == ("operating", views.STATUS_COLOURS["operating"],
                                                          "/facilities/gl-wsc/")
    assert data["facilities"][0]["colour"] == views.STATUS_COLOURS["building"]
    assert {item["status"] for item in data["legend"]} == set(views.STATUS_COLOURS)
    wgs = client_for("xiaoshan").get(reverse("facility-map"), {"org": "330109", "system": "wgs84"}).json()
    assert (wgs["facilities"][1]["lat"], wgs["facilities"][1]["lng"]) == (30.1833, 120.455)


def test_scoped_by_the_users_area(client_for):
    _facilities()
    # 大洋镇's user asking for the whole city sees 大洋镇's facility only.
    data = client_for("dayang").get(reverse("facility-map"), {"org": "3301"}).json()
    assert [f["code"] for f in data["facilities"]] == ["dy-wsc"]
    assert client_for("dayang").get(reverse("facility-map"), {"org": "330109"}).json()["facilities"] == []
    assert client_for("dayang").get(reverse("facility-map"), {"org": "x"}).status_code == 404
    assert client_for("dayang").get(reverse("facility-map"), {"org": "33", "system": "mars"}).status_code == 404


def test_anonymous_is_sent_to_login(client):
    assert client.get(reverse("facility-map"), {"org": "33"}).status_code == 302


def test_the_layer_for_the_county_a_town_user_sees_on_the_cockpit_map(client_for):
    """The cockpit map of a town names the layer of its county (layers.facilities); a town user gets
    the facilities of that county that are in their own area."""
    _facilities()
    client = client_for("guali")
    cockpit_map = client.get(reverse("cockpit-map", args=["330109113"])).json()
    layer = cockpit_map["layers"]["facilities"]
    assert layer == "/facilities/map.json?org=330109&system=gcj02"
    data = client.get(layer).json()
    assert [f["code"] for f in data["facilities"]] == ["gl-ljz", "gl-wsc"]
