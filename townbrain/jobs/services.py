"""Starting, running, cancelling and retrying background jobs (docs/jobs.md).

- `enqueue(actor, kind, params, ...)`: the job's row, its input file and the task on the queue, in one
  audited transaction (the task is a row of the database backend: it exists iff the job does).
- `run_job(job_id, attempt)`: what the worker runs. The job's work runs inside ONE transaction that
  ends with the statement marking the job done, so the work is there iff the job is done. Progress and
  the heartbeat go beside it (live.py, a thread of their own); a cancel request is seen at the next
  progress report (between chunks of rows), raises `JobCancelled` and rolls the whole work back.
- A worker killed outright (SIGKILL, power cut) leaves a `running` job whose heartbeat stops: after
  JOB_STALE_SECONDS it is shown as failed ("the worker stopped") and may be retried; its open
  transaction died with its connection, so nothing it did is there.
- `request_cancel`, `retry`: audited; a queued job is cancelled at once, a running one at its next report
  (its cancel is audited by the worker then, naming who asked).
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from townbrain.core import audit
from townbrain.core.context import current_origin, origin
from townbrain.core.scope import SYSTEM, allows, scope_prefixes, scope_q

from . import live
from .kinds import KINDS, get_kind
from .models import Job, JobFile

logger = logging.getLogger(__name__)

DIED = "worker-died"  # Job.error of a job whose worker stopped without a word (shown in the reader's language)


class JobCancelled(Exception):
    """Raised inside the work at the first progress report after a cancel request."""


class Superseded(Exception):
    """The job was retried (or cancelled) under this worker's feet: its work must not commit."""


def stale_seconds() -> float:
    return float(getattr(settings, "JOB_STALE_SECONDS", 30))


def heartbeat_seconds() -> float:
    return max(0.1, min(2.0, stale_seconds() / 5))


def threshold_rows() -> int:
    return int(getattr(settings, "JOB_THRESHOLD_ROWS", 5000))


def _home(actor) -> str:
    prefixes = scope_prefixes(actor, "view")
    if not isinstance(prefixes, set) or not prefixes:
        return ""
    return min(prefixes, key=len)


# --- reading -----------------------------------------------------------------------------------------


def visible_jobs(user):
    """The jobs `user` may see: their own, and for office administrators every job of their area."""
    q = scope_q(user, "manage", Job.scope_field)
    if q is None:
        return Job.objects.all()
    return Job.objects.filter(Q(owner=user) | q) if getattr(user, "pk", None) else Job.objects.none()


def may_act(user, job: Job) -> bool:
    """Cancel or retry: the owner, or whoever manages the job's area."""
    return (job.owner_id is not None and job.owner_id == getattr(user, "pk", None)) \
        or allows(user, "manage", job.org_code)


def status(job: Job) -> dict:
    """The job as it stands now: the row, fresher progress from the live channel, a dead worker seen."""
    channel = live.channel()
    out = {"state": job.state, "stage": job.stage, "progress": job.progress, "rows_done": job.rows_done,
           "rows_total": job.rows_total, "heartbeat": job.heartbeat, "error": job.error,
           "cancel_requested": False, "dead": False}
    if job.state == Job.State.RUNNING:
        out.update(channel.read(job))
        out["cancel_requested"] = channel.cancel_requested(job)
        beat = out["heartbeat"] or job.started
        if beat is None or beat < timezone.now() - timedelta(seconds=stale_seconds()):
            out.update(state=Job.State.FAILED, dead=True, error=DIED)
    out["progress"] = max(0, min(100, int(out["progress"] or 0)))
    return out


def may_download(user, job: Job) -> bool:
    """Whether `user`, who sees the job (visible_jobs), may download the file it made (a briefing): the job is
    done, made a file, and `user` may also see the area that file is about (params["org"]) today."""
    kind = KINDS.get(job.kind)
    return bool(kind and kind.makes_file and job.state == Job.State.DONE
                and allows(user, "view", job.params.get("org", ""))
                and JobFile.objects.filter(job_id=job.pk).exists())


def output(user, job: Job) -> JobFile | None:
    """The file a finished job made, for `user` who sees the job; None (answered as 404) unless may_download."""
    return JobFile.objects.filter(job_id=job.pk).first() if may_download(user, job) else None


def error_text(error: str) -> str:
    if error == DIED:
        return _("The worker running this job stopped (killed or crashed); nothing it did was kept. Retry it.")
    return error


