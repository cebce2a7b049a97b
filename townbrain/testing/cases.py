"""Generic test cases in the manner of NetBox's ViewTestCases / APIViewTestCases.

A model gets its list / detail / create / edit / delete / permission tests by subclassing
and filling in a few attributes. Every case is run as `guali` (editor of 瓜沥镇) against an
object in her town ("own") and one in 大洋镇 ("other"):

    class TestOrgUnitAPI(APITests):
        basename = "orgunit"
        lookup = "code"
        supported = {"list", "detail", "update"}
        update_data = {"population": 12345}

        def make(self, town_code):
            return OrgUnit.objects.get(code=town_code)

Subclasses implement `make(town_code)` (an object placed in that town) and, for create,
`create_data(town_code)`. `object_type` is the audit log's name for the model.
"""

import pytest
from django.urls import reverse

from townbrain.core.models import AuditEntry

OWN = "330109113"  # 瓜沥镇, guali's town
OTHER = "330182107"  # 大洋镇, dayang's town


@pytest.mark.django_db
class APITests:
    basename: str = ""
    lookup: str = "pk"
    supported: set[str] = {"create", "update", "delete"}  # list and detail: always
    update_data: dict = {}
    object_type: str | None = None

    def make(self, town_code):  # pragma: no cover - subclasses implement
        raise NotImplementedError

    def create_data(self, town_code) -> dict:  # pragma: no cover
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------
    def list_url(self):
        return reverse(f"api:{self.basename}-list")

    def detail_url(self, obj):
        return reverse(f"api:{self.basename}-detail", args=[getattr(obj, self.lookup)])

    def _refused(self, api, method, url):
        """An operation the endpoint does not offer must be refused, not silently accepted."""
        response = getattr(api, method)(url, {}, format="json")
        assert response.status_code == 405, (method, url, response.status_code)

    def _audit_count(self, obj):
        return AuditEntry.objects.filter(object_type=self.object_type or obj._meta.model_name,
                                         object_id=str(obj.pk)).count()

    # -- the cases ---------------------------------------------------------------------------
    def test_anonymous_gets_401(self, users, client):
        assert client.get(self.list_url()).status_code == 401

    def test_list_shows_own_not_other(self, api_for, users):
        own, other = self.make(OWN), self.make(OTHER)
        data = api_for("guali").get(self.list_url(), {"page_size": 1000}).json()
        assert {"count", "next", "previous", "results"} <= set(data)
        ids = {str(r[self.lookup] if self.lookup in r else r.get("id")) for r in data["results"]}
        assert str(getattr(own, self.lookup)) in ids
        assert str(getattr(other, self.lookup)) not in ids

    def test_detail_own_200_other_404(self, api_for, users):
        own, other = self.make(OWN), self.make(OTHER)
        api = api_for("guali")
        assert api.get(self.detail_url(own)).status_code == 200
        assert api.get(self.detail_url(other)).status_code == 404

    def test_create_own_audited_other_refused(self, api_for, users):
        api = api_for("guali")
        if "create" not in self.supported:
            return self._refused(api, "post", self.list_url())
        before = AuditEntry.objects.count()
        response = api.post(self.list_url(), self.create_data(OWN), format="json")
        assert response.status_code == 201, response.content
        assert AuditEntry.objects.count() > before
        refused = api.post(self.list_url(), self.create_data(OTHER), format="json")
        assert refused.status_code in (400, 403), refused.content

    def test_update_own_audited_other_404_viewer_403(self, api_for, users):
        own, other = self.make(OWN), self.make(OTHER)
        if "update" not in self.supported:
            return self._refused(api_for("admin"), "patch", self.detail_url(own))
        before = self._audit_count(own)
        response = api_for("guali").patch(self.detail_url(own), self.update_data, format="json")
        assert response.status_code == 200, response.content
        assert self._audit_count(own) == before + 1
        assert api_for("guali").patch(self.detail_url(other), self.update_data, format="json").status_code == 404
        viewer = api_for("guali_viewer").patch(self.detail_url(own), self.update_data, format="json")
        assert viewer.status_code == 403

    def test_delete_other_404_own_204(self, api_for, users):
        own, other = self.make(OWN), self.make(OTHER)
        api = api_for("guali")
        if "delete" not in self.supported:
            return self._refused(api_for("admin"), "delete", self.detail_url(own))
        assert api.delete(self.detail_url(other)).status_code == 404
        assert api.delete(self.detail_url(own)).status_code == 204
        assert not type(own).objects.filter(pk=own.pk).exists()


@pytest.mark.django_db
class ViewTests:
    """The HTML side: list page scoped and exportable, detail page 404 outside the scope."""

    list_url_name: str = ""
    detail_url_name: str = ""
    lookup: str = "pk"
    text_of = staticmethod(lambda obj: str(obj))

    def make(self, town_code):  # pragma: no cover
        raise NotImplementedError

    def test_anonymous_redirected_to_login(self, users, client):
        response = client.get(reverse(self.list_url_name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_list_scoped(self, client_for):
        own, other = self.make(OWN), self.make(OTHER)
        html = client_for("guali").get(reverse(self.list_url_name), {"per_page": 200}).content.decode()
        assert self.text_of(own) in html
        assert self.text_of(other) not in html

    def test_detail_other_404(self, client_for):
        own, other = self.make(OWN), self.make(OTHER)
        client = client_for("guali")
        assert client.get(reverse(self.detail_url_name, args=[getattr(own, self.lookup)])).status_code == 200
        assert client.get(reverse(self.detail_url_name, args=[getattr(other, self.lookup)])).status_code == 404

    def test_exports_scoped(self, client_for):
        own, other = self.make(OWN), self.make(OTHER)
        client = client_for("guali")
        csv_body = client.get(reverse(self.list_url_name), {"export": "csv"}).content
        assert csv_body.startswith(b"\xef\xbb\xbf")  # BOM: Excel/WPS read the Chinese right
        text = csv_body.decode("utf-8-sig")
        assert self.text_of(own) in text and self.text_of(other) not in text
        xlsx = client.get(reverse(self.list_url_name), {"export": "xlsx"})
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
