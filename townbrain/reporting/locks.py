"""The reporting cycle's locks, registered with core/locks.py for the write paths below this app."""

from django.utils.translation import gettext as _

from townbrain.core import bulk, codes
from townbrain.core.locks import Lock

from .models import LOCKING, Kind, Status, Submission

STRENGTH = {Status.SUBMITTED: 1, Status.APPROVED: 2, Status.LOCKED: 3}


def provider(kind: str):
    def provide(keys: set) -> dict:
        towns = {k[0] for k in keys}
        wanted = {k[2] for k in keys}
        rows = (Submission.objects.filter(kind=kind, status__in=LOCKING, period__in=wanted)
                .select_related("town", "programme").only("town__code", "town__name", "programme__name",
                                                          "programme__code", "period", "status", "kind"))
        found = {}
        for s in bulk.where_in(rows, "town_id", towns):
            key = (s.town_id, s.programme_id if kind == Kind.PROGRESS else None, s.period)
            if key in keys and STRENGTH[s.status] > STRENGTH.get(found.get(key, (None,))[0], 0):
                found[key] = (s.status, s)
        return {key: _lock(s) for key, (_status, s) in found.items()}
    return provide


def _lock(s: Submission) -> Lock:
    what = _("progress reports") if s.kind == Kind.PROGRESS else _("indicator values")
    if s.status == Status.SUBMITTED:
        message = _("Locked: %(town)s's %(what)s of %(period)s (%(programme)s) are submitted (已提交) and under "
                    "review; only the office above may correct them, or return them to the town.")
    else:
        message = _("Locked: %(town)s's %(what)s of %(period)s (%(programme)s) are %(status)s; an office above "
                    "must unlock them, with a reason, before they can change.")
    return Lock(status=s.status, office_code=codes.parent_of(s.town_id) or "", message=message % {
        "town": s.town.name, "what": what, "period": s.period, "programme": s.programme.name,
        "status": Status(s.status).label})