def is_dead(job: Job) -> bool:
    return status(job)["dead"]


# --- starting ---------------------------------------------------------------------------------------


def enqueue(actor, kind: str, params: dict, *, title: str, rows_total: int = 0, file: tuple[str, bytes] | None = None
            ) -> Job:
    """Queue a job of `kind` for `actor`; `file` is (name, content) of its input. Audited."""
    from .tasks import run_job_task

    get_kind(kind)  # an unknown kind fails here, not in the worker
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind, title=title[:255], owner=actor if getattr(actor, "pk", None) else None,
            owner_name=getattr(actor, "username", "system"), org_code=_home(actor),
            params={**params, "source": current_origin()["source"]}, rows_total=rows_total, attempt=1)
        if file is not None:
            JobFile.objects.create(job=job, name=file[0][:255], data=file[1])
        _queue(job, run_job_task)
        audit.record(actor, "job.enqueue", job, {}, {"kind": kind, "title": job.title}, org_code=job.org_code)
    return job


def _queue(job: Job, task) -> None:
    result = task.enqueue(job.pk, job.attempt)
    job.task_id = str(result.id)
    Job.objects.filter(pk=job.pk).update(task_id=job.task_id)


def request_cancel(actor, job: Job) -> Job:
    """Cancel a queued job at once, a running one at its next progress report (its work rolls back)."""
    if not may_act(actor, job):
        raise PermissionDenied(_("Only the person who started this job or an administrator of its area may "
                                 "cancel it."))
    job.refresh_from_db()
    if job.state == Job.State.QUEUED:
        with transaction.atomic():
            if Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
                    state=Job.State.CANCELLED, finished=timezone.now(), cancel_requested=True,
                    cancel_requested_by=actor if getattr(actor, "pk", None) else None):
                JobFile.objects.filter(job_id=job.pk).delete()
                audit.record(actor, "job.cancel", job, {"state": "queued"}, {"state": "cancelled"},
                             org_code=job.org_code)
                job.refresh_from_db()
                return job
        job.refresh_from_db()  # a worker took it meanwhile
    if job.state == Job.State.RUNNING and not is_dead(job):
        # Heard by the worker at its next report; audited by the worker when the job stops (a write here
        # would wait for the job's own transaction on SQLite).
        live.channel().request_cancel(job, actor)
        return job
    raise ValidationError(_("This job has already finished."))


def retry(actor, job: Job) -> Job:
    """Queue a failed job again (one whose worker died included), as a new attempt."""
    from .tasks import run_job_task

    if not may_act(actor, job):
        raise PermissionDenied(_("Only the person who started this job or an administrator of its area may "
                                 "retry it."))
    dead = job.state == Job.State.RUNNING and is_dead(job)
    if job.state != Job.State.FAILED and not dead:
        raise ValidationError(_("Only a failed job can be retried."))
    if get_kind(job.kind).needs_file and not JobFile.objects.filter(job_id=job.pk).exists():
        raise ValidationError(_("The file of this job is no longer kept; start it again."))
    live.channel().clear(job)  # what the dead attempt last published
    with transaction.atomic():
        if not Job.objects.filter(pk=job.pk, attempt=job.attempt, state=job.state).update(
                state=Job.State.QUEUED, attempt=F("attempt") + 1, stage="", progress=0, rows_done=0, result=None,
                error="", cancel_requested=False, cancel_requested_by=None, heartbeat=None, started=None,
                finished=None):
            raise ValidationError(_("This job changed meanwhile; reload the page."))
        before = {"state": job.state, "attempt": job.attempt}
        job.refresh_from_db()
        _queue(job, run_job_task)
        audit.record(actor, "job.retry", job, before, {"state": job.state, "attempt": job.attempt},
                     org_code=job.org_code)
    return job


def mark_dead() -> int:
    """Record as failed the running jobs whose worker stopped (called when a worker starts)."""
    count = 0
    for job in Job.objects.filter(state=Job.State.RUNNING):
        if is_dead(job) and Job.objects.filter(pk=job.pk, attempt=job.attempt, state=Job.State.RUNNING).update(
                state=Job.State.FAILED, error=DIED, finished=timezone.now()):
            count += 1
    return count


# --- running (the worker) ---------------------------------------------------------------------------


