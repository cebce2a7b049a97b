"""The cockpit (驾驶舱): the home page of every user, their area's figures at once, live.

`/` opens the cockpit of the user's own area; `/cockpit/<code>/` any unit in it (404 outside).
The programme and month default to where the data is (projects/latest.py), never an empty month.
While the page is open, htmx asks `/cockpit/<code>/panels/` every few seconds with the
fingerprint of what it shows; the server answers 204 when nothing changed, else the new panels.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from townbrain.core import codes, periods
from townbrain.core.models import OrgUnit
from townbrain.core.scope import ALL, is_office, scope_prefixes
from townbrain.core.views import breadcrumb, canonical_redirect, get_unit
from townbrain.programmes.models import Programme
from townbrain.projects.latest import has_data, latest_period

from . import figures

REFRESH_SECONDS = 10
SCREEN_ROTATE_SECONDS = 15


def home_code(user) -> str | None:
    """The unit whose cockpit a user opens first: their one area, or what their areas share."""
    prefixes = scope_prefixes(user, "view")
    if prefixes is ALL:
        # A system admin: the province with the most projects (the first province if none has any).
        return figures.busiest_province(user)
    prefixes = sorted(prefixes)
    if not prefixes:
        return None
    common = prefixes[0]
    for p in prefixes[1:]:
        while not p.startswith(common):
            common = codes.parent_of(common) if len(common) > 2 else ""
            if not common:
                return None
    return common


@login_required
@require_safe
def cockpit_home(request):
    if not is_office(request.user):
        # An expert's login (or an account without any role) lands on the expert's own page, not a cockpit.
        return redirect("expert-home")
    code = home_code(request.user)
    if code is None:
        prefixes = scope_prefixes(request.user, "view")
        units = OrgUnit.objects.filter(code__in=prefixes if prefixes is not ALL else []).order_by("code")
        return render(request, "core/home.html", {"units": units})
    return redirect("cockpit", code=code)


def _selection(request, unit):
    """(programme, period) from the query, None for what is left to the defaults; 404 for nonsense."""
    programme = period = None
    code = request.GET.get("programme", "").strip()
    if code:
        programme = Programme.objects.filter(code=code).first()
        if programme is None:
            raise Http404(_("Unknown programme “%(code)s”.") % {"code": code})
    text = request.GET.get("period", "").strip().replace("-", "")
    if text:
        try:
            period = periods.month_id(*periods.parse_month(text))
        except periods.InvalidPeriod as exc:
            raise Http404(str(exc)) from exc
    return programme, period


def _url(name: str, *args, **query) -> str:
    """A URL with its query; "" while the route is not there (the map and briefings are optional parts)."""
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


def _briefing_as_job(code: str) -> bool:
    """Whether a briefing of `code` is a background job (reports/views.py): its buttons then POST."""
    from townbrain.jobs.kinds import briefing_is_job  # jobs import the apps whose work they run

    return briefing_is_job(code)


def _context(request, unit) -> dict:
    programme, period = _selection(request, unit)
    data = figures.build(request.user, unit, programme, period)
    query = {"programme": data.programme.code if data.programme else "", "period": data.period}
    has_projects = any(panel.key == "projects" for panel, _data in data.sections)
    latest_url = ""
    if not has_projects and data.programme is not None:
        last = latest_period(request.user, unit, data.programme)
        if last != data.period and has_data(request.user, unit, data.programme, last):
            latest_url = _url("cockpit", unit.code, programme=data.programme.code, period=last)
    choices = list(data.programmes)
    if data.programme is not None and data.programme not in choices:
        choices.append(data.programme)
    choices += [p for p in Programme.objects.order_by("code") if p not in choices]
    formats = (("pdf", _("PDF")), ("docx", _("Word")), ("xlsx", _("Excel")))
    links = [(label, _url("briefing-download", unit.code, fmt, **query)) for fmt, label in formats]
    return {"unit": unit, "cockpit": data, "breadcrumb": breadcrumb(request, unit), "query": query,
            "refresh_seconds": REFRESH_SECONDS, "has_projects": has_projects, "latest_url": latest_url,
            "programme_choices": choices, "briefing_links": [(label, url) for label, url in links if url],
            "briefing_as_job": _briefing_as_job(unit.code) if data.sections else False,
            "map_url": _url("cockpit-map", unit.code, **query) if has_projects else "",
            "screen": request.GET.get("screen") == "1"}


@login_required
@require_safe
def cockpit(request, code):
    if (response := canonical_redirect(request, "cockpit", code)) is not None:
        return response
    unit = get_unit(request, code)
    return render(request, "cockpit/cockpit.html", _context(request, unit))


def screen_layout(cockpit, map_url: str) -> dict:
    """The big screen: a strip of headline figures always in view, and slides of two charts that rotate.

    The strip holds every card of the projects panel and the first (headline) card of each other
    panel; the slides take each panel's charts two at a time, the map beside the leftover chart.
    """
    cards, slides = [], []
    for panel, data in cockpit.sections:
        if panel.key == "projects":
            cards += [(panel.key, card) for card in data.cards]
        elif data.cards and panel.key != "area":
            cards.append((panel.key, data.cards[0]))
        charts = [(panel.key, chart) for chart in data.charts]
        for i in range(0, len(charts), 2):
            pair = charts[i:i + 2]
            slides.append({"title": panel.title, "charts": pair,
                           "map": bool(map_url) and panel.key == "projects" and len(pair) == 1})
        if map_url and panel.key == "projects" and len(charts) % 2 == 0:
            slides.append({"title": panel.title, "charts": [], "map": True})
    return {"screen_cards": cards, "slides": slides}


@login_required
@require_safe
def cockpit_panels(request, code):
    """The panels alone, for the live refresh: 204 when the figures are the ones the page shows."""
    unit = get_unit(request, code)
    context = _context(request, unit)
    if request.GET.get("since") == context["cockpit"].fingerprint():
        return HttpResponse(status=204)
    if context["screen"]:
        context.update(screen_layout(context["cockpit"], context["map_url"]))
        return render(request, "cockpit/_screen_body.html", context)
    return render(request, "cockpit/_panels.html", context)


@login_required
@require_safe
def big_screen(request, code):
    """Big-screen mode for a 1920×1080 meeting-room display: dark, large type, panels that rotate."""
    unit = get_unit(request, code)
    context = _context(request, unit)
    context["rotate_seconds"] = SCREEN_ROTATE_SECONDS
    context["screen"] = True
    context.update(screen_layout(context["cockpit"], context["map_url"]))
    context["cockpit_url"] = reverse("cockpit", args=[unit.code])
    return render(request, "cockpit/screen.html", context)
