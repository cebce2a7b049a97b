"""Grassroots governance (基层治理四平台): events (事件), their categories, steps and notifications.

An Event is a problem reported in a town on one of the four platforms (综治工作, 市场监管, 综合执法,
便民服务). It moves 上报 → 受理 → 派遣 → 处置 → 反馈 → 核查 → 结案 → 回访/评价 (services.py holds the
rules); every move is a Step, shown as the event's timeline. Categories (大类 / 小类) are data,
seeded by a data migration; a 小类 carries the deadline (时限) in working days or, when urgent, hours.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager


class Platform(models.TextChoices):
    ZONGZHI = "zongzhi", _("Social order (综治工作)")
    SHICHANG = "shichang", _("Market supervision (市场监管)")
    ZHIFA = "zhifa", _("Law enforcement (综合执法)")
    BIANMIN = "bianmin", _("Public services (便民服务)")


class Status(models.TextChoices):
    REPORTED = "reported", _("Reported (待受理)")
    REJECTED = "rejected", _("Not accepted (不予受理)")
    ACCEPTED = "accepted", _("Accepted (待派遣)")
    DISPATCHED = "dispatched", _("Dispatched (处置中)")
    HANDLED = "handled", _("Handled (已处置)")
    FED_BACK = "fed_back", _("Reported back (待核查)")
    VERIFIED = "verified", _("Verified (待结案)")
    CLOSED = "closed", _("Closed (已结案)")
    REVIEWED = "reviewed", _("Reviewed (已回访)")


# Where the clock runs (an event in these states can be overdue) and which states count as done.
CLOCK_RUNNING = (Status.DISPATCHED, Status.HANDLED, Status.FED_BACK, Status.VERIFIED)
DONE = (Status.CLOSED, Status.REVIEWED)
OPEN = (Status.REPORTED, Status.ACCEPTED, *CLOCK_RUNNING)


class Source(models.TextChoices):
    GRID = "grid", _("Grid worker (网格员)")
    CITIZEN = "citizen", _("Citizen (群众)")
    HOTLINE = "12345", _("12345 hotline")
    VIDEO = "video", _("Video (视频)")
    SENSOR = "sensor", _("Sensor (传感器)")
    OPEN311 = "open311", _("Open311 client")


class Verdict(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied (满意)")
    BASICALLY = "basically_satisfied", _("Basically satisfied (基本满意)")
    DISSATISFIED = "dissatisfied", _("Dissatisfied (不满意)")


# The verdicts 满意率 counts as satisfied.
SATISFIED = (Verdict.SATISFIED, Verdict.BASICALLY)


class EventCategory(models.Model):
    """A 大类 (no parent, no deadline) or a 小类 (under a 大类, with its deadline). Reference data."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    parent = models.ForeignKey("self", verbose_name=_("main category"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    deadline_days = models.PositiveSmallIntegerField(_("deadline (working days)"), null=True, blank=True)
    deadline_hours = models.PositiveSmallIntegerField(_("deadline (hours)"), null=True, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["platform", "order", "code"]
        verbose_name = _("event category")
        verbose_name_plural = _("event categories")

    def __str__(self):
        return self.name

    @property
    def is_leaf(self) -> bool:
        return self.parent_id is not None


class Event(TimeStampedModel):
    scope_field = "town__code"

    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="events")
    village = models.ForeignKey(OrgUnit, verbose_name=_("village"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    grid = models.CharField(_("grid cell"), max_length=60, blank=True)
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    category = models.ForeignKey(EventCategory, verbose_name=_("category"), on_delete=models.PROTECT,
                                 related_name="events")
    description = models.TextField(_("description"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.DecimalField(_("latitude (WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("longitude (WGS-84)"), max_digits=9, decimal_places=6, null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.GRID)
    # The case number in the system an event was imported from (历史事件: 12345, 数字城管 …), unique per town.
    external_id = models.CharField(_("original case number"), max_length=60, blank=True)
    reporter_name = models.CharField(_("reporter"), max_length=60, blank=True)
    reporter_phone = models.CharField(_("reporter's phone"), max_length=20, blank=True)
    media_url = models.URLField(_("photo"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REPORTED)
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_on_time = models.BooleanField(_("closed on time"), null=True, blank=True)
    # Whom the event is dispatched to: an office (the town's own by default), a department by name,
    # or one user. The office is what 催办 and 督办 address.
    office = models.ForeignKey(OrgUnit, verbose_name=_("handling office"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    department = models.CharField(_("department"), max_length=100, blank=True)
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("handler"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(_("review"), max_length=20, choices=Verdict.choices, blank=True)
    reopened = models.PositiveSmallIntegerField(_("times reopened (重办)"), default=0)
    # Its 回访 steps counted, kept by the services that write them (take_step, import_event), so the
    # statistics (满意率) read them from the event's own row instead of joining the timeline;
    # `townbrain doctor` compares them with the steps.
    reviews = models.PositiveSmallIntegerField(_("reviews (回访)"), default=0, editable=False)
    reviews_satisfied = models.PositiveSmallIntegerField(_("reviews satisfied or basically satisfied"), default=0,
                                                         editable=False)
    extended = models.PositiveSmallIntegerField(_("times extended (延期)"), default=0)
    # A 延期 asked by the handling office and waiting for the office one level up (services.py).
    extension_requested_at = models.DateTimeField(_("extension requested at"), null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField(_("extension asked (working days)"), null=True, blank=True)
    extension_hours = models.PositiveSmallIntegerField(_("extension asked (hours)"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent (催办)"), null=True, blank=True)
    supervised_at = models.DateTimeField(_("supervision sent (督办)"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [models.UniqueConstraint(fields=["town", "external_id"], condition=~models.Q(external_id=""),
                                               name="governance_event_external_id")]
        indexes = [
            models.Index(fields=["town"], name="governance_event_town_prefix", opclasses=["text_pattern_ops"]),
            models.Index(fields=["status", "deadline"], name="governance_event_queue"),
            models.Index(fields=["reported_at"], name="governance_event_reported"),
            # A county's queue (its open events by deadline) and count from the index alone: without it
            # PostgreSQL visits every event of the county, scattered over the table (1 s at 1,000,000).
            models.Index(fields=["town", "deadline"], name="governance_event_open_town",
                         opclasses=["text_pattern_ops", "timestamptz_ops"], include=["id"],
                         condition=models.Q(status__in=OPEN)),
            # The queue's order itself: a busy county's first page walks the open events by deadline
            # and stops after 50 of its own instead of sorting all of them — from the index alone, the
            # town included, as the queue reads a page's ids first (views.LatePageRows).
            # (PostgreSQL's ascending index keeps NULLs last, as the queue orders; SQLite cannot say it.)
            models.Index(fields=["deadline", "id"], name="governance_event_open_due", include=["town"],
                         condition=models.Q(status__in=OPEN)),
            # The events open past their deadline of an area and period, counted live by the statistics
            # (stats.py) beside the cells: the running ones only, from the index alone.
            models.Index(fields=["town", "reported_at"], name="governance_event_running",
                         opclasses=["text_pattern_ops", "timestamptz_ops"], include=["deadline", "platform", "category"],
                         condition=models.Q(status__in=CLOCK_RUNNING)),
        ]

    def __str__(self):
        return f"#{self.pk} {self.category.name if self.category_id else ''}"

    def get_absolute_url(self):
        return reverse("event-detail", args=[self.pk])

    @property
    def extension_pending(self) -> bool:
        return self.extension_requested_at is not None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def is_overdue(self, now=None) -> bool:
        """Past the deadline while the clock runs, or closed after it."""
        if self.deadline is None:
            return False
        if self.status in CLOCK_RUNNING:
            return (now or timezone.now()) > self.deadline
        if self.status in DONE:
            return self.closed_on_time is False
        return False


class EventCell(models.Model):
    """The statistics' running sums (stats.py): the events reported in one town, month and category,
    added up as each of them stands now. The services move an event's share with every write that
    changes it (cells.py), in the same transaction; `townbrain doctor` compares the cells with the
    events and `townbrain events rebuild-stats` recomputes them. What depends on the clock (open past
    the deadline) is not kept here: the statistics count it live."""

    scope_field = "town__code"

    town = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", db_index=False)
    month = models.DateField(_("month"))  # the first day of the month of 上报, local time
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    category = models.ForeignKey(EventCategory, on_delete=models.PROTECT, related_name="+", db_index=False)
    received = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    reopened_open = models.IntegerField(default=0)  # reopened and not closed again
    reviewed = models.IntegerField(default=0)  # 回访 steps
    satisfied = models.IntegerField(default=0)  # of them 满意 or 基本满意
    took_n = models.IntegerField(default=0)  # closed events with a close time
    took = models.DurationField(default=timedelta(0))  # their 上报 → 结案, summed

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("event statistics cell")
        verbose_name_plural = _("event statistics cells")
        constraints = [models.UniqueConstraint(fields=["town", "month", "category", "platform"],
                                               name="governance_eventcell_key")]
        indexes = [
            # An area's months from the index alone (PostgreSQL): a county's year is a few thousand cells.
            models.Index(fields=["town", "month"], name="governance_eventcell_read", opclasses=["text_pattern_ops",
                                                                                              "date_ops"],
                         include=["platform", "category", "received", "accepted", "closed", "closed_on_time",
                                  "reopened", "reopened_open", "reviewed", "satisfied", "took_n", "took"]),
        ]

    def __str__(self):
        return f"{self.town_id} {self.month:%Y-%m} {self.category_id}"


class Step(models.Model):
    """One move of an event (its timeline): which step, who, when, and the comment."""

    class Kind(models.TextChoices):
        REPORT = "report", _("Reported (上报)")
        ACCEPT = "accept", _("Accepted (受理)")
        REJECT = "reject", _("Not accepted (不予受理)")
        DISPATCH = "dispatch", _("Dispatched (派遣)")
        HANDLE = "handle", _("Handled (处置)")
        FEEDBACK = "feedback", _("Reported back (反馈)")
        VERIFY = "verify", _("Verified (核查)")
        CLOSE = "close", _("Closed (结案)")
        REVIEW = "review", _("Reviewed (回访)")
        RETURN = "return", _("Returned (退回)")
        EXTEND = "extend", _("Extended (延期)")
        APPROVE = "approve", _("Extension approved (延期批准)")
        DENY = "deny", _("Extension refused (延期驳回)")
        REMIND = "remind", _("Reminder (催办)")
        SUPERVISE = "supervise", _("Supervision (督办)")

    scope_field = "event__town__code"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(_("step"), max_length=10, choices=Kind.choices)
    from_status = models.CharField(_("from"), max_length=10, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=10, choices=Status.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(_("actor"), max_length=150)
    time = models.DateTimeField(_("time"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["event_id", "time", "id"]
        verbose_name = _("event step")
        verbose_name_plural = _("event steps")

    def __str__(self):
        return self.get_step_display()


def photo_path(instance, filename) -> str:
    """events/<event id>/<random>.<extension of the detected type> (the upload's own name is never used)."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"events/{instance.event_id}/{secrets.token_hex(16)}.{extension}"


class EventPhoto(models.Model):
    """A photo of an event (at the report, or of the work done), checked from its bytes (photos.py)."""

    scope_field = "event__town__code"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("file"), upload_to=photo_path, max_length=200)
    content_type = models.CharField(_("content type"), max_length=30)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by_name = models.CharField(_("uploaded by"), max_length=150)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    objects = RestrictedManager()

    class Meta:
        ordering = ["event_id", "uploaded_at", "id"]
        verbose_name = _("event photo")
        verbose_name_plural = _("event photos")

    def __str__(self):
        return f"#{self.event_id} {self.file.name}"

    def get_absolute_url(self):
        return reverse("event-photo", args=[self.event_id, self.pk])


class Notification(models.Model):
    """A message to one user (催办, 督办, a dispatch, or another app's message through
    core.notify, e.g. a reporting reminder); the navbar bell counts the unread ones."""

    class Kind(models.TextChoices):
        DISPATCH = "dispatch", _("Dispatched to you")
        REMIND = "remind", _("Reminder (催办)")
        SUPERVISE = "supervise", _("Supervision (督办)")
        EXTENSION = "extension", _("Extension (延期)")
        MESSAGE = "message", _("Message")

    scope_field = "event__town__code"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    # Empty for another app's message (core.notify): it links to `url` instead.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications", null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    message = models.CharField(_("message"), max_length=300)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at"], name="governance_notice_unread")]

    def __str__(self):
        return self.message

    def get_absolute_url(self) -> str:
        return self.event.get_absolute_url() if self.event_id else (self.url or "")
