"""Pages: the handler's queue, the event page with its timeline and step buttons, reporting, notifications."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from townbrain.core.lists import Column, RestrictedListView
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import scope_prefixes

from . import forms, services
from .filters import EventFilterSet
from .models import Event, Notification, Source, Step


class EventQueueView(LoginRequiredMixin, RestrictedListView):
    """The handler's queue: the events of the area, soonest deadline first (events not yet dispatched last)."""

    model = Event
    filterset_class = EventFilterSet
    columns = [
        Column("pk", gettext_lazy("No."), sort="id", link=True),
        Column("deadline", gettext_lazy("Deadline"), sort="deadline"),
        Column("status", gettext_lazy("Status"), sort="status"),
        Column("overdue", gettext_lazy("Overdue"), getter=lambda e: _("yes") if e.is_overdue() else ""),
        Column("platform", gettext_lazy("Platform"), sort="platform"),
        Column("category.name", gettext_lazy("Category"), sort="category__name"),
        Column("town.name", gettext_lazy("Town"), sort="town__name"),
        Column("description", gettext_lazy("Description"), getter=lambda e: e.description[:60]),
        Column("reported_at", gettext_lazy("Reported"), sort="reported_at"),
    ]
    default_sort = "deadline"
    export_name = "events"
    title = gettext_lazy("Events (事件)")
    create_url = "event-create"

    def base_queryset(self):
        return super().base_queryset().select_related("category", "town")

    def get(self, request, *args, **kwargs):
        # The queue opens on the open events; the filter's "open" choice shows the others.
        if not request.GET:
            request.GET = request.GET.copy()
            request.GET["open"] = "true"
        return super().get(request, *args, **kwargs)

    def sort_key(self):
        key = super().sort_key()
        # Undispatched events (no deadline) after the dated ones on both databases.
        if key == "deadline":
            return F("deadline").asc(nulls_last=True)
        if key == "-deadline":
            return F("deadline").desc(nulls_last=True)
        return key


def _towns_for(user):
    prefixes = scope_prefixes(user, "add")
    towns = OrgUnit.objects.restrict(user, "add").filter(level=Level.TOWN)
    return towns.order_by("code") if prefixes else OrgUnit.objects.none()


@login_required
def event_create(request):
    towns = _towns_for(request.user)
    form = forms.EventForm(request.POST or None, towns=towns)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            event = services.report_event(
                request.user, d["town"], d["category"], d["description"], lat=d["lat"], lng=d["lng"], crs=d["crs"],
                address=d["address"], reporter_name=d["reporter_name"], reporter_phone=d["reporter_phone"],
                source=Source.GRID)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Event #%(id)s reported.") % {"id": event.pk})
            return redirect(event)
    return render(request, "governance/event_form.html", {"form": form, "title": _("Report an event")})


STEP_LABELS = {name: Step.Kind(name).label for name in services.STEP_NAMES}


@login_required
@require_http_methods(["GET", "POST"])
def event_detail(request, pk):
    event = get_object_or_404(Event.objects.restrict(request.user, "view").select_related(
        "category", "category__parent", "town", "office", "handler"), pk=pk)
    form = forms.StepForm(request.POST or None)
    if request.method == "POST":
        step = request.POST.get("step", "")
        if step not in services.STEPS:
            raise PermissionDenied(_("Unknown step."))
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.take_step(request.user, event, step, d["comment"], to=d["to"], verdict=d["verdict"],
                                   days=d["days"])
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, _("%(step)s: done.") % {"step": STEP_LABELS[step]})
                return redirect(event)
    steps = services.available_steps(request.user, event)
    return render(request, "governance/event_detail.html", {
        "event": event, "form": form, "steps": [(s, STEP_LABELS[s]) for s in steps], "step_names": steps,
        "timeline": event.steps.all(), "phone": services.shown_phone(request.user, event),
        "handled_by": event.handler.username if event.handler_id else event.department or (
            event.office.name if event.office_id else ""),
        "unit": event.town, "breadcrumb": event.town.ancestors(),
    })


@login_required
def notification_list(request):
    """The user's own notifications, newest first; POST marks them all read."""
    if request.method == "POST":
        services.mark_read(request.user)
        return redirect("notification-list")
    notes = Notification.objects.filter(user=request.user).select_related("event", "event__town")[:200]
    return render(request, "governance/notifications.html", {"notifications": notes})


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def public_report(request):
    """The public form (no login): rate-limited per address, a sum to solve, a honeypot field.

    `?county=<code>` picks the county (its towns fill the town list); the sum lives in the session
    and changes after every try, so a robot cannot replay one answer.
    """
    county = request.GET.get("county", "") or request.POST.get("county", "")
    county_unit = OrgUnit.objects.filter(code=county, level=Level.COUNTY).first() if county.isdigit() else None
    towns = forms.towns_of(county_unit.code) if county_unit else OrgUnit.objects.none()
    limit = int(getattr(settings, "TOWNBRAIN_PUBLIC_REPORTS_PER_HOUR", 5))
    key = f"governance:public-report:{_client_ip(request)}"
    done = None
    stored = request.session.get("report_challenge")
    form = None
    if request.method == "POST":
        if cache.get(key, 0) >= limit:
            return render(request, "governance/public_report.html", {"limited": True}, status=429)
        cache.set(key, cache.get(key, 0) + 1, 3600)  # every try counts, not only the good ones
        form = forms.PublicReportForm(request.POST, towns=towns, challenge=tuple(stored) if stored else None)
        if county_unit and form.is_valid():
            d = form.cleaned_data
            try:
                event = services.report_event(
                    services.PUBLIC, d["town"], d["category"], d["description"], lat=d["lat"], lng=d["lng"],
                    crs=d["crs"], address=d["address"], reporter_phone=d["reporter_phone"], source=Source.CITIZEN)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                done = event.pk
    challenge = forms.new_challenge()
    request.session["report_challenge"] = list(challenge)
    if form is None or done:
        form = forms.PublicReportForm(towns=towns, challenge=challenge)
    else:
        form.set_challenge(challenge)
    return render(request, "governance/public_report.html", {"form": form, "county": county_unit, "done": done})
