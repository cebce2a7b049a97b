"""Where a project stands against its plan: 超前 ahead / 正常 on time / 滞后 late.

The plan is the project's own monthly curve (MonthlyPlan rows) when it has one, otherwise
linear over the planned months (planned start to planned completion).
"""

from datetime import date
from decimal import Decimal

from townbrain.core import bulk, periods

from .models import MonthlyPlan, Status

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


def curve_progress(curve: list[tuple[str, Decimal]], at: date) -> Decimal | None:
    """The planned progress of the latest curve month on or before `at` (0 before the first; None without a curve)."""
    if not curve:
        return None
    month = periods.month_id(at.year, at.month)
    due = [progress for period, progress in curve if period <= month]
    return due[-1] if due else Decimal(0)


def curves_for(project_ids) -> dict[int, list[tuple[str, Decimal]]]:
    """Plan curves of many projects in one query: {project id: [(period, planned progress), ...] sorted}."""
    curves: dict[int, list[tuple[str, Decimal]]] = {}
    rows = bulk.fetch(MonthlyPlan, "project_id", project_ids, order_by=("project_id", "period"),
                      names=("project_id", "period", "planned_progress"))
    for pid, period, progress in rows:
        curves.setdefault(pid, []).append((period, progress))
    return curves


def schedule_state(project, at: date, progress: Decimal | None, curve: list | None = None) -> str:
    """超前 ahead / 正常 on time / 滞后 late, against the project's curve (`curve`) or the linear plan."""
    if project.status == Status.COMPLETED:
        return "on_time"
    if project.planned_start and project.planned_start <= at and not (project.actual_start and project.actual_start <= at):
        return "late"
    expected = curve_progress(curve, at) if curve else None
    if expected is None:
        expected = expected_progress(project.planned_start, project.planned_completion, at)
    if expected is None or progress is None:
        return "on_time"
    if progress < expected - LAG_TOLERANCE:
        return "late"
    if progress > expected + LAG_TOLERANCE:
        return "ahead"
    return "on_time"
