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
        # bulk.fetch, not a queryset: every saved report asks, and it is seldom locked — the ORM compiling
        # this query cost a one-report save more than the database answering it. A lock found reads its
        # submission's town and programme names for the message.
        rows = bulk.fetch(Submission, "town_id", towns, where={"kind": kind, "status": LOCKING, "period": wanted},
                          names=("pk", "town_id", "programme_id", "period", "status"))
        found = {}
        for pk, town, programme, period, status in rows:
            key = (town, programme if kind == Kind.PROGRESS else None, period)
            if key in keys and STRENGTH[status] > STRENGTH.get(found.get(key, (None,))[0], 0):
                found[key] = (status, pk)
        if not found:
            return {}
        named = Submission.objects.select_related("town", "programme").in_bulk([pk for _s, pk in found.values()])
        return {key: _lock(named[pk]) for key, (_status, pk) in found.items()}
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
