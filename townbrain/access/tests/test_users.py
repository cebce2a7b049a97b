"""User management: office administrators manage users and roles inside their own subtree only.

Through the UI (/users/…) and the API (/api/users/, /api/memberships/), every write audited,
and the password never in the log.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from townbrain.access import services
from townbrain.access.models import Membership
from townbrain.core import audit
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.testing.users import make_user

User = get_user_model()
STRONG = "Qiantang-tide-2024-xq"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def new_user_form(**overrides):
    data = {"username": "newbie", "first_name": "新同事", "email": "newbie@example.org",
            "password": STRONG, "org_unit": "330109", "role": "editor"}
    data.update(overrides)
    return data


@pytest.fixture
def mixed(users):
    """An editor in 萧山区 who ALSO views 贵州省: outside hangzhou's subtree as a whole."""
    user = make_user("mixed", "330109", "editor")
    Membership.objects.create(user=user, org_unit_id="52", role="viewer")
    return user


def assert_no_secret_in_audit(*secrets):
    dump = json.dumps(list(AuditEntry.objects.values("changes", "object_repr")), ensure_ascii=False)
    for secret in secrets:
        assert secret not in dump


def page_text(response):
    return response.content.decode()


# -- the UI -----------------------------------------------------------------------------------------

def test_office_admin_creates_a_user_in_the_subtree(client_for, users):
    client = client_for("hangzhou")
    response = client.post("/users/new/", new_user_form())
    user = User.objects.get(username="newbie")
    assert response.status_code == 302 and response["Location"] == f"/users/{user.pk}/"
    assert user.check_password(STRONG)
    assert list(user.memberships.values_list("org_unit_id", "role")) == [("330109", "editor")]
    rows = {e.action: e for e in AuditEntry.objects.all()}
    assert set(rows) == {"user.create", "membership.grant"}
    for entry in rows.values():
        assert entry.actor_id == users["hangzhou"].pk
        assert entry.org_code == "330109"
        assert entry.source == "web" and entry.request_id
    assert rows["user.create"].changes["username"] == [None, "newbie"]
    assert rows["membership.grant"].changes == {
        "user": [None, "newbie"], "org_unit": [None, "330109"], "role": [None, "editor"]}
    assert_no_secret_in_audit(STRONG, user.password)
    # the new user can log in with the password set
    assert client.post("/accounts/logout/").status_code == 302
    response = client.post("/accounts/login/", {"username": "newbie", "password": STRONG})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


@pytest.mark.parametrize("code", ["52", "33", "330200", "5201"])
def test_office_admin_cannot_create_a_user_outside_the_subtree(client_for, code):
    response = client_for("hangzhou").post("/users/new/", new_user_form(org_unit=code), **EN)
    assert response.status_code == 200
    assert not User.objects.filter(username="newbie").exists()
    assert not AuditEntry.objects.exists()
    text = page_text(response)
    assert "alert-danger" in text or "invalid-feedback" in text
    if OrgUnit.objects.filter(code=code).exists():
        assert f"org unit {code}" in text and "outside your area" in text
    else:
        assert f"no org unit with code {code}" in text


def test_office_admin_cannot_appoint_a_system_admin(client_for):
    response = client_for("hangzhou").post("/users/new/", new_user_form(role="system_admin"), **EN)
    assert response.status_code == 200
    assert "Only a system administrator" in page_text(response)
    assert not User.objects.filter(username="newbie").exists()
    assert not AuditEntry.objects.exists()


def test_system_admin_may_appoint_a_system_admin(client_for):
    response = client_for("admin").post("/users/new/", new_user_form(role="system_admin", org_unit="33"))
    assert response.status_code == 302
    assert Membership.objects.filter(user__username="newbie", role="system_admin").exists()


