"""Which user accounts an actor may see or manage (users are placed in the tree by their memberships)."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from townbrain.core.scope import scope_q

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
