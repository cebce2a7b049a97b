"""A background job: who started it, what it does, how far it got, and what came of it (docs/jobs.md).

The row is written in short transactions of their own — never inside the job's work, which runs in
one transaction that either commits together with the job's `done` state or leaves nothing. While a
job runs, its progress and heartbeat travel beside the work (jobs/live.py): on PostgreSQL through a
second connection into this row, on SQLite (one writer at a time) through a small file.
"""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from townbrain.core.querysets import RestrictedManager


def _token() -> str:
    return uuid.uuid4().hex


class Job(models.Model):
    # The owner's home unit: office administrators see the jobs of their area (services.visible_jobs).
    scope_field = "org_code"

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    token = models.CharField(max_length=32, unique=True, default=_token, editable=False)
    kind = models.CharField(_("kind"), max_length=30)
    title = models.CharField(_("title"), max_length=255)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    owner_name = models.CharField(_("started by"), max_length=150)
    org_code = models.CharField(_("org unit"), max_length=12, blank=True)
    params = models.JSONField(_("parameters"), default=dict)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    stage = models.CharField(_("stage"), max_length=20, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)  # 0–100
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    cancel_requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("cancelled by"), null=True,
                                            blank=True, on_delete=models.SET_NULL, related_name="+")
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=0)
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    heartbeat = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    started = models.DateTimeField(_("started"), null=True, blank=True)
    finished = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["state", "heartbeat"], name="jobs_job_state_heartbeat"),
                   models.Index(fields=["org_code"], name="jobs_job_org_prefix", opclasses=["text_pattern_ops"]),
                   models.Index(fields=["owner", "-created"], name="jobs_job_owner_created")]

    def __str__(self):
        return self.title or self.kind

    def get_absolute_url(self) -> str:
        return reverse("job-detail", args=[self.pk])


class JobFile(models.Model):
    """The input a job reads (an uploaded file), kept in the database so a worker on another machine
    reads it too; dropped once the job is done or cancelled (a failed job keeps it for a retry)."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="file", primary_key=True)
    name = models.CharField(_("file name"), max_length=255)
    data = models.BinaryField(_("content"))

    def __str__(self):
        return self.name
