"""The expert pool's `townbrain doctor` check (registered in ExpertsConfig.ready(), see core/doctor.py).

`expert_problem_counts`: an activity with problems on its register (问题清单) counts them as its
problems found (all of them) and solved (the solved ones) — `services.sync_activity_counts` keeps the
two figures with every problem step; an activity whose figures differ from its problems has drifted.
Activities without problems keep the figures they were recorded with and are not compared.
"""

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.doctor import Check, Options, Outcome, register

from .models import ExpertActivity, ProblemStatus


def check_problem_counts(options: Options) -> Outcome:
    out = Outcome()
    activities = (ExpertActivity.objects.order_by("pk")
                  .annotate(found=Count("problems"), solved=Count("problems", filter=Q(
                      problems__status=ProblemStatus.SOLVED)))
                  .filter(found__gt=0)
                  .values_list("pk", "town_id", "date", "problems_found", "problems_solved", "found", "solved"))
    for pk, town, day, found, solved, n_found, n_solved in activities.iterator(chunk_size=2000):
        out.checked += 1
        if (found, solved) != (n_found, n_solved):
            out.problem(_("expert activity #%(id)s (%(town)s, %(date)s): %(found)s found and %(solved)s solved, "
                          "its problems say %(n_found)s and %(n_solved)s") % {
                "id": pk, "town": town, "date": day, "found": found, "solved": solved, "n_found": n_found,
                "n_solved": n_solved})
    return out


def register_checks() -> None:
    register(Check("expert_problem_counts", gettext_lazy("Expert activities' problem counts = their problems"),
                   check_problem_counts, order=50))
