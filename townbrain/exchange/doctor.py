"""The imports' `townbrain doctor` check (registered in ExchangeConfig.ready(), see core/doctor.py).

`import_batches`: every batch is in a known state (applied, or undone with the time it was undone) and
an applied batch that created or updated rows has the audit rows of its changes (its history, what
undo reads: history.py): a batch and its changes are written in the import's one transaction, so
anything else is a half-written batch.
"""

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.doctor import Check, Options, Outcome, register
from townbrain.core.models import AuditEntry

from .models import ImportBatch


def check_batches(options: Options) -> Outcome:
    out = Outcome()
    states = set(ImportBatch.State.values)
    changes = dict(AuditEntry.objects.filter(import_batch__isnull=False, import_row__isnull=False).order_by()
                   .values("import_batch").annotate(n=Count("id")).values_list("import_batch", "n"))
    rows = ImportBatch.objects.order_by("pk").values_list("pk", "kind", "state", "undone_at", "counts")
    for pk, kind, state, undone_at, counts in rows.iterator(chunk_size=2000):
        n = changes.get(pk, 0)
        out.checked += 1
        label = _("import batch #%(id)s (%(kind)s)") % {"id": pk, "kind": kind}
        if state not in states:
            out.problem(_("%(batch)s is in the unknown state “%(state)s”") % {"batch": label, "state": state})
        elif state == ImportBatch.State.UNDONE and undone_at is None:
            out.problem(_("%(batch)s is undone but has no time it was undone") % {"batch": label})
        elif state == ImportBatch.State.APPLIED:
            written = sum(int((counts or {}).get(k) or 0) for k in ("created", "updated"))
            if written and not n:
                out.problem(_("%(batch)s wrote %(n)s rows but holds no changes") % {"batch": label, "n": written})
    return out


def register_checks() -> None:
    register(Check("import_batches", gettext_lazy("Import batches are whole"), check_batches, order=40))
