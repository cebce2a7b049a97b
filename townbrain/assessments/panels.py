"""The assessment cockpit panel: the grade distribution of the latest official run over the area.

Reads like the bulletins ("39 优秀 / 10 警告 / 4 降格"): the latest official run of the programme
for the period's year or before (frozen runs first), counted over the towns `user` sees in the area.
"""

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.numbers import amount
from townbrain.core.panels import Card, Chart, Context, Panel, PanelData, Series, Table

from .models import Result, Run

TOP_ROWS = 50


def latest_run(ctx: Context) -> Run | None:
    year = int(ctx.period[:4])
    in_area = Q(area="") | Q(area__in=[ctx.org.code[:n] for n in (2, 4, 6, 9)]) | Q(area__startswith=ctx.org.code)
    return (Run.objects.restrict(ctx.user, "view")
            .filter(in_area, programme=ctx.programme, kind=Run.Kind.OFFICIAL, year__lte=year)
            .order_by("-year", "-frozen", "-created", "-id").first())


def build(ctx: Context) -> PanelData | None:
    if ctx.programme is None:
        return None
    run = latest_run(ctx)
    if run is None:
        return None
    results = Result.objects.restrict(ctx.user, "view").filter(run=run, town__code__startswith=ctx.org.code)
    grades = list(results.order_by().values("grade", "grade_index").annotate(n=Count("id"))
                  .order_by("grade_index", "grade"))
    if not grades:
        return None
    total = sum(g["n"] for g in grades)
    label = _("%(year)s assessment") % {"year": run.year}
    top = list(results.select_related("town").order_by("rank", "town_id")[:TOP_ROWS])
    return PanelData(
        cards=[Card("assessed", label, amount(total), _("towns"), url=run.get_absolute_url(),
                    note=" / ".join(f"{g['n']} {g['grade']}" for g in grades))]
        + [Card(f"grade_{g['grade_index']}", g["grade"], amount(g["n"]), _("towns")) for g in grades],
        charts=[Chart("grades", _("Grades"), "pie", [g["grade"] for g in grades],
                      [Series(_("Towns"), [g["n"] for g in grades], _("towns"))])],
        tables=[Table("results", _("Results"), [_("Rank"), _("Town"), _("Score"), _("Grade")],
                      [[r.rank, r.town.name, f"{r.score:.2f}", r.grade] for r in top],
                      links=[reverse("assessment-result-detail", args=[r.pk]) for r in top],
                      numeric=[True, False, True, False])],
    )


PANEL = Panel("assessments", gettext_lazy("Assessment (考核)"), 20, build)
