"""The one task on the queue (django-tasks): run job `job_id`'s attempt `attempt` (services.run_job)."""

from django_tasks import task


@task()
def run_job_task(job_id: int, attempt: int) -> str:
    from .services import run_job

    return run_job(job_id, attempt)
