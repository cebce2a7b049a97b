"""Which user accounts an actor may see or manage (users are placed in the tree by their memberships,
and by the places other apps register: an expert's login at the office that keeps the expert's record)."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import ALL, scope_prefixes, scope_q

from .models import Membership

# Places of accounts kept by the apps above, registered in their AppConfig.ready():
# (a function giving the rows that place accounts, the rows' user id field, their division code field).
_placements: list[tuple] = []


def register_placement(rows, user_field: str, code_field: str) -> None:
    entry = (rows, user_field, code_field)
    if entry not in _placements:
        _placements.append(entry)


def placements():
    """(rows, user id field, code field) of every place an account can have: memberships first."""
    yield Membership.objects.all(), "user_id", "org_unit__code"
    for rows, user_field, code_field in _placements:
        yield rows(), user_field, code_field


def restrict_users(actor, action: str = "view"):
    """Users visible to `actor` ("view") or manageable by it ("manage").

    view:   users placed inside the subtrees where the actor sees contact details (an account shows
            its e-mail: offices only, never an expert), and the actor itself.
    manage: users whose places ALL lie inside the actor's managed subtrees, never superusers,
            so a county office cannot reset the password of a province user.
    """
    User = get_user_model()
    users = User.objects.all()
    right = "manage" if action != "view" else "contact"
    if scope_prefixes(actor, right) is ALL:
        return users
    inside, outside = Q(pk__in=[]), Q(pk__in=[])
    for rows, user_field, code_field in placements():
        q = scope_q(actor, right, code_field)
        inside |= Q(pk__in=rows.filter(q).values(user_field))
        outside |= Q(pk__in=rows.exclude(q).values(user_field))
    if action == "view":
        return users.filter(inside | Q(pk=getattr(actor, "pk", None)))
    return users.filter(inside, is_superuser=False).exclude(outside)


def home_code(user) -> str:
    """The org code a user's audit rows are filed under: their highest place (membership, or an expert's office)."""
    codes = [code for rows, user_field, code_field in placements()
             for code in rows.filter(**{user_field: user.pk}).values_list(code_field, flat=True)]
    return min(codes, key=len) if codes else ""


def default_org(user) -> str:
    """Where the user works: their top unit (a system administrator: their membership, else the first province)."""
    prefixes = scope_prefixes(user, "view")
    if prefixes is ALL:
        code = home_code(user) if hasattr(user, "memberships") else ""
        if code:
            return code
        return OrgUnit.objects.filter(level=Level.PROVINCE).order_by("code").values_list("code", flat=True).first() or ""
    return sorted(prefixes, key=lambda c: (len(c), c))[0] if prefixes else ""
