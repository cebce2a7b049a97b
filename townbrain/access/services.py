"""The one write path for users and memberships."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from townbrain.core import audit
from townbrain.core.models import OrgUnit
from townbrain.core.roles import Role
from townbrain.core.scope import ALL, forget, require, scope_prefixes
from townbrain.core.services import refuse_unknown

from .models import Membership
from .scoping import home_code, restrict_users

USER_FIELDS = ("username", "first_name", "email", "is_active")


def require_user(actor, user, action="manage"):
    if getattr(actor, "pk", None) == user.pk and action == "password":
        return
    if not restrict_users(actor, "manage").filter(pk=user.pk).exists():
        raise PermissionDenied(_("You may not manage user %(name)s: they work outside your area.") % {"name": user})


def _check_role(actor, role: str):
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role “%(role)s”.") % {"role": role}})
    if role == Role.SYSTEM_ADMIN and scope_prefixes(actor, "manage") is not ALL:
        raise PermissionDenied(_("Only a system administrator may appoint system administrators."))


def create_user(actor, username: str, password: str, org_unit: OrgUnit, role: str, *,
                first_name: str = "", email: str = ""):
    """Create an account with its first membership (every account belongs somewhere)."""
    require(actor, "manage", org_unit.code)
    _check_role(actor, role)
    with transaction.atomic():
        user = create_account(actor, username, password, org_unit.code, first_name=first_name, email=email)
        membership = Membership.objects.create(user=user, org_unit=org_unit, role=role)
        audit.record(actor, "membership.grant", membership, {}, _membership_state(membership),
                     org_code=org_unit.code)
    return user


def create_account(actor, username: str, password: str, org_code: str, *, first_name: str = "", email: str = ""):
    """Create an account without a role, audited under `org_code` (where the actor must manage users).

    `create_user` gives it its first membership; the experts app links it to an expert instead, whose
    current assignments are then its scope (and whose office its place: access/scoping.py)."""
    require(actor, "manage", org_code)
    User = get_user_model()
    user = User(username=username.strip(), first_name=first_name, email=email)
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save()
        audit.record(actor, "user.create", user, {}, audit.snapshot(user, USER_FIELDS), org_code=org_code)
    return user


def update_user(actor, user, **fields):
    refuse_unknown(fields, set(USER_FIELDS) - {"username"})
    require_user(actor, user)
    with transaction.atomic():
        before = audit.snapshot(user, USER_FIELDS)
        for name, value in fields.items():
            setattr(user, name, value)
        user.full_clean(exclude=["password"])
        after = audit.snapshot(user, USER_FIELDS)
        if after != before:
            user.save()
            audit.record(actor, "user.update", user, before, after, org_code=home_code(user))
    return user


def set_password(actor, user, password: str):
    """Set a password (an administrator for a user in their area, or a user for themselves)."""
    require_user(actor, user, "password")
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        # The password itself never enters the log; only the fact that it changed.
        audit.record(actor, "user.password", user, {"password": audit.SECRET}, {"password": audit.CHANGED},
                     org_code=home_code(user))
    return user


def _membership_state(m: Membership) -> dict:
    return {"user": m.user.username, "org_unit": m.org_unit_id, "role": m.role}


def grant_membership(actor, user, org_unit: OrgUnit, role: str) -> Membership:
    """Give `user` a role over `org_unit`'s subtree. The user must work only in the actor's area."""
    require(actor, "manage", org_unit.code)
    require_user(actor, user)
    _check_role(actor, role)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, org_unit=org_unit, role=role)
            audit.record(actor, "membership.grant", membership, {}, _membership_state(membership),
                         org_code=org_unit.code)
    except IntegrityError as exc:
        raise ValidationError(_("%(user)s already holds this role here.") % {"user": user}) from exc
    forget(user)
    return membership


def revoke_membership(actor, membership: Membership) -> None:
    require(actor, "manage", membership.org_unit_id)
    require_user(actor, membership.user)
    if membership.role == Role.SYSTEM_ADMIN:
        _check_role(actor, membership.role)
    with transaction.atomic():
        state = _membership_state(membership)
        audit.record(actor, "membership.revoke", membership, state, {}, org_code=membership.org_unit_id)
        membership.delete()
    forget(membership.user)
