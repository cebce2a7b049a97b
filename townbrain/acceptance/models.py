"""Provincial acceptance (省级验收): a checklist per town, evidence, and the approval chain.

An Acceptance is one town's acceptance in a programme for a year. Its checklist comes from the
assessment scheme (the binding criteria, 约束性指标, with the value the indicators give) and
from the programme's facility list ("十个一" for 美丽城镇, `facilities.yaml`). The town answers
each item (met / not met / not applicable) and uploads evidence; then the acceptance climbs
town → county → city → province; any reviewer may send it back (退回整改). The province signs
it off with an outcome taken from the scheme's grade bands, and the acceptance is frozen: the
services, the models and the database refuse every change from then on.
"""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.assessments.models import Scheme
from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager
from townbrain.programmes.models import Programme

FROZEN_MESSAGE = "a frozen (signed-off) acceptance cannot be changed"


class Stage(models.TextChoices):
    TOWN = "town", _("Town self-assessment (乡镇自评)")
    COUNTY = "county", _("County review (县级初审)")
    CITY = "city", _("City review (市级复核)")
    PROVINCE = "province", _("Province review (省级验收)")
    SIGNED = "signed", _("Signed off (已验收)")
    RETURNED = "returned", _("Returned for correction (退回整改)")


class Acceptance(TimeStampedModel):
    scope_field = "town__code"

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT,
                                  related_name="+")
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="acceptances")
    year = models.PositiveSmallIntegerField(_("year"))
    scheme = models.ForeignKey(Scheme, verbose_name=_("scheme"), on_delete=models.PROTECT, related_name="acceptances")
    scheme_version = models.PositiveIntegerField(_("scheme version"))
    snapshot = models.JSONField(_("scheme as used"), default=dict)
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices, default=Stage.TOWN)
    outcome = models.CharField(_("outcome"), max_length=30, blank=True)
    frozen = models.BooleanField(_("frozen"), default=False)
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)
    values_read_at = models.DateTimeField(_("values read at"), null=True, blank=True)
    opened_by_name = models.CharField(_("opened by"), max_length=150, blank=True)
    # Raised by one on every audited edit; the token of optimistic locking (core/conflicts.py).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-year", "town_id", "id"]
        verbose_name = _("acceptance")
        verbose_name_plural = _("acceptances")
        constraints = [models.UniqueConstraint(fields=["programme", "town", "year"],
                                               name="acceptance_acceptance_unique")]
        indexes = [models.Index(fields=["town"], name="acceptance_town_prefix",
                                opclasses=["text_pattern_ops"])]

    def __str__(self):
        return f"{self.town.name} {self.year} {self.snapshot.get('name') or self.programme_id}"

    def get_absolute_url(self):
        return reverse("acceptance-detail", args=[self.pk])

    def save(self, *args, **kwargs):
        if self._frozen_in_db():
            raise PermissionError(FROZEN_MESSAGE)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._frozen_in_db():
            raise PermissionError(FROZEN_MESSAGE)
        return super().delete(*args, **kwargs)

    def _frozen_in_db(self) -> bool:
        return self.pk is not None and type(self).objects.filter(pk=self.pk, frozen=True).exists()

    @property
    def grade_names(self) -> list[str]:
        return [g["name"] for g in self.snapshot.get("grades", [])]


class _PartOfAcceptance(models.Model):
    """Rows inside an acceptance: unchangeable once the acceptance is frozen."""

    scope_field = "acceptance__town__code"

    objects = RestrictedManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._acceptance_frozen():
            raise PermissionError(FROZEN_MESSAGE)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._acceptance_frozen():
            raise PermissionError(FROZEN_MESSAGE)
        return super().delete(*args, **kwargs)

    def _acceptance_frozen(self) -> bool:
        return Acceptance.objects.filter(pk=self.acceptance_id, frozen=True).exists()


class ChecklistItem(_PartOfAcceptance):
    class Group(models.TextChoices):
        BINDING = "binding", _("Binding indicator (约束性指标)")
        FACILITY = "facility", _("Facility (十个一设施)")

    class Answer(models.TextChoices):
        MET = "met", _("Met (达标)")
        NOT_MET = "not_met", _("Not met (未达标)")
        NOT_APPLICABLE = "na", _("Not applicable (不适用)")

    class Verdict(models.TextChoices):
        AGREE = "agree", _("Agreed (认可)")
        DISAGREE = "disagree", _("Not agreed (不认可)")

    acceptance = models.ForeignKey(Acceptance, on_delete=models.CASCADE, related_name="items")
    group = models.CharField(_("group"), max_length=10, choices=Group.choices)
    code = models.CharField(_("code"), max_length=60)
    label = models.CharField(_("item"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    criterion_code = models.CharField(_("criterion"), max_length=60, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    value = models.FloatField(_("value from the indicators"), null=True, blank=True)
    value_met = models.BooleanField(_("value meets the criterion"), null=True, blank=True)
    answer = models.CharField(_("self-assessment"), max_length=10, choices=Answer.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    verdict = models.CharField(_("reviewer's verdict"), max_length=10, choices=Verdict.choices, blank=True)
    verdict_note = models.TextField(_("reviewer's note"), blank=True)
    verdict_stage = models.CharField(_("verdict given at"), max_length=10, choices=Stage.choices, blank=True)
    verdict_by_name = models.CharField(_("verdict given by"), max_length=150, blank=True)

    class Meta:
        ordering = ["acceptance_id", "order", "id"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        constraints = [models.UniqueConstraint(fields=["acceptance", "group", "code"],
                                               name="acceptance_item_unique")]

    def __str__(self):
        return self.label


def evidence_path(instance, filename) -> str:
    """evidence/<acceptance id>/<random>.<extension of the detected type> (the upload's name is never used)."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"evidence/{instance.acceptance_id}/{secrets.token_hex(16)}.{extension}"


class Evidence(_PartOfAcceptance):
    acceptance = models.ForeignKey(Acceptance, on_delete=models.CASCADE, related_name="evidence")
    item = models.ForeignKey(ChecklistItem, verbose_name=_("checklist item"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(_("file"), upload_to=evidence_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    uploaded_by_name = models.CharField(_("uploaded by"), max_length=150, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        ordering = ["acceptance_id", "uploaded_at", "id"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")

    def __str__(self):
        return self.original_name

    def get_absolute_url(self):
        return reverse("acceptance-evidence", args=[self.pk])

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class Step(_PartOfAcceptance):
    """One move along the approval chain (审核记录): who, when, from where to where, and why."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Submitted (提交)")
        APPROVE = "approve", _("Approved (审核通过)")
        RETURN = "return", _("Returned for correction (退回整改)")
        SIGN_OFF = "sign_off", _("Signed off (验收签发)")

    acceptance = models.ForeignKey(Acceptance, on_delete=models.CASCADE, related_name="steps")
    from_stage = models.CharField(_("from"), max_length=10, choices=Stage.choices)
    to_stage = models.CharField(_("to"), max_length=10, choices=Stage.choices)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    comment = models.TextField(_("comment"), blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(_("actor"), max_length=150)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["acceptance_id", "at", "id"]
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")

    def __str__(self):
        return f"{self.get_action_display()} {self.from_stage} → {self.to_stage}"
