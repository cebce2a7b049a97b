from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit
from townbrain.core.querysets import RestrictedManager
from townbrain.core.roles import Role


class Membership(models.Model):
    """A user's role over an org unit's whole subtree."""

    scope_field = "org_unit__code"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["org_unit_id", "role"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "org_unit", "role"], name="access_membership_unique"),
        ]
        indexes = [
            models.Index(fields=["org_unit"], name="access_membership_org_prefix", opclasses=["text_pattern_ops"]),
        ]

    def __str__(self):
        return f"{self.user} · {self.org_unit.name} · {self.get_role_display()}"
