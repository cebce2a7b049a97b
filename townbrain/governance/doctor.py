"""The events' `townbrain doctor` check (registered in GovernanceConfig.ready(), see core/doctor.py).

`event_cells`: the statistics' cells (cells.py) equal what the events add up to now, cell by cell; and
each event's 回访 counters equal its review steps. Drift is repaired by `townbrain events rebuild-stats`.
"""

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.doctor import Check, Options, Outcome, register

from . import cells
from .models import SATISFIED, Event, Step


def check_cells(options: Options) -> Outcome:
    out = Outcome()
    compared, differ = cells.compare()
    out.checked = compared
    for (town, month, platform, category), have, want in differ:
        names = [f for f, a, b in zip(cells.FIELDS, have, want, strict=True) if a != b]
        out.problem(_("statistics cell %(town)s %(month)s %(platform)s category #%(category)s: %(fields)s differ "
                      "from the events") % {"town": town, "month": f"{month:%Y-%m}", "platform": platform,
                                           "category": category, "fields": ", ".join(names)})
    for prefix in cells.prefixes():
        reviews = (Step.objects.filter(step=Step.Kind.REVIEW, event__town__code__startswith=prefix).order_by()
                   .values("event").annotate(n=Count("pk"), satisfied=Count("pk", filter=Q(
                       detail__verdict__in=SATISFIED))).values_list("event", "n", "satisfied"))
        steps = {event: (n, satisfied) for event, n, satisfied in reviews}
        counted = {pk: (n, satisfied) for pk, n, satisfied in Event.objects.filter(
            town__code__startswith=prefix, reviews__gt=0).values_list("pk", "reviews", "reviews_satisfied")}
        for pk in sorted(set(counted) | set(steps)):
            have, found = counted.get(pk, (0, 0)), steps.get(pk, (0, 0))
            if have != found:
                out.problem(_("event #%(id)s counts %(n)s reviews (%(s)s satisfied), its steps %(steps)s (%(ss)s)")
                            % {"id": pk, "n": have[0], "s": have[1], "steps": found[0], "ss": found[1]})
    return out


def register_checks() -> None:
    register(Check("event_cells", gettext_lazy("Event statistics cells equal the events"), check_cells, order=60))