@pytest.mark.parametrize(
    "password, words",
    [("Qx-7a", ["too short"]), ("password123", ["too common"]), ("1234567890", ["too common"]),
     ("newbie2024", ["too similar"])],
)
def test_password_validators_reject_weak_passwords(client_for, password, words):
    response = client_for("hangzhou").post("/users/new/", new_user_form(password=password), **EN)
    assert response.status_code == 200
    assert not User.objects.filter(username="newbie").exists()
    text = page_text(response)
    for word in words:
        assert word in text, text


def test_set_password_in_the_ui_validated_and_audited_without_the_password(client_for, users):
    client = client_for("hangzhou")
    guali = users["guali"]
    weak = client.post(f"/users/{guali.pk}/", {"op": "password", "password": "12345"}, **EN)
    assert weak.status_code == 200 and "too short" in page_text(weak)
    assert not AuditEntry.objects.exists()
    response = client.post(f"/users/{guali.pk}/", {"op": "password", "password": STRONG})
    assert response.status_code == 302
    guali.refresh_from_db()
    assert guali.check_password(STRONG)
    entry = AuditEntry.objects.get()
    assert entry.action == "user.password" and entry.object_id == str(guali.pk)
    assert entry.org_code == "330109113"
    assert_no_secret_in_audit(STRONG, guali.password)


def test_edit_user_in_the_ui_is_audited(client_for, users):
    guali = users["guali"]
    response = client_for("hangzhou").post(
        f"/users/{guali.pk}/", {"op": "edit", "first_name": "瓜沥镇美镇办", "email": "guali@example.org",
                                "is_active": ""})
    assert response.status_code == 302
    guali.refresh_from_db()
    assert (guali.first_name, guali.email, guali.is_active) == ("瓜沥镇美镇办", "guali@example.org", False)
    entry = AuditEntry.objects.get()
    assert entry.action == "user.update"
    # The e-mail is personal data: the log keeps that it was set, not the address (audit.PERSONAL_FIELDS).
    assert entry.changes == {"first_name": ["", "瓜沥镇美镇办"], "email": [None, audit.CHANGED],
                             "is_active": [True, False]}
    assert "guali@example.org" not in str(entry.changes)


