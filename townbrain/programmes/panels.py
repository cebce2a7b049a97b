"""The area cockpit panel: the units of the area and the towns enrolled in the programme, by role.

It is the first thing a leader sees, and it is there even before any project is entered (a
province that has just loaded its towns), so the cockpit is never an empty page.
"""

from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core.models import Level, OrgUnit
from townbrain.core.numbers import amount
from townbrain.core.panels import Card, Context, Panel, PanelData

from .models import Enrolment

BELOW = {Level.PROVINCE: (Level.CITY, Level.COUNTY, Level.TOWN), Level.CITY: (Level.COUNTY, Level.TOWN),
         Level.COUNTY: (Level.TOWN,), Level.TOWN: (Level.VILLAGE,), Level.VILLAGE: ()}


def build(ctx: Context) -> PanelData | None:
    levels = BELOW.get(ctx.org.level, ())
    counts = dict(OrgUnit.objects.restrict(ctx.user, "view").filter(code__startswith=ctx.org.code, level__in=levels)
                  .order_by().values_list("level").annotate(n=Count("code")))
    labels = dict(Level.choices)
    cards = [Card(f"units_{level}", labels[level], amount(counts.get(level, 0)), _("units"),
                  url=f"{reverse('orgunit-list')}?{urlencode({'under': ctx.org.code, 'level': level})}")
             for level in levels]
    if ctx.programme is not None:
        enrolled = (Enrolment.objects.restrict(ctx.user, "view")
                    .filter(programme=ctx.programme, town__code__startswith=ctx.org.code, exit_year__isnull=True)
                    .order_by().values_list("role__name").annotate(n=Count("id")))
        roles = sorted(((name or _("No role"), n) for name, n in enrolled), key=lambda item: -item[1])
        url = f"{reverse('enrolment-list')}?{urlencode({'programme': ctx.programme.code, 'under': ctx.org.code})}"
        cards.append(Card("enrolled", _("Towns in %(programme)s") % {"programme": ctx.programme.name},
                          amount(sum(n for _name, n in roles)), _("towns"), url=url,
                          note=" / ".join(f"{n} {name}" for name, n in roles)))
    return PanelData(cards=cards) if cards else None


PANEL = Panel("area", gettext_lazy("The area (辖区概况)"), 0, build, timeless=True)
