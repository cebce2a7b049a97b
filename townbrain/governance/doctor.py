"""The events' `townbrain doctor` check (registered in GovernanceConfig.ready(), see core/doctor.py).

`event_cells`: the statistics' cells (cells.py) equal what the events add up to now, cell by cell; and
each event's 回访 counters equal its review steps. Drift is repaired by `townbrain events rebuild-stats`.

`event_counters`: an event's 重办 and 延期 counters equal its steps (services.take_step moves them with the
step): `reopened` its review steps that sent it back to be handled again (a dissatisfied 回访, to
`dispatched`; an imported dissatisfied verdict closes the history, to `reviewed`, and is not a 重办), and
`extended` its extensions granted (an `approve` step, or an `extend` step granted at once, `approved` in its
detail). One GROUP BY over the steps, the mismatches only.
"""

from django.db.models import Count, F, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.doctor import Check, Options, Outcome, register

from . import cells
from .models import SATISFIED, Event, Status, Step


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


def check_counters(options: Options) -> Outcome:
    out = Outcome()
    out.checked = Event.objects.count()
    reopens = Q(steps__step=Step.Kind.REVIEW, steps__to_status=Status.DISPATCHED)
    grants = Q(steps__step=Step.Kind.APPROVE) | Q(steps__step=Step.Kind.EXTEND, steps__detail__approved=True)
    differ = (Event.objects.order_by("pk")
              .annotate(n_reopened=Count("steps", filter=reopens), n_extended=Count("steps", filter=grants))
              .filter(~Q(reopened=F("n_reopened")) | ~Q(extended=F("n_extended")))
              .values_list("pk", "reopened", "extended", "n_reopened", "n_extended"))
    for pk, reopened, extended, n_reopened, n_extended in differ.iterator(chunk_size=2000):
        out.problem(_("event #%(id)s counts %(reopened)s times reopened and %(extended)s extended, its steps "
                      "%(n_reopened)s and %(n_extended)s") % {"id": pk, "reopened": reopened, "extended": extended,
                                                              "n_reopened": n_reopened, "n_extended": n_extended})
    return out


def register_checks() -> None:
    register(Check("event_cells", gettext_lazy("Event statistics cells equal the events"), check_cells, order=60))
    register(Check("event_counters", gettext_lazy("Events' reopened and extended counters = their steps"),
                   check_counters, order=61))
