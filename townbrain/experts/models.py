"""一库三师: the province-wide expert pool, experts' assignments to towns, and their activities (DOMAIN §5).

- `Expert` (一库): one person of the pool, of one of three kinds; the office that manages the
  record is its `home` (the row's place in the tree).
- `ExpertAssignment`: an expert attached to a town in a role, from `since` to `until`.
- `ExpertActivity` (活动): a site visit, review or training in a town on a date, with the
  person-times (人次) of each kind, problems found and solved and the experts' names as typed.
  Its natural key — what an import matches a row on — is (town, date, activity type, the word
  written when it matched no type, expert names); two activities cannot share it.
- `ActivityType` (活动类型): the vocabulary of activity types with their synonyms, kept as data.
"""

import re

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager

NAME_SEPARATOR = "、"
# Synonyms of an activity type as an office types a list: 、 , ， ; ； / or new lines.
SYNONYM_SPLIT = re.compile(r"[、,，;；/\n]+")


class ExpertKind(models.TextChoices):
    CHIEF_DESIGNER = "chief_designer", _("Chief designer (首席设计师)")
    RESIDENT_PLANNER = "resident_planner", _("Resident planner (驻镇规划师)")
    DEVELOPMENT_ADVISER = "development_adviser", _("Development adviser (发展师)")


