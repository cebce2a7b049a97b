from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit
from townbrain.core.querysets import RestrictedManager


class ImportBatch(models.Model):
    """One applied import: who, when, which file, what it did. Its changes are the audit rows that carry
    its id (exchange/history.py): the import's page and its undo read them."""

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
    warnings = models.JSONField(_("warnings"), default=list)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.APPLIED)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self):
        return f"{self.kind} {self.file_name} ({self.created:%Y-%m-%d %H:%M})"


class DataWarning(models.Model):
    """A record that is valid but incomplete or unusual (a warning rule of exchange/quality.py), kept
    until the record no longer has the problem: the data-quality list an office works through.

    One row per (record, rule): a problem fixed is resolved (resolved_at), one that comes back is
    reopened with a new first_seen. `town` is the record's town, so the list is scoped like the record."""

    scope_field = "town__code"

    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.CASCADE, related_name="+")
    rule = models.CharField(_("rule"), max_length=40)
    column = models.CharField(_("column"), max_length=40)
    value = models.CharField(_("value"), max_length=200, blank=True)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last checked"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # The import that first brought the problem in (none when a page or a check found it).
    batch = models.ForeignKey(ImportBatch, verbose_name=_("import"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="data_warnings")

    objects = RestrictedManager()

    class Meta:
        ordering = ["town_id", "object_type", "object_id", "rule"]
        verbose_name = _("data warning")
        verbose_name_plural = _("data warnings")
        constraints = [models.UniqueConstraint(fields=["object_type", "object_id", "rule"],
                                               name="exchange_datawarning_one_per_rule")]
        indexes = [
            models.Index(fields=["town"], name="exchange_warning_town_prefix", opclasses=["text_pattern_ops"]),
            models.Index(fields=["object_type", "object_id"], name="exchange_warning_object"),
        ]

    def __str__(self):
        return f"{self.object_repr}: {self.rule}"

    def get_absolute_url(self) -> str:
        from .quality import SUBJECTS

        subject = SUBJECTS.get(self.object_type)
        return reverse(subject.url_name, args=[self.object_id]) if subject else ""

    @property
    def rule_def(self):
        from .quality import BY_CODE

        return BY_CODE.get(self.rule)

    @property
    def message(self) -> str:
        rule = self.rule_def
        return rule.text({"value": self.value or "—"}) if rule else self.rule

    @property
    def kind_label(self) -> str:
        from .quality import SUBJECTS

        subject = SUBJECTS.get(self.object_type)
        return str(subject.label) if subject else self.object_type
