"""`townbrain worker`: the django-tasks database worker (django-tasks-db's db_worker loop), after
recording as failed the jobs whose worker died (services.mark_dead)."""

import uuid


def _worker(*, batch: bool = False, interval: float = 1.0, max_tasks: int | None = None):
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(queue_names=["default"], interval=interval, batch=batch, backend_name="default",
                  startup_delay=False, max_tasks=max_tasks, worker_id=f"townbrain-{uuid.uuid4().hex[:20]}",
                  excluded_queue_names=[])


def run(*, batch: bool = False, interval: float = 1.0, max_tasks: int | None = None) -> None:
    """The worker loop (`townbrain worker`; with batch, until the queue is empty)."""
    from .services import mark_dead

    mark_dead()
    worker = _worker(batch=batch, interval=interval, max_tasks=max_tasks)
    worker.configure_signals()
    worker.run()


def run_pending() -> int:
    """Run every queued job now, in this process, and return how many ran: the worker's own claim and
    run-one steps without its loop (which also closes stale connections: a test's transaction with them)."""
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    from .services import mark_dead

    mark_dead()
    worker, count = _worker(batch=True, interval=0), 0
    while True:
        ready = DBTaskResult.objects.ready().filter(backend_name="default", queue_name="default")
        with exclusive_transaction(ready.db):
            task_result = ready.get_locked()
            if task_result is None:
                return count
            task_result.claim(worker.worker_id)
        worker.run_task(task_result)
        count += 1
