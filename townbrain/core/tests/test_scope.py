"""Scope: a membership grants its role over the unit's whole subtree, and nothing above or beside it."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from townbrain.access.models import Membership
from townbrain.access.services import grant_membership, revoke_membership
from townbrain.core import audit
from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.core.scope import ALL, SYSTEM, allows, forget, require, scope_prefixes, scope_q
from townbrain.testing.tree import UNITS
from townbrain.testing.users import make_user

ALL_CODES = set(UNITS)


def codes_for(user, action="view"):
    return set(OrgUnit.objects.restrict(user, action).values_list("code", flat=True))


def under(prefix):
    return {c for c in ALL_CODES if c.startswith(prefix)}


# -- restrict() ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name, prefix",
    [("zhejiang", "33"), ("hangzhou", "3301"), ("xiaoshan", "330109"), ("jiande", "330182"),
     ("guali", "330109113"), ("dayang", "330182107"), ("guizhou", "52")],
)
def test_membership_grants_view_over_the_whole_subtree_including_the_unit(users, name, prefix):
    assert codes_for(users[name]) == under(prefix)


def test_town_editor_sees_own_town_and_its_village_only(users):
    assert codes_for(users["guali"]) == {"330109113", "330109113201"}
    # not the parent county, not a sibling town, not another county's town
    for code in ("330109", "330109001", "330182107", "33"):
        assert not allows(users["guali"], "view", code)


def test_system_admin_and_superuser_see_everything(users):
    assert scope_prefixes(users["admin"], "manage") is ALL
    assert codes_for(users["admin"]) == ALL_CODES
    superuser = make_user("root", is_superuser=True)  # no membership at all
    assert scope_prefixes(superuser, "delete") is ALL
    assert codes_for(superuser, "change") == ALL_CODES
    assert scope_q(superuser, "view", "code") is None


@pytest.mark.parametrize("action", ["view", "change", "manage"])
def test_anonymous_none_and_inactive_users_see_nothing(users, action):
    users["hangzhou"].is_active = False
    users["hangzhou"].save()
    for who in (AnonymousUser(), None, users["hangzhou"]):
        assert scope_prefixes(who, action) == set()
        assert codes_for(who, action) == set()
        assert not allows(who, action, "3301")
    inactive_admin = make_user("old_admin", "33", "system_admin", is_active=False)
    assert codes_for(inactive_admin) == set()


def test_user_without_memberships_sees_nothing(db, tree):
    assert codes_for(make_user("nobody")) == set()


def test_viewer_and_expert_cannot_change(users):
    viewer = users["guali_viewer"]
    assert codes_for(viewer, "view") == under("330109113")
    for action in ("add", "change", "delete", "manage"):
        assert codes_for(viewer, action) == set()
        with pytest.raises(PermissionDenied):
            require(viewer, action, "330109113")
    expert = make_user("expert", "3301", "expert")
    assert codes_for(expert) == under("3301")
    assert codes_for(expert, "change") == set()


def test_editor_changes_but_does_not_manage(users):
    assert codes_for(users["xiaoshan"], "change") == under("330109")
    assert scope_prefixes(users["xiaoshan"], "manage") == set()
    assert scope_prefixes(users["hangzhou"], "manage") == {"3301"}


def test_require_names_the_unit_and_the_action(users):
    with pytest.raises(PermissionDenied) as exc:
        require(users["guali"], "change", "330182107")
    assert "330182107" in str(exc.value)
    require(users["guali"], "change", "330109113201")  # inside: no exception
    with pytest.raises(ValueError):
        allows(users["guali"], "fly", "330109113")


# -- minimal prefixes ------------------------------------------------------------------------------

def test_prefixes_are_minimal(db, tree):
    user = make_user("multi", "3301", "viewer")
    Membership.objects.create(user=user, org_unit_id="330109", role="editor")
    Membership.objects.create(user=user, org_unit_id="330109113", role="editor")
    Membership.objects.create(user=user, org_unit_id="520111100", role="editor")
    assert scope_prefixes(user, "view") == {"3301", "520111100"}  # 330109… is covered by 3301
    # for "change" only the editor memberships count, and 330109113 lies under 330109
    assert scope_prefixes(user, "change") == {"330109", "520111100"}
    assert codes_for(user, "change") == under("330109") | {"520111100"}


def test_sibling_prefixes_both_kept(db, tree):
    user = make_user("two_towns", "330109113", "editor")
    Membership.objects.create(user=user, org_unit_id="330182107", role="editor")
    assert scope_prefixes(user, "view") == {"330109113", "330182107"}
    assert codes_for(user) == under("330109113") | {"330182107"}


def test_system_admin_membership_anywhere_means_all(db, tree):
    user = make_user("town_sysadmin", "330182107", "system_admin")
    assert scope_prefixes(user, "view") is ALL
    assert allows(user, "manage", "52")


# -- other restricted models use the same rule -------------------------------------------------------

def test_memberships_and_audit_rows_are_restricted_by_their_org_code(users):
    for code in ("330109113", "330182107", "52"):
        audit.record(SYSTEM, "orgunit.update", OrgUnit.objects.get(code=code), {"notes": ""}, {"notes": code},
                     org_code=code)
    assert set(AuditEntry.objects.restrict(users["hangzhou"]).values_list("org_code", flat=True)) == {
        "330109113", "330182107"}
    assert set(AuditEntry.objects.restrict(users["guali"]).values_list("org_code", flat=True)) == {"330109113"}
    assert AuditEntry.objects.restrict(AnonymousUser()).count() == 0
    assert AuditEntry.objects.restrict(users["admin"]).count() == 3
    seen = set(Membership.objects.restrict(users["xiaoshan"]).values_list("user__username", flat=True))
    assert seen == {"xiaoshan", "guali", "guali_viewer"}


# -- the cached scope follows membership changes -------------------------------------------------------

def test_scope_follows_grant_and_revoke(users):
    guali = users["guali"]
    assert not allows(guali, "view", "330182107")  # fills the cache
    membership = grant_membership(users["admin"], guali, OrgUnit.objects.get(code="330182107"), "viewer")
    assert allows(guali, "view", "330182107")
    assert not allows(guali, "change", "330182107")
    revoke_membership(users["admin"], membership)
    assert not allows(guali, "view", "330182107")


def test_forget_drops_the_cache(users):
    guali = users["guali"]
    assert scope_prefixes(guali, "view") == {"330109113"}
    Membership.objects.create(user=guali, org_unit_id="52", role="viewer")
    assert scope_prefixes(guali, "view") == {"330109113"}  # cached for the request
    forget(guali)
    assert scope_prefixes(guali, "view") == {"330109113", "52"}
