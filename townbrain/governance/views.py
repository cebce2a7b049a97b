"""Pages: the handler's queue, the event page with its timeline and step buttons, reporting, notifications."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from . import services
from .models import Event, Notification


@login_required
def event_detail(request, pk):
    event = get_object_or_404(Event.objects.restrict(request.user, "view").select_related("category", "town"), pk=pk)
    return render(request, "governance/event_detail.html", {"event": event})


@login_required
def notification_list(request):
    """The user's own notifications, newest first; POST marks them all read."""
    if request.method == "POST":
        services.mark_read(request.user)
        return redirect("notification-list")
    notes = Notification.objects.filter(user=request.user).select_related("event", "event__town")[:200]
    return render(request, "governance/notifications.html", {"notifications": notes})
