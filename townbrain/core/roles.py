"""Roles and the actions each one grants over its org unit's whole subtree.

Kept in core (not access) because every restricted queryset needs it and core is the
ground floor: access stores memberships, core decides what they mean.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    OFFICE_ADMIN = "office_admin", _("Office administrator")
    EDITOR = "editor", _("Editor")
    VIEWER = "viewer", _("Viewer")
    EXPERT = "expert", _("Expert")


# "manage" covers users and memberships of the subtree. The audit log needs only "view":
# whoever may see an object may see who changed it (its history page and the log export).
# "contact": see people's contact details (experts' phones and e-mails, user accounts) — offices
# only, never an expert. "record": record expert activities and problems, changing only the ones
# one recorded oneself (experts/services.py says what is one's own); every role that adds has it.
ACTIONS = ("view", "add", "change", "delete", "manage", "contact", "record")

GRANTS: dict[str, frozenset[str]] = {
    Role.SYSTEM_ADMIN: frozenset(ACTIONS),
    Role.OFFICE_ADMIN: frozenset(ACTIONS),
    Role.EDITOR: frozenset({"view", "add", "change", "delete", "contact", "record"}),
    Role.VIEWER: frozenset({"view", "contact"}),
    Role.EXPERT: frozenset({"view", "record"}),
}


def grants(role: str, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return action in GRANTS.get(role, frozenset())
