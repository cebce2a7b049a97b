"""Which org subtrees a user may act on. The single source for `restrict()` and `require()`."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext as _

from .roles import Role, grants

ALL = object()  # sentinel: no restriction (system administrators)

# Roles a user holds without a membership, given by the apps above (each registers a function in its
# AppConfig.ready()): user -> [(division code, role)]. The experts app gives an expert's login the
# role `expert` over the towns of the expert's current assignments, so an expert's scope is read here
# like anybody else's and ends with the assignment.
_providers: list = []


def register(provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def held_roles(user) -> list[tuple[str, str]]:
    """(division code, role) of every role `user` holds: memberships, then the registered providers.

    Memberships live in the access app; we read them through the reverse relation
    `user.memberships` so core never imports a higher floor. Cached on the user object for the request.
    """
    if "_townbrain_roles" not in user.__dict__:
        rows = list(user.memberships.values_list("org_unit_id", "role"))
        if not any(role == Role.SYSTEM_ADMIN for _code, role in rows):  # everything already: ask no more
            for provider in _providers:
                rows += provider(user)
        user.__dict__["_townbrain_roles"] = rows
    return user.__dict__["_townbrain_roles"]


def scope_prefixes(user, action: str):
    """Return ALL, or the minimal set of division-code prefixes on which `user` may do `action`.

    The result is cached on the user object for the request.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cache = user.__dict__.setdefault("_townbrain_scope", {})
    if action in cache:
        return cache[action]
    if user.is_superuser:
        cache[action] = ALL
        return ALL
    rows = held_roles(user)
    if any(role == Role.SYSTEM_ADMIN for _code, role in rows):
        cache[action] = ALL
        return ALL
    codes = sorted({code for code, role in rows if grants(role, action)})
    # Drop codes already covered by a shorter prefix: 3301 covers 330109.
    minimal: list[str] = []
    for code in codes:
        if not any(code.startswith(p) for p in minimal):
            minimal.append(code)
    cache[action] = set(minimal)
    return cache[action]


def scope_q(user, action: str, code_field: str) -> Q | None:
    """A Q limiting `code_field` to the user's subtrees; None means no limit."""
    prefixes = scope_prefixes(user, action)
    if prefixes is ALL:
        return None
    q = Q(pk__in=[])
    for p in prefixes:
        q |= Q(**{f"{code_field}__startswith": p})
    return q


def allows(user, action: str, code: str) -> bool:
    prefixes = scope_prefixes(user, action)
    return prefixes is ALL or any(code.startswith(p) for p in prefixes)


def require(user, action: str, code: str) -> None:
    """Raise PermissionDenied, with a reason the user can read, unless `user` may `action` at `code`."""
    if not allows(user, action, code):
        raise PermissionDenied(
            _("You may not %(action)s data of org unit %(code)s: it is outside your area.")
            % {"action": action_label(action), "code": code}
        )


def action_label(action: str) -> str:
    labels = {
        "view": _("view"),
        "add": _("add"),
        "change": _("change"),
        "delete": _("delete"),
        "manage": _("manage"),
        "contact": _("see contact details in"),
        "record": _("record"),
    }
    return labels[action]


def is_office(user) -> bool:
    """Whether `user` works for an office: holds a role that shows contact details somewhere. Experts
    (and users without any role) do not; their home is the expert's page, not the cockpit."""
    return bool(scope_prefixes(user, "contact"))


def forget(user) -> None:
    """Drop the cached scope (after memberships or an expert's assignments change within a request)."""
    if user is not None:
        user.__dict__.pop("_townbrain_scope", None)
        user.__dict__.pop("_townbrain_roles", None)


class SystemActor:
    """The actor for CLI maintenance commands run by the machine's operator (init, demo, load-divisions).

    It has every right; audit rows name it "system" plus the command in their source.
    """

    pk = None
    username = "system"
    is_authenticated = True
    is_active = True
    is_superuser = True

    def __str__(self):
        return "system"


SYSTEM = SystemActor()
