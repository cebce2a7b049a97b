"""Pages: the handler's queue, the event page with its timeline and step buttons, reporting, notifications."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from .models import Event


@login_required
def event_detail(request, pk):
    event = get_object_or_404(Event.objects.restrict(request.user, "view").select_related("category", "town"), pk=pk)
    return render(request, "governance/event_detail.html", {"event": event})