class Beat(threading.Thread):
    """Publishes the job's progress and heartbeat every few seconds from a thread (and a database
    connection) of its own, and hears a cancel request."""

    def __init__(self, job: Job):
        super().__init__(name=f"job-{job.pk}-heartbeat", daemon=True)
        self.job, self.channel = job, live.channel()
        self.state = {"stage": "", "progress": 0, "rows_done": 0, "rows_total": job.rows_total}
        self.cancelled, self.halt = threading.Event(), threading.Event()

    def run(self):
        try:
            self.publish()
            while not self.halt.wait(heartbeat_seconds()):
                self.publish()
        finally:
            connections.close_all()  # this thread's own connections

    def publish(self):
        try:
            if self.channel.publish(self.job, dict(self.state), timezone.now()):
                self.cancelled.set()
        except Exception:  # noqa: BLE001 - a missed beat is retried; the work goes on
            logger.warning("job %s: heartbeat not written", self.job.pk, exc_info=True)

    def stop(self):
        self.halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=30)


class Reporter:
    """The `progress(stage, done, total)` callback the work calls between chunks of rows."""

    def __init__(self, beat: Beat, stages: dict[str, tuple[int, int]]):
        self.beat, self.stages, self.rows = beat, stages, 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        lo, hi = self.stages.get(stage, (0, 100))
        share = (done / total) if total else 0
        self.beat.state.update(stage=stage, progress=int(lo + (hi - lo) * min(1, share)))
        if total > 1:  # rows done of rows (a one-step stage, such as writing, keeps the count of rows)
            self.beat.state.update(rows_done=done, rows_total=total)
            self.rows = max(self.rows, total)
        self.check()

    def check(self) -> None:
        if self.beat.cancelled.is_set():
            raise JobCancelled


def run_job(job_id: int, attempt: int | None = None) -> str:
    """Run one queued job to its end; returns the state it ended in ("skipped" when it was not queued)."""
    claim = Job.objects.filter(pk=job_id, state=Job.State.QUEUED)
    if attempt is not None:
        claim = claim.filter(attempt=attempt)
    now = timezone.now()
    if not claim.update(state=Job.State.RUNNING, started=now, heartbeat=now):
        return "skipped"
    job = Job.objects.select_related("owner").get(pk=job_id)
    kind = get_kind(job.kind)
    beat = Beat(job)
    beat.start()
    report = Reporter(beat, kind.stages)
    ended = Job.objects.filter(pk=job.pk, attempt=job.attempt, state=Job.State.RUNNING)
    try:
        with origin(job.params.get("source", "internal"), f"job:{job.pk}"), transaction.atomic():
            result = kind.run(job, job.owner or SYSTEM, report)
            beat.stop()
            beat.publish()  # hear a cancel request made since the last beat
            report.check()
            # The last statement of the work's transaction: the job is done iff its work is there.
            if not ended.update(state=Job.State.DONE, result=result, progress=100, stage="done",
                                heartbeat=timezone.now(), finished=timezone.now(),
                                rows_done=report.rows, rows_total=report.rows):
                raise Superseded
            # A checked import keeps its file for the apply step; a briefing's file is its product.
            if not job.params.get("keep_file") and not kind.makes_file:
                JobFile.objects.filter(job_id=job.pk).delete()
        state = Job.State.DONE
    except JobCancelled:
        beat.stop()
        by = beat.channel.canceller(job)
        actor = get_user_model().objects.filter(pk=by).first() if by else None
        with transaction.atomic():
            if ended.update(state=Job.State.CANCELLED, finished=timezone.now(), cancel_requested=True,
                            cancel_requested_by=actor, stage=beat.state["stage"], progress=beat.state["progress"],
                            rows_done=beat.state["rows_done"], rows_total=beat.state["rows_total"]):
                JobFile.objects.filter(job_id=job.pk).delete()
                audit.record(actor or SYSTEM, "job.cancel", job, {"state": "running"}, {"state": "cancelled"},
                             org_code=job.org_code)
        state = Job.State.CANCELLED
    except Superseded:
        state = "superseded"
    except Exception as exc:  # noqa: BLE001 - the job records why it failed; the worker goes on
        beat.stop()
        logger.exception("job %s failed", job.pk)
        reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        ended.update(state=Job.State.FAILED, error=(reason or exc.__class__.__name__)[:2000],
                     finished=timezone.now())
        state = Job.State.FAILED
    finally:
        beat.stop()
        beat.channel.clear(job)
    return state
