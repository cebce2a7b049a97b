"""The acceptances' `townbrain doctor` check (registered in AcceptanceConfig.ready(), see core/doctor.py).

`acceptances`: each acceptance has its checklist; its stage is where its latest step took it (a step and
the stage it moves to are written together); a signed-off acceptance is frozen, has an outcome and its
one sign-off step, and only a signed-off one is frozen; every checklist verdict says at which stage it
was given.
"""

from collections import defaultdict

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.doctor import Check, Options, Outcome, register, version_counts_parts

from .models import Acceptance, Stage, Step


def check_acceptances(options: Options) -> Outcome:
    out = Outcome()
    last_step: dict[int, str] = {}
    sign_offs: dict[int, int] = defaultdict(int)
    for acceptance_id, to_stage, action in Step.objects.order_by("acceptance_id", "at", "id").values_list(
            "acceptance_id", "to_stage", "action").iterator(chunk_size=5000):
        last_step[acceptance_id] = to_stage
        if action == Step.Action.SIGN_OFF:
            sign_offs[acceptance_id] += 1
    rows = (Acceptance.objects.order_by("pk")
            .annotate(items_n=Count("items", distinct=True),
                      unplaced=Count("items", filter=Q(items__verdict__gt="", items__verdict_stage=""), distinct=True))
            .values_list("pk", "town_id", "stage", "frozen", "outcome", "items_n", "unplaced"))
    for pk, town, stage, frozen, outcome, items_n, unplaced in rows.iterator(chunk_size=2000):
        out.checked += 1
        label = _("acceptance #%(id)s (%(town)s)") % {"id": pk, "town": town}
        problems = []
        if not items_n:
            problems.append(_("has no checklist"))
        if last_step.get(pk, Stage.TOWN) != stage:
            problems.append(_("stands at “%(stage)s” but its last step went to “%(step)s”")
                            % {"stage": stage, "step": last_step.get(pk, Stage.TOWN)})
        if stage == Stage.SIGNED:
            if not frozen:
                problems.append(_("is signed off but not frozen"))
            if not outcome:
                problems.append(_("is signed off without an outcome"))
            if sign_offs[pk] != 1:
                problems.append(_("is signed off with %(n)s sign-off steps") % {"n": sign_offs[pk]})
        elif frozen:
            problems.append(_("is frozen but not signed off"))
        if unplaced:
            problems.append(_("%(n)s verdicts without the stage they were given at") % {"n": unplaced})
        for text in problems:
            out.problem(f"{label} {text}")
    return out


def register_checks() -> None:
    # An acceptance's version also counts its items' and evidence's changes, audited under those (audit_trail).
    version_counts_parts(Acceptance._meta.label_lower)
    register(Check("acceptances", gettext_lazy("Acceptances and their sign-offs are whole"), check_acceptances,
                   order=50))
