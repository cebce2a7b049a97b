"""Optimistic locking of org-unit profiles (core/conflicts.py): ETag / If-Match in the API, the hidden
version of the edit page, the service's check under the row lock."""

import pytest
from django.core.exceptions import ValidationError

from townbrain.core import conflicts
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.core.services import update_org_profile

GUALI = "330109113"


def test_versions_as_clients_send_them():
    assert conflicts.etag(3) == 'W/"3"'
    assert [conflicts.parse_version(v) for v in (3, "3", '"3"', 'W/"3"', "", None, "*")] == [3, 3, 3, 3, None, None, None]
    assert conflicts.if_match_versions('W/"2", "5"') == [2, 5] and conflicts.if_match_versions("*") is None
    with pytest.raises(ValidationError):
        conflicts.parse_version("yesterday")


@pytest.mark.django_db
class TestProfile:
    def test_api_etag_and_412_with_the_changed_fields(self, tree, api_for):
        api = api_for("guali")
        url = f"/api/orgunits/{GUALI}/"
        etag = api.get(url)["ETag"]
        assert etag == 'W/"1"'
        assert api.patch(url, {"population": 5000}, format="json", HTTP_IF_MATCH=etag)["ETag"] == 'W/"2"'
        stale = api.patch(url, {"notes": "我的备注"}, format="json", HTTP_IF_MATCH=etag)
        assert stale.status_code == 412 and stale.json()["changed_fields"] == ["population"]
        assert stale.json()["changes"] == {"population": [None, 5000]}
        unit = OrgUnit.objects.get(code=GUALI)
        assert unit.notes == "" and unit.population == 5000 and unit.version == 2
        assert AuditEntry.objects.filter(action="orgunit.update", object_id=GUALI).count() == 1
        assert api.patch(url, {"notes": "无条件"}, format="json").status_code == 200  # no If-Match: as before

    def test_service_refuses_a_save_over_a_newer_version(self, tree, users):
        unit = OrgUnit.objects.get(code=GUALI)
        update_org_profile(users["xiaoshan"], unit, expected_version=1, town_type="tourism")
        with pytest.raises(conflicts.Conflict) as exc:
            update_org_profile(users["guali"], unit, expected_version=1, population=1)
        assert exc.value.changed_fields == ["town_type"] and exc.value.by == "xiaoshan"
        assert exc.value.theirs() == [("town type", "Tourism")]
        assert "town type" in exc.value.messages[0] and "xiaoshan" in exc.value.messages[0]
        assert OrgUnit.objects.get(code=GUALI).population is None

    def test_edit_page_shows_the_conflict_and_saves_nothing_then_a_second_save_goes_through(self, tree, client_for):
        client = client_for("guali")
        url = f"/org/{GUALI}/edit/"
        page = client.get(url)
        assert 'name="version" value="1"' in page.content.decode()
        update_org_profile(SYSTEM, OrgUnit.objects.get(code=GUALI), population=8000, notes="县里改的")
        form = {"town_type": "", "population": "9000", "area_km2": "", "latitude": "", "longitude": "",
                "crs": "wgs84", "notes": "", "version": "1"}
        stale = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
        html = stale.content.decode()
        assert stale.status_code == 200 and 'id="conflict"' in html
        assert "population" in html and "8000" in html and "县里改的" in html  # what they changed, to what
        assert 'name="version" value="2"' in html and 'value="9000"' in html  # my values kept, the version now
        unit = OrgUnit.objects.get(code=GUALI)
        assert unit.population == 8000 and unit.version == 2
        again = client.post(url, {**form, "version": "2"})
        assert again.status_code == 302
        assert OrgUnit.objects.get(code=GUALI).population == 9000
