"""The reporting cycle's `townbrain doctor` check (registered in ReportingConfig.ready(), see core/doctor.py).

`submission_returns`: a submission's `returned_count` is how many times it was returned (退回). Its steps are
kept nowhere but in the audit log, where each step writes a `submission.<step>` row in the step's transaction
(services.take_steps), so the count equals its `submission.return` rows. One query, the mismatches only.
"""

from django.db.models import CharField, Count, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.doctor import Check, Options, Outcome, register
from townbrain.core.models import AuditEntry

from .models import Submission


def check_returns(options: Options) -> Outcome:
    out = Outcome()
    returns = (AuditEntry.objects.filter(object_type=Submission._meta.model_name, action="submission.return",
                                         object_id=Cast(OuterRef("pk"), output_field=CharField(max_length=64)))
               .order_by().values("object_id").annotate(n=Count("pk")).values("n"))
    out.checked = Submission.objects.count()
    differ = (Submission.objects.order_by("pk")
              .annotate(returns=Coalesce(Subquery(returns, output_field=IntegerField()), Value(0)))
              .filter(~Q(returned_count=F("returns")))
              .values_list("pk", "town_id", "programme__code", "kind", "period", "returned_count", "returns"))
    for pk, town, programme, kind, period, count, found in differ.iterator(chunk_size=2000):
        out.problem(_("submission #%(id)s (%(town)s %(programme)s %(kind)s %(period)s): returned %(count)s times, "
                      "the audit log says %(found)s") % {"id": pk, "town": town, "programme": programme,
                                                         "kind": kind, "period": period, "count": count,
                                                         "found": found})
    return out


def register_checks() -> None:
    register(Check("submission_returns", gettext_lazy("Submissions' return counts = their returns in the audit log"),
                   check_returns, order=85))
