"""Locks on reported figures (月报 and indicator values) of a period under review or approved.

The reporting app (a floor above projects and indicators) knows which town × programme × period
is submitted, approved or locked; the write paths below it (projects/reporting.ReportBatch,
indicators/services.ValueBatch) must obey it without importing it. So the rule lives here: the
reporting app registers a `provider` in its AppConfig.ready(), and a batch asks a `Guard` — one
query per batch for all the keys it writes, then a dictionary look-up per row.

`Locked` is a ValidationError, so forms show it on the field and an import reports it on its row
(exchange's pipeline treats it as any refused row); the API answers it with 409 Conflict
(core/drf.exception_handler) because the request was right and only the state of the period
refuses it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from .scope import allows


class Locked(ValidationError):
    """A change refused because its period is submitted, approved or locked (HTTP 409)."""


@dataclass(frozen=True)
class Lock:
    status: str  # "submitted", "approved", "locked"
    message: str  # what the user reads: which town, programme, period and who may unlock it
    office_code: str = ""  # those with `change` here (the office above the town) may still correct a submitted period

    @property
    def hard(self) -> bool:
        return self.status != "submitted"


# kind ("progress", "values") -> provider(keys) -> {key: Lock}; a key is (town code, programme id or None, period).
_PROVIDERS: dict[str, Callable[[set], dict]] = {}


def register(kind: str, provider: Callable[[set], dict]) -> None:
    """Called once from the reporting app's ready(); without a provider nothing is ever locked."""
    _PROVIDERS[kind] = provider


class Guard:
    """The locks one batch meets: prefetch() the keys it will write, then check() each."""

    def __init__(self, actor, kind: str):
        self.actor, self.kind = actor, kind
        self.known: dict[tuple, Lock | None] = {}

    def prefetch(self, keys) -> None:
        provider = _PROVIDERS.get(self.kind)
        todo = set(keys) - self.known.keys()
        if not todo:
            return
        found = provider(todo) if provider else {}
        for key in todo:
            self.known[key] = found.get(key)

    def check(self, town: str, programme, period: str, field: str = "period") -> None:
        """Raise Locked (on `field`) when the period of `town` (and `programme`) refuses the actor's change."""
        key = (town, programme, period)
        if key not in self.known:
            self.prefetch([key])
        lock = self.known[key]
        if lock is None:
            return
        # A submitted period is the office's to review: the town may not change it, the office above
        # may still correct a figure (audited) before approving — as offices import a late file.
        if not lock.hard and lock.office_code and allows(self.actor, "change", lock.office_code):
            return
        raise Locked({field: lock.message})
