"""Which roles the forms offer, the memberships /api/users/ shows, and the demo users' names."""

import re

import pytest

from townbrain.access.demo import DEMO_USERS
from townbrain.access.models import Membership
from townbrain.testing.users import make_user

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def role_select(html: str, name: str = "role") -> tuple[list[str], list[str]]:
    """(offered values, selected values) of the <select name=role> in a page."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    offered = re.findall(r'<option value="([^"]*)"', select)
    selected = re.findall(r'<option value="([^"]*)"[^>]*selected', select)
    return offered, selected


@pytest.mark.parametrize("manager, admin_offered", [("hangzhou", False), ("admin", True)])
def test_new_user_form_defaults_to_viewer(client_for, manager, admin_offered):
    offered, selected = role_select(client_for(manager).get("/users/new/").content.decode())
    assert selected == ["viewer"]
    assert ("system_admin" in offered) is admin_offered
    assert {"office_admin", "editor", "viewer", "expert"} <= set(offered)


@pytest.mark.parametrize("manager, admin_offered", [("hangzhou", False), ("admin", True)])
def test_grant_role_form_defaults_to_viewer(client_for, users, manager, admin_offered):
    offered, selected = role_select(client_for(manager).get(f"/users/{users['guali'].pk}/").content.decode())
    assert selected == ["viewer"]
    assert ("system_admin" in offered) is admin_offered


def test_form_without_a_role_posted_is_refused_not_made_admin(client_for):
    data = {"username": "newbie", "password": "Qiantang-tide-2024-xq", "org_unit": "330109"}
    response = client_for("admin").post("/users/new/", data)
    assert response.status_code == 200
    assert not Membership.objects.filter(user__username="newbie").exists()


@pytest.mark.parametrize("manager, admin_offered", [("hangzhou", False), ("admin", True)])
def test_api_offers_system_admin_to_system_admins_only(api_for, manager, admin_offered):
    api = api_for(manager)
    for url in ("/api/users/", "/api/memberships/"):
        choices = api.options(url).json()["actions"]["POST"]["role"]["choices"]
        values = [c["value"] for c in choices]
        assert ("system_admin" in values) is admin_offered, (url, values)
        assert "viewer" in values


def test_api_still_refuses_system_admin_with_the_reason(api_for, users):
    response = api_for("hangzhou").post("/api/memberships/", {"user": "guali", "org_unit": "330109113",
                                                              "role": "system_admin"}, format="json", **EN)
    assert response.status_code == 403
    assert "Only a system administrator" in response.json()["detail"]
    response = api_for("hangzhou").post("/api/memberships/", {"user": "guali", "org_unit": "330109113",
                                                              "role": "king"}, format="json")
    assert response.status_code == 400


def test_schema_documents_every_role(api_for):
    schema = api_for("admin").get("/api/schema/", {"format": "json"}).json()
    enums = [s.get("enum", []) for s in schema["components"]["schemas"].values()]
    assert any("system_admin" in e and "viewer" in e for e in enums)


# --- /api/users/ memberships ------------------------------------------------------------------


@pytest.fixture
def two_towns(users):
    """A user who works in 瓜沥镇 and in 大洋镇."""
    user = make_user("twotowns", "330109113", "viewer")
    Membership.objects.create(user=user, org_unit_id="330182107", role="editor")
    return user


def memberships_of(api, username):
    rows = api.get("/api/users/", {"q": username}).json()["results"]
    return sorted((m["org_unit"], m["role"]) for m in next(r for r in rows if r["username"] == username)["memberships"])


def test_users_api_shows_only_memberships_in_the_callers_scope(api_for, two_towns):
    assert memberships_of(api_for("guali"), "twotowns") == [("330109113", "viewer")]
    assert memberships_of(api_for("dayang"), "twotowns") == [("330182107", "editor")]
    assert memberships_of(api_for("hangzhou"), "twotowns") == [("330109113", "viewer"), ("330182107", "editor")]
    assert memberships_of(api_for("admin"), "twotowns") == [("330109113", "viewer"), ("330182107", "editor")]
    detail = api_for("guali").get(f"/api/users/{two_towns.pk}/").json()
    assert detail["memberships"] == [{"org_unit": "330109113", "role": "viewer"}]


def test_users_api_own_memberships_all_shown(api_for, users):
    Membership.objects.create(user=users["guali"], org_unit_id="330182107", role="viewer")
    assert memberships_of(api_for("guali"), "guali") == [("330109113", "editor"), ("330182107", "viewer")]


# --- the demo ---------------------------------------------------------------------------------


def test_demo_full_names_are_chinese_only():
    for row in DEMO_USERS:
        username, code, role, full_name = row  # the shape the CLI prints
        assert not re.search(r"[A-Za-z]", full_name), row
        assert full_name.strip() == full_name and full_name
    assert dict((u, n) for u, _c, _r, n in DEMO_USERS)["zhejiang"] == "浙江省美丽城镇办"
