"""The API exactly as issue 3's "Interfaces that acceptance checks will use" states it.

These tests authenticate the way an outside client does: `POST /api/auth/token/` with JSON,
then `Authorization: Token <token>` on every request (no force_authenticate).
"""

import json
import uuid

import pytest
import yaml
from rest_framework.test import APIClient

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.testing.tree import UNITS
from townbrain.testing.users import PASSWORD


def get_token(username, password=PASSWORD):
    response = APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"token"}
    return response.json()["token"]


@pytest.fixture
def token_api(users):
    """token_api("hangzhou") -> an APIClient that sends `Authorization: Token <t>` like a real client."""

    def make(name):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {get_token(name)}")
        return api

    return make


def codes_of(data):
    return {row["code"] for row in data["results"]}


# -- authentication --------------------------------------------------------------------------------

def test_token_then_authorization_header(users):
    token = get_token("guali")
    assert token and token == get_token("guali")  # stable per user
    api = APIClient()
    assert api.get("/api/orgunits/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.get("/api/orgunits/")
    assert response.status_code == 200
    assert codes_of(response.json()) == {"330109113", "330109113201"}


def test_token_with_raw_json_body(users):
    body = json.dumps({"username": "hangzhou", "password": PASSWORD})
    response = APIClient().generic("POST", "/api/auth/token/", body, content_type="application/json")
    assert response.status_code == 200 and "token" in response.json()


@pytest.mark.parametrize(
    "payload",
    [{"username": "guali", "password": "wrong-password-1"}, {"username": "nobody", "password": PASSWORD}],
)
def test_token_refused_for_wrong_credentials(users, payload):
    response = APIClient().post("/api/auth/token/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert "token" not in response.json()


def test_token_requires_both_fields(users):
    response = APIClient().post("/api/auth/token/", {"username": "guali"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


def test_token_refused_for_inactive_user(users):
    users["guali"].is_active = False
    users["guali"].save()
    response = APIClient().post("/api/auth/token/", {"username": "guali", "password": PASSWORD}, format="json")
    assert response.status_code == 400


def test_bad_token_is_401(users):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api.get("/api/orgunits/").status_code == 401


# -- listing and filtering ---------------------------------------------------------------------------

def test_list_shape_and_pagination(token_api):
    api = token_api("zhejiang")
    data = api.get("/api/orgunits/").json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == len([c for c in UNITS if c.startswith("33")])
    assert data["previous"] is None
    page1 = api.get("/api/orgunits/", {"page_size": 2}).json()
    assert len(page1["results"]) == 2 and page1["next"] and page1["previous"] is None
    page2 = api.get(page1["next"]).json()
    assert page2["previous"] and not codes_of(page1) & codes_of(page2)


def test_filter_by_code(token_api):
    data = token_api("hangzhou").get("/api/orgunits/", {"code": "330109113"}).json()
    assert data["count"] == 1
    row = data["results"][0]
    assert row["code"] == "330109113"
    assert row["name"] == "瓜沥镇"
    assert row["level"] == "town"
    assert row["town_kind"] == "town"
    assert row["parent"] == "330109"
    assert row["path"] == ["33", "3301", "330109"]


@pytest.mark.parametrize("raw", ["330109113000", "３３０１０９１１３", 330109113])
def test_filter_by_code_accepts_other_spellings(token_api, raw):
    assert codes_of(token_api("hangzhou").get("/api/orgunits/", {"code": raw}).json()) == {"330109113"}


def test_filter_under_is_the_subtree_including_the_unit(token_api):
    data = token_api("zhejiang").get("/api/orgunits/", {"under": "3301", "page_size": 1000}).json()
    assert codes_of(data) == {c for c in UNITS if c.startswith("3301")}
    assert "3301" in codes_of(data) and "330109113201" in codes_of(data)
    assert data["count"] == len(data["results"])


def test_filter_under_stays_inside_the_callers_scope(token_api):
    data = token_api("xiaoshan").get("/api/orgunits/", {"under": "33", "page_size": 1000}).json()
    assert codes_of(data) == {c for c in UNITS if c.startswith("330109")}


def test_filter_by_level(token_api):
    data = token_api("hangzhou").get("/api/orgunits/", {"level": "town", "page_size": 1000}).json()
    assert codes_of(data) == {"330109001", "330109113", "330182100", "330182107"}
    assert {r["level"] for r in data["results"]} == {"town"}
    both = token_api("admin").get("/api/orgunits/", {"level": "town", "under": "52"}).json()
    assert codes_of(both) == {"520111100"}


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"code": "33a"}, "code", ["33a", "digits"]),
        ({"code": "33010"}, "code", ["33010", "5"]),
        ({"under": "1234567"}, "under", ["1234567", "7"]),
        ({"under": "瓜沥"}, "under", ["瓜沥"]),
        ({"level": "galaxy"}, "level", ["galaxy"]),
    ],
)
def test_malformed_filter_gives_400_with_a_clear_message(token_api, params, field, words):
    response = token_api("hangzhou").get("/api/orgunits/", params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    message = " ".join(response.json()[field])
    for word in words:
        assert word in message, message


def test_malformed_code_message_in_the_default_language(token_api):
    response = token_api("hangzhou").get("/api/orgunits/", {"code": "33a"})
    assert response.status_code == 400
    message = " ".join(response.json()["code"])
    assert "33a" in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message  # Simplified Chinese by default


def test_malformed_code_on_the_audit_filter_is_400(token_api):
    response = token_api("hangzhou").get("/api/audit/", {"under": "3x"})
    assert response.status_code == 400
    assert "3x" in " ".join(response.json()["under"])


# -- one unit ---------------------------------------------------------------------------------------

def test_detail_inside_and_outside_scope(token_api):
    api = token_api("hangzhou")
    response = api.get("/api/orgunits/330109113/")
    assert response.status_code == 200
    assert response.json()["name"] == "瓜沥镇"
    assert api.get("/api/orgunits/3301/").status_code == 200
    for outside in ("33", "3302", "52", "520111100"):
        assert api.get(f"/api/orgunits/{outside}/").status_code == 404, outside
    assert api.get("/api/orgunits/330109999/").status_code == 404  # unknown code


def test_detail_of_a_malformed_code_is_not_a_server_error(token_api):
    api = token_api("admin")
    for bad in ("abc", "3", "33a1", "3301091130001"):
        assert api.get(f"/api/orgunits/{bad}/").status_code == 404, bad


# -- editing the profile -------------------------------------------------------------------------------

def test_patch_persists_and_writes_audit(token_api, users):
    api = token_api("guali")
    response = api.patch("/api/orgunits/330109113/", {"population": 123456}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["population"] == 123456
    assert OrgUnit.objects.get(code="330109113").population == 123456
    assert api.get("/api/orgunits/330109113/").json()["population"] == 123456
    entry = AuditEntry.objects.get(object_type="orgunit", object_id="330109113")
    assert entry.actor_id == users["guali"].pk
    assert entry.action == "orgunit.update"
    assert entry.changes == {"population": [None, 123456]}
    assert entry.source == "api"
    assert entry.org_code == "330109113"


def test_patch_without_a_change_writes_no_audit(token_api):
    api = token_api("guali")
    api.patch("/api/orgunits/330109113/", {"population": 5000}, format="json")
    count = AuditEntry.objects.count()
    assert api.patch("/api/orgunits/330109113/", {"population": 5000}, format="json").status_code == 200
    assert AuditEntry.objects.count() == count


def test_patch_outside_scope_is_404_and_by_a_viewer_403(token_api):
    assert token_api("guali").patch("/api/orgunits/330182107/", {"population": 1},
                                    format="json").status_code == 404
    viewer = token_api("guali_viewer")
    response = viewer.patch("/api/orgunits/330109113/", {"population": 1}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"]
    assert OrgUnit.objects.get(code="330109113").population is None
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "payload, field",
    [({"population": -5}, "population"), ({"latitude": "95"}, "latitude"), ({"town_type": "spaceport"}, "town_type")],
)
def test_patch_with_invalid_values_is_400(token_api, payload, field):
    response = token_api("guali").patch("/api/orgunits/330109113/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not AuditEntry.objects.exists()


def test_patch_cannot_change_name_or_code(token_api):
    api = token_api("guali")
    api.patch("/api/orgunits/330109113/", {"name": "别名", "code": "330109114", "level": "county"}, format="json")
    unit = OrgUnit.objects.get(code="330109113")
    assert (unit.name, unit.level) == ("瓜沥镇", "town")
    assert not OrgUnit.objects.filter(code="330109114").exists()


# -- the audit log ----------------------------------------------------------------------------------------

def test_audit_of_one_object_newest_first(token_api):
    api = token_api("guali")
    for population in (1000, 2000, 3000):
        api.patch("/api/orgunits/330109113/", {"population": population}, format="json")
    api.patch("/api/orgunits/330109113201/", {"notes": "村"}, format="json")  # another object
    data = token_api("hangzhou").get("/api/audit/", {"object_type": "orgunit", "object_id": "330109113"}).json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == 3
    rows = data["results"]
    assert [r["changes"]["population"] for r in rows] == [[2000, 3000], [1000, 2000], [None, 1000]]
    for row in rows:
        assert row["actor"] == "guali"
        assert row["action"] == "orgunit.update"
        assert row["time"]
    times = [r["time"] for r in rows]
    assert times == sorted(times, reverse=True)


def test_audit_is_scoped(token_api):
    token_api("guali").patch("/api/orgunits/330109113/", {"population": 1}, format="json")
    token_api("dayang").patch("/api/orgunits/330182107/", {"population": 2}, format="json")
    assert {r["object_id"] for r in token_api("dayang").get("/api/audit/").json()["results"]} == {"330182107"}
    assert token_api("guizhou").get("/api/audit/").json()["count"] == 0
    assert token_api("hangzhou").get("/api/audit/").json()["count"] == 2


def test_audit_rows_cannot_be_written_through_the_api(token_api):
    token_api("guali").patch("/api/orgunits/330109113/", {"population": 1}, format="json")
    entry = AuditEntry.objects.get()
    api = token_api("admin")
    assert api.post("/api/audit/", {"action": "x"}, format="json").status_code == 405
    assert api.patch(f"/api/audit/{entry.pk}/", {"action": "x"}, format="json").status_code == 405
    assert api.delete(f"/api/audit/{entry.pk}/").status_code == 405
    assert AuditEntry.objects.get().action == "orgunit.update"


def test_audit_row_carries_the_request_id_sent(token_api):
    api = token_api("guali")
    request_id = f"acceptance-{uuid.uuid4().hex[:8]}"
    response = api.patch("/api/orgunits/330109113/", {"population": 42}, format="json",
                         HTTP_X_REQUEST_ID=request_id)
    assert response.status_code == 200
    assert response["X-Request-ID"] == request_id
    entry = AuditEntry.objects.get(object_id="330109113")
    assert entry.request_id == request_id
    row = api.get("/api/audit/", {"object_type": "orgunit", "object_id": "330109113"}).json()["results"][0]
    assert row["request_id"] == request_id


def test_request_id_is_generated_when_none_is_sent(token_api):
    response = token_api("guali").patch("/api/orgunits/330109113/", {"population": 43}, format="json")
    assert response["X-Request-ID"]
    assert AuditEntry.objects.get().request_id == response["X-Request-ID"]


# -- schema and docs --------------------------------------------------------------------------------------

def test_schema_is_openapi_3(db):
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ("/api/auth/token/", "/api/orgunits/", "/api/orgunits/{code}/", "/api/audit/", "/api/users/"):
        assert path in paths, path
    assert "patch" in paths["/api/orgunits/{code}/"]
    parameters = {p["name"] for p in paths["/api/orgunits/"]["get"]["parameters"]}
    assert {"code", "under", "level", "page", "page_size"} <= parameters
    assert "token" in json.dumps(document["components"]["securitySchemes"]).lower()


def test_schema_as_json(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.parametrize("url, marker", [("/api/docs/", "swagger-ui"), ("/api/redoc/", "redoc")])
def test_docs_pages_use_vendored_assets(client, db, url, marker):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert marker in html.lower()
    assert "/api/schema/" in html
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


def test_schema_generates_without_warnings_or_errors(db):
    # Warnings hide real mistakes (an undocumented field, two enums under one name): keep them at zero.
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache, (
        dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache))