class ActivityType(TimeStampedModel):
    """A word of the activity-type vocabulary (活动类型), kept as data a province office manages.

    Offices word their activities in their own ways (技术咨询, 专题培训, 驻镇指导 …): a type has a name,
    the synonyms an import also matches, an order for lists, and can be retired (inactive: kept for the
    activities that have it, not offered for new ones). `code` is the stable key the API and filters
    use. The type `other` (其他) takes the rows whose word matches no type; the word is kept beside it.
    """

    OTHER = "other"

    code = models.SlugField(_("code"), max_length=20, unique=True,
                            help_text=_("Stable key used by the API and filters, e.g. consulting"))
    name = models.CharField(_("name"), max_length=40, unique=True)
    synonyms = models.CharField(_("synonyms"), max_length=500, blank=True,
                                help_text=_("Other words offices use for this type, separated by 、"))
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("activity type")
        verbose_name_plural = _("activity types")

    def __str__(self):
        return self.name

    @property
    def words(self) -> list[str]:
        return [w for w in (" ".join(p.split()) for p in SYNONYM_SPLIT.split(self.synonyms)) if w]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(code, name) of every type, for choice filters (a callable: read when the form is built)."""
        return list(cls.objects.values_list("code", "name"))


# The data standard's column headers (DOMAIN §8): the import kind reads them, list exports write them.
ACTIVITY_HEADERS = {
    "date": "活动日期", "town": "乡镇代码", "activity_type": "活动类型", "chief_designer_count": "首席设计师人次",
    "resident_planner_count": "驻镇规划师人次", "adviser_count": "发展师人次", "problems_found": "发现问题数",
    "problems_solved": "解决问题数", "expert_names": "专家姓名",
}

# Person-time fields of an activity, by the kind of expert they count.
COUNT_FIELDS = {
    "chief_designer": "chief_designer_count",
    "resident_planner": "resident_planner_count",
    "development_adviser": "adviser_count",
}


class Expert(TimeStampedModel):
    scope_field = "home__code"

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind of expert"), max_length=20, choices=ExpertKind.choices)
    employer = models.CharField(_("employer / organisation"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    home = models.ForeignKey(OrgUnit, verbose_name=_("managing office"), on_delete=models.PROTECT,
                             related_name="experts_managed",
                             help_text=_("The office (org unit) that keeps this expert's record."))
    active = models.BooleanField(_("active"), default=True)
    # The expert's login: its scope is the towns of the expert's current assignments (experts/scoping.py).
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("login"), on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="expert")

    objects = RestrictedManager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("expert")
        verbose_name_plural = _("experts")
        indexes = [
            models.Index(fields=["home"], name="experts_expert_home_prefix", opclasses=["text_pattern_ops"]),
            models.Index(fields=["name"], name="experts_expert_name"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    def get_absolute_url(self):
        return reverse("expert-detail", args=[self.pk])


class ExpertAssignment(TimeStampedModel):
    """An expert attached to a town in a role (首席设计师 / 驻镇规划师 / 发展师), from `since` to `until`."""

    scope_field = "town__code"

    expert = models.ForeignKey(Expert, verbose_name=_("expert"), on_delete=models.PROTECT, related_name="assignments")
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT,
                             related_name="expert_assignments")
    role = models.CharField(_("role"), max_length=20, choices=ExpertKind.choices)
    since = models.DateField(_("since"), null=True, blank=True)
    until = models.DateField(_("until"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["town_id", "role", "expert__name", "pk"]
        verbose_name = _("expert assignment")
        verbose_name_plural = _("expert assignments")
        indexes = [
            models.Index(fields=["town"], name="experts_assignment_town_prefix", opclasses=["text_pattern_ops"]),
        ]

    def __str__(self):
        return f"{self.expert.name} → {self.town_id} ({self.get_role_display()})"


class ExpertActivity(TimeStampedModel):
    scope_field = "town__code"

    date = models.DateField(_("activity date"))
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT,
                             related_name="expert_activities")
    activity_type = models.ForeignKey(ActivityType, verbose_name=_("activity type"), on_delete=models.PROTECT,
                                      to_field="code", db_column="activity_type", related_name="activities")
    # The word the office wrote when it matched no type of the vocabulary (the activity is then 其他):
    # kept so nothing is lost, shown beside the type, and part of the natural key.
    type_word = models.CharField(_("activity type as written"), max_length=40, blank=True)
    chief_designer_count = models.PositiveIntegerField(_("chief designer person-times (人次)"), default=0)
    resident_planner_count = models.PositiveIntegerField(_("resident planner person-times (人次)"), default=0)
    adviser_count = models.PositiveIntegerField(_("development adviser person-times (人次)"), default=0)
    problems_found = models.PositiveIntegerField(_("problems found"), default=0)
    problems_solved = models.PositiveIntegerField(_("problems solved"), default=0)
    expert_names = models.CharField(_("experts' names"), max_length=500, blank=True,
                                    help_text=_("As typed, separated by 、"))
    experts = models.ManyToManyField(Expert, verbose_name=_("experts"), blank=True, related_name="activities",
                                     help_text=_("The names that are unique in the province's pool"))
    note = models.TextField(_("note"), blank=True)
    # The expert whose login recorded it: an expert changes only what they recorded (services.may_write).
    recorded_by = models.ForeignKey(Expert, verbose_name=_("recorded by"), on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="recorded_activities")

    objects = RestrictedManager()

    class Meta:
        ordering = ["-date", "town_id", "pk"]
        verbose_name = _("expert activity")
        verbose_name_plural = _("expert activities")
        constraints = [
            models.UniqueConstraint(fields=["town", "date", "activity_type", "type_word", "expert_names"],
                                    name="experts_activity_natural_key"),
        ]
        indexes = [
            models.Index(fields=["town"], name="experts_activity_town_prefix", opclasses=["text_pattern_ops"]),
            models.Index(fields=["date"], name="experts_activity_date"),
        ]

    def __str__(self):
        return f"{self.date} {self.town_id} {self.type_label}"

    def get_absolute_url(self):
        return reverse("expert-activity-edit", args=[self.pk])

    @property
    def type_label(self) -> str:
        """The type's name, with the office's own word when it matched none: 其他（督查）."""
        name = self.activity_type.name
        return f"{name}（{self.type_word}）" if self.type_word else name

    @property
    def type_as_written(self) -> str:
        """What an export writes in 活动类型: the office's word if it matched none, else the type's name
        (either reads back as the same activity)."""
        return self.type_word or self.activity_type.name

    @property
    def person_times(self) -> int:
        return self.chief_designer_count + self.resident_planner_count + self.adviser_count

    @property
    def names(self) -> list[str]:
        return [n for n in self.expert_names.split(NAME_SEPARATOR) if n]


def of_expert(expert_id) -> models.Q:
    """Activities of an expert: the ones naming them (matched in the pool) and the ones they recorded."""
    return models.Q(experts__id=expert_id) | models.Q(recorded_by_id=expert_id)


class ProblemStatus(models.TextChoices):
    OPEN = "open", _("Open (待解决)")
    IN_PROGRESS = "in_progress", _("In progress (解决中)")
    SOLVED = "solved", _("Solved (已解决)")
    DISMISSED = "dismissed", _("Dismissed (不予处理)")


# Statuses still to be worked on: a problem in one of them after its due date is overdue.
OPEN_STATUSES = (ProblemStatus.OPEN, ProblemStatus.IN_PROGRESS)

# The data standard's column headers of the problem register (the import kind reads them, exports write them).
PROBLEM_HEADERS = {
    "town": "乡镇代码", "date": "活动日期", "activity_type": "活动类型", "expert_names": "专家姓名",
    "description": "问题描述", "owner": "责任人", "due_date": "整改期限", "status": "状态", "reason": "不予处理理由",
}
# The standard writes statuses in Chinese whatever the user's language.
PROBLEM_STATUS_CHINESE = {"open": "待解决", "in_progress": "解决中", "solved": "已解决", "dismissed": "不予处理"}


class ExpertProblem(TimeStampedModel):
    """A problem an expert activity found in a town (问题清单): who owns it, by when, and where it stands.

    Its status goes 待解决 open → 解决中 in_progress → 已解决 solved, or 不予处理 dismissed with a reason
    (steps in `services.step_problem`). Its town is its activity's town. Natural key: (activity,
    description). An activity that has problems counts them as its problems found (all) and solved.
    """

    scope_field = "town__code"

    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT,
                             related_name="expert_problems")
    activity = models.ForeignKey(ExpertActivity, verbose_name=_("expert activity"), on_delete=models.PROTECT,
                                 related_name="problems")
    description = models.CharField(_("problem description"), max_length=500)
    owner = models.CharField(_("owner (责任人)"), max_length=100, blank=True)
    due_date = models.DateField(_("due date (整改期限)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ProblemStatus.choices, default=ProblemStatus.OPEN)
    reason = models.TextField(_("reason for dismissing"), blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True,
                                 help_text=_("The day it was solved or dismissed"))

    objects = RestrictedManager()

    class Meta:
        ordering = ["due_date", "town_id", "pk"]
        verbose_name = _("expert problem")
        verbose_name_plural = _("expert problems")
        constraints = [
            models.UniqueConstraint(fields=["activity", "description"], name="experts_problem_natural_key"),
        ]
        indexes = [
            models.Index(fields=["town"], name="experts_problem_town_prefix", opclasses=["text_pattern_ops"]),
            models.Index(fields=["status", "due_date"], name="experts_problem_status_due"),
        ]

    def __str__(self):
        return f"{self.town_id} {self.description[:40]}"

    def get_absolute_url(self):
        return reverse("expert-problem-edit", args=[self.pk])

    def is_overdue(self, today=None) -> bool:
        from django.utils import timezone

        today = today or timezone.localdate()
        return self.status in OPEN_STATUSES and self.due_date is not None and self.due_date < today

    @property
    def overdue(self) -> bool:
        return self.is_overdue()
