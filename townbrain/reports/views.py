"""The cockpit's download buttons: /cockpit/<code>/briefing.<fmt>?programme=&period=."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.views.decorators.http import require_safe

from townbrain.core.views import get_unit

from . import briefing


@login_required
@require_safe
def briefing_download(request, code, fmt):
    """The briefing of what the cockpit shows for `code` (404 outside the user's area, as the cockpit)."""
    if fmt not in briefing.FORMATS:
        raise Http404(f"no briefing format {fmt}")
    unit = get_unit(request, code)
    try:
        cockpit = briefing.cockpit_for(request.user, unit.code, request.GET.get("programme", "").strip() or None,
                                       request.GET.get("period", "").strip() or None)
    except briefing.BriefingError as exc:  # an unknown programme, a malformed month, a month without figures
        raise Http404(str(exc)) from exc
    return briefing.response(cockpit, fmt)
