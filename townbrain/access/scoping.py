"""Which user accounts an actor may see or manage (users are placed in the tree by their memberships)."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import ALL, scope_prefixes, scope_q

from .models import Membership


def restrict_users(actor, action: str = "view"):
    """Users visible to `actor` ("view") or manageable by it ("manage").

    view:   users holding a membership inside the actor's subtrees, and the actor itself.
    manage: users whose memberships ALL lie inside the actor's managed subtrees, never
            superusers, so a county office cannot reset the password of a province user.
    """
    User = get_user_model()
    users = User.objects.all()
    q = scope_q(actor, "manage" if action != "view" else "view", "org_unit__code")
    if q is None:
        return users
    inside = Membership.objects.filter(q).values("user_id")
    if action == "view":
        return users.filter(Q(pk__in=inside) | Q(pk=getattr(actor, "pk", None)))
    outside = Membership.objects.exclude(q).values("user_id")
    return users.filter(pk__in=inside, is_superuser=False).exclude(pk__in=outside)


def home_code(user) -> str:
    """The org code a user's audit rows are filed under: their highest membership."""
    codes = sorted(user.memberships.values_list("org_unit_id", flat=True), key=len)
    return codes[0] if codes else ""


def default_org(user) -> str:
    """Where the user works: their top unit (a system administrator: their membership, else the first province)."""
    prefixes = scope_prefixes(user, "view")
    if prefixes is ALL:
        code = home_code(user) if hasattr(user, "memberships") else ""
        if code:
            return code
        return OrgUnit.objects.filter(level=Level.PROVINCE).order_by("code").values_list("code", flat=True).first() or ""
    return sorted(prefixes, key=lambda c: (len(c), c))[0] if prefixes else ""
