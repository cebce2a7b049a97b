"""The monthly reporting cycle (填报 → 提交 → 审核 → 锁定): deadlines as data and one Submission per
town × programme × kind of report × period. See docs/reporting.md."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager
from townbrain.programmes.models import Programme


class Kind(models.TextChoices):
    PROGRESS = "progress", _("Monthly progress reports (月报)")
    VALUES = "values", _("Indicator values")


class Status(models.TextChoices):
    # empty and entering are what a town without a Submission row is (no reports / some reports).
    EMPTY = "empty", _("Not reported (未填报)")
    ENTERING = "entering", _("Being entered (填报中)")
    SUBMITTED = "submitted", _("Submitted (已提交)")
    APPROVED = "approved", _("Approved (已审核)")
    LOCKED = "locked", _("Locked (已锁定)")
    RETURNED = "returned", _("Returned (退回)")


# The statuses that refuse changes to the period's figures (core/locks.py); submitted only to the town itself.
LOCKING = (Status.SUBMITTED, Status.APPROVED, Status.LOCKED)


class DeadlineRule(TimeStampedModel):
    """“Day N of the month after the period”, per programme (none: every programme) and kind of report."""

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.CASCADE,
                                  null=True, blank=True, related_name="deadline_rules")
    kind = models.CharField(_("kind of report"), max_length=10, choices=Kind.choices, default=Kind.PROGRESS)
    day = models.PositiveSmallIntegerField(_("day of the following month"),
                                           validators=[MinValueValidator(1), MaxValueValidator(28)])

    class Meta:
        ordering = ["programme_id", "kind"]
        verbose_name = _("deadline rule")
        verbose_name_plural = _("deadline rules")
        constraints = [models.UniqueConstraint(fields=["programme", "kind"], name="reporting_rule_unique")]

    def __str__(self):
        return f"{self.programme or '*'} {self.kind}: {self.day}"


class DeadlineOverride(TimeStampedModel):
    """A single period's own deadline (a holiday, a provincial deadline brought forward)."""

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.CASCADE,
                                  null=True, blank=True, related_name="deadline_overrides")
    kind = models.CharField(_("kind of report"), max_length=10, choices=Kind.choices, default=Kind.PROGRESS)
    period = models.CharField(_("period"), max_length=7)
    due = models.DateField(_("deadline"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["period", "programme_id", "kind"]
        verbose_name = _("deadline override")
        verbose_name_plural = _("deadline overrides")
        constraints = [models.UniqueConstraint(fields=["programme", "kind", "period"], name="reporting_override_unique")]

    def __str__(self):
        return f"{self.programme or '*'} {self.kind} {self.period}: {self.due}"


class Submission(TimeStampedModel):
    """Where a town's reports of one programme and period stand in the cycle. No row = empty or
    being entered (read from the reports themselves); the steps write the row."""

    scope_field = "town__code"

    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="submissions")
    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT,
                                  related_name="submissions")
    kind = models.CharField(_("kind of report"), max_length=10, choices=Kind.choices, default=Kind.PROGRESS)
    period = models.CharField(_("period"), max_length=7)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ENTERING)
    deadline = models.DateField(_("deadline"), null=True, blank=True)  # as it stood when first submitted
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)  # the first submission counts
    late_days = models.PositiveIntegerField(_("working days late"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_level = models.CharField(_("approved by"), max_length=10, blank=True)  # county, city, province
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    returned_count = models.PositiveSmallIntegerField(_("times returned"), default=0)
    comment = models.CharField(_("comment"), max_length=500, blank=True)  # why it was returned / unlocked
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    objects = RestrictedManager()

    class Meta:
        ordering = ["period", "town_id"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        constraints = [models.UniqueConstraint(fields=["town", "programme", "kind", "period"],
                                               name="reporting_submission_unique")]
        indexes = [models.Index(fields=["programme", "kind", "period", "status"], name="reporting_sub_period"),
                   models.Index(fields=["town", "period"], name="reporting_sub_town"),
                   # restrict() filters on a prefix of the town code: PostgreSQL needs the pattern opclass.
                   models.Index(fields=["town"], name="reporting_sub_town_prefix", opclasses=["text_pattern_ops"])]

    def __str__(self):
        return f"{self.town_id} {self.programme_id} {self.kind} {self.period}: {self.status}"


class Reminder(models.Model):
    """A reminder sent (in the app and by e-mail): kept so `townbrain reporting remind` sends each once."""

    scope_field = "town__code"

    class Stage(models.TextChoices):
        BEFORE = "before", _("Before the deadline")
        LATE = "late", _("After the deadline")

    town = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PROGRESS)
    period = models.CharField(max_length=7)
    stage = models.CharField(max_length=10, choices=Stage.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reporting_reminders")
    message = models.CharField(_("message"), max_length=300)
    url = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent at"))

    objects = RestrictedManager()

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["town", "programme", "kind", "period", "stage", "user"],
                                               name="reporting_reminder_once")]

    def __str__(self):
        return self.message
