"""Assessment schemes as data (考核办法), runs of a scheme over a programme's towns, and their results.

A Scheme holds criteria in groups (五美 …); each criterion takes a value (a formula over data
elements, or a figure the system keeps itself) and turns it into points by one scoring method.
A Run applies a scheme, as it stood (the snapshot), to the enrolled towns of one year; its
Results hold score, grade, ranks and a compact breakdown that `breakdown.expand()` turns into
sentences in the reader's language. A frozen run can no longer change (service, model and
database each refuse).
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from townbrain.core import codes
from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager, RestrictedQuerySet
from townbrain.core.scope import ALL, scope_prefixes
from townbrain.programmes.models import Programme


class Method(models.TextChoices):
    BANDS = "bands", _("Threshold bands")
    LINEAR = "linear", _("Linear between two bounds")
    PASS_FAIL = "pass_fail", _("Pass/fail (yes/no)")
    DEDUCTION = "deduction", _("Deduction per occurrence (扣分制)")
    BONUS = "bonus", _("Bonus points, capped (加分项)")


class RankScope(models.TextChoices):
    PROGRAMME = "programme", _("Programme")
    BATCH = "batch", _("Batch")
    ROLE = "role", _("Role")
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")


class ReferenceQuerySet(models.QuerySet):
    """Schemes are reference data: every signed-in user reads them; system administrators change them."""

    def restrict(self, user, action: str = "view"):
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if action == "view" or scope_prefixes(user, "manage") is ALL:
            return self
        return self.none()


class Scheme(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OFFICIAL = "official", _("Official")

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT,
                                  related_name="schemes")
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    version = models.PositiveIntegerField(_("version"), default=1)
    year_from = models.PositiveSmallIntegerField(_("first year"), null=True, blank=True)
    year_to = models.PositiveSmallIntegerField(_("last year"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    roles = models.JSONField(_("programme roles"), default=list, blank=True,
                             help_text=_("Codes of the programme roles the scheme applies to; empty: every town."))
    grades = models.JSONField(_("grade bands"), default=list,
                              help_text=_("Best first: [{name, min, en}]; the last band may have no minimum."))
    rank_scopes = models.JSONField(_("ranking scopes"), default=list, blank=True)
    rank_by = models.CharField(_("rank by"), max_length=10, default="score",
                               choices=[("score", _("Score")), ("grade", _("Grade, then score"))])
    bonus_cap = models.DecimalField(_("cap on all bonus points"), max_digits=8, decimal_places=2, null=True,
                                    blank=True)
    description = models.TextField(_("description"), blank=True)
    based_on = models.ForeignKey("self", verbose_name=_("copy of"), null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="drafts")
    consequences = models.JSONField(
        _("consequences of grades"), default=list, blank=True,
        help_text=_("[{grade, action: change_role | exit | flag, role, times}], applied after a run is frozen."))

    objects = models.Manager.from_queryset(ReferenceQuerySet)()

    class Meta:
        ordering = ["programme_id", "code"]
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")

    def __str__(self):
        return f"{self.name} (v{self.version})"

    def get_absolute_url(self):
        return reverse("assessment-scheme-detail", args=[self.code])

    def applies_to(self, year: int) -> bool:
        return (self.year_from is None or self.year_from <= year) and (self.year_to is None or year <= self.year_to)


class CriterionGroup(models.Model):
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="groups")
    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["scheme_id", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["scheme", "code"], name="assessments_group_unique")]
        verbose_name = _("criterion group")
        verbose_name_plural = _("criterion groups")

    def __str__(self):
        return self.name


class Criterion(models.Model):
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="criteria")
    group = models.ForeignKey(CriterionGroup, verbose_name=_("group"), on_delete=models.CASCADE, null=True,
                              blank=True, related_name="criteria")
    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    description = models.TextField(_("description"), blank=True)
    formula = models.TextField(_("formula"), blank=True, help_text=_("Over data elements, e.g. #{sewage_rate}."))
    system = models.CharField(_("system source"), max_length=40, blank=True,
                              help_text=_("A figure the system keeps itself, e.g. projects.start_rate."))
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    method = models.CharField(_("scoring method"), max_length=10, choices=Method.choices)
    params = models.JSONField(_("method parameters"), default=dict, blank=True)
    points = models.DecimalField(_("points"), max_digits=8, decimal_places=2,
                                 help_text=_("Full marks (for a bonus item: its cap)."))
    weight = models.DecimalField(_("weight"), max_digits=8, decimal_places=3, default=1)
    binding = models.BooleanField(_("binding (一票否决)"), default=False)
    veto = models.CharField(_("grade cap when failed"), max_length=30, blank=True)
    missing_as_zero = models.BooleanField(_("missing values count as 0"), default=False)

    class Meta:
        ordering = ["scheme_id", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["scheme", "code"], name="assessments_criterion_unique")]
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")

    def __str__(self):
        return f"{self.code} {self.name}"


class RunQuerySet(RestrictedQuerySet):
    """A run is seen by whoever sees part of its area or works inside it (a town sees its province's run).

    The results inside it are restricted on their own (Result.scope_field).
    """

    def restrict(self, user, action: str = "view"):
        prefixes = scope_prefixes(user, action)
        if prefixes is ALL:
            return self
        q = models.Q(pk__in=[])
        for p in prefixes:
            q |= models.Q(area__startswith=p)
            if action == "view":
                q |= models.Q(area__in=["", *codes.ancestors_of(p)])
        return self.filter(q)


class Run(TimeStampedModel):
    class Kind(models.TextChoices):
        OFFICIAL = "official", _("Official")
        WHAT_IF = "what_if", _("What-if")

    scope_field = "area"

    scheme = models.ForeignKey(Scheme, verbose_name=_("scheme"), on_delete=models.PROTECT, related_name="runs")
    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT,
                                  related_name="+")
    scheme_version = models.PositiveIntegerField(_("scheme version"))
    snapshot = models.JSONField(_("scheme as run"))
    year = models.PositiveSmallIntegerField(_("year"))
    area = models.CharField(_("area (division code)"), max_length=12, blank=True,
                            help_text=_("The towns under this code were assessed; empty: the whole country."))
    area_name = models.CharField(_("area"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OFFICIAL)
    based_on = models.ForeignKey("self", verbose_name=_("what-if of"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="what_ifs")
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_by_name = models.CharField(_("created by"), max_length=150, blank=True)
    frozen = models.BooleanField(_("frozen"), default=False)
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)
    frozen_by_name = models.CharField(_("frozen by"), max_length=150, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    seconds = models.FloatField(_("seconds taken"), default=0)

    objects = models.Manager.from_queryset(RunQuerySet)()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("assessment run")
        verbose_name_plural = _("assessment runs")
        indexes = [models.Index(fields=["area"], name="assessments_run_area_prefix",
                                opclasses=["text_pattern_ops"])]

    def __str__(self):
        label = self.snapshot.get("name") or self.scheme_id
        return f"{label} {self.year} #{self.pk}"

    def save(self, *args, **kwargs):
        if self._frozen_in_db():
            raise PermissionError("a frozen assessment run cannot be changed")
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("assessment-run-detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        if self._frozen_in_db():
            raise PermissionError("a frozen assessment run cannot be deleted")
        return super().delete(*args, **kwargs)

    def _frozen_in_db(self) -> bool:
        return self.pk is not None and type(self).objects.filter(pk=self.pk, frozen=True).exists()


class Result(models.Model):
    """One town's outcome in a run.

    `breakdown` is compact — {"values": [...], "points": [...], "errors": {code: message}} in the order of
    the run's snapshot — and `breakdown.expand()` gives value, points, full marks and why per criterion.
    """

    scope_field = "town__code"

    run = models.ForeignKey(Run, verbose_name=_("run"), on_delete=models.CASCADE, related_name="results")
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="+")
    score = models.DecimalField(_("score"), max_digits=9, decimal_places=2)
    grade = models.CharField(_("grade"), max_length=30)
    grade_index = models.PositiveSmallIntegerField(_("grade order"), default=0)
    rank = models.PositiveIntegerField(_("rank"))
    ranks = models.JSONField(_("ranks by scope"), default=dict)
    batch = models.CharField(_("batch"), max_length=30, blank=True)
    role = models.CharField(_("role"), max_length=30, blank=True)
    vetoes = models.JSONField(_("binding criteria failed"), default=list, blank=True)
    breakdown = models.JSONField(_("breakdown"), default=dict)

    objects = RestrictedManager()

    class Meta:
        ordering = ["run_id", "rank", "town_id"]
        verbose_name = _("assessment result")
        verbose_name_plural = _("assessment results")
        constraints = [models.UniqueConstraint(fields=["run", "town"], name="assessments_result_unique")]
        indexes = [models.Index(fields=["town"], name="assessments_result_town_prefix",
                                opclasses=["text_pattern_ops"])]

    def __str__(self):
        return f"{self.town_id} {self.grade} {self.score}"

    def save(self, *args, **kwargs):
        if Run.objects.filter(pk=self.run_id, frozen=True).exists():
            raise PermissionError("results of a frozen assessment run cannot be changed")
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("assessment-result-detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        if Run.objects.filter(pk=self.run_id, frozen=True).exists():
            raise PermissionError("results of a frozen assessment run cannot be deleted")
        return super().delete(*args, **kwargs)


class PublishedList(TimeStampedModel):
    """The official outcome the province published for a programme and year (e.g. 特色小镇 2019:
    39 优秀, 10 警告, 4 降格), recorded beside TownBrain's own runs so the two can be compared.
    One list per programme, year and area; recording it again replaces it."""

    scope_field = "area"

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT,
                                  related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    area = models.CharField(_("area (division code)"), max_length=12, blank=True)
    area_name = models.CharField(_("area"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True,
                             help_text=_("As published, e.g. 2020年度特色小镇考核结果."))
    published_on = models.DateField(_("published on"), null=True, blank=True)
    recorded_by_name = models.CharField(_("recorded by"), max_length=150, blank=True)

    objects = models.Manager.from_queryset(RunQuerySet)()

    class Meta:
        ordering = ["programme_id", "-year", "area"]
        constraints = [models.UniqueConstraint(fields=["programme", "year", "area"],
                                               name="assessments_published_once")]
        verbose_name = _("published result list")
        verbose_name_plural = _("published result lists")

    def __str__(self):
        return self.title or f"{self.programme} {self.year}"


class PublishedResult(models.Model):
    """One town's line in a published list: the score and grade as the province printed them."""

    scope_field = "town__code"

    published = models.ForeignKey(PublishedList, on_delete=models.CASCADE, related_name="results")
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="+")
    score = models.DecimalField(_("score"), max_digits=9, decimal_places=2, null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=30)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["published_id", "rank", "town_id"]
        constraints = [models.UniqueConstraint(fields=["published", "town"], name="assessments_published_town_once")]
        verbose_name = _("published result")
        verbose_name_plural = _("published results")

    def __str__(self):
        return f"{self.town_id} {self.grade} {self.score}"
