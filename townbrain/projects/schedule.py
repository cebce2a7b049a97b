"""Where a project stands against its plan: 超前 ahead / 正常 on time / 滞后 late.

The plan is linear over the planned months (planned start to planned completion).
"""

from datetime import date
from decimal import Decimal

from townbrain.core import periods

from .models import Status

LAG_TOLERANCE = Decimal(10)  # percentage points either side of the plan that still count as on time


def expected_progress(planned_start: date | None, planned_completion: date | None, at: date) -> Decimal | None:
    """Linear plan: the share of planned months elapsed by `at`, in percent (None without dates)."""
    if not planned_start or not planned_completion:
        return None
    total = periods.months_between(planned_start, planned_completion)
    done = periods.months_between(planned_start, at)
    if done <= 0:
        return Decimal(0)
    return min(Decimal(100), Decimal(done * 100) / Decimal(total))


def schedule_state(project, at: date, progress: Decimal | None) -> str:
    """超前 ahead / 正常 on time / 滞后 late, against the linear plan."""
    if project.status == Status.COMPLETED:
        return "on_time"
    if project.planned_start and project.planned_start <= at and not (project.actual_start and project.actual_start <= at):
        return "late"
    expected = expected_progress(project.planned_start, project.planned_completion, at)
    if expected is None or progress is None:
        return "on_time"
    if progress < expected - LAG_TOLERANCE:
        return "late"
    if progress > expected + LAG_TOLERANCE:
        return "ahead"
    return "on_time"
