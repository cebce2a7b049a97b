"""The assessment runs' `townbrain doctor` check (registered in AssessmentsConfig.ready(), see core/doctor.py).

`runs`: every run holds a result for each town its summary counts, each result with its breakdown
(a run and its results are written in one transaction: a run without them is half-written).
"""

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.doctor import Check, Options, Outcome, register

from .models import Run


def check_runs(options: Options) -> Outcome:
    out = Outcome()
    runs = (Run.objects.order_by("pk")
            .annotate(n=Count("results"), bare=Count("results", filter=Q(results__breakdown={})))
            .values_list("pk", "frozen", "summary", "n", "bare"))
    for pk, frozen, summary, n, bare in runs.iterator(chunk_size=2000):
        out.checked += 1
        towns = (summary or {}).get("towns")
        label = _("frozen run #%(id)s") % {"id": pk} if frozen else _("run #%(id)s") % {"id": pk}
        if towns is None:
            out.problem(_("%(run)s has no summary") % {"run": label})
        elif towns != n:
            out.problem(_("%(run)s: %(n)s results for %(towns)s towns") % {"run": label, "n": n, "towns": towns})
        if bare:
            out.problem(_("%(run)s: %(n)s results without a breakdown") % {"run": label, "n": bare})
    return out


def register_checks() -> None:
    register(Check("assessment_runs", gettext_lazy("Assessment runs have all their results"), check_runs, order=30))
