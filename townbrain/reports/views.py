"""The cockpit's download buttons: /cockpit/<code>/briefing.<fmt>?programme=&period=.

The briefing of an area of more than TOWNBRAIN_JOB_THRESHOLD_TOWNS towns (a province's) is made by a
background job (docs/jobs.md): the cockpit's buttons then POST here, which queues the job and sends its
author to the job's page, where the file is downloaded once made. A GET of such a briefing (a bookmark)
shows what will happen and the button; a smaller area's briefing is rendered in the request, as always."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from townbrain.core.views import get_unit
from townbrain.jobs.kinds import briefing_is_job, briefing_job, towns_in

from . import briefing


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def briefing_download(request, code, fmt):
    """The briefing of what the cockpit shows for `code` (404 outside the user's area, as the cockpit)."""
    if fmt not in briefing.FORMATS:
        raise Http404(f"no briefing format {fmt}")
    unit = get_unit(request, code)

    def asked(name):  # the query of the URL (the cockpit's buttons), or the form's field
        return (request.GET.get(name) or request.POST.get(name) or "").strip() or None

    try:
        cockpit = briefing.cockpit_for(request.user, unit.code, asked("programme"), asked("period"))
    except briefing.BriefingError as exc:  # an unknown programme, a malformed month, a month without figures
        raise Http404(str(exc)) from exc
    if not briefing_is_job(unit.code):
        return briefing.response(cockpit, fmt)
    if request.method == "POST":
        return redirect(briefing_job(request.user, cockpit, fmt))
    return render(request, "reports/briefing_job.html", {
        "unit": unit, "cockpit": cockpit, "fmt": fmt, "towns": towns_in(unit.code),
        "programme": cockpit.programme.code if cockpit.programme else "", "period": cockpit.period or ""})