def test_grant_and_revoke_in_the_ui_are_audited(client_for, users):
    client = client_for("hangzhou")
    guali = users["guali"]
    response = client.post(f"/users/{guali.pk}/", {"op": "grant", "org_unit": "330182107", "role": "viewer"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=guali, org_unit_id="330182107")
    grant = AuditEntry.objects.get(action="membership.grant")
    assert grant.changes["org_unit"] == [None, "330182107"] and grant.org_code == "330182107"

    response = client.post(f"/users/{guali.pk}/", {"op": "revoke", "membership": membership.pk})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    revoke = AuditEntry.objects.get(action="membership.revoke")
    assert revoke.changes == {"user": ["guali", None], "org_unit": ["330182107", None], "role": ["viewer", None]}
    assert revoke.actor_id == users["hangzhou"].pk


@pytest.mark.parametrize("code, role", [("52", "viewer"), ("33", "editor"), ("330109", "system_admin")])
def test_grant_outside_the_subtree_or_system_admin_refused_in_the_ui(client_for, users, code, role):
    guali = users["guali"]
    response = client_for("hangzhou").post(f"/users/{guali.pk}/", {"op": "grant", "org_unit": code, "role": role},
                                           **EN)
    assert response.status_code == 200
    assert "outside your area" in page_text(response) or "Only a system administrator" in page_text(response)
    assert list(guali.memberships.values_list("org_unit_id", flat=True)) == ["330109113"]
    assert not AuditEntry.objects.exists()


def test_revoke_of_a_membership_outside_the_subtree_is_404(client_for, users, mixed):
    client = client_for("hangzhou")
    for membership in mixed.memberships.all():  # on the page of the mixed user, or smuggled onto guali's
        for page_of in (mixed, users["guali"]):
            response = client.post(f"/users/{page_of.pk}/", {"op": "revoke", "membership": membership.pk})
            assert response.status_code == 404
    assert mixed.memberships.count() == 2
    assert not AuditEntry.objects.exists()


def test_user_list_shows_only_users_manageable_in_the_subtree(client_for, users, mixed):
    make_user("super_in_3301", "3301", "editor", is_superuser=True)
    response = client_for("hangzhou").get("/users/", {"per_page": 200})
    assert response.status_code == 200
    text = page_text(response)
    for name in ("xiaoshan", "jiande", "guali", "dayang", "guali_viewer"):
        assert f">{name}<" in text, name
    for name in ("zhejiang", "admin", "guizhou", "mixed", "super_in_3301"):
        assert f">{name}<" not in text, name


def test_province_admin_sees_the_whole_province(client_for, users, mixed):
    text = page_text(client_for("zhejiang").get("/users/", {"per_page": 200}))
    for name in ("hangzhou", "xiaoshan", "guali", "dayang"):
        assert f">{name}<" in text
    assert ">guizhou<" not in text and ">mixed<" not in text


def test_cannot_manage_a_user_who_also_works_outside_the_subtree(client_for, mixed):
    client = client_for("hangzhou")
    assert client.get(f"/users/{mixed.pk}/").status_code == 404
    for data in ({"op": "password", "password": STRONG}, {"op": "edit", "first_name": "x", "is_active": ""},
                 {"op": "grant", "org_unit": "330109", "role": "office_admin"}):
        assert client.post(f"/users/{mixed.pk}/", data).status_code == 404
    mixed.refresh_from_db()
    assert mixed.is_active and not mixed.check_password(STRONG)
    assert not AuditEntry.objects.exists()


def test_services_refuse_a_user_who_also_works_outside(users, mixed):
    hangzhou = users["hangzhou"]
    with pytest.raises(PermissionDenied):
        services.update_user(hangzhou, mixed, is_active=False)
    with pytest.raises(PermissionDenied):
        services.set_password(hangzhou, mixed, STRONG)
    with pytest.raises(PermissionDenied):
        services.update_user(hangzhou, users["zhejiang"], email="x@example.org")
    # guizhou (52) manages neither: mixed also works in 330109
    with pytest.raises(PermissionDenied):
        services.set_password(users["guizhou"], mixed, STRONG)
    # the province office covers both? no: 52 is outside 33
    with pytest.raises(PermissionDenied):
        services.update_user(users["zhejiang"], mixed, is_active=False)
    services.update_user(users["admin"], mixed, first_name="两省")  # the system admin can
    assert AuditEntry.objects.filter(action="user.update").count() == 1


def test_a_user_may_change_their_own_password(users):
    services.set_password(users["guali"], users["guali"], STRONG)
    assert users["guali"].check_password(STRONG)
    with pytest.raises(PermissionDenied):
        services.set_password(users["guali"], users["dayang"], STRONG)


@pytest.mark.parametrize("name", ["xiaoshan", "guali", "guali_viewer"])
def test_editors_and_viewers_get_403_on_user_pages(client_for, users, name):
    client = client_for(name)
    assert client.get("/users/").status_code == 403
    assert client.get("/users/new/").status_code == 403
    assert client.post("/users/new/", new_user_form()).status_code == 403
    assert client.get(f"/users/{users['guali'].pk}/").status_code == 403
    assert client.post(f"/users/{users['guali'].pk}/", {"op": "password", "password": STRONG}).status_code == 403
    assert not User.objects.filter(username="newbie").exists()


def test_anonymous_is_sent_to_login(client, users):
    for url in ("/users/", "/users/new/", f"/users/{users['guali'].pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# -- the API ----------------------------------------------------------------------------------------------

def api_user(**overrides):
    data = {"username": "newbie", "password": STRONG, "org_unit": "330109", "role": "editor",
            "first_name": "新同事", "email": "newbie@example.org"}
    data.update(overrides)
    return data


def test_api_create_user_in_the_subtree(api_for, users):
    response = api_for("hangzhou").post("/api/users/", api_user(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "newbie"
    assert "password" not in body
    user = User.objects.get(username="newbie")
    assert user.check_password(STRONG)
    assert {e.action for e in AuditEntry.objects.all()} == {"user.create", "membership.grant"}
    assert AuditEntry.objects.filter(source="api").count() == 2
    assert_no_secret_in_audit(STRONG, user.password)


@pytest.mark.parametrize("code", ["52", "33"])
def test_api_create_user_outside_the_subtree_is_403(api_for, code):
    response = api_for("hangzhou").post("/api/users/", api_user(org_unit=code), format="json", **EN)
    assert response.status_code == 403
    assert code in response.json()["detail"]
    assert not User.objects.filter(username="newbie").exists()
    assert not AuditEntry.objects.exists()


def test_api_cannot_appoint_system_admin(api_for):
    response = api_for("hangzhou").post("/api/users/", api_user(role="system_admin"), format="json")
    assert response.status_code == 403
    assert not User.objects.filter(username="newbie").exists()
    response = api_for("hangzhou").post("/api/memberships/", {"user": "guali", "org_unit": "330109113",
                                                              "role": "system_admin"}, format="json")
    assert response.status_code == 403
    assert not Membership.objects.filter(role="system_admin").exclude(user__username="admin").exists()


@pytest.mark.parametrize("password, word", [("short", "too short"), ("password123", "too common")])
def test_api_rejects_weak_passwords_with_a_message(api_for, users, password, word):
    api = api_for("hangzhou")
    response = api.post("/api/users/", api_user(password=password), format="json", **EN)
    assert response.status_code == 400
    assert word in json.dumps(response.json())
    assert not User.objects.filter(username="newbie").exists()
    response = api.patch(f"/api/users/{users['guali'].pk}/", {"password": password}, format="json", **EN)
    assert response.status_code == 400
    assert word in json.dumps(response.json())
    assert not AuditEntry.objects.exists()


def test_api_patch_is_all_or_nothing(api_for, users):
    guali = users["guali"]
    response = api_for("hangzhou").patch(f"/api/users/{guali.pk}/", {"first_name": "改名", "password": "short"},
                                         format="json")
    assert response.status_code == 400
    guali.refresh_from_db()
    assert guali.first_name == ""
    assert not AuditEntry.objects.exists()


def test_api_set_password_audited_without_the_password(api_for, users):
    guali = users["guali"]
    response = api_for("hangzhou").patch(f"/api/users/{guali.pk}/", {"password": STRONG}, format="json")
    assert response.status_code == 200
    guali.refresh_from_db()
    assert guali.check_password(STRONG)
    assert AuditEntry.objects.get().action == "user.password"
    assert_no_secret_in_audit(STRONG, guali.password)


def test_api_cannot_manage_a_user_who_also_works_outside(api_for, mixed):
    api = api_for("hangzhou")
    for data in ({"password": STRONG}, {"is_active": False}, {"email": "m@example.org"}):
        assert api.patch(f"/api/users/{mixed.pk}/", data, format="json").status_code == 404
    mixed.refresh_from_db()
    assert mixed.is_active and mixed.email == "" and not mixed.check_password(STRONG)
    assert not AuditEntry.objects.exists()


def test_api_users_outside_are_invisible(api_for, users, mixed):
    data = api_for("hangzhou").get("/api/users/", {"page_size": 1000}).json()
    names = {u["username"] for u in data["results"]}
    assert {"hangzhou", "xiaoshan", "jiande", "guali", "dayang", "guali_viewer"} <= names
    assert not names & {"zhejiang", "admin", "guizhou"}
    assert api_for("hangzhou").get(f"/api/users/{users['guizhou'].pk}/").status_code == 404


def test_api_editor_cannot_create_or_change_users(api_for, users):
    api = api_for("xiaoshan")
    assert api.post("/api/users/", api_user(), format="json").status_code == 403
    assert api.patch(f"/api/users/{users['guali'].pk}/", {"is_active": False}, format="json").status_code == 404
    assert api.post("/api/memberships/", {"user": "guali", "org_unit": "330109113", "role": "viewer"},
                    format="json").status_code == 403
    assert not AuditEntry.objects.exists()


def test_api_grant_and_revoke_membership(api_for, users):
    api = api_for("hangzhou")
    response = api.post("/api/memberships/", {"user": "guali", "org_unit": "330182107", "role": "viewer"},
                        format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert AuditEntry.objects.get(action="membership.grant").org_code == "330182107"
    duplicate = api.post("/api/memberships/", {"user": "guali", "org_unit": "330182107", "role": "viewer"},
                         format="json")
    assert duplicate.status_code == 400
    assert api.delete(f"/api/memberships/{pk}/").status_code == 204
    assert not Membership.objects.filter(pk=pk).exists()
    assert AuditEntry.objects.get(action="membership.revoke").changes["role"] == ["viewer", None]
    assert AuditEntry.objects.count() == 2


def test_api_grant_outside_the_subtree_or_to_an_outside_user_is_403(api_for, users):
    api = api_for("hangzhou")
    assert api.post("/api/memberships/", {"user": "guali", "org_unit": "52", "role": "viewer"},
                    format="json").status_code == 403
    # guizhou works in 52 only: hangzhou cannot pull them into 3301
    assert api.post("/api/memberships/", {"user": "guizhou", "org_unit": "3301", "role": "viewer"},
                    format="json").status_code == 403
    outside = Membership.objects.get(user__username="guizhou")
    assert api.delete(f"/api/memberships/{outside.pk}/").status_code == 404
    assert Membership.objects.filter(pk=outside.pk).exists()
    assert not AuditEntry.objects.exists()


def test_revoking_system_admin_needs_a_system_admin(users):
    membership = Membership.objects.get(user=users["admin"])
    with pytest.raises(PermissionDenied):
        services.revoke_membership(users["zhejiang"], membership)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_duplicate_username_is_a_validation_error(users):
    with pytest.raises(ValidationError) as exc:
        services.create_user(users["hangzhou"], "guali", STRONG, OrgUnit.objects.get(code="330109"), "editor")
    assert "username" in exc.value.message_dict


def test_api_cannot_grant_or_revoke_roles_of_a_user_who_also_works_outside(api_for, mixed):
    # The UI hides such a user (404); the membership API must not be a side door.
    api = api_for("hangzhou")
    response = api.post("/api/memberships/", {"user": "mixed", "org_unit": "3301", "role": "office_admin"},
                        format="json")
    assert response.status_code == 403
    inside = Membership.objects.get(user=mixed, org_unit_id="330109")
    assert api.delete(f"/api/memberships/{inside.pk}/").status_code == 403
    assert sorted(mixed.memberships.values_list("org_unit_id", flat=True)) == ["330109", "52"]
    assert not AuditEntry.objects.exists()
    # the system administrator can
    assert api_for("admin").delete(f"/api/memberships/{inside.pk}/").status_code == 204


def test_user_filters_only_look_at_visible_memberships(api_for, users):
    from townbrain.access.models import Membership

    # a user guali can see, who also works in 大洋镇
    both = users["guali_viewer"]
    Membership.objects.create(user=both, org_unit_id="330182107", role="editor")
    api = api_for("guali")
    assert both.username in {u["username"] for u in api.get("/api/users/").json()["results"]}
    assert api.get("/api/users/", {"under": "330182107"}).json()["count"] == 0
    editors = {u["username"] for u in api.get("/api/users/", {"role": "editor"}).json()["results"]}
    assert both.username not in editors  # guali_viewer is only a viewer where guali can look
