from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from townbrain.core.querysets import RestrictedManager


class ImportBatch(models.Model):
    """One applied import: who, when, which file, what it did — and how to undo it."""

    scope_field = "org_code"

    class State(models.TextChoices):
        APPLIED = "applied", _("Applied")
        UNDONE = "undone", _("Undone")

    kind = models.CharField(_("kind"), max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(_("imported by"), max_length=150)
    created = models.DateTimeField(_("time"), auto_now_add=True)
    file_name = models.CharField(_("file name"), max_length=255)
    file_hash = models.CharField(_("SHA-256"), max_length=64)
    # The importer's area: whoever may view it may see the batch.
    org_code = models.CharField(_("org unit"), max_length=12, blank=True)
    counts = models.JSONField(_("counts"), default=dict)
    errors = models.JSONField(_("errors"), default=list)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.APPLIED)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self):
        return f"{self.kind} {self.file_name} ({self.created:%Y-%m-%d %H:%M})"


class ImportChange(models.Model):
    """What one row of a batch did to one object, with the values it replaced (for undo)."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="changes")
    row = models.PositiveIntegerField(_("row"))
    action = models.CharField(_("action"), max_length=10)  # created / updated
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.CharField(_("object id"), max_length=64)
    before = models.JSONField(_("before"), null=True, blank=True)

    class Meta:
        ordering = ["batch_id", "id"]

    def __str__(self):
        return f"{self.batch_id} row {self.row}: {self.action} {self.object_type} {self.object_id}"
