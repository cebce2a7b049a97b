"""When a month's progress reports are due, for the apps below the reporting app.

The reporting app keeps deadlines as data (a day per programme, overrides, the official calendar
with 调休); projects' warnings (应报未报) must chase by the same date without importing it. So the
reporting app registers a provider in its AppConfig.ready(), and `report_due` answers from it;
without one the caller keeps its own rule.
"""

from collections.abc import Callable
from datetime import date

_provider: Callable[..., date] | None = None


def register(provider: Callable[..., date]) -> None:
    """provider(programme (or its id, or None), period "YYYYMM") -> the date the reports are due."""
    global _provider
    _provider = provider


def report_due(programme, period: str) -> date | None:
    return _provider(programme, period) if _provider is not None else None
