from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import codes
from .querysets import RestrictedManager, RestrictedQuerySet


class TimeStampedModel(models.Model):
    """Base of every domain model: timestamps here, change history in AuditEntry."""

    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWN = "town", _("Town")
    VILLAGE = "village", _("Village")


class TownKind(models.TextChoices):
    SUBDISTRICT = "subdistrict", _("Sub-district (街道)")
    TOWN = "town", _("Town (镇)")
    TOWNSHIP = "township", _("Township (乡)")
    OTHER = "other", _("Other")


class TownType(models.TextChoices):
    INDUSTRIAL = "industrial", _("Industrial")
    AGRI_TRADE = "agri_trade", _("Agricultural products trade")
    TOURISM = "tourism", _("Tourism")
    TRADE_LOGISTICS = "trade_logistics", _("Trade and logistics")
    AGRICULTURAL = "agricultural", _("Agricultural")
    CULTURE_TOURISM = "culture_tourism", _("Culture and tourism")
    OTHER = "other", _("Other")


class OrgUnit(TimeStampedModel):
    """A unit of the administrative tree, keyed by its statistical division code."""

    scope_field = "code"
    # Fields a town profile edit may change; the rest come from the national list.
    PROFILE_FIELDS = ("town_type", "population", "area_km2", "latitude", "longitude", "notes")

    code = models.CharField(_("division code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    town_kind = models.CharField(_("kind of town"), max_length=12, choices=TownKind.choices, blank=True)
    town_type = models.CharField(_("town type"), max_length=20, choices=TownType.choices, blank=True)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    area_km2 = models.DecimalField(_("area (km²)"), max_digits=12, decimal_places=2, null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Raised by one on every audited edit; the token of optimistic locking (core/conflicts.py).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = RestrictedManager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        indexes = [
            # text_pattern_ops lets PostgreSQL answer `code LIKE '3301%'` from the index
            # (the primary-key index uses the database collation and cannot). Ignored on SQLite.
            models.Index(fields=["code"], name="core_orgunit_code_prefix", opclasses=["text_pattern_ops"]),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def get_absolute_url(self):
        return reverse("orgunit-detail", args=[self.code])

    def clean(self):
        errors = {}
        if self.latitude is not None and not (-90 <= self.latitude <= 90):
            errors["latitude"] = _("Latitude must be between -90 and 90.")
        if self.longitude is not None and not (-180 <= self.longitude <= 180):
            errors["longitude"] = _("Longitude must be between -180 and 180.")
        if errors:
            raise ValidationError(errors)

    @property
    def ancestor_codes(self) -> list[str]:
        return codes.ancestors_of(self.code)

    def ancestors(self):
        """Ancestors top first, one query (their codes are prefixes of ours)."""
        return list(OrgUnit.objects.filter(code__in=self.ancestor_codes).order_by("code"))

    def subtree(self):
        return OrgUnit.objects.filter(code__startswith=self.code)


class AuditQuerySet(RestrictedQuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit rows cannot be changed")

    def delete(self):
        raise PermissionError("audit rows cannot be deleted")


class AuditEntry(models.Model):
    """One change, written by the service function that made it. Never edited, never deleted."""

    scope_field = "org_code"

    time = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # Users who acted are deactivated, never deleted: their trail must stay whole.
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(_("actor"), max_length=150)
    action = models.CharField(_("action"), max_length=64)  # indexed in Meta: a plain index, no LIKE twin
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    org_code = models.CharField(_("org unit"), max_length=12, blank=True)
    changes = models.JSONField(_("changes"), default=dict)
    source = models.CharField(_("source"), max_length=16)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    # The import that made the change (exchange's ImportBatch id) and the file row it came from: one
    # history serves the audit log and the import's undo (exchange/history.py). Not a foreign key: the
    # audit log belongs to no app and outlives what it names.
    import_batch = models.PositiveIntegerField(_("import"), null=True, blank=True)
    import_row = models.PositiveIntegerField(_("row"), null=True, blank=True)

    objects = models.Manager.from_queryset(AuditQuerySet)()

    class Meta:
        ordering = ["-time", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["object_type", "object_id", "-time"], name="core_audit_object"),
            models.Index(fields=["action"], name="core_audit_action"),
            models.Index(fields=["org_code"], name="core_audit_org_prefix", opclasses=["text_pattern_ops"]),
            # Only imported changes are indexed: the rest of the log pays nothing for it.
            models.Index(fields=["import_batch", "import_row", "id"], name="core_audit_import",
                         condition=models.Q(import_batch__isnull=False)),
        ]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("audit rows cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit rows cannot be deleted")
