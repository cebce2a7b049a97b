"""Programmes as data: 美丽城镇, 小城市培育试点, 特色小镇, 示范小城镇, 城乡区域统筹 ship as fixtures."""

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager


class Programme(TimeStampedModel):
    """Reference data visible to every signed-in user; changed only by system administrators."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")

    def __str__(self):
        return self.name


class Category(models.Model):
    """A project/indicator category of a programme (五美, 十个统筹 ...)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="categories")
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["programme_id", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["programme", "code"], name="programmes_category_unique")]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return self.name


class ProgrammeRole(models.Model):
    """The role a town plays in a programme (样板创建 / 达标; 创建 / 培育)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="roles")
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["programme_id", "id"]
        constraints = [models.UniqueConstraint(fields=["programme", "code"], name="programmes_role_unique")]
        verbose_name = _("programme role")
        verbose_name_plural = _("programme roles")

    def __str__(self):
        return self.name


class Batch(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="batches")
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)

    class Meta:
        ordering = ["programme_id", "year", "id"]
        constraints = [models.UniqueConstraint(fields=["programme", "code"], name="programmes_batch_unique")]
        verbose_name = _("batch")
        verbose_name_plural = _("batches")

    def __str__(self):
        return self.name


class Enrolment(TimeStampedModel):
    """A town in a programme: its batch, its role, the year it joined and (maybe) left."""

    scope_field = "town__code"

    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="enrolments")
    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT,
                                  related_name="enrolments")
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True)
    role = models.ForeignKey(ProgrammeRole, verbose_name=_("role"), on_delete=models.PROTECT, null=True, blank=True)
    year_joined = models.PositiveSmallIntegerField(_("year joined"), validators=[MinValueValidator(1990)])
    exit_year = models.PositiveSmallIntegerField(_("exit year"), null=True, blank=True)
    # Set by a grade's consequence (e.g. a 小城市 graded 警告 twice), never typed in: see EnrolmentEvent.
    flagged_year = models.PositiveSmallIntegerField(_("flagged in"), null=True, blank=True)
    flag_reason = models.CharField(_("flag"), max_length=200, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["programme_id", "town_id"]
        constraints = [models.UniqueConstraint(fields=["town", "programme"], name="programmes_enrolment_unique")]
        indexes = [models.Index(fields=["town"], name="programmes_enrol_town_prefix",
                                opclasses=["text_pattern_ops"])]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")

    def __str__(self):
        return f"{self.town.name} · {self.programme.name}"


class EnrolmentEvent(TimeStampedModel):
    """What happened to an enrolment because of a grade: the history the enrolment page and API show.

    ``year`` is the first year the change holds: a 特色小镇 graded 降格 in the 2020 run is on the 培育
    list from 2021 (kind ``role``, year 2021), one graded 淘汰 in 2020 is out from 2021 (kind
    ``exit``); a flag holds from the year of the run that raised it. An enrolment's ``role`` is its
    role now; the role it had in an earlier year is the ``role_before`` of the first later role
    event (``roles_in_year``), so re-running an old year assesses the town as it was then.
    """

    class Kind(models.TextChoices):
        ROLE = "role", _("Moved to another list")
        EXIT = "exit", _("Left the programme")
        FLAG = "flag", _("Flagged")

    scope_field = "town__code"

    enrolment = models.ForeignKey(Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT,
                                  related_name="events")
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="+")
    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("from year"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    role_before = models.ForeignKey(ProgrammeRole, verbose_name=_("role before"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    role_after = models.ForeignKey(ProgrammeRole, verbose_name=_("role after"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    reason = models.CharField(_("reason"), max_length=200)
    source = models.CharField(_("source"), max_length=200, blank=True,
                              help_text=_("What decided it, e.g. the assessment run."))

    objects = RestrictedManager()

    class Meta:
        ordering = ["enrolment_id", "year", "id"]
        constraints = [models.UniqueConstraint(fields=["enrolment", "kind", "year"],
                                               name="programmes_event_once_a_year")]
        indexes = [models.Index(fields=["programme", "kind", "year"], name="programmes_event_lookup")]
        verbose_name = _("enrolment event")
        verbose_name_plural = _("enrolment events")

    def __str__(self):
        return f"{self.town_id} {self.year} {self.get_kind_display()}"


def roles_in_year(programme, year: int) -> dict[str, str]:
    """{town code: role code} for the towns whose role in `year` differs from their role now.

    One query over the programme's role events after `year`; for each town the first such event
    tells the role it had until then ("" when it had none).
    """
    earlier: dict[str, str] = {}
    rows = (EnrolmentEvent.objects.filter(programme=programme, kind=EnrolmentEvent.Kind.ROLE, year__gt=year)
            .order_by("town_id", "year", "id").values_list("town_id", "role_before__code"))
    for town, role in rows:
        earlier.setdefault(town, role or "")
    return earlier


class Target(TimeStampedModel):
    """A yearly target of an org unit in a programme, e.g. 投资 ≥ 1,000,000 万元 (“三个百亿”) or a named status."""

    scope_field = "org_unit__code"

    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT,
                                 related_name="targets")
    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField(_("year"))
    measure = models.SlugField(_("measure"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    target_value = models.DecimalField(_("target"), max_digits=16, decimal_places=2, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    target_text = models.CharField(_("named target"), max_length=100, blank=True)
    actual_value = models.DecimalField(_("actual"), max_digits=16, decimal_places=2, null=True, blank=True)
    actual_text = models.CharField(_("named status reached"), max_length=100, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["org_unit_id", "programme_id", "year", "measure"]
        constraints = [models.UniqueConstraint(fields=["org_unit", "programme", "year", "measure"],
                                               name="programmes_target_unique")]
        verbose_name = _("target")
        verbose_name_plural = _("targets")

    def __str__(self):
        return f"{self.org_unit.name} {self.year} {self.label}"

    @property
    def gap(self):
        """How far the actual is below the target (0 when reached; None when either is unknown)."""
        if self.target_value is None or self.actual_value is None:
            return None
        return max(self.target_value - self.actual_value, 0)
