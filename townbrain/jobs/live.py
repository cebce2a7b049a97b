"""A running job's progress, heartbeat and cancel request, carried beside its work.

The work holds one transaction open from its first write to its commit, so the job's row cannot be
the place the worker reports progress through the same connection (nobody would see it before the
end). A heartbeat thread (services.Beat) publishes the progress every few seconds instead:

- PostgreSQL: through the thread's own connection, in short transactions on the job's row (the work
  never touches that row until its last statement), and reads back `cancel_requested`;
- SQLite: the database takes one writer at a time and the work is that writer, so the thread writes
  a small JSON file per job in MEDIA_ROOT/jobs-live/ instead (a SQLite database is on one machine,
  beside its web server and worker) and a cancel request is a second file: asking to cancel a running
  job writes nothing to the database (it would wait for the job's transaction).

Readers (pages, the API) call `read(job)` and take the fresher values.
"""

import json
import os
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection

from .models import Job

FIELDS = ("stage", "progress", "rows_done", "rows_total")


def _user_id(actor) -> int | None:
    return getattr(actor, "pk", None)


class RowChannel:
    """PostgreSQL (and any database with row locks): the job's own row."""

    def publish(self, job: Job, state: dict, now: datetime) -> bool:
        Job.objects.filter(pk=job.pk, attempt=job.attempt, state=Job.State.RUNNING).update(
            heartbeat=now, **{k: state[k] for k in FIELDS if k in state})
        return bool(Job.objects.filter(pk=job.pk).values_list("cancel_requested", flat=True).first())

    def request_cancel(self, job: Job, actor) -> None:
        Job.objects.filter(pk=job.pk).update(cancel_requested=True, cancel_requested_by=_user_id(actor))

    def cancel_requested(self, job: Job) -> bool:
        return job.cancel_requested

    def canceller(self, job: Job) -> int | None:
        return Job.objects.filter(pk=job.pk).values_list("cancel_requested_by", flat=True).first()

    def read(self, job: Job) -> dict:
        return {}

    def clear(self, job: Job) -> None:
        pass


class FileChannel:
    """SQLite: a JSON file per running job (replaced whole, never half written) and a cancel marker."""

    def folder(self) -> Path:
        path = Path(settings.MEDIA_ROOT) / "jobs-live"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _paths(self, job: Job) -> tuple[Path, Path]:
        folder = self.folder()
        return folder / f"{job.token}.json", folder / f"{job.token}.cancel"

    def publish(self, job: Job, state: dict, now: datetime) -> bool:
        live, cancel = self._paths(job)
        tmp = live.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"attempt": job.attempt, "heartbeat": now.isoformat(),
                                   **{k: state[k] for k in FIELDS if k in state}}), encoding="utf-8")
        os.replace(tmp, live)
        return cancel.exists()

    def request_cancel(self, job: Job, actor) -> None:
        self._paths(job)[1].write_text(json.dumps({"by": _user_id(actor)}), encoding="utf-8")

    def cancel_requested(self, job: Job) -> bool:
        return job.cancel_requested or self._paths(job)[1].exists()

    def canceller(self, job: Job) -> int | None:
        try:
            return json.loads(self._paths(job)[1].read_text(encoding="utf-8")).get("by")
        except (OSError, ValueError):
            return None

    def read(self, job: Job) -> dict:
        live = self._paths(job)[0]
        try:
            data = json.loads(live.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if data.get("attempt") != job.attempt:
            return {}
        out = {k: data[k] for k in FIELDS if k in data}
        out["heartbeat"] = datetime.fromisoformat(data["heartbeat"])
        return out

    def clear(self, job: Job) -> None:
        for path in self._paths(job):
            path.unlink(missing_ok=True)


def channel():
    return FileChannel() if connection.vendor == "sqlite" else RowChannel()
