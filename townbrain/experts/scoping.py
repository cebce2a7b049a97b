"""An expert's login (一库三师 as users): its scope, its place among the accounts, and whose contacts it sees.

- **Scope.** `assigned_roles` is registered with core/scope.py (ready()): a login linked to an active
  expert holds the role `expert` over each town of the expert's *current* assignments (`since` ≤ today ≤
  `until`, either open). So `restrict()` shows such a login those towns and nothing else, and the scope
  ends with the assignment. The role grants "view" and "record" (core/roles.py); what an expert may
  change of what they recorded is `services.may_write`.
- **Place.** The login is placed at the office that keeps the expert's record (`home`), registered with
  access/scoping.py: that office's administrators manage it (password, deactivation) like their users.
- **Contacts.** An expert's phone and e-mail show to whoever holds the right "contact" at the expert's
  office (offices, never experts) and to the expert themselves; everybody else reads them masked.
"""

from django.db.models import Q
from django.utils import timezone

from townbrain.core.privacy import mask_email, mask_phone
from townbrain.core.roles import Role
from townbrain.core.scope import allows

from .models import Expert, ExpertAssignment


def current(today=None) -> Q:
    """Assignments whose period covers `today` (default: today): started, and not ended before it."""
    today = today or timezone.localdate()
    return (Q(since__isnull=True) | Q(since__lte=today)) & (Q(until__isnull=True) | Q(until__gte=today))


def current_assignments(expert: Expert):
    return ExpertAssignment.objects.filter(current(), expert=expert).select_related("town")


def assigned_roles(user) -> list[tuple[str, str]]:
    """(town, `expert`) for each town of the current assignments of the active expert linked to `user`."""
    if getattr(user, "pk", None) is None:
        return []
    towns = (ExpertAssignment.objects.filter(current(), expert__user_id=user.pk, expert__active=True)
             .values_list("town_id", flat=True).distinct())
    return [(code, Role.EXPERT) for code in towns]


def linked_logins():
    """The experts that place a login (access/scoping.py: at the expert's office)."""
    return Expert.objects.filter(user__isnull=False)


def expert_of(user) -> Expert | None:
    """The expert `user` logs in as, or None."""
    if getattr(user, "pk", None) is None:
        return None
    return Expert.objects.filter(user_id=user.pk).select_related("home").first()


def shows_contact(user, expert: Expert) -> bool:
    own = expert.user_id is not None and expert.user_id == getattr(user, "pk", None)
    return own or allows(user, "contact", expert.home_id)


def contact(user, expert: Expert) -> dict:
    """The expert's phone and e-mail as `user` may read them: in full, or masked (138****1234, w***@x.cn)."""
    if shows_contact(user, expert):
        return {"phone": expert.phone, "email": expert.email}
    return {"phone": mask_phone(expert.phone), "email": mask_email(expert.email)}
